"""`dlstudio worker`: claim queued jobs and run each through an executor.

The local executor trains each job in a child process: a crash or an out-of-memory kill of the
child cannot take the worker down, and its exit is recorded on the job. The Ray executor
(`dlstudio.jobs.ray_executor`) runs each job as a Ray task on a cluster. Both report progress
and honour cancel the same way, through the job store. SIGTERM stops claiming and sends the
running jobs back to the queue (never left running).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from multiprocessing.connection import Connection

from dlstudio.jobs.executor import STOP_GRACE_SECONDS, Executor
from dlstudio.jobs.scheduling import tick
from dlstudio.jobs.store import Job, JobStatus, JobStore, utc_now
from dlstudio.settings import Settings, get_settings
from dlstudio.training.callbacks import TrainingCancelled

STALE_AFTER = timedelta(seconds=60)  # no heartbeat for this long: the worker is gone
HEARTBEAT_SECONDS = 2.0
CANCEL_GRACE_SECONDS = 15.0  # a job still running this long after cancel is stopped by force


def run_job(database_url: str, job_id: str, torch_threads: int) -> None:
    """Child process of the local executor: train one claimed job and record how it ended."""
    _exit_with_parent(os.getppid())
    _train(database_url, job_id, torch_threads)


def _train(database_url: str, job_id: str, torch_threads: int) -> None:
    from dlstudio.jobs.execute import execute_job

    signal.signal(signal.SIGTERM, _raise_shutdown)
    settings = get_settings().model_copy(update={"torch_threads": torch_threads})
    execute_job(JobStore(database_url), job_id, settings)


def warm_job(orders: Connection, database_url: str, torch_threads: int) -> None:
    """A child that imports the training stack (about 8 s on 2 cores) before a job exists,
    then runs the job id it is sent; a closed pipe or None means "not needed"."""
    _exit_with_parent(os.getppid())
    import dlstudio.jobs.execute
    import dlstudio.training.runner  # noqa: F401 - torch, MLflow, scikit-learn, the templates

    try:
        job_id = orders.recv()
    except EOFError:
        return
    if job_id is not None:
        _train(database_url, job_id, torch_threads)


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


class LocalProcess:
    """A job training in a child process of this worker."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process

    def wait(self, seconds: float) -> bool:
        self.process.join(seconds)
        return not self.process.is_alive()

    def cancel(self) -> None:
        """Nothing to do: the child checks the request between batches."""

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: the child ends its MLflow run and records why
        self.process.join(STOP_GRACE_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def crash_reason(self) -> str:
        return (
            f"the training process stopped unexpectedly (exit code {self.process.exitcode}); "
            "it may have run out of memory: try a smaller preset or batch size"
        )


class LocalExecutor:
    """Each job in a fresh child process on this machine, with its share of the CPU cores.

    An idle slot keeps a warm child (training stack imported) waiting, so a job submitted to an
    idle worker starts training seconds sooner; ``warm=False`` spawns a cold child per job.
    """

    def __init__(self, store: JobStore, *, torch_threads: int, warm: bool = True) -> None:
        self.store, self.torch_threads, self.warm = store, torch_threads, warm
        self._context = multiprocessing.get_context("spawn")  # fresh: no inherited locks
        self._ready: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if not self.warm:
            return
        with self._lock:
            self._ready = [(child, pipe) for child, pipe in self._ready if child.is_alive()]
            if self._ready:
                return
            receiver, sender = self._context.Pipe(duplex=False)
            child = self._context.Process(
                target=warm_job, args=(receiver, self.store.url, self.torch_threads),
                name="job-warm",
            )  # fmt: skip
            child.start()
            receiver.close()
            self._ready.append((child, sender))

    def start(self, job: Job) -> LocalProcess:
        with self._lock:
            while self._ready:
                child, sender = self._ready.pop()
                try:
                    sender.send(job.id)
                except OSError:  # it died while waiting: take the next, or a cold one
                    continue
                finally:
                    sender.close()
                return LocalProcess(child)
        child = self._context.Process(
            target=run_job, args=(self.store.url, job.id, self.torch_threads), name=f"job-{job.id}"
        )
        child.start()
        return LocalProcess(child)

    def default_concurrency(self) -> int:
        return default_concurrency()

    def close(self) -> None:
        with self._lock:
            for child, sender in self._ready:
                sender.close()  # EOF: the warm child exits
                child.join(10)
                if child.is_alive():
                    child.kill()
            self._ready.clear()


class Worker:
    """Claims jobs one at a time per slot; ``concurrency`` slots run side by side."""

    def __init__(
        self,
        store: JobStore,
        *,
        executor: Executor | None = None,
        poll_seconds: float = 0.5,
        concurrency: int = 1,
        executor_name: str = "local",
        prepare: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.poll_seconds, self.concurrency = store, poll_seconds, concurrency
        self.prepare = prepare  # runs once registered, before the first claim
        self.executor = executor or LocalExecutor(
            store, torch_threads=threads_per_job(get_settings(), concurrency)
        )
        self.executor_name = executor_name
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self._done = 0
        self._lock = threading.Lock()

    def run(self, *, max_jobs: int | None = None) -> int:
        """Work until stopped (or ``max_jobs`` finished); returns the number of jobs run."""
        self.store.register_worker(
            self.worker_id, host=socket.gethostname(), pid=os.getpid(),
            executor=self.executor_name, concurrency=self.concurrency, now=utc_now(),
        )  # fmt: skip
        alive = threading.Event()
        threading.Thread(target=self._announce, args=(alive,), daemon=True).start()
        try:
            if self.prepare is not None:
                self.prepare()
            self.store.recover_stale(now=utc_now(), stale_after=STALE_AFTER)
            slots = [
                threading.Thread(target=self._slot, args=(i, max_jobs), daemon=True)
                for i in range(self.concurrency)
            ]
            for slot in slots:
                slot.start()
            for slot in slots:
                slot.join()
        finally:
            alive.set()
            self.executor.close()
            self.store.unregister_worker(self.worker_id)
        return self._done

    def _announce(self, done: threading.Event) -> None:
        """Tell the store this worker is alive, busy or idle (the dashboard reads it)."""
        while not done.wait(HEARTBEAT_SECONDS):
            self.store.worker_alive(self.worker_id, now=utc_now())

    def stop_with(self, parent_pid: int) -> None:
        """Stop gracefully once process ``parent_pid`` (the dashboard that started us) is gone."""

        def watch() -> None:
            while process_exists(parent_pid) and not self.stopping.is_set():
                time.sleep(HEARTBEAT_SECONDS)
            self.stopping.set()

        threading.Thread(target=watch, daemon=True).start()

    def _slot(self, index: int, max_jobs: int | None) -> None:
        worker_id = f"{self.worker_id}/{index}"
        while not self.stopping.is_set():
            with self._lock:
                if max_jobs is not None and self._done >= max_jobs:
                    return
            self.executor.warm_up()
            if index == 0:  # due schedules queue their jobs (atomic: other workers tick too)
                tick(self.store, now=utc_now())
            job = self.store.claim_next(worker_id, now=utc_now())
            if job is None:
                self.store.recover_stale(now=utc_now(), stale_after=STALE_AFTER)
                self.stopping.wait(self.poll_seconds)
                continue
            self._execute(job)
            with self._lock:
                self._done += 1

    def _execute(self, job: Job) -> None:
        running = self.executor.start(job)
        cancel_seen: float | None = None
        while not running.wait(HEARTBEAT_SECONDS):
            self.store.heartbeat(job.id, now=utc_now())
            if self.stopping.is_set():
                running.stop()
                break
            if cancel_seen is None and self.store.cancel_requested(job.id):
                cancel_seen = time.monotonic()
                running.cancel()
            elif cancel_seen and time.monotonic() - cancel_seen > CANCEL_GRACE_SECONDS:
                running.stop()  # e.g. still reading a large file: no batch boundary yet
        if self.store.get(job.id).state is not JobStatus.RUNNING:
            return  # the job recorded how it ended
        now = utc_now()
        if self.store.cancel_requested(job.id):
            self.store.finish(job.id, JobStatus.CANCELLED, now=now, message="cancelled")
        elif self.stopping.is_set():
            self.store.requeue(job.id, now=now, message="worker shut down; queued again")
        else:
            self.store.finish(
                job.id, JobStatus.FAILED, now=now, message="failed",
                error_message=running.crash_reason(),
            )  # fmt: skip


def process_exists(pid: int) -> bool:
    """Is there a process with this id (any owner)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def threads_per_job(settings: Settings, concurrency: int) -> int:
    """``DLSTUDIO_TORCH_THREADS``, else the cores shared evenly between the worker's slots."""
    from dlstudio.training.device import usable_cores

    return settings.torch_threads or max(1, usable_cores() // max(1, concurrency))


def start_worker(
    *,
    concurrency: int | None,
    max_jobs: int | None,
    poll_seconds: float,
    executor: str = "local",
    ray_address: str | None = None,
    parent_pid: int | None = None,
    warm: bool = True,
) -> int:
    """Entry point of `dlstudio worker`: SIGTERM/SIGINT stop it cleanly."""
    settings = get_settings()
    if ray_address:
        settings = settings.model_copy(update={"ray_address": ray_address})
    store = JobStore.from_settings(settings)
    if executor == "ray":
        from dlstudio.jobs.ray_executor import RayExecutor

        chosen: Executor = RayExecutor(store, settings)
        concurrency = concurrency or chosen.default_concurrency()
    else:
        concurrency = concurrency or default_concurrency()
        threads = threads_per_job(settings, concurrency)
        chosen = LocalExecutor(store, torch_threads=threads, warm=warm)
    worker = Worker(
        store, executor=chosen, poll_seconds=poll_seconds, concurrency=concurrency,
        executor_name=executor, prepare=partial(prepare_tracking, settings),
    )  # fmt: skip
    if parent_pid:
        worker.stop_with(parent_pid)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stopping.set())
    worker.run(max_jobs=max_jobs)
    return 0


def prepare_tracking(settings: Settings) -> None:
    """Create MLflow's tables before the first job is claimed: once, under a lock, so workers
    and jobs starting together on a fresh database never race to create them."""
    from dlstudio.tracking.setup import configure_tracking  # MLflow: imported by the worker only

    configure_tracking(settings)


def default_concurrency() -> int:
    """One slot per visible GPU, one on CPU."""
    import torch

    return max(1, torch.cuda.device_count())
