"""Train one claimed job and record how it ended, in whatever process an executor gives it.

The local executor calls :func:`execute_job` in a child process, the Ray executor in a Ray task.
Every ending it sees is written to the job (succeeded, failed, cancelled, queued again), so the
worker only steps in when the process itself dies.
"""

from __future__ import annotations

import logging
import traceback

from dlstudio.database import infrastructure_error, reason_of, server_of
from dlstudio.errors import DatabaseUnavailable, DLStudioError
from dlstudio.jobs.joblog import JobLog, job_log
from dlstudio.jobs.store import MAX_ATTEMPTS, JobStatus, JobStore, utc_now
from dlstudio.settings import Settings
from dlstudio.training.callbacks import TrainingCancelled

log = logging.getLogger("dlstudio.jobs")


def execute_job(store: JobStore, job_id: str, settings: Settings, *, where: str = "") -> None:
    """Run the job's spec with progress and cancellation wired to the job row.

    ``where`` (e.g. the Ray node) goes into the job's log.
    """
    from dlstudio.jobs.progress import JobProgress
    from dlstudio.spec import parse_spec
    from dlstudio.training import run
    from dlstudio.training.device import choose_device

    with job_log() as lines:
        try:
            spec = parse_spec(store.get(job_id).spec)
            device = choose_device(spec.training.device).label
            data = spec.data.path or spec.data.dataset
            log.info("training %s on %s (%s%s)", spec.task, data, device, where and f", {where}")
            progress = JobProgress(store, job_id, device=device, log=lines)
            if spec.search is None:
                result = run(spec, callbacks=[progress], job_id=job_id, settings=settings,
                             user=store.get(job_id).submitted_by)  # fmt: skip
                state, message = JobStatus.SUCCEEDED, result.verdict
            else:
                result, state, message = _search(spec, progress, store, job_id, settings)
        except (TrainingCancelled, KeyboardInterrupt):  # cancel, SIGTERM, ray.cancel
            _stopped(store, job_id, lines)
        except Exception as exc:  # noqa: BLE001 - every ending is recorded on the job
            if _stopped_inside(exc):  # SIGTERM landed in a library that wrapped it (MLflow)
                _stopped(store, job_id, lines)
                _mark_run_killed(store.get(job_id).mlflow_run_id)
            elif (cause := infrastructure_error(exc)) is not None:
                _retry_or_fail(store, job_id, cause, settings, lines)
            elif isinstance(exc, DLStudioError):
                log.error("%s", exc)
                _fail(store, job_id, str(exc), lines)
            else:  # recorded on the job for the engineer (traceback too)
                _internal_error(store, job_id, exc, lines)
        else:
            for note in result.notes if result else ():
                log.info("%s", note)
            log.info("%s", message)
            if result and result.registered:
                log.info("registered as %s version %s", result.registered["name"],
                         result.registered["version"])  # fmt: skip
            store.finish(
                job_id, state, now=utc_now(), message=message,
                metrics=result.metrics if result else None,
                mlflow_run_id=result.run_id if result else None, log_tail=lines.text(),
            )  # fmt: skip


def _search(spec, progress, store: JobStore, job_id: str, settings: Settings):
    """The best trial's result of a search job, the job's ending and message: a cancel ends the search
    in its current trial and the job is CANCELLED, keeping (and registering) the best trial.
    A search with several workers queues its helper jobs once its study exists."""
    from dlstudio.search.study import run_search

    def report(line: str) -> None:  # the job's log, and its timeline for the Jobs page
        log.info("%s", line)
        store.note(job_id, now=utc_now(), kind="search", message=line)

    def queue_helpers(resumed: bool) -> None:
        if resumed or spec.search.workers < 2:
            return  # a resumed search's helpers were queued when it first started
        raw = spec.model_dump(mode="json")
        raw["search"] = {**raw["search"], "workers": 1, "helps": job_id}
        for _ in range(spec.search.workers - 1):
            helper = store.submit(raw, submitted_by=store.get(job_id).submitted_by, now=utc_now())
            log.info("queued helper job %s: it runs trials of this search", helper.id)

    found = run_search(spec, callbacks=[progress], job_id=job_id, settings=settings,
                       report=report, on_ready=queue_helpers,
                       user=store.get(job_id).submitted_by)  # fmt: skip
    if spec.search.helps:  # its trials are the search's; the search's own job ends it
        ran = (f"ran {found.trials} trials of the search of job {spec.search.helps} "
               f"({found.pruned} stopped early, {found.failed} failed)")  # fmt: skip
        return found.best, JobStatus.SUCCEEDED, ran
    log.info(
        "search: %d trials (%d pruned, %d failed); best trial %s, parent run %s",
        found.trials, found.pruned, found.failed, found.best_trial, found.parent_run_id,
    )  # fmt: skip
    if found.stopped_by == "cancelled" and (
        found.best is None or not store.cancel_requested(job_id)
    ):  # nothing to keep, or the worker is shutting down (the job goes back to the queue)
        raise TrainingCancelled("search stopped")
    if found.best is None:
        raise DLStudioError(
            f"No trial of the search finished ({found.pruned} pruned, {found.failed} failed).",
            fix="Give the search a larger budget, or train once without a search to see what "
            "fails.",
        )
    if found.stopped_by == "cancelled":
        kept = f"cancelled; kept the best trial so far (trial {found.best_trial})"
        return found.best, JobStatus.CANCELLED, f"{kept}. {found.best.verdict}"
    return found.best, JobStatus.SUCCEEDED, found.best.verdict


def _stopped(store: JobStore, job_id: str, lines: JobLog) -> None:
    """The job was stopped: cancelled when a user asked, else its worker is shutting down."""
    if store.cancel_requested(job_id):
        log.info("cancelled")
        store.finish(
            job_id, JobStatus.CANCELLED, now=utc_now(), message="cancelled while training",
            log_tail=lines.text(),
        )  # fmt: skip
    else:
        log.info("the worker is shutting down; the job goes back to the queue")
        store.requeue(job_id, now=utc_now(), message="worker shut down; queued again")


def _stopped_inside(exc: BaseException) -> bool:
    """Whether a stop (cancel, SIGTERM) is among the causes of ``exc``: MLflow's store turns
    any exception raised during a write, the signal's too, into an MlflowException."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TrainingCancelled | KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _mark_run_killed(run_id: str | None) -> None:
    """End a stopped job's MLflow run as KILLED: the runner saw an MlflowException, not the
    stop, and ended it as FAILED."""
    if run_id is not None:
        from mlflow.tracking import MlflowClient

        MlflowClient().set_terminated(run_id, status="KILLED")


def _internal_error(store: JobStore, job_id: str, exc: Exception, lines: JobLog) -> None:
    log.exception("internal error")
    _fail(
        store, job_id,
        f"Training stopped with an internal error ({type(exc).__name__}). "
        "The details are in the job's traceback; please report them.",
        lines,
    )  # fmt: skip


def _retry_or_fail(
    store: JobStore, job_id: str, cause: BaseException, settings: Settings, lines: JobLog
) -> None:
    """A database failed under the job (not the job's fault): queue it again on its first
    attempt; on its last, fail it saying which servers to check."""
    if isinstance(cause, DatabaseUnavailable):
        what = cause.message
    else:
        what = f"{type(cause).__name__}: {reason_of(cause)}"
    attempt = store.get(job_id).attempts
    if attempt < MAX_ATTEMPTS:
        message = (f"the database was briefly unavailable ({what}); queued again, "
                   f"attempt {attempt + 1} of {MAX_ATTEMPTS}")  # fmt: skip
        log.warning("%s", message)
        store.requeue(job_id, now=utc_now(), message=message)
        return
    log.error("the database failed again (%s)", what)
    _fail(store, job_id, database_failure(what, attempt, store.url, settings), lines)


def database_failure(what: str, attempt: int, job_database: str, settings: Settings) -> str:
    """The error of a job stopped by a database on its last ``attempt``."""
    return (
        f"The job stopped because a database could not be used, on attempt {attempt} of "
        f"{MAX_ATTEMPTS} ({what}). Check that the database servers are running and reachable from "
        f"the worker's machine: the job store at {server_of(job_database)} "
        f"(DLSTUDIO_DATABASE_URL) and MLflow's store at {server_of(settings.mlflow_tracking_uri)} "
        "(MLFLOW_TRACKING_URI); then submit the job again."
    )


def _fail(store: JobStore, job_id: str, message: str, lines: JobLog) -> None:
    store.finish(
        job_id, JobStatus.FAILED, now=utc_now(), message="failed", error_message=message,
        error_traceback=traceback.format_exc(), log_tail=lines.text(),
    )  # fmt: skip
