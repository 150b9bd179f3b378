"""The Schedules page under AppTest: the schedules with their buttons and history, the
new-schedule form, and the registered models with promote and roll back."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from dlstudio.auth import AuditTrail
from dlstudio.auth.roles import local_user
from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStatus, JobStore, scheduling
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.tracking.registry import describe_model
from dlstudio.tracking.setup import configure_tracking, ensure_experiment
from dlstudio.views.schedules import schedule_spec
from tests.conftest import make_customers

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NAME = "churn-weekly"


@pytest.fixture
def store(mlflow_home: Path) -> JobStore:
    """A home with a stored 'churn' table and an empty job store."""
    data = make_customers(60).to_csv(index=False).encode()
    DatasetStore(get_settings().datasets_dir).save("churn", data, filename="churn.csv")
    return JobStore.from_settings(get_settings())


def add_schedule(store: JobStore) -> scheduling.Schedule:
    spec = schedule_spec("tabular_classification", dataset="churn", roles={"target": "churn"},
                         preset="fast", model="churn")  # fmt: skip
    return scheduling.add_schedule(store, name=NAME, cron="0 3 * * mon", spec=spec,
                                   timezone="Europe/Paris", created_by="ana", now=utc_now())  # fmt: skip


def open_page() -> AppTest:
    """Through app.py, as users get there (the page links to Data and Jobs)."""
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("pages/schedules.py").run()
    assert not app.exception, app.exception
    return app


def table(app: AppTest, first_column: str) -> pd.DataFrame:
    """The page's table whose first column is ``first_column``."""
    (found,) = [t.value for t in app.dataframe if t.value.columns[0] == first_column]
    return found


def test_empty_home_says_what_to_do_first(mlflow_home: Path) -> None:
    app = open_page()

    infos = " ".join(info.value for info in app.info)
    assert "No schedules yet" in infos
    assert "No datasets yet" in infos  # the form waits for data
    assert "No registered models yet" in infos


def test_a_schedule_is_created_through_the_form(store: JobStore) -> None:
    app = open_page()
    assert app.selectbox(key="schedules_new_role_tabular_classification_target_churn").value == (
        "churn"
    )
    app.text_input(key="schedules_new_cron").set_value("30 2 * * *").run()
    (preview,) = [c.value for c in app.caption if "Next runs:" in c.value]
    assert preview.startswith("Every day at 02:30. Next runs: ") and preview.endswith("(UTC).")
    assert preview.count(" 02:30") == 4  # the words, then the next three times

    app.button(key="schedules_new_save").click().run()

    (schedule,) = scheduling.list_schedules(store)
    assert (schedule.name, schedule.cron, schedule.timezone) == (
        "churn-retrain",
        "30 2 * * *",
        "UTC",
    )
    assert schedule.model == "churn"
    assert schedule.spec["data"]["dataset"] == "churn"  # each retrain reads the latest version
    assert schedule.spec["training"]["preset"] == "balanced"
    row = table(app, "schedule").iloc[0]
    assert (row["schedule"], row["when"], row["state"]) == (
        "churn-retrain",
        "every day at 02:30",
        "active",
    )


def test_a_bad_cron_shows_how_to_write_one_and_saves_nothing(store: JobStore) -> None:
    app = open_page()

    app.text_input(key="schedules_new_cron").set_value("every monday").run()

    assert "'every monday' is not valid" in app.error[0].value
    assert "How to fix" in app.error[0].value and "'0 3 * * mon'" in app.error[0].value
    assert app.button(key="schedules_new_save").disabled
    assert scheduling.list_schedules(store) == []


def test_pause_then_resume(store: JobStore) -> None:
    add_schedule(store)
    app = open_page()

    app.button(key=f"schedules_pause_{NAME}").click().run()
    assert scheduling.get_schedule(store, NAME).state == "paused"
    assert table(app, "schedule").loc[0, "next run"] == "-"

    app.button(key=f"schedules_resume_{NAME}").click().run()
    assert scheduling.get_schedule(store, NAME).state == "active"
    assert table(app, "schedule").loc[0, "state"] == "active"


def test_run_now_queues_a_job_and_remove_asks_first(store: JobStore) -> None:
    add_schedule(store)
    app = open_page()

    app.button(key=f"schedules_run_{NAME}").click().run()

    (job,) = store.list_jobs()
    assert (job.state, job.submitted_by) == (JobStatus.QUEUED, f"schedule {NAME}")
    history = table(app, "due")
    assert history[["reason", "job", "details"]].values.tolist() == [
        ["run now", job.id, "waiting for a worker"]
    ]
    app.button(key=f"schedules_remove_{NAME}").click().run()
    assert "Remove schedule 'churn-weekly'" in app.warning[0].value
    assert len(scheduling.list_schedules(store)) == 1  # not yet
    app.button(key=f"schedules_yes_remove_{NAME}_").click().run()
    assert scheduling.list_schedules(store) == []
    assert store.get(job.id).state is JobStatus.QUEUED  # its job stays


def test_history_shows_a_failed_retrain_and_a_decision(store: JobStore) -> None:
    add_schedule(store)
    configure_tracking(get_settings())
    with mlflow.start_run(experiment_id=ensure_experiment("dlstudio", get_settings())) as run:
        mlflow.set_tags({"dlstudio.decision": "not promoted",
                         "dlstudio.decision_reason": "f1_macro 0.70 < champion's 0.75"})  # fmt: skip
    failed = scheduling.run_now(store, NAME, now=utc_now())
    store.claim_next("w", now=utc_now())
    store.finish(failed.id, JobStatus.FAILED, now=utc_now(), message="failed",
                 error_message="Dataset 'churn' not found.")  # fmt: skip
    worse = scheduling.run_now(store, NAME, now=utc_now())
    store.claim_next("w", now=utc_now())
    store.finish(worse.id, JobStatus.SUCCEEDED, now=utc_now(), message="done",
                 mlflow_run_id=run.info.run_id)  # fmt: skip

    app = open_page()

    history = table(app, "due")
    assert history[["job", "decision", "details", "champion"]].values.tolist() == [
        [worse.id, "not promoted", "f1_macro 0.70 < champion's 0.75", "kept"],
        [failed.id, "-", "Dataset 'churn' not found.", "kept (retrain failed)"],
    ]
    assert table(app, "schedule").loc[0, "last job"] == "succeeded"


def add_version(client: MlflowClient, name: str, f1: float) -> str:
    """A run with test scores, registered as a new version of ``name`` (no model needed)."""
    with mlflow.start_run(experiment_id=ensure_experiment("dlstudio", get_settings())) as run:
        mlflow.log_metrics({"test_f1_macro": f1, "baseline_test_f1_macro": 0.5})
        mlflow.set_tag("dlstudio.primary_metric", "f1_macro")
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    if "champion" not in client.get_registered_model(name).aliases:
        client.set_registered_model_alias(name, "champion", version.version)
    return str(version.version)


def test_models_lists_versions_and_promotes_and_rolls_back(mlflow_home: Path) -> None:
    configure_tracking(get_settings())
    client = MlflowClient()
    add_version(client, "churn", 0.70)
    add_version(client, "churn", 0.75)
    app = open_page()
    versions = table(app, "version")
    assert versions[["version", "metric", "test score", "aliases"]].values.tolist() == [
        ["2", "f1_macro", 0.75, ""], ["1", "f1_macro", 0.70, "champion"],
    ]  # fmt: skip
    assert any("(http://127.0.0.1:5000/#/models/churn)" in c.value for c in app.caption)

    app.button(key="schedules_promote_churn").click().run()
    assert "Make version 2 of 'churn' the champion?" in app.warning[0].value
    assert describe_model("churn", client).champion.version == "1"  # not before yes
    app.button(key="schedules_yes_promote_churn_2").click().run()
    model = describe_model("churn", client)
    assert model.champion.version == "2"
    local = local_user().name  # sign-in is off: the account that runs the dashboard
    assert model.champion.decision["decided_by"] == local
    assert table(app, "version").loc[0, "aliases"] == "champion"

    app.button(key="schedules_rollback_churn").click().run()
    app.button(key="schedules_yes_rollback_churn_").click().run()
    assert describe_model("churn", client).champion.version == "1"
    assert table(app, "version").loc[1, "decision"] == "rolled back"
    trail = AuditTrail.from_settings(get_settings()).entries()
    assert [(e.who, e.action, e.target, e.outcome) for e in trail[:2]] == [
        (local, "roll back", "model churn", "done"),
        (local, "promote", "model churn version 2", "done"),
    ]


def test_roll_back_is_disabled_with_the_reason_when_there_is_one_version(mlflow_home) -> None:
    configure_tracking(get_settings())
    add_version(MlflowClient(), "solo", 0.70)
    app = open_page()
    button = app.button(key="schedules_rollback_solo")
    assert button.disabled
    assert button.help == "Only one version: there is no earlier champion to go back to."
