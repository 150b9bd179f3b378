"""Explanations of table models (issue 20): permutation importance and reason codes, checked
for faithfulness on data whose label depends on known columns only."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dlstudio.errors import DLStudioError
from dlstudio.explain.columns import ColumnCodec
from dlstudio.explain.importance import IMPORTANCE_FILE
from dlstudio.explain.reasons import explain_rows
from dlstudio.predict import predict_file, predict_frame
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.training.device import choose_device
from tests.test_predict import ThresholdModel


def two_column_table(n: int = 900, *, seed: int = 0, regression: bool = False) -> pd.DataFrame:
    """``plan`` and ``tenure`` decide the target; six noise columns of every kind do not."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"noise_{i}": rng.normal(size=n) for i in range(4)})
    frame["region"] = rng.choice(["north", "south", "east"], n)
    frame["paperless"] = rng.choice(["Yes", "No"], n)
    frame["plan"] = rng.choice(["basic", "plus", "premium"], n)
    frame["tenure"] = rng.integers(1, 72, n)
    score = 2.0 * (frame["plan"] == "basic") - frame["tenure"] / 18 + 1.5
    if regression:
        frame["spend"] = 100 + 40 * score + rng.normal(0, 5, n)
    else:
        frame["churn"] = np.where(score + rng.normal(0, 0.3, n) > 0, "yes", "no")
    return frame


def trained(tmp_path: Path, task: str, frame: pd.DataFrame, target: str):
    spec = parse_spec({
        "task": task, "data": {"path": "x.csv", "target": target},
        "training": {"preset": "fast", "epochs": 3, "seed": 0},
    })  # fmt: skip
    template = get_template(task)
    outcome = template.train(
        TrainingData(frame), spec, device=choose_device("cpu"), callbacks=[],
        work_dir=tmp_path / "model",
    )  # fmt: skip
    return outcome, template.load_predictor(outcome.model_dir)


@pytest.mark.parametrize(
    ("task", "target", "regression"),
    [("tabular_classification", "churn", False), ("tabular_regression", "spend", True)],
)
def test_the_two_deciding_columns_rank_first_and_lead_the_reasons(
    tmp_path: Path, task: str, target: str, regression: bool
) -> None:
    outcome, predictor = trained(tmp_path, task, two_column_table(regression=regression), target)

    importance = outcome.json_artifacts[IMPORTANCE_FILE]
    ranked = [row["column"] for row in importance["columns"]]
    assert set(ranked[:2]) == {"plan", "tenure"}, importance
    assert importance["metric"] == ("rmse" if regression else "f1_macro")
    weaker = importance["columns"][1]["worsens_by"]
    assert all(row["worsens_by"] < 0.1 * weaker for row in importance["columns"][2:])

    rows = outcome.holdout.drop(columns=[target]).head(120)
    reasons = explain_rows(predictor.predict, rows, predictor.background)
    top = np.argsort(-np.abs(reasons.values), axis=1)[:, :3]
    names = np.array(reasons.columns)
    both = np.mean([{"plan", "tenure"} <= set(names[picked]) for picked in top])
    assert both >= 0.8, both
    first = reasons.text["reason_1"]
    assert first.str.match(r"^(plan|tenure) = \S+ (raises|lowers) the ").mean() >= 0.8
    what = "the prediction" if regression else "the chance of (?:yes|no)"
    assert first.str.contains(f"(?:raises|lowers) {what} \\([+-]").all()


def test_a_column_the_model_never_reads_is_never_a_reason() -> None:
    background = pd.DataFrame({"tenure": [2, 10, 30, 50, 70] * 4, "plan": ["basic", "plus"] * 10})
    rows = pd.DataFrame({"tenure": [3, 40, 12, 13], "plan": ["premium", "basic", "plus", None]})

    reasons = explain_rows(ThresholdModel().predict, rows, background)

    assert (reasons.values[:, reasons.columns.index("plan")] == 0).all()
    assert reasons.text["reason_1"].str.startswith("tenure = ").all()
    assert (reasons.text[["reason_2", "reason_3"]] == "").all().all()  # nothing else moved it


def test_the_reasons_of_a_row_add_up_to_its_distance_from_the_typical_rows() -> None:
    """Shapley values are efficient: a row's values sum to its prediction minus the mean
    prediction of the typical rows (exactly, for every permutation captum samples)."""
    rng = np.random.default_rng(1)
    background = pd.DataFrame({"a": rng.normal(size=10), "b": rng.normal(size=10),
                               "c": rng.choice(["x", "y"], 10)})  # fmt: skip
    rows = pd.DataFrame({"a": [0.5, -1.0, 2.0], "b": [1.0, 0.0, -0.5], "c": ["x", "y", "y"]})

    def predict(frame: pd.DataFrame) -> pd.DataFrame:  # an interaction, so order matters
        value = frame["a"] * frame["b"] + 2.0 * (frame["c"] == "y") + frame["a"] ** 2
        return pd.DataFrame({"prediction": value.to_numpy()})

    reasons = explain_rows(predict, rows, background, background_rows=len(background))

    expected = predict(rows)["prediction"] - predict(background)["prediction"].mean()
    np.testing.assert_allclose(reasons.values.sum(axis=1), expected, rtol=1e-6, atol=1e-6)  # captum sums in float32


def test_the_codec_round_trips_numbers_text_and_missing_values() -> None:
    frame = pd.DataFrame({
        "amount": [1.5, np.nan, 3.0], "count": [1, 2, 3], "city": ["Oslo", None, "Rome"],
        "flag": [True, False, True], "day": ["2024-01-01", "2024-01-02", "2024-01-01"],
    })  # fmt: skip
    codec = ColumnCodec.fit(frame, columns=list(frame.columns))

    encoded = codec.encode(frame)
    decoded = codec.decode(encoded)

    assert not np.isnan(encoded).any()  # a NaN would spoil captum's blend of row and baseline
    pd.testing.assert_frame_equal(decoded, frame, check_dtype=False)
    assert codec.shown(0, encoded[1, 0]) == "(empty)" and codec.shown(0, encoded[0, 0]) == "1.5"
    assert codec.shown(2, encoded[2, 2]) == "Rome"
    dates = pd.DataFrame({"day": pd.to_datetime(["2024-01-31", "2024-02-01 09:30"], format="ISO8601")})
    by_day = ColumnCodec.fit(dates, columns=["day"])
    shown = [by_day.shown(0, code) for code in by_day.encode(dates)[:, 0]]
    assert shown == ["2024-01-31", "2024-02-01 09:30:00"]  # midnight reads as a date


class UnexplainedModel(ThresholdModel):
    """A loaded model whose predictor keeps no typical rows (images, text, forecasts, or a
    table model saved before reason codes)."""

    uri = "models:/photos/1"
    predictor = SimpleNamespace()


def test_a_model_without_typical_rows_says_which_models_explain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.DataFrame({"tenure": [3, 40], "plan": ["basic", "plus"]})
    with pytest.raises(DLStudioError) as caught:
        predict_frame(UnexplainedModel(), frame, explain=True)
    assert "models:/photos/1 cannot explain its predictions" in caught.value.message
    assert "tabular classification and regression" in caught.value.message
    assert caught.value.fix

    monkeypatch.setattr("dlstudio.predict.load_model", lambda uri: UnexplainedModel())
    data, output = tmp_path / "rows.csv", tmp_path / "out.csv"
    frame.to_csv(data, index=False)
    with pytest.raises(DLStudioError, match="cannot explain"):
        predict_file("models:/photos/1", data, output, explain=True)
    assert not output.exists() and not list(tmp_path.glob(".*partial"))


class ExplainedModel(ThresholdModel):
    """A loaded model whose predictor (itself) keeps two typical rows."""

    uri = "models:/churn/1"
    background = pd.DataFrame({"tenure": [5, 50], "plan": ["a", "b"]})

    @property
    def predictor(self) -> ExplainedModel:
        return self


def test_explained_predictions_keep_the_rows_and_add_three_reasons() -> None:
    model = ExplainedModel()
    frame = pd.DataFrame({"tenure": [3, 40], "plan": ["basic", "plus"]}, index=[7, 9])

    result = predict_frame(model, frame, explain=True)

    assert list(result.columns) == ["tenure", "plan", "prediction", "probability_no",
                                    "probability_yes", "reason_1", "reason_2", "reason_3"]  # fmt: skip
    assert result.index.tolist() == [7, 9]
    assert result["reason_1"].tolist() == [
        "tenure = 3 raises the chance of yes (+0.5)", "tenure = 40 raises the chance of no (+0.5)"
    ]
