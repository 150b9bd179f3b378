"""What the worker asks of an executor: start a claimed job, wait for it, cancel or stop it.

The local executor (:mod:`dlstudio.jobs.worker`) and the Ray executor
(:mod:`dlstudio.jobs.ray_executor`) both implement it; the worker depends on this contract,
not on either of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dlstudio.jobs.store import Job

STOP_GRACE_SECONDS = 30.0  # time a job gets to end its MLflow run after SIGTERM


class Running(Protocol):
    """One job an executor started."""

    def wait(self, seconds: float) -> bool:
        """True once the job's process or task has ended."""

    def cancel(self) -> None:
        """Nudge it to stop soon (the job sees the request in the store anyway)."""

    def stop(self) -> None:
        """Stop it now: gracefully, then by force after a grace period."""

    def crash_reason(self) -> str:
        """Why it ended without recording an ending, in words for the user."""


class Executor(Protocol):
    def start(self, job: Job) -> Running: ...

    def warm_up(self) -> None:
        """Called by an idle slot: get ready so the next job starts sooner."""

    def default_concurrency(self) -> int: ...

    def close(self) -> None: ...
