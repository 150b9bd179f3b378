"""`dlstudio worker` as a real process: SIGTERM requeues the running job (with the job store
and MLflow on SQLite, and on PostgreSQL), SIGKILL is recovered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import mlflow
import psutil
import pytest

from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.setup import configure_tracking
from tests.postgres import ON_BOTH_DATABASES


@pytest.fixture
def store(mlflow_home: Path, database: str, request: pytest.FixtureRequest) -> JobStore:
    if database.startswith("postgresql"):  # MLflow's store on PostgreSQL too
        request.getfixturevalue("mlflow_postgres")
    return JobStore.from_settings(get_settings())


@pytest.fixture
def worker() -> Iterator[subprocess.Popen]:
    command = [sys.executable, "-m", "dlstudio", "worker", "--poll-seconds", "0.2"]
    process = subprocess.Popen(command, env=os.environ.copy(), start_new_session=True)
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def long_job(store: JobStore, csv: Path) -> str:
    raw = {"data": {"path": str(csv), "target": "churn"},
           "training": {"preset": "fast", "epochs": 500, "early_stopping_patience": 500, "batch_size": 2}}  # fmt: skip
    return store.submit(parse_spec(raw).model_dump(mode="json"), submitted_by="t", now=utc_now()).id


def wait_until_training(store: JobStore, job_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while store.get(job_id).epoch is None:
        assert time.monotonic() < deadline, store.events(job_id)
        time.sleep(0.2)


@ON_BOTH_DATABASES
def test_sigterm_requeues_the_running_job_and_kills_its_run(store, customers_csv, worker) -> None:
    job_id = long_job(store, customers_csv)
    wait_until_training(store, job_id)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    job = store.get(job_id)
    assert job.state is JobStatus.QUEUED
    assert store.events(job_id)[-1].message == "worker shut down; queued again"
    configure_tracking(get_settings())
    assert mlflow.get_run(job.mlflow_run_id).info.status == "KILLED"


def test_sigkill_leaves_no_orphan_and_the_job_is_recovered(store, customers_csv, worker) -> None:
    job_id = long_job(store, customers_csv)
    wait_until_training(store, job_id)
    children = psutil.Process(worker.pid).children(recursive=True)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    _, alive = psutil.wait_procs(children, timeout=20)  # the training child notices and exits
    assert alive == []
    assert store.get(job_id).state is JobStatus.RUNNING  # nobody left to say otherwise ...
    later = utc_now() + timedelta(minutes=2)  # ... until its heartbeat is stale
    assert store.recover_stale(now=later, stale_after=timedelta(seconds=60)) == [job_id]
    assert store.get(job_id).state is JobStatus.QUEUED
