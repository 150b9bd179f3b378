"""Background training: a durable job store (SQLAlchemy), claimed atomically by workers.

The store's names load on first use, so that what needs only the job states (the parser of
``dlstudio``, for ``jobs list --state``) does not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlstudio.jobs.status import JobStatus

if TYPE_CHECKING:
    from dlstudio.jobs.store import Job, JobEvent, JobStore

__all__ = ["Job", "JobEvent", "JobStatus", "JobStore"]
_FROM_STORE = {"Job", "JobEvent", "JobStore"}


def __getattr__(name: str) -> Any:
    """``from dlstudio.jobs import JobStore``: the store, imported on first use."""
    if name in _FROM_STORE:
        from dlstudio.jobs import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
