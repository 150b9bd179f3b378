"""Plain data behind the Schedules page: timetables in words, next times, the spec a schedule
submits, and the schedules, history and versions tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dlstudio.errors import SpecError
from dlstudio.jobs import JobStatus, JobStore, scheduling
from dlstudio.settings import get_settings
from dlstudio.tracking.queries import model_url
from dlstudio.tracking.registry import ModelInfo, VersionInfo
from dlstudio.views.schedules import (
    describe_cron,
    history_table,
    last_jobs,
    local_time,
    schedule_spec,
    schedules_table,
    upcoming_runs,
    versions_table,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def store() -> JobStore:
    return JobStore.from_settings(get_settings())


def churn_spec(**changes: str) -> dict:
    return schedule_spec(
        "tabular_classification",
        dataset="churn",
        roles={"target": "churn"},
        preset="fast",
        model=changes.get("model", "churn"),
        promote_if=changes.get("promote_if", ""),
    )


def add(store: JobStore, name: str = "churn-weekly") -> scheduling.Schedule:
    return scheduling.add_schedule(store, name=name, cron="0 3 * * mon", spec=churn_spec(),
                                   timezone="Europe/Paris", created_by="ana", now=NOW)  # fmt: skip


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 3 * * mon", "every Monday at 03:00"),
        ("30 2 * * *", "every day at 02:30"),
        ("0 6 * * 1-5", "weekdays at 06:00"),
        ("15 8 * * 1,4", "every Monday and Thursday at 08:15"),
        ("0 9 * * 0", "every Sunday at 09:00"),
        ("0 4 1 * *", "the 1st of each month at 04:00"),
        ("0 4 22 * *", "the 22nd of each month at 04:00"),
        ("*/15 * * * *", "every 15 minutes"),
        ("5 * * * *", "every hour at minute 5"),
        ("0 3 * 6 mon", None),  # only in June: not simple
        ("0 3-5 * * *", None),
        ("not a cron", None),
    ],
)
def test_simple_timetables_read_in_words(cron: str, words: str | None) -> None:
    assert describe_cron(cron) == words


def test_upcoming_runs_are_the_next_times_on_the_schedules_own_clock() -> None:
    times = upcoming_runs("0 3 * * mon", "Europe/Paris", now=NOW)

    assert [f"{t:%a %Y-%m-%d %H:%M %Z}" for t in times] == [
        "Mon 2026-11-30 03:00 CET", "Mon 2026-12-07 03:00 CET", "Mon 2026-12-14 03:00 CET",
    ]  # fmt: skip
    assert local_time(times[0].astimezone(UTC), "Europe/Paris") == "2026-11-30 03:00"
    assert local_time(None, "UTC") == "-"


def test_a_bad_cron_or_zone_says_how_to_write_one() -> None:
    with pytest.raises(SpecError) as bad_cron:
        upcoming_runs("every monday", "UTC", now=NOW)
    assert "'0 3 * * mon'" in bad_cron.value.fix
    with pytest.raises(SpecError) as bad_zone:
        upcoming_runs("0 3 * * mon", "Mars/Olympus", now=NOW)
    assert "Unknown time zone 'Mars/Olympus'" in bad_zone.value.message
    assert "Europe/Paris" in bad_zone.value.fix


def test_the_spec_reads_the_latest_dataset_version_and_registers_the_model() -> None:
    spec = churn_spec(model=" churn-model ", promote_if="test_f1_macro>=+0.005")

    assert spec["data"]["dataset"] == "churn"  # no @version: each retrain reads the latest
    assert spec["data"]["target"] == "churn"
    assert spec["training"]["preset"] == "fast"
    assert spec["tracking"]["register_as"] == "churn-model"
    assert spec["tracking"]["promote_if"] == "test_f1_macro>=+0.005"
    assert churn_spec()["tracking"]["promote_if"] is None


def test_the_spec_refuses_a_missing_column_model_or_rule() -> None:
    with pytest.raises(SpecError, match="'Column to predict'"):
        schedule_spec("tabular_classification", dataset="churn", roles={"target": None},
                      preset="fast", model="churn")  # fmt: skip
    with pytest.raises(SpecError, match="name of the model"):
        churn_spec(model="  ")
    with pytest.raises(SpecError, match=r"tracking\.promote_if"):
        churn_spec(promote_if="better please")


def test_schedules_table_shows_the_timetable_next_run_and_last_job(store: JobStore) -> None:
    add(store)
    add(store, "churn-other")
    scheduling.pause(store, "churn-other")
    scheduling.run_now(store, "churn-weekly", now=NOW)
    schedules = scheduling.list_schedules(store)

    table = schedules_table(schedules, last_jobs(store, schedules))

    assert table.to_dict("records") == [
        {"schedule": "churn-other", "model": "churn", "when": "every Monday at 03:00",
         "cron": "0 3 * * mon", "time zone": "Europe/Paris", "next run": "-", "state": "paused",
         "last job": "-"},
        {"schedule": "churn-weekly", "model": "churn", "when": "every Monday at 03:00",
         "cron": "0 3 * * mon", "time zone": "Europe/Paris", "next run": "2026-11-30 03:00",
         "state": "active", "last job": "queued"},
    ]  # fmt: skip


def test_history_shows_errors_decisions_and_that_the_champion_stayed(store: JobStore) -> None:
    add(store)
    for minute in range(4):  # claimed in the order they were queued
        scheduling.run_now(store, "churn-weekly", now=NOW + timedelta(minutes=minute))
    failed, worse, better, _running = (store.claim_next("w", now=NOW) for _ in range(4))
    store.finish(failed.id, JobStatus.FAILED, now=NOW, message="failed",
                 error_message="Dataset 'churn' not found.")  # fmt: skip
    store.finish(worse.id, JobStatus.SUCCEEDED, now=NOW, message="done", mlflow_run_id="run-b")
    store.finish(better.id, JobStatus.SUCCEEDED, now=NOW, message="done", mlflow_run_id="run-c")
    scheduling.run_now(store, "churn-weekly", now=NOW + timedelta(hours=1))  # still queued
    decisions = {
        "run-b": {"decision": "not promoted", "decision_reason": "f1_macro 0.70 < 0.75"},
        "run-c": {"decision": "promoted", "decision_reason": "f1_macro 0.80 >= 0.75"},
    }

    table = history_table(scheduling.history(store, "churn-weekly"), decisions, "Europe/Paris")

    rows = table[["state", "decision", "details", "champion"]].to_dict("records")
    assert rows == [
        {"state": "queued", "decision": "-", "details": "waiting for a worker", "champion": "-"},
        {"state": "running", "decision": "-", "details": "training", "champion": "-"},
        {"state": "succeeded", "decision": "promoted", "details": "f1_macro 0.80 >= 0.75",
         "champion": "new version"},
        {"state": "succeeded", "decision": "not promoted", "details": "f1_macro 0.70 < 0.75",
         "champion": "kept"},
        {"state": "failed", "decision": "-", "details": "Dataset 'churn' not found.",
         "champion": "kept (retrain failed)"},
    ]  # fmt: skip
    assert set(table["reason"]) == {"run now"}
    assert table.loc[4, "due"] == "2026-11-23 13:00"  # noon UTC on the Paris clock


def test_versions_table_shows_scores_aliases_and_the_last_decision() -> None:
    model = ModelInfo("churn", (
        VersionInfo("2", "r2", "2026-11-23T03:10:00", ("challenger",),
                    {"test_f1_macro": 0.70, "baseline_test_f1_macro": 0.6}, "f1_macro",
                    {"decision": "not promoted", "reason": "worse", "decided_by": "schedule"}),
        VersionInfo("1", "r1", "2026-11-16T03:10:00", ("champion",), {"test_mase": 0.9}, None),
    ))  # fmt: skip

    table = versions_table(model)

    assert table.drop(columns="baseline").to_dict("records") == [
        {"version": "2", "created": "2026-11-23 03:10:00", "metric": "f1_macro",
         "test score": 0.70, "aliases": "challenger",
         "decision": "not promoted", "reason": "worse", "decided by": "schedule"},
        {"version": "1", "created": "2026-11-16 03:10:00", "metric": "mase", "test score": 0.9,
         "aliases": "champion", "decision": "", "reason": "", "decided by": ""},
    ]  # fmt: skip
    assert table["baseline"].fillna(-1).tolist() == [0.6, -1]  # no baseline score: left empty


def test_model_url_points_at_the_model_in_the_mlflow_ui() -> None:
    assert model_url("http://127.0.0.1:5000/", "churn") == "http://127.0.0.1:5000/#/models/churn"
    assert model_url("http://mlflow", "sales eu/v2") == "http://mlflow/#/models/sales%20eu%2Fv2"
