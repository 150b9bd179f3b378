"""The job tables (SQLAlchemy Core): jobs, the events the UI shows, and the live workers."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("task", String(64), nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("claim_token", String(32)),  # set by the claiming UPDATE, so a worker finds its job
    Column("worker_id", String(128)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("cancel_requested", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("epoch", Integer),
    Column("total_epochs", Integer),
    Column("step", Integer),
    Column("metrics_json", Text),
    Column("eta_seconds", Float),
    Column("device", String(128)),
    Column("mlflow_run_id", String(64)),
    Column("error_message", Text),
    Column("error_traceback", Text),
    Column("log_tail", Text),
    Index("ix_jobs_state_submitted", "state", "submitted_at"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),  # "state", "epoch", ...
    Column("message", Text, nullable=False),
    Index("ix_job_events_job", "job_id", "id"),
)

workers = Table(  # who is alive to run jobs (the dashboard shows it and starts one when none is)
    "workers",
    metadata,
    Column("id", String(128), primary_key=True),  # host:pid
    Column("host", String(128), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("executor", String(16), nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

schedules = Table(  # retrain a model at cron times (DESIGN §7)
    "schedules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("cron", String(128), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("spec_json", Text, nullable=False),  # the run to submit, register_as and policy in it
    Column("state", String(16), nullable=False),  # "active" | "paused"
    Column("next_run_at", DateTime(timezone=True)),  # UTC; claimed by a conditional UPDATE
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_run_at", DateTime(timezone=True)),
)

schedule_runs = Table(  # each time a schedule fired: the job it queued (the job holds the rest)
    "schedule_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "schedule_id", String(32), ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False
    ),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("job_id", String(32), nullable=False),
    Column("reason", String(32), nullable=False),  # "scheduled" | "run now"
    Index("ix_schedule_runs_schedule", "schedule_id", "id"),
)
