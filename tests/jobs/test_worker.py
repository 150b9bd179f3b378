"""The worker with tiny real training jobs in child processes, on real SQLite + MLflow."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import mlflow
import pytest

from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs.store import utc_now
from dlstudio.jobs.worker import Worker, threads_per_job
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.setup import configure_tracking


def job_spec(csv: Path, **training: object) -> dict:
    raw = {"data": {"path": str(csv), "target": "churn"},
           "training": {"preset": "fast", "epochs": 2, **training}}  # fmt: skip
    return parse_spec(raw).model_dump(mode="json")


@pytest.fixture
def store(mlflow_home: Path) -> JobStore:
    return JobStore.from_settings(get_settings())


def test_worker_runs_a_job_to_success_with_its_run_and_metrics(store, customers_csv) -> None:
    job = store.submit(job_spec(customers_csv), submitted_by="ana", now=utc_now())
    assert Worker(store, poll_seconds=0.1).run(max_jobs=1) == 1
    done = store.get(job.id)
    assert done.state is JobStatus.SUCCEEDED, done.error_traceback
    assert done.mlflow_run_id and "test_f1_macro" in done.metrics
    assert (done.epoch, done.total_epochs) == (2, 2) and done.step > 0
    kinds = [e.kind for e in store.events(job.id)]
    assert kinds.count("epoch") == 2 and kinds[-1] == "state"
    assert "epoch 2/2" in done.log_tail and "classical model" in done.log_tail  # the verdict


def test_two_first_jobs_on_a_fresh_home_both_succeed(isolated_home, customers_csv) -> None:
    """Two jobs starting together used to race MLflow's schema migration of a new database."""
    store = JobStore.from_settings(get_settings())
    jobs = [store.submit(job_spec(customers_csv), submitted_by="ana", now=utc_now()) for _ in "ab"]
    assert not (isolated_home / "mlflow.db").exists()
    assert Worker(store, poll_seconds=0.1, concurrency=2).run(max_jobs=2) == 2
    for job in jobs:
        done = store.get(job.id)
        assert done.state is JobStatus.SUCCEEDED, done.error_traceback


def test_jobs_share_the_cores_between_the_worker_slots(monkeypatch) -> None:
    monkeypatch.setattr("dlstudio.training.device.usable_cores", lambda: 16)
    assert threads_per_job(get_settings(), 4) == 4
    assert threads_per_job(get_settings(), 32) == 1
    monkeypatch.setenv("DLSTUDIO_TORCH_THREADS", "3")
    assert threads_per_job(get_settings(), 4) == 3


def test_a_failed_job_keeps_its_log_and_traceback(store, tmp_path) -> None:
    bad = tmp_path / "one-class.csv"
    bad.write_text("x,churn\n" + "".join(f"{i},yes\n" for i in range(50)))
    job = store.submit(job_spec(bad), submitted_by="ana", now=utc_now())
    Worker(store, poll_seconds=0.1).run(max_jobs=1)
    failed = store.get(job.id)
    assert failed.state is JobStatus.FAILED
    assert "one" in failed.error_message.lower() and "Traceback" not in failed.error_message
    assert failed.error_message in failed.log_tail and "Traceback" in failed.error_traceback


def test_job_whose_data_disappeared_fails_with_a_user_message(
    store, customers_csv, tmp_path
) -> None:
    moved = tmp_path / "soon-gone.csv"
    moved.write_bytes(customers_csv.read_bytes())
    job = store.submit(job_spec(moved), submitted_by="ana", now=utc_now())
    moved.unlink()
    Worker(store, poll_seconds=0.1).run(max_jobs=1)
    failed = store.get(job.id)
    assert failed.state is JobStatus.FAILED
    assert "does not exist" in failed.error_message


def test_cancel_stops_a_running_job_and_kills_its_mlflow_run(store, customers_csv) -> None:
    spec = job_spec(customers_csv, epochs=500, early_stopping_patience=500, batch_size=2)
    job = store.submit(spec, submitted_by="ana", now=utc_now())
    worker = threading.Thread(target=Worker(store, poll_seconds=0.1).run, kwargs={"max_jobs": 1})
    worker.start()
    deadline = time.monotonic() + 120
    while store.get(job.id).epoch is None and time.monotonic() < deadline:
        time.sleep(0.2)  # wait until it is really training
    store.cancel(job.id, now=utc_now())
    worker.join(timeout=120)
    cancelled = store.get(job.id)
    assert cancelled.state is JobStatus.CANCELLED
    configure_tracking(get_settings())
    assert mlflow.get_run(cancelled.mlflow_run_id).info.status == "KILLED"


def test_a_shutdown_wrapped_by_mlflow_still_requeues_the_job(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given SIGTERM landing while MLflow writes a metric: MLflow wraps whatever it catches
    from mlflow.exceptions import MlflowException

    from dlstudio import training
    from dlstudio.jobs.execute import execute_job
    from dlstudio.jobs.worker import WorkerShutdown

    def stopped_inside_mlflow(*args, **kwargs):
        try:
            raise WorkerShutdown("the worker is shutting down")
        except WorkerShutdown as exc:
            raise MlflowException(exc)  # noqa: B904 - as MLflow's log_batch does

    monkeypatch.setattr(training, "run", stopped_inside_mlflow)
    store = JobStore.from_settings(get_settings())
    job = store.submit(job_spec(Path("churn.csv")), submitted_by="ana", now=utc_now())
    store.claim_next("w", now=utc_now())

    execute_job(store, job.id, get_settings())

    assert store.get(job.id).state is JobStatus.QUEUED  # not failed as an internal error
    assert store.events(job.id)[-1].message == "worker shut down; queued again"
