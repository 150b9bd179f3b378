"""The jobs as the dashboard shows them: the table, progress in words and as a share, durations.
No streamlit here."""

from __future__ import annotations

import pandas as pd

from dlstudio.jobs.store import Job


def jobs_table(jobs: list[Job], searches: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per job, newest first, with what a user wants to see at a glance; ``searches``
    has the latest line of each search job (``JobStore.latest_events(..., "search")``)."""
    searches = searches or {}
    return pd.DataFrame(
        [
            {
                "job": job.id,
                "state": job.state.value,
                "task": job.task,
                "data": job.spec.get("data", {}).get("dataset")
                or job.spec.get("data", {}).get("path"),
                "submitted": job.submitted_at.strftime("%Y-%m-%d %H:%M"),
                "progress": progress_text(job, searches.get(job.id)),
                "device": job.device or "",
            }
            for job in jobs
        ],
        columns=["job", "state", "task", "data", "submitted", "progress", "device"],
    )


def progress_text(job: Job, search: str | None = None) -> str:
    """ "epoch 3/15, about 40 s left" while running; what happened otherwise. A search job
    leads with its latest trial line ``search`` (trials done, best so far, time left)."""
    if job.state.value == "queued":
        return "waiting for a worker"
    if job.spec.get("search"):
        budget = job.spec["search"].get("budget", "")
        if search is None:
            return f"search ({budget}): first trial" if job.state.value == "running" else ""
        if job.state.value == "running" and job.epoch is not None:
            return f"search: {search}; now epoch {job.epoch}/{job.total_epochs} of the next trial"
        return f"search: {search}"
    if job.epoch is None:
        return "preparing the data" if job.state.value == "running" else ""
    text = f"epoch {job.epoch}/{job.total_epochs}"
    if job.state.value == "running" and job.eta_seconds is not None:
        text += f", {duration(job.eta_seconds)} left at most"
    elif job.state.value == "succeeded" and job.total_epochs and job.epoch < job.total_epochs:
        text = f"done: early stopping after epoch {job.epoch}/{job.total_epochs}"
    elif job.state.value == "succeeded":
        text = f"done: {job.epoch} epochs"
    return text


def progress_share(job: Job) -> float:
    """How far along the progress bar is: a finished job is at the end whatever stopped it."""
    if job.state.value == "succeeded":
        return 1.0
    return min(1.0, (job.epoch or 0) / job.total_epochs) if job.total_epochs else 0.0


def duration(seconds: float) -> str:
    """ "45 s", "3 min", "1 h 20 min"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
