"""Streamlit sections of the Results page for tabular runs: a regression's predictions on the test
rows, the models compared on the same rows, a two-class model's decision threshold, the
columns the model relies on and the what-if box."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlstudio import charts
from dlstudio.auth import Action
from dlstudio.errors import DLStudioError
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.tracking.queries import Decision, ModelCandidates
from dlstudio.tracking.queries.details import CARD_METRICS, ColumnImportance
from dlstudio.tracking.threshold import use_threshold
from dlstudio.views.costs import cheapest, cost_curve, on_test_rows
from dlstudio.views.model_choice import candidates_table, choice_note, decision_text
from dlstudio.views.text import escape_markdown
from dlstudio.views.what_if import WhatIfField, starting_rows, what_if, what_if_fields
from pages._widgets.access import audited_here, why_not
from pages._widgets.operate import current_user
from pages._widgets.widgets import show_message


def test_predictions(predictions: pd.DataFrame) -> None:
    """Predicted against actual, the errors against the prediction, the error by decile."""
    st.subheader("Predictions on the test rows")
    st.caption(
        "Each point is a test row. Points on the dashed line are exact; points above it were "
        "predicted too high, below it too low."
    )
    scatter, spread = st.columns(2)
    scatter.altair_chart(charts.predicted_vs_actual(predictions), key="results_predicted")
    spread.altair_chart(charts.residuals(predictions), key="results_residuals")
    st.caption(
        "Average error (in the target's units) for the test rows sorted into ten equal groups "
        "from the smallest actual values to the largest: where the model is least reliable."
    )
    st.altair_chart(charts.error_by_decile(predictions), key="results_error_by_decile")


def model_comparison(choice: ModelCandidates) -> None:
    """One row per model tried, with the registered one ticked."""
    st.subheader("Models compared on the same rows")
    st.caption(choice_note(choice))
    st.dataframe(
        candidates_table(choice),
        hide_index=True,
        key="results_candidates",
        column_config={
            "model": "Model",
            "weights": st.column_config.TextColumn(
                "Blend", help="The share of each model in a blended prediction."
            ),
            "registered": st.column_config.CheckboxColumn(
                "Registered", help="The model saved with this run and used by Predict."
            ),
        },
    )


def decision_threshold(decision: Decision) -> None:
    """The one line about the tuned threshold of a two-class model."""
    st.info(decision_text(decision))


def column_importance(importance: ColumnImportance) -> None:
    """Which inputs the model relies on: permutation importance on the test rows (a table
    model) or the backtest windows (a forecaster, with one bar per lag too)."""
    st.subheader("What the model relies on")
    metric = CARD_METRICS.get(importance.metric, importance.metric)
    if importance.of_rows:
        st.caption(
            f"How much the test {metric} gets worse when one column's values are shuffled across "
            f"the {importance.rows:,} test rows ({importance.repeats} shuffles; the line shows "
            "their spread). Near 0: the model barely uses the column. Below 0: shuffling it did "
            "not hurt."
        )
    else:
        st.caption(
            f"How much the network's backtest {metric} gets worse when one input is shuffled "
            f"across the {importance.rows:,} {escape_markdown(importance.unit)}, all its time "
            f"steps together ({importance.repeats} shuffles; the line shows their spread). The "
            "statistical models in the blend read none of these inputs. Near 0: the network "
            "barely uses it."
        )
    where = "test" if importance.of_rows else "backtest"
    st.altair_chart(
        charts.column_importance(importance.columns, metric, where=where),
        key="results_column_importance",
    )
    if importance.lags is not None:
        st.caption(
            "Each past value on its own: how much the backtest error grows when the value that "
            "many steps before the forecast starts is shuffled (the others stay, so a lag the "
            "neighbouring ones stand in for scores near 0)."
        )
        st.altair_chart(
            charts.lag_importance(importance.lags, metric), key="results_lag_importance"
        )


def what_if_box(model, run_id: str) -> None:
    """Start from a typical training row, change its values, see the answer and reasons."""
    st.subheader("What if")
    rows = starting_rows(model)
    st.caption(
        "Start from a row of the training data, change any value, and see how the prediction "
        "and its three strongest reasons change."
    )
    start = st.selectbox(
        "Start from", range(len(rows)), format_func=lambda i: f"training row {i + 1}",
        key=f"results_what_if_start_{run_id}",
    )  # fmt: skip
    original = rows.iloc[[start]].reset_index(drop=True)
    values = original.iloc[0].to_dict()
    grid = st.columns(3)
    for i, field in enumerate(what_if_fields(model, original)):
        key = f"results_what_if_{run_id}_{start}_{field.column}"
        with grid[i % 3]:
            values[field.column] = _field_input(field, key)
    edited = pd.DataFrame([values])
    try:
        before, after = what_if(model, original), what_if(model, edited)
    except DLStudioError as exc:
        show_message("error", exc.message, exc.fix)
        return
    for note in after.notes:
        show_message("info", note)
    answer, was = after.answer.iloc[0], before.answer.iloc[0]
    shown, delta = _answer(answer, was)
    left, right = st.columns([1, 2])
    left.metric("Prediction", escape_markdown(shown), delta and escape_markdown(delta),
                help="The change is against the unedited row.")  # fmt: skip
    reasons = [answer[f"reason_{k}"] for k in (1, 2, 3) if answer[f"reason_{k}"]]
    right.dataframe(pd.DataFrame({"reason": reasons}), hide_index=True,
                    key=f"results_what_if_reasons_{run_id}")  # fmt: skip


def _field_input(field: WhatIfField, key: str) -> object:
    """The widget of one column: a number box, a list of the training values, or text."""
    if field.kind == "number":
        return st.number_input(field.column, value=field.value, key=key, format="%g")
    if field.kind == "choice":
        index = field.choices.index(field.value) if field.value in field.choices else None
        return st.selectbox(field.column, field.choices, index=index, key=key,
                            placeholder="(missing)")  # fmt: skip
    return st.text_input(field.column, value=field.value, key=key, help=field.help) or None


def _answer(answer: pd.Series, was: pd.Series) -> tuple[str, str | None]:
    """The prediction in words and its change against the unedited row."""
    prediction = answer["prediction"]
    if f"probability_{prediction}" in answer:  # a class: how sure, and the change of that
        now = answer[f"probability_{prediction}"]
        change = now - was[f"probability_{prediction}"]
        return f"{prediction} ({now:.0%})", (f"{change:+.0%} for {prediction}" if change else None)
    change = prediction - was["prediction"]
    return f"{prediction:,.4g}", (f"{change:+,.4g}" if change else None)


def calibration(report: dict) -> None:
    """Whether a two-class model's probabilities can be taken at their word."""
    st.subheader("Can its probabilities be trusted?")
    positive, base = escape_markdown(report["positive_class"]), report["base_rate"]
    st.caption(
        f"Each point groups the test rows by the predicted chance of {positive}: on the dashed "
        "line, what the model says comes true as often as it says. Brier score "
        f"{report['brier']:.3f} (lower is better; always answering the share of {positive}, "
        f"{base:.0%}, would score {base * (1 - base):.3f})."
    )
    chart = charts.reliability(report["bins"], report["positive_class"])
    st.altair_chart(chart, key="results_reliability")


def mistake_costs(report: dict, run_id: str, registered: list[str] | None = None) -> None:
    """The threshold that costs least for the user's costs of a false alarm and of a miss."""
    st.subheader("What a mistake costs")
    positive = escape_markdown(report["positive_class"])
    st.caption(
        f"Enter what a false alarm (answering {positive} wrongly) and a miss (not answering "
        f"{positive} when it was) cost you, in any unit: the threshold that costs least is found "
        "on the validation rows, and the test rows say what it gives on new rows."
    )
    left, right = st.columns(2)
    false_alarm = left.number_input("Cost of a false alarm", min_value=0.0, value=1.0,
                                    key=f"results_cost_false_alarm_{run_id}")  # fmt: skip
    miss = right.number_input("Cost of a miss", min_value=0.0, value=1.0,
                              key=f"results_cost_miss_{run_id}")  # fmt: skip
    try:
        curve = cost_curve(report, false_alarm, miss)
    except DLStudioError as exc:
        show_message("error", exc.message, exc.fix)
        return
    best = cheapest(curve)
    current = report["threshold"]
    st.altair_chart(charts.cost_curve(curve, current=current, best=best),
                    key="results_cost_curve")  # fmt: skip
    ours, theirs = (on_test_rows(report, t, false_alarm, miss) for t in (best, current))
    st.markdown(
        f"Least cost on the validation rows at threshold **{best:.2f}**. On the test rows it "
        f"costs **{ours.cost_per_1000:,.1f}** per 1,000 rows (precision {ours.precision:.0%}, "
        f"recall {ours.recall:.0%}), against {theirs.cost_per_1000:,.1f} at the model's "
        f"threshold {current:.2f} (precision {theirs.precision:.0%}, recall {theirs.recall:.0%})."
    )
    if best != current:
        use_threshold_button(registered or [], best, f"least cost with a false alarm costing "
                             f"{false_alarm:g} and a miss {miss:g}")  # fmt: skip


def use_threshold_button(registered: list[str], threshold: float, reason: str) -> None:
    """Make the registered model answer from ``threshold``: a new version, made the champion."""
    if not registered:
        st.caption("To answer from this threshold, save the model under a name (Train: \"Save "
                   "the model as\"), then use it here.")  # fmt: skip
        return
    name, version = registered[0].rsplit(" version ", 1)
    cannot = why_not(Action.THRESHOLD)
    if not st.button(
        f"Use threshold {threshold:.2f} for {name}",
        key="results_use_threshold",
        disabled=cannot is not None,
        help=cannot or f"A new version of {name} (version {version} answering from {threshold:.2f}), made "
        "the champion: Predict and the served model use it. The Models page's roll back, or "
        f"`dlstudio models rollback {name}`, undoes it.",
    ):
        return
    try:
        with (
            audited_here(Action.THRESHOLD, f"model {name} version {version}",
                         detail=f"threshold {threshold:.2f}: {reason}") as done,
            st.spinner("Making the new version..."),
        ):  # fmt: skip
            change = use_threshold(name, version, threshold, reason=reason, by=current_user(),
                                   now=utc_now(), settings=get_settings())  # fmt: skip
            done.target = f"model {name} version {change.version}"
    except DLStudioError as exc:
        show_message("error", exc.message, exc.fix)
        return
    st.success(escape_markdown(
        f"Version {change.version} of {name!r} answers from threshold {change.threshold:.2f} "
        f"(version {change.source_version} answered from {change.previous:.2f}) and is the "
        "champion."
    ))  # fmt: skip
