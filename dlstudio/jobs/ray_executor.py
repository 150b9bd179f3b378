"""Run claimed jobs as Ray tasks, so a team scales training by adding Ray nodes.

Optional: ``pip install -r requirements-ray.txt``. The worker stays the one process that claims
jobs from the store; each job becomes a Ray core task (no dashboard or Jobs API needed) asking
for ``DLSTUDIO_RAY_NUM_CPUS`` CPUs and, where the job may use one, a GPU. The task runs the same
:func:`~dlstudio.jobs.execute.execute_job` as the local executor, so progress, cancel and errors
reach the job store the same way; for that, every Ray node must reach the job database and the
MLflow tracking server (see the README's "Train on a Ray cluster").
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dlstudio.errors import JobError
from dlstudio.jobs.executor import STOP_GRACE_SECONDS
from dlstudio.jobs.store import Job, JobStore
from dlstudio.settings import Settings


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise JobError(
            "the Ray executor needs Ray, which is not installed",
            fix="pip install -r requirements-ray.txt (or use --executor local)",
        ) from None
    return ray


def ray_job(environment: dict[str, str], job_id: str) -> None:
    """The Ray task: one job, with torch using the CPUs Ray gave it (workers are reused)."""
    import ray

    from dlstudio.jobs.execute import execute_job
    from dlstudio.settings import get_settings

    context = ray.get_runtime_context()
    cpus = context.get_assigned_resources().get("CPU", 1.0)
    where = f"Ray node {context.get_node_id()[:12]}, pid {os.getpid()}"
    with _environment(environment):
        settings = get_settings().model_copy(update={"torch_threads": max(1, round(cpus))})
        store = JobStore(settings.job_database_url)
        try:
            execute_job(store, job_id, settings, where=where)
        finally:
            store.engine.dispose()


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The worker's dlstudio/MLflow settings for the length of one task (the process is reused)."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _check_reachable(address: str) -> None:
    """Fail in seconds on a wrong HOST:PORT (ray.init would retry for minutes)."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # "auto", "local" or a ray:// client address: Ray answers quickly itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise JobError(
            f"no Ray cluster answered at {address} ({exc.strerror or exc})",
            fix="check the head node's address and port (`ray status` on the head shows them), "
            "or start one with `ray start --head`",
        ) from None


class RayTask:
    """A job running (or waiting for resources) on the Ray cluster."""

    def __init__(self, ray: Any, ref: Any) -> None:
        self.ray, self.ref = ray, ref

    def wait(self, seconds: float) -> bool:
        ready, _ = self.ray.wait([self.ref], timeout=seconds)
        return bool(ready)

    def cancel(self) -> None:
        """Waiting for resources: dropped; running: a KeyboardInterrupt the job records."""
        self.ray.cancel(self.ref)

    def stop(self) -> None:
        self.ray.cancel(self.ref)
        if not self.wait(STOP_GRACE_SECONDS):
            self.ray.cancel(self.ref, force=True)
            self.wait(STOP_GRACE_SECONDS)

    def crash_reason(self) -> str:
        try:
            self.ray.get(self.ref, timeout=0)
        except Exception as exc:  # noqa: BLE001 - any Ray failure becomes the job's message
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return (
                f"the training task on the Ray cluster stopped unexpectedly "
                f"({type(exc).__name__}: {first_line}); a node may have run out of memory "
                "or left the cluster"
            )
        return "the training task on the Ray cluster ended without recording a result"


class RayExecutor:
    """Submits each claimed job to the Ray cluster at ``settings.ray_address``."""

    def __init__(self, store: JobStore, settings: Settings) -> None:
        self.ray = ray = _ray()
        self.settings = settings
        _check_reachable(settings.ray_address)
        try:
            ray.init(
                address=settings.ray_address,
                namespace="dlstudio",
                logging_level=logging.WARNING,
                log_to_driver=True,
            )
        except ConnectionError as exc:
            raise JobError(
                f"no Ray cluster answered at {settings.ray_address!r} ({exc})",
                fix="start one with `ray start --head`, or pass --ray-address HOST:PORT "
                "(or set DLSTUDIO_RAY_ADDRESS) of a running cluster",
            ) from None
        self.task = ray.remote(max_retries=0)(ray_job)  # a lost job is recovered by the store
        self.environment = {
            **{k: v for k, v in os.environ.items() if k.startswith(("DLSTUDIO_", "MLFLOW_"))},
            "DLSTUDIO_HOME": str(settings.home_dir),
            "DLSTUDIO_DATABASE_URL": store.url,
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        }

    def start(self, job: Job) -> RayTask:
        ref = self.task.options(
            num_cpus=self.settings.ray_num_cpus,
            num_gpus=self.gpus_for(job),
            name=f"dlstudio-job-{job.id}",
        ).remote(self.environment, job.id)
        return RayTask(self.ray, ref)

    def gpus_for(self, job: Job) -> float:
        """``DLSTUDIO_RAY_NUM_GPUS``, else one GPU when the job may use CUDA and the cluster has one."""
        if self.settings.ray_num_gpus is not None:
            return self.settings.ray_num_gpus
        device = job.spec.get("training", {}).get("device", "auto")
        if device == "cuda":
            return 1
        if device == "auto" and self.ray.cluster_resources().get("GPU", 0) > 0:
            return 1
        return 0

    def warm_up(self) -> None:
        """Ray keeps its worker processes warm itself."""

    def default_concurrency(self) -> int:
        """As many jobs at once as the cluster has GPUs, else as its CPUs fit."""
        resources = self.ray.cluster_resources()
        if resources.get("GPU", 0) >= 1:
            return int(resources["GPU"])
        return max(1, int(resources.get("CPU", 1) // self.settings.ray_num_cpus))

    def close(self) -> None:
        self.ray.shutdown()
