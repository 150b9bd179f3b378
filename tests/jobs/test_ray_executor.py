"""The Ray executor against a real local Ray head (`ray start --head` on 127.0.0.1).

Skipped where Ray is not installed; `.ci/run` installs it (requirements-dev -> requirements-ray).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from dlstudio.cli import main
from dlstudio.errors import JobError
from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.setup import configure_tracking

pytest.importorskip("ray")
pytestmark = pytest.mark.ray

RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real single-node cluster with 2 CPUs, no dashboard, in its own temp folder."""
    ray = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    env = {**os.environ, **RAY_ENV}
    started = subprocess.run(
        [ray, "start", "--head", "--num-cpus=2", "--include-dashboard=false",
         "--node-ip-address=127.0.0.1", f"--port={port}", "--disable-usage-stats",
         f"--temp-dir={tmp_path_factory.mktemp('ray')}"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    yield f"127.0.0.1:{port}"
    subprocess.run([ray, "stop"], env=env, capture_output=True, timeout=180)


@pytest.fixture
def store(mlflow_home: Path) -> JobStore:
    return JobStore.from_settings(get_settings())


def ray_worker(address: str, log: Path, *extra: str, **env: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "dlstudio", "worker", "--executor", "ray",
               "--ray-address", address, "--poll-seconds", "0.2", *extra]  # fmt: skip
    with log.open("w") as out:
        return subprocess.Popen(
            command, env={**os.environ, **RAY_ENV, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def submit(store: JobStore, csv: Path, **training: object) -> str:
    raw = {"data": {"path": str(csv), "target": "churn"},
           "training": {"preset": "fast", "epochs": 2, **training}}  # fmt: skip
    spec = parse_spec(raw).model_dump(mode="json")
    return store.submit(spec, submitted_by="t", now=utc_now()).id


def wait_for(condition, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def stop(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)


def test_two_jobs_run_as_ray_tasks_and_are_tracked(ray_head, store, customers_csv, tmp_path):
    jobs = [submit(store, customers_csv), submit(store, customers_csv)]
    log = tmp_path / "worker.log"
    worker = ray_worker(ray_head, log, "--max-jobs", "2")
    assert worker.wait(timeout=300) == 0, log.read_text()[-3000:]
    configure_tracking(get_settings())
    for job_id in jobs:
        job = store.get(job_id)
        assert job.state is JobStatus.SUCCEEDED, (job.error_message, log.read_text()[-3000:])
        assert "Ray node" in job.log_tail and "epoch 2/2" in job.log_tail
        assert "test_f1_macro" in job.metrics
        assert mlflow.get_run(job.mlflow_run_id).info.status == "FINISHED"


def test_cancel_stops_a_running_ray_task_and_kills_its_run(
    ray_head, store, customers_csv, tmp_path
):
    job_id = submit(store, customers_csv, epochs=500, early_stopping_patience=500, batch_size=2)
    log = tmp_path / "worker.log"
    worker = ray_worker(ray_head, log)
    try:
        wait_for(lambda: store.get(job_id).epoch is not None, 180, log)
        store.cancel(job_id, now=utc_now())
        wait_for(lambda: store.get(job_id).state.finished, 60, log)
    finally:
        stop(worker)
    job = store.get(job_id)
    assert job.state is JobStatus.CANCELLED
    configure_tracking(get_settings())
    assert mlflow.get_run(job.mlflow_run_id).info.status == "KILLED"


def test_cancel_drops_a_task_still_waiting_for_resources(ray_head, store, customers_csv, tmp_path):
    job_id = submit(store, customers_csv)
    log = tmp_path / "worker.log"
    worker = ray_worker(ray_head, log, DLSTUDIO_RAY_NUM_CPUS="3")  # more than the cluster has
    try:
        wait_for(lambda: store.get(job_id).state is JobStatus.RUNNING, 120, log)
        store.cancel(job_id, now=utc_now())
        wait_for(lambda: store.get(job_id).state.finished, 30, log)
    finally:
        stop(worker)
    job = store.get(job_id)
    assert job.state is JobStatus.CANCELLED
    assert job.mlflow_run_id is None  # it never started training


def test_unreachable_cluster_is_a_clear_error_in_seconds(capsys) -> None:
    started = time.monotonic()
    code = main(["worker", "--executor", "ray", "--ray-address", f"127.0.0.1:{free_port()}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "no Ray cluster answered at 127.0.0.1:" in err and "ray start --head" in err
    assert "Traceback" not in err
    assert time.monotonic() - started < 30


def test_missing_ray_says_how_to_install_it(monkeypatch) -> None:
    from dlstudio.jobs import ray_executor

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(JobError, match=r"requirements-ray\.txt"):
        ray_executor.RayExecutor(JobStore.from_settings(get_settings()), get_settings())
