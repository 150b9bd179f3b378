"""Where a search's study lives, so that a restarted worker resumes it and several workers share
it: Optuna's RDB storage on the project's database (the job store's: SQLite locally, PostgreSQL
for a team), under one study name per search job.

The study's user attributes hold what every process of the search needs: the MLflow parent run,
the seconds the search has run so far (a resumed search gets only the rest of its budget), the
deadline helpers stop at, and whether the search was stopped. Each trial records the job whose
process runs it and its MLflow run, so a resumed job can close the trials its dead process left
running without touching a live helper's.
"""

from __future__ import annotations

import time

import optuna
from mlflow.tracking import MlflowClient

from dlstudio.errors import DLStudioError
from dlstudio.settings import Settings

PARENT = "parent_run_id"
SPENT = "spent_seconds"  # the search's wall time before the process now running it
DEADLINE = "deadline"  # epoch seconds: no trial starts after it (time budgets)
STOPPED = "stopped"  # a user's cancel: every process stops starting trials
TRIAL_JOB = "job"  # trial attribute: the job whose process runs the trial
TRIAL_RUN = "run_id"  # trial attribute: the trial's MLflow run
TRIAL_STATE_TAG = "dlstudio.trial_state"  # complete | pruned | failed, on each trial's run


def study_name(job_id: str) -> str:
    return f"dlstudio-search-{job_id}"


def open_study(
    *, job_id: str | None, leader: str | None, direction: str, seed: int, settings: Settings
) -> optuna.Study:
    """The search's study: in memory for a search outside the job queue; otherwise in the
    project's database under the leading job's name (``leader`` for a helper job, else
    ``job_id``), created by the leader and loaded by a helper or a restarted leader.

    Raises:
        DLStudioError: a helper whose search has no study (its search job was never started
            or its study was deleted).
    """
    sampler = optuna.samplers.TPESampler(seed=seed if leader is None else None)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=3)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if job_id is None:
        return optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    storage = optuna.storages.RDBStorage(
        settings.job_database_url, engine_kwargs=_engine_kwargs(settings.job_database_url)
    )
    name = study_name(leader or job_id)
    if leader is not None:
        try:
            return optuna.load_study(
                study_name=name, storage=storage, sampler=sampler, pruner=pruner
            )
        except KeyError:
            raise DLStudioError(
                f"The search this job helps (job {leader}) has no trials to share.",
                fix="Start the search again; its helper jobs are queued with it.",
            ) from None
    return optuna.create_study(study_name=name, storage=storage, direction=direction,
                               sampler=sampler, pruner=pruner, load_if_exists=True)  # fmt: skip


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}  # wait for the job store's writes, not fail
    return {"pool_pre_ping": True}


def close_orphans(study: optuna.Study, job_id: str, client: MlflowClient) -> int:
    """Trials that ``job_id``'s previous process left running (it died or was stopped): mark
    them failed in the study and in MLflow. Their number."""
    closed = 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if trial.user_attrs.get(TRIAL_JOB) != job_id:
            continue  # a live helper's trial
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        run_id = trial.user_attrs.get(TRIAL_RUN)
        if run_id:
            client.set_tag(run_id, TRIAL_STATE_TAG, "failed")
            client.set_tag(run_id, "dlstudio.trial_note", "its worker stopped during the trial")
            client.set_terminated(run_id, "FAILED")
        closed += 1
    return closed


def wait_for_others(study: optuna.Study, job_id: str, *, limit: float) -> int:
    """Wait (at most ``limit`` seconds) until no other process's trial is running, so the
    search ends on every trial; the number still running when the wait ended."""
    deadline = time.monotonic() + limit
    while True:
        running = [
            t
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            if t.user_attrs.get(TRIAL_JOB) != job_id
        ]
        if not running or time.monotonic() > deadline:
            return len(running)
        time.sleep(1.0)
