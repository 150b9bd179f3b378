"""Use another decision threshold: a new champion version that answers from it, recorded like a
promotion, its test scores recounted; refusals change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from dlstudio.cli import main
from dlstudio.errors import DLStudioError, UsageError
from dlstudio.evaluation.calibration import counts_by_threshold
from dlstudio.evaluation.metrics import Decision, classification_metrics
from dlstudio.predict import load_model
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.registry import describe_model
from dlstudio.tracking.threshold import THRESHOLD_OF_TAG, scores_at, use_threshold
from dlstudio.training import run
from tests.conftest import make_customers

NOW = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.fixture
def churn(mlflow_home: Path, tmp_path: Path) -> tuple:
    """A two-class model registered as 'churn' (version 1, champion), and its data."""
    path = tmp_path / "customers.csv"
    frame = make_customers(300)
    frame.to_csv(path, index=False)
    result = run(parse_spec({
        "data": {"path": str(path), "target": "churn"},
        "training": {"preset": "fast", "epochs": 2, "seed": 0},
        "tracking": {"register_as": "churn"},
    }))  # fmt: skip
    return result, frame.drop(columns="churn")


def test_the_new_champion_answers_from_the_chosen_threshold_and_recounts_its_scores(
    churn: tuple,
) -> None:
    result, rows = churn
    before = load_model("models:/churn/1").predict(rows)
    positive = "yes"

    change = use_threshold("churn", "1", 0.2, reason="misses cost 20x", by="ana", now=NOW,
                           settings=get_settings())  # fmt: skip

    assert (change.source_version, change.version, change.threshold) == ("1", "2", 0.2)
    model = describe_model("churn")
    assert model.champion.version == "2"
    decision = model.champion.decision
    assert decision["decided_by"] == "ana" and decision["previous_champion"] == "1"
    assert decision["reason"] == (
        f"decision threshold {change.previous:.2f} -> 0.20 (from version 1): misses cost 20x"
    )
    after = load_model("models:/churn@champion").predict(rows)
    chance = before[f"probability_{positive}"]
    assert np.allclose(after[f"probability_{positive}"], chance)  # the same network
    expected = np.where(chance >= 0.2, positive, "no")
    assert (after["prediction"] == expected).all()
    assert (after["prediction"] != before["prediction"]).any()  # 0.2 is below the tuned one
    client = MlflowClient()
    source, new = client.get_run(result.run_id), client.get_run(change.run_id)
    assert new.data.tags[THRESHOLD_OF_TAG] == "churn/1"
    assert new.data.tags["dlstudio.user"] == "ana"
    counts = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/calibration.json")["counts"]
    assert new.data.metrics["test_f1_macro"] == pytest.approx(
        scores_at(counts["test"], 0.2)["f1_macro"]
    )
    assert (
        new.data.metrics["baseline_test_f1_macro"] == source.data.metrics["baseline_test_f1_macro"]
    )
    assert new.data.metrics["test_roc_auc"] == source.data.metrics["test_roc_auc"]
    assert mlflow.artifacts.load_dict(f"runs:/{change.run_id}/calibration.json")["threshold"] == 0.2


def test_scores_at_a_threshold_match_the_scores_of_the_answers_at_it() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    chance = np.clip(0.3 * y + rng.uniform(0, 0.7, 500), 0, 1)
    proba = np.column_stack([1 - chance, chance])
    direct = classification_metrics(y, proba, n_classes=2, decision=Decision(1, 0.35))
    direct.pop("roc_auc")
    assert scores_at(counts_by_threshold(y == 1, chance), 0.35) == pytest.approx(direct)


@pytest.mark.parametrize("threshold", [0, 1, 0.355, 1.5])
def test_a_threshold_off_the_counted_ones_is_refused(mlflow_home: Path, threshold: float) -> None:
    with pytest.raises(UsageError, match=r"must be one of 0\.01, 0\.02, \.\.\., 0\.99"):
        use_threshold(
            "churn", "1", threshold, reason="", by="ana", now=NOW, settings=get_settings()
        )


def test_a_model_without_a_threshold_is_refused_and_nothing_registered(
    mlflow_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "three.csv"
    frame = make_customers(240)
    frame["plan"] = np.resize(["a", "b", "c"], len(frame))
    frame.to_csv(path, index=False)
    run(parse_spec({"data": {"path": str(path), "target": "plan"},
                    "training": {"preset": "fast", "epochs": 1, "seed": 0},
                    "tracking": {"register_as": "plans"}}))  # fmt: skip
    with pytest.raises(DLStudioError, match="does not answer from a threshold"):
        use_threshold("plans", "1", 0.3, reason="", by="ana", now=NOW, settings=get_settings())
    assert [v.version for v in describe_model("plans").versions] == ["1"]


def test_the_cli_sets_the_champions_threshold_and_rollback_undoes_it(churn: tuple, capsys) -> None:
    assert main(["models", "threshold", "churn", "--threshold", "0.3", "--reason", "cheaper"]) == 0
    said = capsys.readouterr().out
    assert "churn: version 2 (version 1 at threshold 0.30; it was 0." in said
    assert main(["models", "rollback", "churn"]) == 0
    assert describe_model("churn").champion.version == "1"
    code = main(["models", "threshold", "churn", "--threshold", "2"])
    assert code == 2 and "must be one of 0.01" in capsys.readouterr().err


def test_results_cost_tool_makes_the_cheapest_threshold_the_champions(churn: tuple) -> None:
    from streamlit.testing.v1 import AppTest

    result, _ = churn
    app = AppTest.from_file(str(Path(__file__).parents[2] / "pages" / "results.py"),
                            default_timeout=60)  # fmt: skip
    app.query_params["run"] = result.run_id
    app.run()
    app.number_input(key=f"results_cost_miss_{result.run_id}").set_value(20.0).run()
    (button,) = [b for b in app.button if b.key == "results_use_threshold"]
    assert button.label.startswith("Use threshold 0.") and button.label.endswith(" for churn")
    threshold = float(button.label.split()[2])

    button.click().run()

    assert not app.exception
    (done,) = [s.value for s in app.success if "is the champion" in s.value]
    assert f"Version 2 of 'churn' answers from threshold {threshold:.2f}" in done
    champion = describe_model("churn").champion
    assert champion.version == "2"
    assert "a miss 20" in champion.decision["reason"]
