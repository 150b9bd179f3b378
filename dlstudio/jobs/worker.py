"""`dlstudio worker`: claim queued jobs and train each in a child process.

A crash or out-of-memory kill of the child cannot take the worker down; its exit is recorded on
the job. SIGTERM stops claiming and fails the running job with a message (never left running).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
import traceback
from datetime import timedelta

from dlstudio.errors import DLStudioError
from dlstudio.jobs.store import Job, JobStatus, JobStore, utc_now
from dlstudio.settings import get_settings
from dlstudio.training.callbacks import TrainingCancelled

STALE_AFTER = timedelta(seconds=60)  # no heartbeat for this long: the worker is gone
HEARTBEAT_SECONDS = 2.0


def run_job(database_url: str, job_id: str) -> None:
    """Child process: train one claimed job and record how it ended."""
    from dlstudio.jobs.progress import JobProgress
    from dlstudio.spec import parse_spec
    from dlstudio.training import run
    from dlstudio.training.device import choose_device

    store = JobStore(database_url)
    job = store.get(job_id)
    _exit_with_parent(os.getppid())
    signal.signal(signal.SIGTERM, _raise_shutdown)
    try:
        spec = parse_spec(job.spec)
        progress = JobProgress(store, job_id, device=choose_device(spec.training.device).label)
        result = run(spec, callbacks=[progress], job_id=job_id)
    except WorkerShutdown:
        store.requeue(job_id, now=utc_now(), message="worker shut down; queued again")
    except TrainingCancelled:
        store.finish(job_id, JobStatus.CANCELLED, now=utc_now(), message="cancelled while training")
    except DLStudioError as exc:
        store.finish(
            job_id, JobStatus.FAILED, now=utc_now(), message="failed", error_message=str(exc),
            error_traceback=traceback.format_exc(),
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - recorded on the job for the engineer
        store.finish(
            job_id, JobStatus.FAILED, now=utc_now(), message="failed",
            error_message=f"Training stopped with an internal error ({type(exc).__name__}). "
            "The details are in the job's traceback; please report them.",
            error_traceback=traceback.format_exc(),
        )  # fmt: skip
    else:
        store.finish(
            job_id, JobStatus.SUCCEEDED, now=utc_now(), message=result.verdict,
            metrics=result.metrics, mlflow_run_id=result.run_id,
        )  # fmt: skip


class WorkerShutdown(TrainingCancelled):
    """The worker is stopping (SIGTERM): end the MLflow run as KILLED and requeue the job."""


def _raise_shutdown(signum: int, frame: object) -> None:
    raise WorkerShutdown("the worker is shutting down")


def _exit_with_parent(parent_pid: int) -> None:
    """A child whose worker was killed (SIGKILL) stops too, so recovery never runs a job twice."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(HEARTBEAT_SECONDS)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


class Worker:
    """Claims jobs one at a time per slot; ``concurrency`` slots run side by side."""

    def __init__(self, store: JobStore, *, poll_seconds: float = 1.0, concurrency: int = 1) -> None:
        self.store, self.poll_seconds, self.concurrency = store, poll_seconds, concurrency
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self._done = 0
        self._lock = threading.Lock()

    def run(self, *, max_jobs: int | None = None) -> int:
        """Work until stopped (or ``max_jobs`` finished); returns the number of jobs run."""
        self.store.recover_stale(now=utc_now(), stale_after=STALE_AFTER)
        slots = [
            threading.Thread(target=self._slot, args=(i, max_jobs), daemon=True)
            for i in range(self.concurrency)
        ]
        for slot in slots:
            slot.start()
        for slot in slots:
            slot.join()
        return self._done

    def _slot(self, index: int, max_jobs: int | None) -> None:
        worker_id = f"{self.worker_id}/{index}"
        while not self.stopping.is_set():
            with self._lock:
                if max_jobs is not None and self._done >= max_jobs:
                    return
            job = self.store.claim_next(worker_id, now=utc_now())
            if job is None:
                self.store.recover_stale(now=utc_now(), stale_after=STALE_AFTER)
                self.stopping.wait(self.poll_seconds)
                continue
            self._execute(job)
            with self._lock:
                self._done += 1

    def _execute(self, job: Job) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks
        child = context.Process(target=run_job, args=(str(self.store.engine.url), job.id))
        child.start()
        while child.is_alive():
            child.join(HEARTBEAT_SECONDS)
            self.store.heartbeat(job.id, now=utc_now())
            if self.stopping.is_set():
                child.terminate()
                child.join(30)
        if self.stopping.is_set():
            reason = "the worker was shut down while this job was running; submit it again"
        else:  # the child records every ending it sees; only a hard crash gets here
            reason = (
                f"the training process stopped unexpectedly (exit code {child.exitcode}); "
                "it may have run out of memory: try a smaller preset or batch size"
            )
        # a no-op when the child recorded how it ended
        self.store.finish(
            job.id, JobStatus.FAILED, now=utc_now(), message="failed", error_message=reason
        )


def start_worker(*, concurrency: int | None, max_jobs: int | None, poll_seconds: float) -> int:
    """Entry point of `dlstudio worker`: SIGTERM/SIGINT stop it cleanly."""
    worker = Worker(
        JobStore.from_settings(get_settings()),
        poll_seconds=poll_seconds,
        concurrency=concurrency or default_concurrency(),
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stopping.set())
    worker.run(max_jobs=max_jobs)
    return 0


def default_concurrency() -> int:
    """One slot per visible GPU, one on CPU."""
    import torch

    return max(1, torch.cuda.device_count())
