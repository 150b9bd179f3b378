"""Background training: a durable job store (SQLAlchemy), claimed atomically by workers."""

from dlstudio.jobs.store import Job, JobEvent, JobStatus, JobStore

__all__ = ["Job", "JobEvent", "JobStatus", "JobStore"]
