"""Results: one run's scores against the classical baseline, the models it compared, its mistakes
or its predictions, and its curves."""

import pandas as pd
import streamlit as st

from dlstudio import charts
from dlstudio.errors import DLStudioError
from dlstudio.evaluation.forecast import coverage_verdict
from dlstudio.settings import Settings, get_settings
from dlstudio.tracking.queries import (
    RunDetails,
    UnknownRun,
    metric_cards,
    run_choices,
    run_details,
    run_history,
    run_url,
)
from dlstudio.tracking.queries.search import SearchTrials, search_trials
from dlstudio.views.image_try import accepts_images
from dlstudio.views.text import escape_markdown, inline_code
from dlstudio.views.text_try import accepts_sentences
from pages._widgets.answers import run_model
from pages._widgets.export import onnx_export
from pages._widgets.images import image_mistakes, try_image
from pages._widgets.report import report_download
from pages._widgets.tabular_results import (
    calibration,
    column_importance,
    decision_threshold,
    mistake_costs,
    model_comparison,
    test_predictions,
    what_if_box,
)
from pages._widgets.text_results import text_mistakes, try_sentence
from pages._widgets.widgets import ensure_navigation, show_message

ensure_navigation()


@st.cache_data(ttl=10, show_spinner=False)
def load_choices(settings: Settings) -> dict[str, str]:
    return run_choices(settings)


@st.cache_data(ttl=10, show_spinner=False)
def load_details(settings: Settings, run_id: str) -> RunDetails:
    return run_details(settings, run_id)


@st.cache_data(ttl=10, show_spinner=False)
def load_search(settings: Settings, run_id: str) -> SearchTrials | None:
    return search_trials(settings, run_id)


def short_number(text: object) -> object:
    """A logged value with 3 significant digits when it is a fraction; anything else as is."""
    try:
        value = float(str(text))
    except ValueError:
        return text
    return text if value.is_integer() else f"{value:.3g}"


def search_section(search: SearchTrials, run_id: str) -> None:
    """The search this run is a trial of: every trial, the best so far, the parent run."""
    st.subheader("Search")
    done = search.trials["state"].value_counts()
    this = search.trials.loc[search.trials["run_id"] == run_id, "trial"]
    st.caption(
        f"This run is trial {int(this.iloc[0]) if len(this) else '?'} of a search "
        f"({search.budget}): {len(search.trials)} trials, {done.get('complete', 0)} finished, "
        f"{done.get('pruned', 0)} stopped early as hopeless, {done.get('failed', 0)} failed. "
        f"Each is judged on the validation rows by {search.objective} "
        f"({'higher' if search.maximize else 'lower'} is better); the best one is marked. "
        "Trial 0 trains the preset's own settings; the search keeps them unless a trial "
        "beats them by more than 1% on the validation rows (the top of many tries on a few "
        "hundred rows is partly luck)."
    )
    if search.registered:
        st.success(f"The best trial's model is saved as {escape_markdown(search.registered)}.")
    table = search.trials.assign(best=search.trials["run_id"] == search.best_run_id)
    for column in search.params:  # 0.0005611516415334506 -> 0.000561 (as logged: text)
        table[column] = table[column].map(short_number)
    st.dataframe(
        table,
        hide_index=True,
        key="results_search_trials",
        column_config={
            "value": st.column_config.NumberColumn(search.objective, format="%.4f"),
            "best": st.column_config.CheckboxColumn("Best"),
            "run_id": "Run",
        },
    )
    st.altair_chart(charts.search_progress(search.trials, search.best_so_far(), search.objective))
    importance = search.importance()
    if importance:
        st.caption(
            "Which settings mattered: each one's share of the differences between the finished "
            "trials' scores (Optuna's fANOVA; a rough guide with few trials)."
        )
        st.altair_chart(charts.importance_bars(importance))
    parent_url = run_url(settings.mlflow_ui_url, search.experiment_id, search.parent_id)
    st.markdown(f"[The search in the MLflow UI]({parent_url}) (every trial nested under it)")


@st.cache_data(ttl=5, show_spinner=False)
def load_history(settings: Settings, run_id: str) -> pd.DataFrame:
    return run_history(settings, run_id)


settings = get_settings()
st.title("Results")
choices = load_choices(settings)
wanted = st.query_params.get("run")
if wanted and wanted not in choices:  # a link to an older (or mistyped) run
    choices = {wanted: wanted, **choices}
if not choices:
    st.info("No runs yet. Train a model and its results will appear here.")
    st.stop()
run_id = st.selectbox(
    "Run",
    list(choices),
    index=list(choices).index(wanted) if wanted else 0,
    format_func=choices.get,
    key="results_run",
)
st.query_params["run"] = run_id  # the address bar now links to this run

try:
    details = load_details(settings, run_id)
except UnknownRun as error:
    st.error(
        f"Cannot show results: {escape_markdown(error.message)}. "
        f"To fix: {escape_markdown(error.fix)}."
    )
    st.stop()
if details.in_progress:
    st.info("This run is still training. Its results appear here when it finishes.")
    st.altair_chart(charts.learning_curves(load_history(settings, run_id)))
    st.stop()
if not details.finished:
    outcome = "was cancelled" if details.status == "KILLED" else "failed"
    st.error(f"This run {outcome}, so it has no results. The Jobs page shows what happened.")
    st.stop()

# the run's tags: whoever can reach MLflow can edit them, so they are shown as text
st.caption(
    f"{escape_markdown(details.task)} on {inline_code(details.dataset)} · run {inline_code(run_id)}"
)
if details.backbone:
    st.caption(f"Starts from a pretrained network: {escape_markdown(details.backbone)}")
if details.verdict:
    (st.success if details.beats_baseline else st.warning)(escape_markdown(details.verdict))
cards = metric_cards(details)
for column, card in zip(st.columns(len(cards) or 1), cards, strict=False):
    column.metric(
        card.label,
        f"{card.value:.3f}",
        None if card.delta is None else f"{card.delta:+.3f}",
        delta_color=card.delta_color,
        help="Difference to the baseline "
        f"({escape_markdown(details.baseline_name or 'a classical model')}) on the same test rows.",
    )

if details.decision:
    decision_threshold(details.decision)
if details.labels:
    matrix_column, table_column = st.columns(2)
    with matrix_column:
        st.subheader("Confusion matrix")
        normalize = st.toggle("Share of each true class", key="results_normalize")
        chart = charts.confusion_matrix(
            details.labels, details.confusion, normalize=normalize,
            dark=st.context.theme.type == "dark",
        )  # fmt: skip
        st.altair_chart(chart)
    with table_column:
        st.subheader("Per class")
        st.dataframe(details.per_class, hide_index=True, key="results_per_class")
if details.test_predictions is not None:
    test_predictions(details.test_predictions)
if details.candidates:
    model_comparison(details.candidates)
if details.calibration:
    calibration(details.calibration)
    if "counts" in details.calibration:
        mistake_costs(details.calibration, run_id, details.registered)
if details.importance is not None and details.importance.of_rows:  # a table model
    column_importance(details.importance)
    try:
        what_if_box(run_model(details), run_id)
    except DLStudioError as exc:
        show_message("warning", exc.message, exc.fix)

if details.mistakes_sheet is not None:  # image runs draw their mistakes
    image_mistakes(details)
elif details.mistakes is not None:
    text_mistakes(details, run_id)
if accepts_sentences(details.task):
    try_sentence(details)

if accepts_images(details.task):
    try_image(details)

forecast = details.forecast
if forecast:
    st.subheader("Forecast")
    pickers = st.columns(2)
    names = forecast.series
    series = (
        pickers[0].selectbox("Series", names, key=f"results_series_{run_id}")
        if len(names) > 1
        else names[0]
    )
    origins = forecast.origins(series)
    origin = pickers[1].selectbox(
        "Backtest forecasts",
        list(origins),
        format_func=origins.get,
        key=f"results_origin_{run_id}_{series}",
        help="Newest forecast: for each date of the test period, the forecast made closest "
        "before it (one step ahead wherever possible). A date: every step forecast from "
        "that point on.",
    )
    chart = charts.forecast(
        forecast.history, forecast.backtest, forecast.future, series=series, origin=origin
    )
    st.altair_chart(chart)
    if "coverage80" in details.metrics:
        honest, words = coverage_verdict(details.metrics["coverage80"])
        (st.caption if honest else st.warning)(
            f"{words} Shaded: the 80% interval. Pinball loss "
            f"{details.metrics.get('pinball', float('nan')):.3f} (lower is better)."
        )
    if forecast.future is None:
        st.caption(
            "No forecast beyond the data: the model needs the future values of its covariates. "
            "Upload them with the recent history on the Predict page."
        )
    if forecast.horizon_errors:
        st.subheader("Error by forecast step")
        metrics = forecast.error_metrics
        metric = st.selectbox(
            "Error",
            metrics,
            index=metrics.index(details.primary_metric) if details.primary_metric in metrics else 0,
            key="results_horizon_metric",
            help="Lower is better. MASE: the error over the seasonal-naive forecast's typical "
            "error on the past data; below 1 is smaller than that.",
        )
        st.altair_chart(charts.horizon_errors(forecast.horizon_errors, metric))
    if details.importance is not None:  # the inputs and lags of the network
        column_importance(details.importance)

st.subheader("Learning curves")
st.altair_chart(charts.learning_curves(load_history(settings, run_id)))
if search := load_search(settings, run_id):
    search_section(search, run_id)

st.subheader("Model and spec")
st.code(details.model_reference(), language=None)
links = st.columns(3)
links[0].link_button(
    "Open in the MLflow UI", run_url(settings.mlflow_ui_url, details.experiment_id, run_id)
)
if details.spec_yaml:
    links[1].download_button(
        "Download the spec",
        details.spec_yaml,
        file_name=f"spec-{run_id[:8]}.yaml",
        mime="text/yaml",
        key="results_spec_download",
    )
links[2].download_button(
    "Download the model URI",
    details.model_reference(),
    file_name=f"model-{run_id[:8]}.txt",
    mime="text/plain",
    key="results_model_download",
)
handover = st.columns(3)
with handover[0]:
    report_download(settings, details)
if not forecast:  # a forecaster reads whole histories: no ONNX graph for it
    with handover[1]:
        onnx_export(settings, details)
