"""The job store: submit, claim atomically, cancel, read. SQLite by default, PostgreSQL alike."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, insert, select, update

from dlstudio.database import connect_args, create_tables, with_psycopg
from dlstudio.errors import UnknownJob
from dlstudio.jobs.records import Job, JobEvent, WorkerInfo, as_utc, job_from_row
from dlstudio.jobs.status import JobStatus
from dlstudio.jobs.tables import job_events, jobs, metadata, workers
from dlstudio.settings import Settings, private_sqlite_file

MAX_ATTEMPTS = 2  # a job whose worker died, or whose database failed, is run once more
STALE_FAILURE = (
    "The job stopped twice without finishing (its worker process died or the machine restarted). "
    "Submit it again; if it keeps failing, try a smaller preset or batch size."
)


class JobStore:
    """Jobs in a SQL database; every method is one short transaction."""

    def __init__(self, url: str) -> None:
        self.url = url  # as given: str(engine.url) would mask a PostgreSQL password
        self.engine = _engine(url)
        create_tables(self.engine, metadata)  # DatabaseUnavailable when it cannot be reached

    @classmethod
    def from_settings(cls, settings: Settings) -> JobStore:
        """``DLSTUDIO_DATABASE_URL``, or SQLite ``dlstudio.db`` under the home folder."""
        return cls(settings.job_database_url)

    def submit(self, spec: dict[str, Any], *, submitted_by: str, now: datetime) -> Job:
        """Queue a validated spec (as produced by ``RunSpec.model_dump(mode="json")``)."""
        with self.engine.begin() as connection:
            job_id = insert_job(connection, spec, submitted_by=submitted_by, now=now)
        return self.get(job_id)

    def claim_next(self, worker_id: str, *, now: datetime) -> Job | None:
        """Move the oldest queued job to running for ``worker_id``; None when the queue is empty.

        One conditional UPDATE: among racing workers exactly one matches ``state = 'queued'``
        for a given row, so no job ever runs twice. On PostgreSQL the oldest row another worker
        is claiming is skipped (SKIP LOCKED; SQLite has no row locks), so it takes the next one
        instead of finding nothing.
        """
        token = uuid.uuid4().hex
        oldest = (
            select(jobs.c.id)
            .where(jobs.c.state == JobStatus.QUEUED.value)
            .order_by(jobs.c.submitted_at, jobs.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(jobs)
                .where(jobs.c.id == oldest, jobs.c.state == JobStatus.QUEUED.value)
                .values(
                    state=JobStatus.RUNNING.value,
                    claim_token=token,
                    worker_id=worker_id,
                    started_at=now,
                    heartbeat_at=now,
                    attempts=jobs.c.attempts + 1,
                )
            )
            if claimed.rowcount != 1:
                return None
            job_id = connection.execute(
                select(jobs.c.id).where(jobs.c.claim_token == token)
            ).scalar_one()
            _record(connection, job_id, now, "state", f"running on {worker_id}")
        return self.get(job_id)

    def cancel(self, job_id: str, *, now: datetime) -> tuple[Job, str]:
        """Cancel a job: at once when queued, by request when running; a finished job is kept.

        Returns the job and a sentence for the user saying what happened.
        """
        job = self.get(job_id)
        if job.state.finished:
            return job, f"job {job_id} already {job.state.value}; nothing to cancel"
        with self.engine.begin() as connection:
            values = {"state": JobStatus.CANCELLED.value, "finished_at": now, "cancel_requested": 1}
            if _move(
                connection, job_id, JobStatus.QUEUED, values, now, "cancelled before it started"
            ):
                message = f"job {job_id} cancelled"
            else:
                connection.execute(
                    update(jobs).where(jobs.c.id == job_id).values(cancel_requested=1)
                )
                _record(connection, job_id, now, "state", "cancel requested")
                message = f"job {job_id} is running; it will stop within seconds"
        return self.get(job_id), message

    def heartbeat(self, job_id: str, *, now: datetime) -> None:
        """The worker is alive and still running this job."""
        with self.engine.begin() as connection:
            connection.execute(update(jobs).where(jobs.c.id == job_id).values(heartbeat_at=now))

    def report_progress(
        self,
        job_id: str,
        *,
        now: datetime,
        epoch: int | None = None,
        total_epochs: int | None = None,
        metrics: dict[str, float] | None = None,
        eta_seconds: float | None = None,
        device: str | None = None,
        mlflow_run_id: str | None = None,
        step: int | None = None,
        log_tail: str | None = None,
    ) -> None:
        """Write the latest progress; an epoch also becomes an event on the timeline."""
        values: dict[str, Any] = {"heartbeat_at": now}
        fields = {
            "epoch": epoch,
            "total_epochs": total_epochs,
            "step": step,
            "log_tail": log_tail,
            "eta_seconds": eta_seconds,
            "device": device,
            "mlflow_run_id": mlflow_run_id,
        }
        values.update({key: value for key, value in fields.items() if value is not None})
        if metrics is not None:
            values["metrics_json"] = json.dumps(metrics)
        with self.engine.begin() as connection:
            connection.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
            if epoch is not None and metrics is not None:
                shown = ", ".join(f"{k} {v:.4f}" for k, v in list(metrics.items())[:4])
                _record(connection, job_id, now, "epoch", f"epoch {epoch}/{total_epochs}: {shown}")

    def cancel_requested(self, job_id: str) -> bool:
        """Has a user asked to stop this job?"""
        with self.engine.connect() as connection:
            flag = connection.execute(
                select(jobs.c.cancel_requested).where(jobs.c.id == job_id)
            ).scalar_one()
        return bool(flag)

    def finish(
        self,
        job_id: str,
        state: JobStatus,
        *,
        now: datetime,
        message: str,
        error_message: str | None = None,
        error_traceback: str | None = None,
        metrics: dict[str, float] | None = None,
        mlflow_run_id: str | None = None,
        log_tail: str | None = None,
    ) -> bool:
        """End a running job; False when it was no longer running (e.g. already recovered)."""
        values: dict[str, Any] = {
            "state": state.value,
            "finished_at": now,
            "error_message": error_message,
            "error_traceback": error_traceback,
        }
        if log_tail is not None:
            values["log_tail"] = log_tail
        if metrics is not None:
            values["metrics_json"] = json.dumps(metrics)
        if mlflow_run_id is not None:
            values["mlflow_run_id"] = mlflow_run_id
        with self.engine.begin() as connection:
            return _move(connection, job_id, JobStatus.RUNNING, values, now, message)

    def requeue(self, job_id: str, *, now: datetime, message: str) -> bool:
        """Put a running job back in the queue (its worker is shutting down)."""
        values = {"state": JobStatus.QUEUED.value, "worker_id": None}
        with self.engine.begin() as connection:
            return _move(connection, job_id, JobStatus.RUNNING, values, now, message)

    def recover_stale(self, *, now: datetime, stale_after: timedelta) -> list[str]:
        """Jobs left running by a worker that died: requeued once, failed the second time."""
        cutoff = now - stale_after
        recovered = []
        with self.engine.begin() as connection:
            stale = connection.execute(
                select(jobs.c.id, jobs.c.attempts, jobs.c.worker_id).where(
                    jobs.c.state == JobStatus.RUNNING.value, jobs.c.heartbeat_at < cutoff
                )
            ).all()
            for job_id, attempts, worker_id in stale:
                if attempts < MAX_ATTEMPTS:
                    values = {"state": JobStatus.QUEUED.value, "worker_id": None}
                    message = f"worker {worker_id} stopped answering; queued again"
                else:
                    values = {
                        "state": JobStatus.FAILED.value,
                        "finished_at": now,
                        "error_message": STALE_FAILURE,
                    }
                    message = f"worker {worker_id} stopped answering again; job failed"
                if _move(connection, job_id, JobStatus.RUNNING, values, now, message):
                    recovered.append(job_id)
        return recovered

    def get(self, job_id: str) -> Job:
        """The job with this id; JobError naming the id when there is none."""
        with self.engine.connect() as connection:
            row = connection.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise UnknownJob(
                f"there is no job {job_id!r}", fix="list the jobs with `dlstudio jobs list`"
            )
        return job_from_row(row)

    def list_jobs(self, *, state: JobStatus | None = None, limit: int = 100) -> list[Job]:
        """Newest first, optionally only jobs in ``state``."""
        query = select(jobs).order_by(jobs.c.submitted_at.desc(), jobs.c.id).limit(limit)
        if state is not None:
            query = query.where(jobs.c.state == state.value)
        with self.engine.connect() as connection:
            return [job_from_row(row) for row in connection.execute(query).mappings()]

    def note(self, job_id: str, *, now: datetime, kind: str, message: str) -> None:
        """Add an event to the job's timeline (a search notes each trial as it ends)."""
        with self.engine.begin() as connection:
            _record(connection, job_id, now, kind, message)

    def latest_events(self, job_ids: list[str], kind: str) -> dict[str, str]:
        """The newest event of ``kind`` of each of ``job_ids`` that has one: job id -> message."""
        newest = (
            select(func.max(job_events.c.id))
            .where(job_events.c.job_id.in_(job_ids), job_events.c.kind == kind)
            .group_by(job_events.c.job_id)
        )
        query = select(job_events.c.job_id, job_events.c.message).where(job_events.c.id.in_(newest))
        with self.engine.connect() as connection:
            return {row.job_id: row.message for row in connection.execute(query)}

    def events(self, job_id: str) -> list[JobEvent]:
        """The job's timeline, oldest first."""
        query = select(job_events).where(job_events.c.job_id == job_id).order_by(job_events.c.id)
        with self.engine.connect() as connection:
            return [
                JobEvent(as_utc(r["at"]), r["kind"], r["message"])
                for r in connection.execute(query).mappings()
            ]

    def register_worker(
        self, worker_id: str, *, host: str, pid: int, executor: str, concurrency: int,
        now: datetime,
    ) -> None:  # fmt: skip
        """A worker starts: announce it (replacing a dead one that had the same id)."""
        row = {"host": host, "pid": pid, "executor": executor, "concurrency": concurrency,
               "started_at": now, "heartbeat_at": now}  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(delete(workers).where(workers.c.id == worker_id))
            connection.execute(insert(workers).values(id=worker_id, **row))

    def worker_alive(self, worker_id: str, *, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now)
            )

    def unregister_worker(self, worker_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(workers).where(workers.c.id == worker_id))

    def live_workers(self, *, now: datetime, within: timedelta) -> list[WorkerInfo]:
        """Workers whose last heartbeat is more recent than ``within``."""
        query = select(workers).where(workers.c.heartbeat_at >= now - within)
        with self.engine.connect() as connection:
            return [
                WorkerInfo(**{**row, "started_at": as_utc(row["started_at"]),
                              "heartbeat_at": as_utc(row["heartbeat_at"])})
                for row in connection.execute(query.order_by(workers.c.started_at)).mappings()
            ]  # fmt: skip


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(with_psycopg(url), pool_pre_ping=True, connect_args=connect_args(url))
    private_sqlite_file(url)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # WAL lets the dashboard read while a worker writes; waits instead of "database is locked"
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def insert_job(connection: Any, spec: dict[str, Any], *, submitted_by: str, now: datetime) -> str:
    """Queue a job inside the caller's transaction (a schedule claims its due time and queues
    the job at once, or neither); its id."""
    job_id = uuid.uuid4().hex[:12]
    connection.execute(
        insert(jobs).values(
            id=job_id,
            task=spec["task"],
            spec_json=json.dumps(spec),
            submitted_by=submitted_by,
            submitted_at=now,
            state=JobStatus.QUEUED.value,
            cancel_requested=0,
            attempts=0,
        )
    )
    _record(connection, job_id, now, "state", f"queued by {submitted_by}")
    return job_id


def _move(
    connection: Any,
    job_id: str,
    expected: JobStatus,
    values: dict[str, Any],
    now: datetime,
    message: str,
) -> bool:
    """Change a job only if it is still in ``expected`` (so racing writers cannot both win),
    and put the change on its timeline. True when this call made the change."""
    moved = connection.execute(
        update(jobs).where(jobs.c.id == job_id, jobs.c.state == expected.value).values(**values)
    )
    if moved.rowcount == 1:
        _record(connection, job_id, now, "state", message)
    return moved.rowcount == 1


def _record(connection: Any, job_id: str, now: datetime, kind: str, message: str) -> None:
    connection.execute(insert(job_events).values(job_id=job_id, at=now, kind=kind, message=message))


def utc_now() -> datetime:
    """The current time, for callers that do not inject one."""
    return datetime.now(UTC)
