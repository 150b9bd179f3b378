"""The job store on a real SQLite file and a real PostgreSQL database: submit, atomic claim
(raced), cancel, restart."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlstudio.errors import JobError
from dlstudio.jobs import JobStatus, JobStore
from dlstudio.spec import parse_spec

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SPEC = parse_spec({"data": {"path": "churn.csv", "target": "Churn"}}).model_dump(mode="json")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'dlstudio.db'}"


@pytest.fixture
def store(db_url: str) -> JobStore:
    return JobStore(db_url)


def submit(store: JobStore, n: int) -> list[str]:
    return [
        store.submit(SPEC, submitted_by="ana", now=T0 + timedelta(seconds=i)).id for i in range(n)
    ]


def test_submitted_job_is_queued_with_its_spec_and_an_event(store: JobStore) -> None:
    job = store.submit(SPEC, submitted_by="ana", now=T0)
    assert job.state is JobStatus.QUEUED
    assert job.spec == SPEC and job.task == "tabular_classification"
    assert job.submitted_at == T0
    assert [e.message for e in store.events(job.id)] == ["queued by ana"]


def test_claim_takes_the_oldest_queued_job(store: JobStore) -> None:
    first, second = submit(store, 2)
    claimed = store.claim_next("worker-a", now=T0 + timedelta(minutes=1))
    assert claimed.id == first
    assert claimed.state is JobStatus.RUNNING
    assert (claimed.worker_id, claimed.attempts) == ("worker-a", 1)
    assert store.claim_next("worker-b", now=T0).id == second
    assert store.claim_next("worker-c", now=T0) is None


def _claim_all(db_url: str, worker: str) -> list[str]:
    store = JobStore(db_url)
    claimed = []
    while (job := store.claim_next(worker, now=datetime.now(UTC))) is not None:
        claimed.append(job.id)
    return claimed


def test_racing_workers_never_claim_a_job_twice(store: JobStore, db_url: str) -> None:
    # given 4 worker processes on one database and 40 queued jobs
    ids = submit(store, 40)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=context) as pool:
        results = list(pool.map(_claim_all, [db_url] * 4, [f"w{i}" for i in range(4)]))
    # then every job was claimed exactly once and none is left queued
    claimed = [job_id for per_worker in results for job_id in per_worker]
    assert sorted(claimed) == sorted(ids)
    assert store.list_jobs(state=JobStatus.QUEUED) == []


def test_cancel_a_queued_job_takes_effect_at_once(store: JobStore) -> None:
    (job_id,) = submit(store, 1)
    job, message = store.cancel(job_id, now=T0)
    assert job.state is JobStatus.CANCELLED
    assert message == f"job {job_id} cancelled"
    assert store.claim_next("w", now=T0) is None


def test_cancel_a_running_job_is_a_request(store: JobStore) -> None:
    (job_id,) = submit(store, 1)
    store.claim_next("w", now=T0)
    job, message = store.cancel(job_id, now=T0)
    assert job.state is JobStatus.RUNNING and job.cancel_requested
    assert "will stop within seconds" in message


def test_cancel_a_finished_job_changes_nothing(store: JobStore) -> None:
    (job_id,) = submit(store, 1)
    store.cancel(job_id, now=T0)
    job, message = store.cancel(job_id, now=T0 + timedelta(seconds=5))
    assert job.state is JobStatus.CANCELLED
    assert message == f"job {job_id} already cancelled; nothing to cancel"
    assert [e.message for e in store.events(job_id)] == [
        "queued by ana",
        "cancelled before it started",
    ]


def test_unknown_job_says_how_to_find_one(store: JobStore) -> None:
    with pytest.raises(JobError, match="no job 'nope'") as caught:
        store.get("nope")
    assert "dlstudio jobs list" in str(caught.value)


def test_jobs_survive_a_restart(db_url: str) -> None:
    ids = submit(JobStore(db_url), 3)
    reopened = JobStore(db_url)
    assert sorted(job.id for job in reopened.list_jobs()) == sorted(ids)
    assert reopened.list_jobs()[0].id == ids[-1]  # newest first


def test_stale_running_job_is_requeued_once_then_failed(store: JobStore) -> None:
    (job_id,) = submit(store, 1)
    store.claim_next("dead-worker", now=T0)
    later = T0 + timedelta(minutes=5)
    assert store.recover_stale(now=later, stale_after=timedelta(seconds=60)) == [job_id]
    assert store.get(job_id).state is JobStatus.QUEUED
    store.claim_next("dead-again", now=later)
    store.recover_stale(now=later + timedelta(minutes=5), stale_after=timedelta(seconds=60))
    failed = store.get(job_id)
    assert failed.state is JobStatus.FAILED
    assert "stopped twice without finishing" in failed.error_message


def test_fresh_heartbeat_is_not_recovered(store: JobStore) -> None:
    (job_id,) = submit(store, 1)
    store.claim_next("w", now=T0)
    store.heartbeat(job_id, now=T0 + timedelta(seconds=50))
    assert (
        store.recover_stale(now=T0 + timedelta(seconds=70), stale_after=timedelta(seconds=60)) == []
    )
