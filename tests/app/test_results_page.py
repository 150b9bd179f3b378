"""The Results page under AppTest, on one real tiny training run (trained once per module)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from dlstudio.settings import Settings, get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks.text.sample import reviews
from dlstudio.tracking.setup import configure_tracking, ensure_experiment
from dlstudio.training import RunResult, run
from dlstudio.views.text import escape_markdown
from dlstudio.views.text_try import MISTAKES_WEIGHED
from tests.app.test_results_tabular import datasets
from tests.conftest import make_customers

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "results.py")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> tuple:
    """A home with one finished 2-epoch run (about 10 s), shared by this module's tests."""
    home = tmp_path_factory.mktemp("results-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    csv = home / "customers.csv"
    make_customers().to_csv(csv, index=False)
    spec = parse_spec(
        {"data": {"path": str(csv), "target": "churn"}, "training": {"preset": "fast", "epochs": 2}}
    )
    with pytest.MonkeyPatch.context() as env:  # never a user's shared MLflow server
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec, settings=Settings(home=home, torch_threads=1))
    return home, result


@pytest.fixture
def finished(trained: tuple, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    """Point this test's DLSTUDIO_HOME at the trained home; the finished run's result."""
    home, result = trained
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    configure_tracking(get_settings())
    return result


def results_page(run_id: str | None = None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    if run_id is not None:
        app.query_params["run"] = run_id
    return app.run()


def chart_rows(element) -> pd.DataFrame:
    """The rows Streamlit sends to the browser for a chart (its one named dataset)."""
    (dataset,) = element.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_pandas()


def test_empty_install_says_there_are_no_runs(mlflow_home: Path) -> None:
    app = results_page()
    assert not app.exception
    assert "No runs yet" in app.info[0].value
    assert not app.metric


def test_finished_run_shows_metric_cards_with_baseline_deltas(finished: RunResult) -> None:
    app = results_page(finished.run_id)
    assert not app.exception
    cards = {m.label: (m.value, m.delta) for m in app.metric}
    ours, theirs = finished.metrics, finished.baseline["metrics"]
    for label, key in (
        ("Accuracy", "test_accuracy"),
        ("Precision (macro)", "test_precision_macro"),
        ("Recall (macro)", "test_recall_macro"),
        ("F1 (macro) · primary", "test_f1_macro"),
    ):
        assert cards[label] == (f"{ours[key]:.3f}", f"{ours[key] - theirs[key]:+.3f}")
    verdicts = app.success if finished.beats_baseline else app.warning
    assert verdicts[0].value == finished.verdict


def test_confusion_matrix_shows_the_logged_counts_and_normalizes(finished: RunResult) -> None:
    logged = MlflowClient().download_artifacts(finished.run_id, "confusion_matrix.json")
    confusion = json.loads(Path(logged).read_text())
    app = results_page(finished.run_id)
    heatmap = app.get("vega_lite_chart")[0]
    assert json.loads(heatmap.proto.spec)["layer"][1]["encoding"]["text"]["field"] == "count"
    rows = chart_rows(heatmap)
    first, second = confusion["labels"]
    assert rows.set_index(["true", "predicted"])["count"].to_dict() == {
        (first, first): confusion["matrix"][0][0],
        (first, second): confusion["matrix"][0][1],
        (second, first): confusion["matrix"][1][0],
        (second, second): confusion["matrix"][1][1],
    }

    app.toggle(key="results_normalize").set_value(True).run()
    heatmap = app.get("vega_lite_chart")[0]
    assert json.loads(heatmap.proto.spec)["layer"][1]["encoding"]["text"]["field"] == "share"
    assert chart_rows(heatmap).groupby("true")["share"].sum().tolist() == pytest.approx([1, 1])


def test_per_class_table_curves_links_and_downloads(finished: RunResult) -> None:
    app = results_page(finished.run_id)
    table = app.dataframe[0].value
    assert table["class"].tolist() == ["no", "yes"]
    assert table["support"].sum() == 48  # the 20 % test split of 240 rows
    (curves,) = [rows for chart in app.get("vega_lite_chart") for rows in datasets(chart)
                 if "metric" in rows]  # fmt: skip
    assert curves[curves.metric == "train_loss"]["epoch"].tolist() == [1, 2]
    (link,) = app.get("link_button")
    expected = (
        f"http://127.0.0.1:5000/#/experiments/{finished.experiment_id}/runs/{finished.run_id}"
    )
    assert link.proto.url == expected
    assert [b.proto.label for b in app.get("download_button")] == [
        "Download the spec",
        "Download the model URI",
        "Download the model report",
    ]
    assert f"runs:/{finished.run_id}/model" in app.code[0].value


def test_without_a_query_parameter_the_newest_run_is_shown(finished: RunResult) -> None:
    app = results_page()
    assert not app.exception
    assert app.selectbox(key="results_run").value == finished.run_id
    assert app.query_params["run"] == finished.run_id  # the address now links to this run


def test_unknown_run_id_is_a_clear_error(finished: RunResult) -> None:
    app = results_page("0123456789abcdef0123456789abcdef")
    assert not app.exception
    assert "no run has the id '0123456789abcdef0123456789abcdef'" in app.error[0].value
    assert not app.metric


def test_running_run_says_it_is_still_training(mlflow_home: Path) -> None:
    settings = get_settings()
    configure_tracking(settings)
    client = MlflowClient()
    running = client.create_run(
        ensure_experiment("results-test", settings), tags={"dlstudio.task": "x"}
    )
    client.log_metric(running.info.run_id, "train_loss", 0.8, step=1)
    app = results_page(running.info.run_id)
    assert not app.exception
    assert "still training" in app.info[0].value
    assert chart_rows(app.get("vega_lite_chart")[0])["value"].tolist() == [0.8]
    assert not app.metric


def test_failed_run_says_it_has_no_results(mlflow_home: Path) -> None:
    settings = get_settings()
    configure_tracking(settings)
    client = MlflowClient()
    failed = client.create_run(ensure_experiment("results-test", settings))
    client.set_terminated(failed.info.run_id, status="FAILED")
    app = results_page(failed.info.run_id)
    assert not app.exception
    assert "This run failed" in app.error[0].value


MONTHS = pd.date_range("2020-01-01", periods=24, freq="MS")
LEVELS = {"north": 0.0, "south": 100.0}  # south is north shifted up, so each line is traceable


def iso(times) -> list[str]:
    return [time.isoformat() for time in times]


def log_forecast_artifacts() -> None:
    """What the forecasting template logs: two series, three origins, three steps, quantiles."""
    tail = pd.concat(
        pd.DataFrame({"series": name, "time": iso(MONTHS), "actual": level + np.arange(24.0)})
        for name, level in LEVELS.items()
    )
    backtest = pd.DataFrame(
        {
            "series": name, "origin": MONTHS[origin].isoformat(), "step": step,
            "time": MONTHS[origin + step].isoformat(), "actual": level + origin + step,
            "forecast": level + origin + step + 0.5, "forecast_p10": level + origin + step - 1,
            "forecast_p90": level + origin + step + 1, "seasonal_naive": level + origin + step - 12,
            "holt_winters": level + origin + step + 0.2,
        }
        for name, level in LEVELS.items()
        for origin in (18, 19, 20)
        for step in (1, 2, 3)
    )  # fmt: skip
    ahead = iso(pd.date_range("2022-01-01", periods=3, freq="MS"))
    future = pd.DataFrame(
        {"series": ["north"] * 3 + ["south"] * 3, "time": ahead * 2,
         "forecast": [24.0, 25, 26, 124, 125, 126], "forecast_p10": 23.0, "forecast_p90": 27.0}
    )  # fmt: skip
    errors = [
        {"step": step, "model": model, "mae": scale * step, "rmse": scale * step,
         "smape": scale, "mase": scale * step / 12}
        for model, scale in (("LSTM", 0.5), ("seasonal naive", 12.0), ("Holt-Winters", 1.0))
        for step in (1, 2, 3)
    ]  # fmt: skip
    mlflow.log_text(tail.to_csv(index=False), "series_tail.csv")
    mlflow.log_text(backtest.to_csv(index=False), "backtest.csv")
    mlflow.log_text(future.to_csv(index=False), "future_forecast.csv")
    mlflow.log_dict({"rows": errors}, "horizon_errors.json")


@pytest.fixture
def forecast_run(mlflow_home: Path) -> str:
    """A finished forecasting run logged by hand with the template's artifacts; its id."""
    settings = get_settings()
    configure_tracking(settings)
    with mlflow.start_run(experiment_id=ensure_experiment("results-test", settings)) as run:
        mlflow.set_tags(
            {"dlstudio.task": "forecasting", "dlstudio.primary_metric": "mase",
             "dlstudio.higher_is_better": "false", "dlstudio.verdict": "Beats the baselines"}
        )  # fmt: skip
        mlflow.log_metrics(
            {"test_mae": 1.0, "test_rmse": 1.2, "test_smape": 2.0, "test_mase": 0.3,
             "baseline_test_mae": 12.0, "baseline_test_rmse": 12.0, "baseline_test_smape": 20.0,
             "baseline_test_mase": 1.0, "train_loss": 0.5}
        )  # fmt: skip
        log_forecast_artifacts()
    return run.info.run_id


def chart_layers(element) -> dict[str, pd.DataFrame]:
    """mark type -> the rows that layer draws, for a layered chart as Streamlit sends it."""
    spec = json.loads(element.proto.spec)
    rows = {d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in element.proto.datasets}
    return {layer["mark"]["type"]: rows[layer["data"]["name"]] for layer in spec["layer"]}


def forecast_lines(app: AppTest) -> dict[str, list[float]]:
    """line name -> values of the forecast chart (the page's first chart)."""
    lines = chart_layers(app.get("vega_lite_chart")[0])["line"]
    return lines.groupby("line")["value"].agg(list).to_dict()


def test_forecast_run_shows_lower_is_better_cards_and_its_forecast(forecast_run: str) -> None:
    app = results_page(forecast_run)
    assert not app.exception
    cards = {m.label: m for m in app.metric}
    assert list(cards) == ["MAE", "RMSE", "sMAPE", "MASE · primary"]
    mase = cards["MASE · primary"]
    assert (mase.value, mase.delta) == ("0.300", "-0.700")
    assert mase.proto.color == mase.proto.MetricColor.GREEN  # lower than the baseline: good
    assert app.success[0].value == "Beats the baselines"
    assert not app.toggle  # no confusion matrix for a forecast
    lines = forecast_lines(app)
    assert lines["actual"] == list(np.arange(24.0))  # the first series, north
    # one step ahead from each origin, then the last origin's steps 2-3: to the last actual
    assert lines["forecast"] == [19.5, 20.5, 21.5, 22.5, 23.5]
    assert lines["future forecast"] == [24.0, 25.0, 26.0]
    assert set(chart_layers(app.get("vega_lite_chart")[0])["area"]["line"]) == {
        "forecast",
        "future forecast",
    }


def test_forecast_pickers_choose_the_series_and_the_origin(forecast_run: str) -> None:
    app = results_page(forecast_run)
    series = app.selectbox(key=f"results_series_{forecast_run}")
    assert series.options == ["north", "south"]
    series.set_value("south").run()
    assert forecast_lines(app)["actual"][0] == 100.0
    origin = app.selectbox(key=f"results_origin_{forecast_run}_south")
    assert origin.options[0] == "newest forecast of each date"
    assert origin.options[1] == "made at 2021-07-01, 3 steps ahead"
    origin.set_value(MONTHS[18]).run()
    assert not app.exception
    assert forecast_lines(app)["forecast"] == [119.5, 120.5, 121.5]  # that origin's 3 steps
    assert chart_layers(app.get("vega_lite_chart")[0])["rule"]["time"].size == 1


def test_error_by_step_shows_each_model_and_switches_metric(forecast_run: str) -> None:
    app = results_page(forecast_run)
    picker = app.selectbox(key="results_horizon_metric")
    assert (picker.value, picker.options) == ("mase", ["mase", "smape", "mae", "rmse"])
    errors = app.get("vega_lite_chart")[1]
    assert set(chart_rows(errors)["model"]) == {"LSTM", "seasonal naive", "Holt-Winters"}
    picker.set_value("mae").run()
    errors = app.get("vega_lite_chart")[1]
    assert json.loads(errors.proto.spec)["encoding"]["y"]["title"] == "mae"
    by_model = chart_rows(errors).groupby("model")["value"].agg(list).to_dict()
    assert by_model["LSTM"] == [0.5, 1.0, 1.5]


def monthly_sales(n: int = 60, *, seed: int = 0) -> pd.DataFrame:
    """One monthly series: trend, a yearly season and noise."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    sales = 100 + steps + 10 * np.sin(2 * np.pi * steps / 12) + rng.normal(0, 2, n)
    months = pd.date_range("2019-01-01", periods=n, freq="MS").strftime("%Y-%m")
    return pd.DataFrame({"month": months, "sales": sales})


@pytest.fixture(scope="module")
def trained_forecast(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> tuple:
    """A home with one finished 2-epoch forecasting run (about 15 s), shared by this module."""
    home = tmp_path_factory.mktemp("forecast-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    csv = home / "sales.csv"
    monthly_sales().to_csv(csv, index=False)
    spec = parse_spec(
        {
            "task": "forecasting",
            "data": {"path": str(csv), "target": "sales"},
            "options": {"time_column": "month"},
            "training": {"preset": "fast", "epochs": 2},
        }
    )
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec, settings=Settings(home=home, torch_threads=1))
    return home, result


def test_a_trained_forecast_shows_its_chart_and_errors_by_step(
    trained_forecast: tuple, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, result = trained_forecast
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    app = results_page(result.run_id)
    assert not app.exception
    assert "MASE · primary" in [m.label for m in app.metric]
    forecast_chart, errors_chart, inputs, lags, curves = app.get("vega_lite_chart")
    lines = chart_layers(forecast_chart)["line"].groupby("line").size().to_dict()
    assert lines["actual"] == 60  # the whole (short) history
    horizon = lines["forecast"]  # one origin here: its whole horizon
    assert lines["future forecast"] == horizon
    assert set(chart_rows(errors_chart)["step"]) == set(range(1, horizon + 1))
    assert app.selectbox(key="results_horizon_metric").value == "mase"
    assert "train_loss" in set(chart_rows(curves)["metric"])
    logged = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/importance.json")
    (drawn,) = datasets(inputs)
    assert drawn["column"].tolist() == [c["column"] for c in logged["columns"]]
    assert "recent values of sales" in drawn["column"].tolist()
    (by_lag,) = datasets(lags)
    assert by_lag["lag"].tolist() == [c["lag"] for c in logged["lags"]]
    (caption,) = [c.value for c in app.caption if "backtest windows" in c.value]
    assert f"across the {logged['rows']:,} backtest windows" in caption


@pytest.fixture(scope="module")
def trained_text(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> tuple:
    """A home with one finished 2-epoch text_sentiment run on 120 reviews, shared by this module."""
    home = tmp_path_factory.mktemp("text-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    csv = home / "reviews.csv"
    reviews(120).to_csv(csv, index=False)
    spec = parse_spec(
        {
            "task": "text_sentiment",
            "data": {"path": str(csv), "target": "sentiment"},
            "training": {"preset": "fast", "epochs": 2},
        }
    )
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec, settings=Settings(home=home, torch_threads=1))
    return home, result


@pytest.fixture
def text_run(trained_text: tuple, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point this test's DLSTUDIO_HOME at the text run's home; the run's id."""
    home, result = trained_text
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    configure_tracking(get_settings())
    return result.run_id


def test_a_text_run_lists_its_most_confident_mistakes(text_run: str) -> None:
    logged = MlflowClient().download_artifacts(text_run, "mistakes.json")
    mistakes = json.loads(Path(logged).read_text())
    app = results_page(text_run)
    assert not app.exception
    assert "Most confident mistakes" in [header.value for header in app.subheader]
    if not mistakes:
        assert "No mistakes on the test texts." in [info.value for info in app.info]
        return
    table = next(df.value for df in app.dataframe if "predicted" in df.value.columns)
    assert table["text"].tolist() == [row["text"] for row in mistakes]
    assert (table["true"] != table["predicted"]).all()


def test_a_typed_sentence_gets_a_label_and_each_class_probability(text_run: str) -> None:
    app = results_page(text_run)
    app.text_input(key="results_sentence").input("Love the camera!")
    app.button(key="results_label").click().run()
    assert not app.exception
    (label,) = [m for m in app.metric if m.label == "Predicted label"]
    probabilities = app.dataframe[-1].value  # the page's last table: this sentence's answer
    assert set(probabilities["class"]) == {"negative", "neutral", "positive"}
    assert probabilities["probability"].sum() == pytest.approx(1.0)
    assert label.value == probabilities["class"].iloc[0]  # the most likely class


def test_a_typed_sentence_shows_the_words_behind_its_label(text_run: str) -> None:
    app = results_page(text_run)
    app.text_input(key="results_sentence").input("Love the camera, hate the battery!")
    app.button(key="results_label").click().run()
    assert not app.exception
    (label,) = [m for m in app.metric if m.label == "Predicted label"]
    (legend,) = [c.value for c in app.caption if c.value.startswith("Green words raised")]
    assert repr(label.value) in legend  # the colours are for the predicted label
    (words,) = [m.value for m in app.markdown if "Love" in m.value and "battery" in m.value]
    assert "-background[" in words  # at least the strongest word is coloured


def test_the_mistakes_words_are_weighed_on_demand(text_run: str) -> None:
    mistakes = json.loads(
        Path(MlflowClient().download_artifacts(text_run, "mistakes.json")).read_text()
    )
    if not mistakes:
        pytest.skip("this tiny model made no mistakes on its test texts")
    app = results_page(text_run)
    assert not any("-background[" in m.value for m in app.markdown)  # nothing weighed yet
    app.toggle(key="results_mistake_words").set_value(True).run()
    assert not app.exception
    lines = [m.value for m in app.markdown if "predicted" in m.value and "*true" in m.value]
    assert len(lines) == min(len(mistakes), MISTAKES_WEIGHED)
    first = mistakes[0]
    assert f"predicted {escape_markdown(first['predicted'])}" in lines[0]


def test_an_empty_sentence_asks_for_one_instead_of_failing(text_run: str) -> None:
    app = results_page(text_run)
    app.text_input(key="results_sentence").input("   ")
    app.button(key="results_label").click().run()
    assert not app.exception
    assert "There is no sentence to label." in app.warning[-1].value
    assert "Predicted label" not in [m.label for m in app.metric]


def test_a_tabular_run_offers_no_sentence_no_image_box_and_no_mistakes(
    finished: RunResult,
) -> None:
    app = results_page(finished.run_id)
    headers = [header.value for header in app.subheader]
    assert "Try a sentence" not in headers and "Classify an image" not in headers
    assert "Most confident mistakes" not in headers and "Mistakes" not in headers
    assert len(app.file_uploader) == 0


def test_a_tabular_run_shows_what_it_relies_on_and_a_what_if_box(finished: RunResult) -> None:
    app = results_page(finished.run_id)

    assert not app.exception
    headers = [header.value for header in app.subheader]
    assert "What the model relies on" in headers and "What if" in headers
    start = app.selectbox(key=f"results_what_if_start_{finished.run_id}")
    assert start.options[0] == "training row 1" and len(start.options) == 10
    (prediction,) = [m for m in app.metric if m.label == "Prediction"]
    assert prediction.value.startswith(("yes (", "no ("))
    (reasons,) = [d.value["reason"] for d in app.dataframe if "reason" in d.value]
    assert 1 <= len(reasons) <= 3
    assert reasons.str.contains(r" (?:raises|lowers) the chance of (?:yes|no) ").all()

    key = f"results_what_if_{finished.run_id}_0"
    assert app.selectbox(key=f"{key}_plan").options == ["basic", "plus", "premium"]
    tenure = app.number_input(key=f"{key}_tenure")
    tenure.set_value(71 if tenure.value < 36 else 1).run()  # the other end of the range
    (moved,) = [m for m in app.metric if m.label == "Prediction"]
    assert moved.proto.delta  # "+12% for no": the change against the unedited row
    (reasons,) = [d.value["reason"] for d in app.dataframe if "reason" in d.value]
    assert reasons.str.contains(f"tenure = {tenure.value:g} ").any()

    app.text_input(key=f"{key}_signup").set_value("last spring").run()
    assert not app.exception
    assert "'signup' needs a date written like 2024-01-31; 'last spring' is not one." in (
        app.error[0].value
    )

    start.set_value(3).run()  # another starting row: its own answer, its own values
    assert not app.exception and len(app.error) == 0


def test_a_two_class_run_shows_how_far_its_probabilities_can_be_trusted(
    finished: RunResult,
) -> None:
    from dlstudio.tracking.queries.details import run_details

    logged = run_details(get_settings(), finished.run_id).calibration
    app = results_page(finished.run_id)

    assert "Can its probabilities be trusted?" in [header.value for header in app.subheader]
    assert any(f"Brier score {logged['brier']:.3f} (lower is better" in c.value
               for c in app.caption)  # fmt: skip
    assert sum(b["rows"] for b in logged["bins"]) == 48  # every test row, in some bin
    (drawn,) = [rows for chart in app.get("vega_lite_chart") for rows in datasets(chart)
                if "rows" in rows]  # the bins (the diagonal has no rows)  # fmt: skip
    assert drawn["rows"].tolist() == [b["rows"] for b in logged["bins"]]


def test_the_cost_tool_finds_the_cheapest_threshold_and_reports_it_on_the_test_rows(
    finished: RunResult,
) -> None:
    app = results_page(finished.run_id)
    assert "What a mistake costs" in [header.value for header in app.subheader]

    from dlstudio.tracking.queries.details import run_details
    from dlstudio.views.costs import cheapest, cost_curve, on_test_rows

    app.number_input(key=f"results_cost_miss_{finished.run_id}").set_value(30.0).run()

    assert not app.exception
    (line,) = [m.value for m in app.markdown if m.value.startswith("Least cost on the valid")]
    report = run_details(get_settings(), finished.run_id).calibration
    best = cheapest(cost_curve(report, 1.0, 30.0))
    ours, theirs = (on_test_rows(report, t, 1.0, 30.0) for t in (best, report["threshold"]))
    assert line.startswith(
        f"Least cost on the validation rows at threshold **{best:.2f}**. On "
        f"the test rows it costs **{ours.cost_per_1000:,.1f}** per 1,000 rows"
    )
    assert f"against {theirs.cost_per_1000:,.1f} at the model's threshold" in line

    app.number_input(key=f"results_cost_false_alarm_{finished.run_id}").set_value(0.0).run()
    app.number_input(key=f"results_cost_miss_{finished.run_id}").set_value(0.0).run()
    assert "Both costs are 0, so every threshold costs nothing." in app.error[0].value


def test_what_if_moves_the_answer_with_an_edit_and_names_bad_values(finished: RunResult) -> None:
    from dlstudio.errors import DataError
    from dlstudio.predict import load_model
    from dlstudio.views.what_if import starting_rows, what_if

    model = load_model(f"runs:/{finished.run_id}/model")
    row = starting_rows(model).iloc[[0]].reset_index(drop=True)
    short, long = row.assign(tenure=1), row.assign(tenure=70)

    before, after = what_if(model, short), what_if(model, long)

    assert not before.notes and not after.notes
    assert before.answer["probability_yes"].iloc[0] != after.answer["probability_yes"].iloc[0]
    assert "tenure = 70 " in " ".join(after.answer[["reason_1", "reason_2", "reason_3"]].iloc[0])

    unseen = what_if(model, row.assign(plan="platinum"))
    assert unseen.notes == ["'platinum' was not seen (at least twice) in the training rows of "
                            "'plan': the model reads it as an unknown value."]  # fmt: skip
    with pytest.raises(DataError) as caught:
        what_if(model, row.assign(tenure="ten"))
    assert caught.value.message == "'tenure' needs a number; 'ten' is not one."
    with pytest.raises(DataError, match=r"'signup' needs a date written like 2024-01-31"):
        what_if(model, row.assign(signup="last spring"))


def test_a_text_run_without_mistakes_says_so(mlflow_home: Path) -> None:
    settings = get_settings()
    configure_tracking(settings)
    with mlflow.start_run(experiment_id=ensure_experiment("results-test", settings)) as run:
        mlflow.set_tag("dlstudio.task", "text_sentiment")
        mlflow.log_metrics({"test_accuracy": 1.0, "test_f1_macro": 1.0})
        mlflow.log_dict([], "mistakes.json")
    app = results_page(run.info.run_id)
    assert not app.exception
    assert "No mistakes on the test texts." in [info.value for info in app.info]


def test_a_run_offers_its_model_report_and_an_onnx_export(finished: RunResult) -> None:
    app = results_page(finished.run_id)
    assert not app.exception
    (report,) = [b for b in app.get("download_button") if b.proto.id.endswith("download_report")]
    assert report.proto.label == "Download the model report"
    warnings = [w.value for w in app.warning]  # the verdict's

    app.button(key="results_onnx_export").click().run()

    assert not app.exception
    assert [w.value for w in app.warning] == warnings  # no refusal
    (onnx,) = [
        b for b in app.get("download_button") if b.proto.id.endswith("results_onnx_download")
    ]
    assert onnx.proto.label == "Download model-onnx.zip"
