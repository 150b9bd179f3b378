"""The registry: list, promote and roll back on a real (temporary) MLflow SQLite store, through
the functions and through `dlstudio models`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from dlstudio.cli import main
from dlstudio.errors import DLStudioError
from dlstudio.settings import get_settings
from dlstudio.tracking.promotion import promote, rollback
from dlstudio.tracking.registry import describe_model, list_models
from dlstudio.tracking.setup import configure_tracking, ensure_experiment

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.fixture
def client(mlflow_home: Path) -> MlflowClient:
    configure_tracking(get_settings())
    return MlflowClient()


def add_version(client: MlflowClient, name: str, f1: float) -> str:
    """A run with test scores, registered as a new version of ``name`` (no model needed)."""
    experiment = ensure_experiment("dlstudio", get_settings())
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_metrics({"test_f1_macro": f1, "baseline_test_f1_macro": 0.5, "train_loss": 1})
        mlflow.set_tag("dlstudio.primary_metric", "f1_macro")
    if name not in [m.name for m in client.search_registered_models()]:
        client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    if "champion" not in client.get_registered_model(name).aliases:
        client.set_registered_model_alias(name, "champion", version.version)
    return str(version.version)


def test_list_shows_versions_newest_first_with_scores_and_champion(client) -> None:
    add_version(client, "churn", 0.70)
    add_version(client, "churn", 0.75)
    add_version(client, "sales", 0.60)

    models = list_models(client)

    assert [m.name for m in models] == ["churn", "sales"]
    churn = models[0]
    assert [v.version for v in churn.versions] == ["2", "1"]
    assert churn.champion.version == "1"
    assert churn.versions[0].metrics == {"test_f1_macro": 0.75, "baseline_test_f1_macro": 0.5}
    assert churn.versions[0].primary_metric == "f1_macro"
    assert churn.to_json()["champion"] == "1"


def test_promote_moves_the_champion_and_records_the_decision(client) -> None:
    add_version(client, "churn", 0.70)
    add_version(client, "churn", 0.75)
    client.set_registered_model_alias("churn", "challenger", "2")

    decision = promote("churn", "2", reason="better F1", by="ana", now=NOW,
                       metrics={"f1_macro": 0.75}, client=client)  # fmt: skip

    model = describe_model("churn", client)
    assert model.champion.version == "2"
    assert model.versions[0].aliases == ("champion",)  # no longer the challenger
    assert decision.previous_champion == "1"
    assert model.versions[0].decision == {
        "decision": "promoted", "decided_by": "ana", "decided_at": NOW.isoformat(),
        "reason": "better F1", "metrics": '{"f1_macro": 0.75}', "previous_champion": "1",
    }  # fmt: skip


def test_rollback_returns_to_the_previous_champion(client) -> None:
    for f1 in (0.70, 0.75, 0.72):
        add_version(client, "churn", f1)
    promote("churn", "3", reason="try", by="ana", now=NOW, client=client)
    promote("churn", "2", reason="try again", by="ana", now=NOW, client=client)

    decision = rollback("churn", by="bo", now=NOW, client=client)

    assert (decision.version, decision.previous_champion) == ("3", "2")
    model = describe_model("churn", client)
    assert model.champion.version == "3"
    assert model.champion.decision["decision"] == "rolled back"
    assert model.champion.decision["reason"] == "rolled back from version 2"


def test_rollback_without_an_earlier_version_says_so(client) -> None:
    add_version(client, "churn", 0.70)
    with pytest.raises(DLStudioError, match="no earlier version to roll back to"):
        rollback("churn", by="bo", now=NOW, client=client)


def test_promoting_a_version_that_does_not_exist_lists_the_versions(client) -> None:
    add_version(client, "churn", 0.70)
    add_version(client, "churn", 0.75)
    with pytest.raises(DLStudioError) as caught:
        promote("churn", "7", reason="", by="ana", now=NOW, client=client)
    assert caught.value.message == "Model 'churn' has no version '7'."
    assert caught.value.fix == "Its versions: 2, 1."
    assert describe_model("churn", client).champion.version == "1"  # nothing changed


def test_an_unknown_model_lists_the_registered_ones(client) -> None:
    add_version(client, "churn", 0.70)
    with pytest.raises(DLStudioError) as caught:
        describe_model("chrun", client)
    assert "Registered models: 'churn'" in caught.value.fix


def test_cli_lists_promotes_and_rolls_back(client, capsys: pytest.CaptureFixture[str]) -> None:
    add_version(client, "churn", 0.70)
    add_version(client, "churn", 0.75)

    assert main(["models", "promote", "churn", "2", "--reason", "better"]) == 0
    assert capsys.readouterr().out == "churn: version 2 is the champion (was version 1)\n"
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["champion"] == "2"
    assert listed[0]["versions"][0]["decision"]["reason"] == "better"
    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "version 2 [champion]" in text and "test f1_macro 0.7500" in text
    assert main(["models", "rollback", "churn"]) == 0
    assert "version 1 is the champion again (was version 2)" in capsys.readouterr().out


def test_cli_promote_of_a_missing_version_fails_with_the_fix(
    client, capsys: pytest.CaptureFixture[str]
) -> None:
    add_version(client, "churn", 0.70)
    assert main(["models", "promote", "churn", "9"]) == 1
    assert capsys.readouterr().err == (
        "error: Model 'churn' has no version '9'.\nHow to fix: Its versions: 1.\n"
    )
