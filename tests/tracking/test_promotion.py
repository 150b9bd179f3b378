"""Champion / challenger through real runs: the first version is champion, a later one is the
challenger and is promoted only when it passes the policy on the same new test rows."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from dlstudio.errors import DataError
from dlstudio.spec import parse_spec
from dlstudio.tracking.promotion import Policy, _verdict, holdout_scores
from dlstudio.tracking.registry import describe_model
from dlstudio.training import run
from tests.conftest import make_customers


def spec(path: Path, **tracking):
    return parse_spec({
        "data": {"path": str(path), "target": "churn"},
        "training": {"preset": "fast", "epochs": 2, "seed": 0},
        "tracking": {"register_as": "churn", **tracking},
    })  # fmt: skip


@pytest.fixture
def data(mlflow_home: Path, tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    make_customers(300).to_csv(path, index=False)
    return path


def test_first_version_is_champion_then_a_challenger_must_pass_the_rule(data: Path) -> None:
    first = run(spec(data))
    assert first.registered == {"name": "churn", "version": "1", "decision": "promoted",
                                "reason": "first version of the model"}  # fmt: skip

    second = run(spec(data, promote_if="test_f1_macro>=+0.5"))  # cannot be 0.5 better

    assert second.registered["decision"] == "not promoted"
    assert second.registered["reason"].startswith(
        "not better by the rule (test_f1_macro >= champion's +0.5): test_f1_macro "
    )
    assert "both scored on the same 60 new test rows" in second.registered["reason"]
    model = describe_model("churn")
    assert model.champion.version == "1"
    assert model.versions[0].aliases == ("challenger",)
    assert model.versions[0].decision["decision"] == "not promoted"
    logged = mlflow.artifacts.load_dict(f"runs:/{second.run_id}/promotion.json")
    assert set(json.loads(model.versions[0].decision["metrics"])) == {
        "challenger", "champion", "baseline"
    }  # fmt: skip
    assert logged["decision"] == "not promoted"
    assert MlflowClient().get_run(second.run_id).data.tags["dlstudio.decision"] == "not promoted"


def test_a_challenger_no_worse_than_the_champion_is_promoted(data: Path) -> None:
    run(spec(data, promote_if="test_f1_macro>=+0"))
    again = run(spec(data, promote_if="test_f1_macro>=+0"))  # same data and seed: same scores

    assert again.registered["decision"] == "promoted", again.registered["reason"]
    assert again.registered["reason"].startswith("passes test_f1_macro >= champion's +0:")
    model = describe_model("churn")
    assert model.champion.version == "2"
    assert model.champion.aliases == ("champion",)  # the challenger alias went with it
    assert model.champion.decision["previous_champion"] == "1"


@pytest.mark.parametrize(
    ("challenger", "champion", "baseline", "promoted"),
    [(0.90, 0.90, 0.85, True), (0.90, 0.90, 0.95, False), (0.89, 0.90, 0.85, False)],
)
def test_the_default_rule_asks_for_the_champion_and_the_baseline(
    challenger: float, champion: float, baseline: float, promoted: bool
) -> None:
    policy = Policy("f1_macro", True, 0.0, True)
    scores = {"challenger": challenger, "champion": champion, "baseline": baseline}
    passed, reason = _verdict(policy, scores, "1", "both scored on the same rows")
    assert passed == promoted
    assert reason.startswith("passes" if promoted else ("below" if baseline > 0.9 else "not"))


def test_lower_is_better_for_a_regression_champion() -> None:
    policy = Policy("rmse", False, 0.0, True)
    scores = {"challenger": 9.0, "champion": 10.0, "baseline": 9.5}
    assert _verdict(policy, scores, "1", "the same rows")[0]
    assert not _verdict(policy, {**scores, "challenger": 10.5}, "1", "the same rows")[0]


def test_holdout_scores_align_classes_by_name() -> None:
    holdout = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["b", "a", "b", "c"]})

    def predict(frame: pd.DataFrame) -> pd.DataFrame:  # knows a and b only, always says b
        return pd.DataFrame({"prediction": ["b"] * len(frame), "probability_a": 0.2,
                             "probability_b": 0.8})  # fmt: skip

    scores = holdout_scores(predict, holdout, "y")

    assert scores["accuracy"] == 0.5
    np.testing.assert_allclose(scores["f1_macro"], (0 + 2 / 3 + 0) / 3)


def test_a_large_data_shift_is_summarized_and_named_in_the_decision(
    data: Path, tmp_path: Path
) -> None:
    run(spec(data))
    shifted = make_customers(300, seed=5)
    shifted["tenure"] = shifted["tenure"] + 60  # customers who stayed five years longer
    path = tmp_path / "new.csv"
    shifted.to_csv(path, index=False)

    result = run(spec(path))

    assert "tenure" in result.registered["drift"]
    assert "Data shift since the champion's training data" in result.registered["reason"]
    drift = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/drift.json")
    tenure = next(c for c in drift["columns"] if c["column"] == "tenure")
    assert tenure["severity"] == "large"
    plan = next(c for c in drift["columns"] if c["column"] == "plan")
    assert plan["severity"] == "none"  # drawn from the same mix


def test_a_changed_schema_stops_the_retrain_and_leaves_the_champion(
    data: Path, tmp_path: Path
) -> None:
    run(spec(data))
    renamed = make_customers(300, seed=5).rename(columns={"plan": "subscription"})
    path = tmp_path / "renamed.csv"
    renamed.to_csv(path, index=False)

    with pytest.raises(DataError) as caught:
        run(spec(path))

    assert (
        caught.value.message == "The data lacks 1 column(s) the champion of 'churn' reads: 'plan'."
    )
    model = describe_model("churn")
    assert [v.version for v in model.versions] == ["1"] and model.champion.version == "1"
