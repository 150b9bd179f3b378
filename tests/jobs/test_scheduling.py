"""Schedules on a real job store (SQLite; PostgreSQL too for the store-level ones): cron times,
due runs, missed runs, racing workers, pause/resume, and a retrain end to end through a worker
(promotion decision recorded)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import update

from dlstudio.cli import main
from dlstudio.errors import DLStudioError, SpecError
from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs import scheduling as sched
from dlstudio.jobs.store import utc_now
from dlstudio.jobs.tables import schedules
from dlstudio.jobs.worker import Worker
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.registry import describe_model
from dlstudio.tracking.setup import configure_tracking
from tests.postgres import ON_BOTH_DATABASES

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def spec(csv: Path | str = "customers.csv", **tracking) -> dict:
    return parse_spec({
        "data": {"path": str(csv), "target": "churn"},
        "training": {"preset": "fast", "epochs": 2, "seed": 0},
        "tracking": {"register_as": "churn", **tracking},
    }).model_dump(mode="json")  # fmt: skip


@pytest.fixture
def store(isolated_home: Path, database: str) -> JobStore:
    return JobStore.from_settings(get_settings())  # ON_BOTH_DATABASES: SQLite and PostgreSQL


def add(
    store: JobStore, cron: str = "0 3 * * mon", *, name: str = "weekly", **kw
) -> sched.Schedule:
    return sched.add_schedule(store, name=name, cron=cron, spec=kw.pop("spec", spec()),
                              created_by="ana", now=kw.pop("now", MONDAY), **kw)  # fmt: skip


@pytest.mark.parametrize("cron", ["0 3 * * mon", "0 3 * * 1", "0 3 * * MON"])
def test_weekday_names_and_numbers_mean_what_cron_means(cron: str) -> None:
    assert sched.next_run(cron, "UTC", MONDAY) == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_sunday_is_both_0_and_7() -> None:
    sunday = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert sched.next_run("0 3 * * 0", "UTC", MONDAY) == sunday
    assert sched.next_run("0 3 * * 7", "UTC", MONDAY) == sunday


def test_times_are_read_in_the_schedules_time_zone() -> None:
    # 03:00 in Paris in winter (UTC+1) is 02:00 UTC
    assert sched.next_run("0 3 * * mon", "Europe/Paris", MONDAY) == datetime(
        2026, 11, 30, 2, 0, tzinfo=UTC
    )


def test_an_invalid_cron_says_what_is_wrong_and_how_to_write_one() -> None:
    with pytest.raises(SpecError) as caught:
        sched.next_run("0 3 * * funday", "UTC", MONDAY)
    assert caught.value.message.startswith("The cron expression '0 3 * * funday' is not valid")
    assert "'0 3 * * mon' (Mondays at 03:00)" in caught.value.fix


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(SpecError, match="Unknown time zone 'Mars/Olympus'"):
        sched.next_run("0 3 * * *", "Mars/Olympus", MONDAY)


@ON_BOTH_DATABASES
def test_add_computes_the_first_time_and_refuses_duplicates(store: JobStore) -> None:
    schedule = add(store)
    assert schedule.next_run_at == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert (schedule.state, schedule.model) == ("active", "churn")
    with pytest.raises(SpecError, match="A schedule named 'weekly' already exists"):
        add(store)


def test_a_schedule_must_register_a_model(store: JobStore) -> None:
    raw = parse_spec({"data": {"path": "x.csv", "target": "churn"}}).model_dump(mode="json")
    with pytest.raises(SpecError, match="must register its model"):
        add(store, spec=raw)


@ON_BOTH_DATABASES
def test_tick_queues_nothing_before_the_time_and_one_job_at_it(store: JobStore) -> None:
    add(store)
    assert sched.tick(store, now=MONDAY + timedelta(days=6, hours=16)) == []

    jobs = sched.tick(store, now=datetime(2026, 11, 30, 3, 0, 5, tzinfo=UTC))

    assert len(jobs) == 1
    assert jobs[0].spec == spec() and jobs[0].submitted_by == "schedule weekly"
    after = sched.get_schedule(store, "weekly")
    assert after.next_run_at == datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    assert [run.job.id for run in sched.history(store, "weekly")] == [jobs[0].id]


@ON_BOTH_DATABASES
def test_runs_missed_while_no_worker_ran_collapse_into_one(store: JobStore) -> None:
    add(store)
    three_weeks_later = datetime(2026, 12, 16, 12, 0, tzinfo=UTC)  # 3 Mondays were missed

    assert len(sched.tick(store, now=three_weeks_later)) == 1
    assert sched.tick(store, now=three_weeks_later + timedelta(minutes=1)) == []
    assert sched.get_schedule(store, "weekly").next_run_at == datetime(
        2026, 12, 21, 3, 0, tzinfo=UTC
    )


@ON_BOTH_DATABASES
def test_two_workers_ticking_at_once_queue_one_job(store: JobStore) -> None:
    add(store)
    due = datetime(2026, 11, 30, 3, 0, 1, tzinfo=UTC)
    others = [JobStore(store.url) for _ in range(4)]  # each worker has its own connections
    start = threading.Barrier(len(others))
    queued: list = []

    def worker(own: JobStore) -> None:
        start.wait()
        queued.extend(sched.tick(own, now=due))

    threads = [threading.Thread(target=worker, args=(own,)) for own in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(queued) == 1
    assert len(store.list_jobs()) == 1


@ON_BOTH_DATABASES
def test_paused_schedules_do_not_fire_and_resume_from_now(store: JobStore) -> None:
    add(store)
    sched.pause(store, "weekly")
    assert sched.tick(store, now=MONDAY + timedelta(days=30)) == []

    resumed = sched.resume(store, "weekly", now=MONDAY + timedelta(days=30))

    assert resumed.state == "active"
    assert resumed.next_run_at == datetime(2026, 12, 28, 3, 0, tzinfo=UTC)


@ON_BOTH_DATABASES
def test_run_now_queues_a_job_and_keeps_the_timetable(store: JobStore) -> None:
    before = add(store)
    job = sched.run_now(store, "weekly", now=MONDAY)
    assert job.state is JobStatus.QUEUED
    assert sched.get_schedule(store, "weekly").next_run_at == before.next_run_at
    assert sched.history(store, "weekly")[0].reason == "run now"


@ON_BOTH_DATABASES
def test_unknown_names_list_the_schedules(store: JobStore) -> None:
    add(store)
    with pytest.raises(DLStudioError) as caught:
        sched.pause(store, "weekley")
    assert caught.value.fix == "Schedules: 'weekly'."
    sched.remove(store, "weekly")
    assert sched.list_schedules(store) == []


def test_a_retrain_whose_data_disappeared_fails_and_leaves_the_champion(
    mlflow_home: Path, tmp_path: Path, customers_csv: Path
) -> None:
    store = JobStore.from_settings(get_settings())
    # next Monday on the real clock: the workers below tick too, and must not fire it
    add(store, spec=spec(customers_csv), now=utc_now())
    sched.run_now(store, "weekly", now=MONDAY)
    assert Worker(store, poll_seconds=0.1).run(max_jobs=1) == 1  # trains version 1: champion
    customers_csv.unlink()  # the source is gone

    sched.run_now(store, "weekly", now=MONDAY + timedelta(days=7))
    assert Worker(store, poll_seconds=0.1).run(max_jobs=1) == 1

    failed, first = (run.job for run in sched.history(store, "weekly"))
    assert first.state is JobStatus.SUCCEEDED, first.error_traceback
    assert failed.state is JobStatus.FAILED
    assert "does not exist" in failed.error_message
    assert sched.get_schedule(store, "weekly").state == "active"  # the schedule stays
    configure_tracking(get_settings())
    model = describe_model("churn")
    assert [v.version for v in model.versions] == ["1"] and model.champion.version == "1"


def test_cli_adds_lists_runs_and_shows_history(
    store: JobStore, tmp_path: Path, customers_csv: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)  # customers.csv is there: schedule add refuses a missing file
    spec_file = tmp_path / "churn.yaml"
    spec_file.write_text("data:\n  path: customers.csv\n  target: churn\n", encoding="utf-8")

    code = main(["schedule", "add", "--name", "nightly", "--cron", "30 2 * * *", "--spec",
                 str(spec_file), "--register", "churn", "--promote-if", "test_f1_macro>=+0.01",
                 "--timezone", "Europe/Paris"])  # fmt: skip

    assert code == 0
    assert "schedule 'nightly' retrains 'churn'; next run" in capsys.readouterr().out
    assert main(["schedule", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert (
        '"promote_if": "test_f1_macro>=+0.01"' in listed and '"timezone": "Europe/Paris"' in listed
    )
    assert main(["schedule", "run", "nightly"]) == 0
    assert capsys.readouterr().out.startswith("queued job ")
    assert main(["schedule", "history", "nightly"]) == 0
    assert "run now  job " in capsys.readouterr().out
    assert main(["schedule", "add", "--name", "x", "--cron", "61 * * * *", "--spec", str(spec_file),
                 "--register", "churn"]) == 2  # fmt: skip
    assert "not valid" in capsys.readouterr().err


def test_the_worker_fires_a_due_schedule_and_trains_it(mlflow_home: Path, customers_csv) -> None:
    store = JobStore.from_settings(get_settings())
    add(store, "*/5 * * * *", spec=spec(customers_csv), now=utc_now() - timedelta(minutes=10))

    assert Worker(store, poll_seconds=0.1).run(max_jobs=1) == 1

    (fired,) = sched.history(store, "weekly")
    assert fired.reason == "scheduled"
    assert fired.job.state is JobStatus.SUCCEEDED, fired.job.error_traceback
    assert sched.get_schedule(store, "weekly").next_run_at > fired.submitted_at  # in 5 minutes


# security issue 23, finding 8: five fields, at most every 5 minutes, no pile-up of jobs


def test_a_sixth_field_firing_every_second_is_refused(store: JobStore) -> None:
    with pytest.raises(SpecError) as caught:
        add(store, "* * * * * *")

    assert caught.value.message == (
        "The cron expression '* * * * * *' is not valid: it has 6 fields, not five."
    )
    assert "'0 3 * * mon'" in caught.value.fix
    assert sched.list_schedules(store) == []


@pytest.mark.parametrize(
    ("cron", "apart"),
    [("* * * * *", 1), ("*/2 * * * *", 2), ("0-4 3 * * *", 1), ("0,1 3 * * mon", 1),
     ("58,2 * * * *", 4), ("59,3 3,4 * * *", 4), ("58,2 23,0 * * *", 4)],
)  # fmt: skip
def test_a_timetable_firing_within_5_minutes_is_refused(
    store: JobStore, cron: str, apart: int
) -> None:
    with pytest.raises(SpecError) as caught:
        add(store, cron)

    assert f"two of its times are only {apart} minute(s) apart" in caught.value.message
    assert "at most every 5 minutes" in caught.value.fix
    assert sched.list_schedules(store) == []


@pytest.mark.parametrize(
    "cron", ["*/5 * * * *", "0,55 * * * *", "58,2 3 * * *", "0 3,4 * * *", "0 3 * * mon"]
)
def test_timetables_at_least_5_minutes_apart_are_kept(store: JobStore, cron: str) -> None:
    add(store, cron)
    times, after = [], MONDAY
    for _ in range(300):  # more than a day of the most frequent of them
        after = sched.next_run(cron, "UTC", after)
        times.append(after)

    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert min(gaps) >= sched.MIN_INTERVAL
    assert sched.get_schedule(store, "weekly").cron == cron


@ON_BOTH_DATABASES
def test_a_due_time_is_skipped_while_the_previous_job_is_unfinished(store: JobStore) -> None:
    add(store, "0 3 * * *")
    day = datetime(2026, 11, 24, 3, 0, 1, tzinfo=UTC)
    (first,) = sched.tick(store, now=day)  # queued, and no worker takes it

    assert sched.tick(store, now=day + timedelta(days=1)) == []
    store.claim_next("w1", now=day + timedelta(days=1, hours=1))  # now it runs
    assert sched.tick(store, now=day + timedelta(days=2)) == []

    running, queued, fired = sched.history(store, "weekly")
    assert (running.reason, queued.reason, fired.reason) == (
        "skipped: previous job running", "skipped: previous job queued", "scheduled"
    )
    assert running.skipped and queued.skipped and not fired.skipped
    assert running.job.id == queued.job.id == first.id  # the job they waited for
    assert [job.id for job in store.list_jobs()] == [first.id]  # nothing piled up
    schedule = sched.get_schedule(store, "weekly")
    assert schedule.next_run_at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # the timetable goes on
    assert schedule.last_run_at == day  # the last time a job was queued


@ON_BOTH_DATABASES
def test_once_the_previous_job_finished_the_next_time_queues_again(store: JobStore) -> None:
    add(store, "0 3 * * *")
    day = datetime(2026, 11, 24, 3, 0, 1, tzinfo=UTC)
    (first,) = sched.tick(store, now=day)
    store.claim_next("w1", now=day)
    store.finish(first.id, JobStatus.FAILED, now=day + timedelta(hours=1), message="failed")

    (second,) = sched.tick(store, now=day + timedelta(days=1))

    assert second.id != first.id
    assert [run.reason for run in sched.history(store, "weekly")] == ["scheduled", "scheduled"]


@ON_BOTH_DATABASES
def test_a_job_queued_by_run_now_also_makes_the_timetable_wait(store: JobStore) -> None:
    add(store)
    manual = sched.run_now(store, "weekly", now=MONDAY)

    assert sched.tick(store, now=datetime(2026, 11, 30, 3, 0, 1, tzinfo=UTC)) == []

    skipped = sched.history(store, "weekly")[0]
    assert skipped.reason == "skipped: previous job queued" and skipped.job.id == manual.id


def test_skipped_times_show_in_the_cli_and_page_history(
    store: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlstudio.views.schedules import history_table

    add(store, "0 3 * * *")
    day = datetime(2026, 11, 24, 3, 0, 1, tzinfo=UTC)
    (first,) = sched.tick(store, now=day)
    sched.tick(store, now=day + timedelta(days=1))

    assert main(["schedule", "history", "weekly"]) == 0
    newest = capsys.readouterr().out.splitlines()[0]
    assert newest.startswith("2026-11-25T03:00:00+00:00  skipped: previous job queued  job ")
    assert first.id in newest
    table = history_table(sched.history(store, "weekly"), {}, "UTC")
    assert list(table["reason"]) == ["skipped: previous job queued", "scheduled"]
    assert table["decision"].iloc[0] == "skipped"  # not the decision of the job it waited for


@ON_BOTH_DATABASES
def test_a_stored_schedule_that_fires_every_second_is_paused_not_fired(store: JobStore) -> None:
    # given a schedule saved before these checks (written straight to the table)
    schedule = add(store)
    with store.engine.begin() as connection:
        connection.execute(
            update(schedules).where(schedules.c.id == schedule.id).values(cron="* * * * * *")
        )

    assert sched.tick(store, now=datetime(2026, 11, 30, 3, 0, 1, tzinfo=UTC)) == []

    paused = sched.get_schedule(store, "weekly")
    assert (paused.state, paused.next_run_at) == ("paused", None)
    assert store.list_jobs() == [] and sched.history(store, "weekly") == []
    with pytest.raises(SpecError, match="it has 6 fields"):  # resume says why
        sched.resume(store, "weekly", now=MONDAY)
