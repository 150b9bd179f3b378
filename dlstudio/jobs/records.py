"""What the job store hands back: read-only views of a job, its events and the live workers,
built from their rows (every time timezone-aware UTC)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dlstudio.jobs.status import JobStatus


@dataclass(frozen=True)
class Job:
    """A read-only view of one job row."""

    id: str
    task: str
    spec: dict[str, Any]
    state: JobStatus
    submitted_by: str
    submitted_at: datetime
    worker_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    attempts: int
    epoch: int | None
    total_epochs: int | None
    step: int | None
    metrics: dict[str, float]
    eta_seconds: float | None
    device: str | None
    mlflow_run_id: str | None
    error_message: str | None
    error_traceback: str | None
    log_tail: str | None

    def to_json(self) -> dict[str, Any]:
        raw = {k: v for k, v in vars(self).items() if k != "spec"}
        raw["state"] = self.state.value
        return {**raw, "spec": self.spec}


@dataclass(frozen=True)
class WorkerInfo:
    """A worker process that announced itself (and when it last said it was alive)."""

    id: str
    host: str
    pid: int
    executor: str
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class JobEvent:
    """Something that happened to a job (state change, finished epoch), for the timeline."""

    at: datetime
    kind: str
    message: str


def job_from_row(row: Any) -> Job:
    """A job row (a mapping of its columns) as a Job."""
    return Job(
        id=row["id"],
        task=row["task"],
        spec=json.loads(row["spec_json"]),
        state=JobStatus(row["state"]),
        submitted_by=row["submitted_by"],
        submitted_at=as_utc(row["submitted_at"]),
        worker_id=row["worker_id"],
        started_at=as_utc(row["started_at"]),
        finished_at=as_utc(row["finished_at"]),
        heartbeat_at=as_utc(row["heartbeat_at"]),
        cancel_requested=bool(row["cancel_requested"]),
        attempts=row["attempts"],
        epoch=row["epoch"],
        total_epochs=row["total_epochs"],
        step=row["step"],
        metrics=json.loads(row["metrics_json"]) if row["metrics_json"] else {},
        eta_seconds=row["eta_seconds"],
        device=row["device"],
        mlflow_run_id=row["mlflow_run_id"],
        error_message=row["error_message"],
        error_traceback=row["error_traceback"],
        log_tail=row["log_tail"],
    )


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time in dlstudio is timezone-aware UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
