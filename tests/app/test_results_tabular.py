"""The Results page under AppTest for what tabular runs log besides their scores: a regression's
test predictions, the models compared and a two-class model's decision threshold (runs logged
by hand with the artifacts the templates write), and older runs that have none of them."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.settings import get_settings
from dlstudio.tracking.setup import configure_tracking, ensure_experiment

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "results.py")

REGRESSION_CANDIDATES = {
    "metric": "rmse",
    "higher_is_better": False,
    "chosen": "hgb",
    "candidates": [
        {"key": "network", "name": "TabM network", "weights": None,
         "validation": {"rmse": 11.0}, "test": {"rmse": 11.5, "mae": 8.0, "r2": 0.7, "mape": 0.2}},
        {"key": "hgb", "name": "HistGradientBoosting", "weights": None,
         "validation": {"rmse": 9.0}, "test": {"rmse": 9.5, "mae": 7.0, "r2": 0.8, "mape": 0.15}},
        {"key": "ensemble", "name": "Ensemble", "weights": {"network": 0.3, "hgb": 0.7},
         "validation": {"rmse": 9.2}, "test": {"rmse": 9.4, "mae": 7.1, "r2": 0.81, "mape": 0.15}},
    ],
}  # fmt: skip
DECISION = {
    "positive_class": "Yes",
    "threshold": 0.37,
    "optimize": "f1_macro",
    "validation_score": 0.81,
    "untuned_validation_score": 0.78,
}


def log_run(tags: dict[str, str], metrics: dict[str, float], **artifacts: object) -> str:
    """A finished run with these tags, metrics and artifacts (name -> dict, list or frame)."""
    settings = get_settings()
    configure_tracking(settings)
    with mlflow.start_run(experiment_id=ensure_experiment("results-test", settings)) as run:
        mlflow.set_tags(tags)
        mlflow.log_metrics({**metrics, "train_loss": 0.5})
        for name, payload in artifacts.items():
            if isinstance(payload, pd.DataFrame):
                mlflow.log_text(payload.to_csv(index=False), name.replace("_csv", ".csv"))
            else:
                mlflow.log_dict(payload, name.replace("_json", ".json"))
    return run.info.run_id


@pytest.fixture
def regression_run(mlflow_home: Path) -> str:
    """A regression run with 40 test predictions and the models it compared."""
    actual = np.arange(40.0) * 10
    predictions = pd.DataFrame({"actual": actual, "predicted": actual + (np.arange(40) % 4)})
    return log_run(
        {"dlstudio.task": "tabular_regression", "dlstudio.primary_metric": "rmse",
         "dlstudio.higher_is_better": "false"},
        {"test_rmse": 9.5, "test_mae": 7.0, "test_r2": 0.8, "baseline_test_rmse": 10.0,
         "baseline_test_mae": 7.5, "baseline_test_r2": 0.75},
        test_predictions_csv=predictions,
        candidates_json=REGRESSION_CANDIDATES,
    )  # fmt: skip


def results_page(run_id: str) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.query_params["run"] = run_id
    return app.run()


def datasets(element) -> list[pd.DataFrame]:
    """The rows of each dataset Streamlit sends to the browser for one chart."""
    return [pa.ipc.open_stream(d.data.data).read_pandas() for d in element.proto.datasets]


def subheaders(app: AppTest) -> list[str]:
    return [header.value for header in app.subheader]


def test_a_regression_run_draws_its_test_predictions_three_ways(regression_run: str) -> None:
    app = results_page(regression_run)

    assert not app.exception
    assert "Predictions on the test rows" in subheaders(app)
    predicted, residuals, deciles, _curves = app.get("vega_lite_chart")
    assert sorted(len(rows) for rows in datasets(predicted)) == [
        2,
        40,
    ]  # the y = x line, every test row
    spread = {
        d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in residuals.proto.datasets
    }
    points = next(rows for rows in spread.values() if len(rows) == 40)
    assert (points["residual"] == -(np.arange(40) % 4)).all()
    (bars,) = datasets(deciles)
    assert bars["rows"].tolist() == [4] * 10
    assert bars["mae"].tolist() == [1.5] * 10  # errors 0, 1, 2, 3 in every tenth
    assert bars["range"].iloc[0] == "0 – 30"


def test_a_regression_run_shows_r2_as_better_when_higher(regression_run: str) -> None:
    app = results_page(regression_run)

    cards = {m.label: m for m in app.metric}
    assert list(cards) == ["MAE", "RMSE · primary", "R²"]
    assert cards["R²"].delta == "+0.050"
    assert cards["R²"].proto.color == cards["R²"].proto.MetricColor.GREEN
    assert cards["RMSE · primary"].proto.color == cards["R²"].proto.MetricColor.GREEN


def test_the_models_compared_are_listed_with_the_registered_one_ticked(regression_run: str) -> None:
    app = results_page(regression_run)

    assert "Models compared on the same rows" in subheaders(app)
    assert any("lowest RMSE on the validation rows was registered" in c.value for c in app.caption)
    table = app.dataframe[0].value
    assert table["model"].tolist() == ["TabM network", "HistGradientBoosting", "Ensemble"]
    assert table["validation RMSE"].tolist() == [11.0, 9.0, 9.2]
    assert table["test R²"].tolist() == [0.7, 0.8, 0.81]
    assert table["registered"].tolist() == [False, True, False]
    assert table["weights"].iloc[2] == "HistGradientBoosting 70%, TabM network 30%"


def test_a_two_class_run_says_its_threshold_and_what_it_was_tuned_for(mlflow_home: Path) -> None:
    classification = {
        **REGRESSION_CANDIDATES, "metric": "f1_macro", "higher_is_better": True,
        "chosen": "network",
    }  # fmt: skip
    run_id = log_run(
        {"dlstudio.task": "tabular_classification"},
        {"test_accuracy": 0.8, "test_f1_macro": 0.79},
        decision_json=DECISION,
        candidates_json=classification,
    )

    app = results_page(run_id)

    assert not app.exception
    (line,) = app.info
    assert "the model answers **Yes** when its probability is at least 0.37" in line.value
    assert "tuned for F1 (macro) on the validation rows: 0.810 there, against 0.780" in line.value
    assert "Predict and serving apply the same threshold" in line.value
    assert "Predictions on the test rows" not in subheaders(app)
    assert app.dataframe[0].value["registered"].tolist() == [True, False, False]


IMPORTANCE = {
    "metric": "f1_macro", "rows": 48, "repeats": 5,
    "columns": [{"column": "tenure", "worsens_by": 0.21, "spread": 0.03},
                {"column": "plan", "worsens_by": 0.12, "spread": 0.02},
                {"column": "region", "worsens_by": -0.01, "spread": 0.01}],
}  # fmt: skip


def test_the_columns_the_model_relies_on_are_drawn_most_important_first(
    mlflow_home: Path,
) -> None:
    run_id = log_run(
        {"dlstudio.task": "tabular_classification", "dlstudio.primary_metric": "f1_macro"},
        {"test_f1_macro": 0.8, "baseline_test_f1_macro": 0.78}, importance_json=IMPORTANCE,
    )  # fmt: skip

    app = results_page(run_id)

    assert not app.exception
    assert "What the model relies on" in subheaders(app)
    assert any("How much the test F1 (macro) gets worse when one column's values are shuffled "
               "across the 48 test rows (5 shuffles" in c.value for c in app.caption)  # fmt: skip
    (drawn,) = [d for chart in app.get("vega_lite_chart") for d in datasets(chart)
                if "worsens_by" in d]  # fmt: skip
    assert drawn["column"].tolist() == ["tenure", "plan", "region"]
    assert drawn["worsens_by"].tolist() == [0.21, 0.12, -0.01]


def test_an_older_run_without_these_artifacts_shows_none_of_them(mlflow_home: Path) -> None:
    run_id = log_run({"dlstudio.task": "tabular_classification"}, {"test_f1_macro": 0.7})

    app = results_page(run_id)

    assert not app.exception
    headers = subheaders(app)
    assert "Models compared on the same rows" not in headers
    assert "Predictions on the test rows" not in headers
    assert "What the model relies on" not in headers
    assert not app.info
    assert [m.label for m in app.metric] == ["F1 (macro) · primary"]
