"""The states of a job; plain Python, so that listing them (``dlstudio jobs list --state``)
needs no database library."""

from __future__ import annotations

from enum import Enum


class JobStatus(str, Enum):  # noqa: UP042 - the str mixin the issue asks for
    """queued -> running -> succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
