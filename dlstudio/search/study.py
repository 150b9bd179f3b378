"""A budgeted search: an Optuna study (TPE sampler, median pruning) whose trials are ordinary
dlstudio runs, logged as child runs of one MLflow parent run.

Trial 0 trains the spec as it is (the preset's own values, which the search must beat on the
validation rows to be chosen); each later trial trains it with the values the TPE sampler
picks. Every trial is judged on the template's per-epoch
validation metric (``TaskTemplate.search_objective``), never on the test rows. After every epoch
the trial reports that metric, and a trial the median of earlier trials has beaten by then is
stopped (pruned): its run ends KILLED and is tagged ``dlstudio.trial_state=pruned``. The parent
run carries the best trial's values and test metrics and names its run.

With ``tracking.register_as`` the best trial's model is registered when the search ends (or is
cancelled), under the same promotion policy as a single run. The version points at the best
trial's run, where the model's files are; the parent names the version
(``dlstudio.search_registered``) and the trial names its parent, so neither is copied.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mlflow
import optuna
from mlflow.tracking import MlflowClient

from dlstudio.data.checks import raise_for_errors
from dlstudio.errors import DLStudioError
from dlstudio.search.budget import Budget, parse_budget
from dlstudio.search.fields import SPACE_FILE
from dlstudio.search.shared import (
    DEADLINE,
    PARENT,
    SPENT,
    STOPPED,
    TRIAL_JOB,
    TRIAL_RUN,
    TRIAL_STATE_TAG,
    close_orphans,
    open_study,
    wait_for_others,
)
from dlstudio.search.space import narrowed, search_space, with_values
from dlstudio.search.trials import chosen_trial, logged_result, progress_line
from dlstudio.settings import Settings, get_settings
from dlstudio.spec import RunSpec, parse_spec
from dlstudio.tasks import get_template
from dlstudio.tracking.setup import configure_tracking, ensure_experiment
from dlstudio.training.callbacks import CancelledByUser, TrainingCancelled
from dlstudio.training.loop import Callback, FitState
from dlstudio.training.runner import RunResult, Trained, check_run, register_trained, run

SEARCH_VALUE = "search_value"  # a trial's best objective value, logged on its run
log = logging.getLogger("dlstudio.search")  # a job's log collects it (dlstudio.jobs.joblog)


class TrialPruned(TrainingCancelled):
    """Raised after an epoch to stop a trial that cannot catch up (its run ends KILLED)."""


class TrialReporter(Callback):
    """Reports the objective after each epoch and stops the trial when the pruner says so;
    keeps the trial's best value."""

    def __init__(self, trial: optuna.Trial, key: str, maximize: bool) -> None:
        self.trial, self.key, self.maximize = trial, key, maximize
        self.best: float | None = None
        self.run_id: str | None = None

    def on_train_begin(self, state: FitState) -> None:
        active = mlflow.active_run()
        self.run_id = active.info.run_id if active else None
        if self.run_id:
            self.trial.set_user_attr(TRIAL_RUN, self.run_id)  # other processes find it here

    def on_epoch_end(self, state: FitState) -> None:
        value = state.metrics.get(self.key, state.metrics.get("val_loss"))
        if value is None or not math.isfinite(value):
            return
        if self.best is None or (value > self.best if self.maximize else value < self.best):
            self.best = value
        self.trial.report(value, step=state.epoch)
        if self.trial.should_prune():
            raise TrialPruned(f"trial {self.trial.number} pruned at epoch {state.epoch}")


@dataclass
class SearchResult:
    """What a finished search reports; ``to_json()`` is the ``"search"`` block of ``--json``."""

    parent_run_id: str
    objective: str
    trials: int
    pruned: int
    failed: int
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any]
    best: RunResult | None  # the best trial's run
    stopped_by: str  # "budget", "trials" or "cancelled"
    runs: dict[int, str] = field(default_factory=dict)  # trial number -> its MLflow run

    def to_json(self) -> dict:
        return {
            "trials": self.trials,
            "pruned": self.pruned,
            "failed": self.failed,
            "best_trial": self.best_trial,
            "best_value": self.best_value,
            "best_params": self.best_params,
            "objective": self.objective,
            "parent_run_id": self.parent_run_id,
            "stopped_by": self.stopped_by,
        }


def run_search(
    spec: RunSpec,
    *,
    settings: Settings | None = None,
    callbacks: Sequence[Callback] = (),
    job_id: str | None = None,
    report: Callable[[str], None] = log.info,
    on_ready: Callable[[bool], None] | None = None,
    user: str | None = None,
) -> SearchResult:
    """Search the template's space (narrowed by ``spec.search.ranges``) within
    ``spec.search.budget``; every trial is a run. ``report`` gets one line per trial (how it
    ended, the best so far, the time left).

    A search job (``job_id``) keeps its study in the project's database: run again after its
    worker stopped, it resumes with the rest of its budget. A helper job
    (``spec.search.helps``) runs trials of that search's study until its deadline and leaves
    the ending to the search's own job. ``on_ready(resumed)`` is called once the study and its
    parent run exist (the worker queues the helper jobs then).

    Raises DataError/SpecError before any run is created when the data, the spec or the
    search is unusable. A ``CancelledByUser`` from ``callbacks`` ends the search in the current
    trial, keeping (and registering) the best trial so far; any other ``TrainingCancelled`` (the
    worker shutting down) is raised after the trial is marked failed, and the job, queued
    again, resumes the search.
    """
    if spec.search is None:
        raise ValueError("run_search needs a spec with a search section")
    settings = settings or get_settings()
    budget = parse_budget(spec.search.budget)
    space = narrowed(search_space(spec.task), dict(spec.search.ranges))
    raise_for_errors(check_run(spec, settings)[1])  # once, before any run exists
    key, direction = get_template(spec.task).search_objective
    maximize = direction == "maximize"
    helps = spec.search.helps
    configure_tracking(settings)
    client = MlflowClient()
    study = open_study(job_id=job_id, leader=helps, direction=direction,
                       seed=spec.training.seed, settings=settings)  # fmt: skip
    resumed = PARENT in study.user_attrs
    parent_id = (
        study.user_attrs[PARENT] if resumed
        else _create_parent(spec, study, client, space, budget, key, job_id, settings)
    )  # fmt: skip
    spent = float(study.user_attrs.get(SPENT, 0.0))
    if helps is None:
        if resumed:
            closed = close_orphans(study, job_id, client) if job_id else 0
            client.update_run(parent_id, status="RUNNING")
            report(f"resuming the search after {spent:.0f} s ({len(study.trials)} trials, "
                   f"{closed} left unfinished by the stopped worker)")  # fmt: skip
        if budget.seconds is not None:
            study.set_user_attr(DEADLINE, time.time() + max(0.0, budget.seconds - spent))
        if on_ready is not None:
            on_ready(resumed)
    base = spec.model_dump(mode="json")
    base["tracking"] = {**base["tracking"], "register_as": None}  # trials are never registered
    base["search"] = None  # each trial is one training
    results: dict[int, RunResult] = {}
    cancelled = False
    kept = _BestModel(maximize) if spec.tracking.register_as else None

    def objective(trial: optuna.Trial) -> float:
        nonlocal cancelled
        # trial 0 trains the preset as it is, so the search never misses what one run gets
        values = {} if trial.number == 0 else {f.path: f.suggest(trial) for f in space}
        if job_id:
            trial.set_user_attr(TRIAL_JOB, job_id)
        reporter = TrialReporter(trial, key, maximize)
        tags = {"mlflow.parentRunId": parent_id, "dlstudio.trial": str(trial.number)}
        try:
            result = run(parse_spec(with_values(base, values)), settings=settings,
                         callbacks=[reporter, *callbacks], tags=tags, job_id=job_id,
                         keep=kept.offer if kept else None, user=user)  # fmt: skip
        except TrialPruned:
            _tag(client, reporter.run_id, "pruned", reporter.best)
            raise optuna.TrialPruned() from None
        except CancelledByUser:  # keep what the search has found
            cancelled = True
            _tag(client, reporter.run_id, "pruned", reporter.best)
            if helps is None:  # the search's own job: every worker stops (a helper: just it)
                trial.study.set_user_attr(STOPPED, True)
            trial.study.stop()
            raise optuna.TrialPruned() from None
        except TrainingCancelled as exc:  # the worker stops: the job resumes the search later
            _tag(client, reporter.run_id, "failed")
            raise _Interrupted(exc) from exc  # not a DLStudioError: Optuna must not go on
        except DLStudioError:
            _tag(client, reporter.run_id, "failed")
            raise
        results[trial.number] = result
        _tag(client, result.run_id, "complete", reporter.best)
        if reporter.best is None:
            raise DLStudioError(f"trial {trial.number} reported no {key}")
        if kept:
            kept.judge(trial.number, reporter.best)
        return reporter.best

    started = time.monotonic()

    def progress(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        now = time.monotonic() - started
        if helps is None:
            study.set_user_attr(SPENT, spent + now)
        report(progress_line(study, trial, key, budget, spent + now))
        if study.user_attrs.get(STOPPED) or (budget.trials and len(study.trials) >= budget.trials):
            study.stop()  # cancelled, or the trials are used up (by every worker together)

    timeout = (
        None if budget.seconds is None
        else max(0.0, study.user_attrs.get(DEADLINE, 0.0) - time.time())
    )  # fmt: skip
    if not study.user_attrs.get(STOPPED) and timeout != 0.0 and not _trials_used(study, budget):
        try:
            study.optimize(objective, timeout=timeout, catch=(DLStudioError,),
                           callbacks=[progress])  # fmt: skip
        except _Interrupted as interrupted:
            raise interrupted.cause from None
    if helps is not None:  # the search's own job ends it
        return _helper_result(study, parent_id, key, results, job_id, cancelled)
    if job_id and not cancelled:
        wait_for_others(study, job_id, limit=max(60.0, (budget.seconds or 600) / 2))
    found = _finish(study, client, parent_id, key, results, budget, cancelled, spent, started)
    if found.best is not None and spec.tracking.register_as:
        found.best = _register_best(spec, found, kept, client, settings, report, user)
    return found


def _trials_used(study: optuna.Study, budget: Budget) -> bool:
    return budget.trials is not None and len(study.trials) >= budget.trials


def _create_parent(spec: RunSpec, study: optuna.Study, client: MlflowClient,
                   space: tuple, budget: Budget, key: str, job_id: str | None,
                   settings: Settings) -> str:  # fmt: skip
    """The search's MLflow parent run, named in the study for every process of the search."""
    experiment_id = ensure_experiment(spec.tracking.experiment, settings)
    parent = client.create_run(
        experiment_id,
        # no dlstudio.task tag: the dashboard's run lists are of runs with a model; the parent
        # is found from its trials (tracking.queries.search) and in the MLflow UI
        tags={"dlstudio.search_task": spec.task, "dlstudio.search": "true",
              "dlstudio.search_budget": str(budget), "dlstudio.search_objective": key,
              "dlstudio.search_workers": str(spec.search.workers),
              **({"dlstudio.job_id": job_id} if job_id else {})},
        run_name=f"search · {spec.task}",
    )  # fmt: skip
    parent_id = parent.info.run_id
    client.log_param(
        parent_id, "search.space", "; ".join(f"{f.path}: {f.describe()}" for f in space)
    )
    client.log_dict(parent_id, {"fields": [f.to_json() for f in space]}, SPACE_FILE)
    study.set_user_attr(PARENT, parent_id)
    return parent_id


def _register_best(spec: RunSpec, found: SearchResult, kept: _BestModel | None,
                   client: MlflowClient, settings: Settings,
                   report: Callable[[str], None], user: str | None) -> RunResult:  # fmt: skip
    """Register the best trial's model. It is in memory when this process trained it; a trial
    of a helper or of the worker before a restart is trained once more with its values (same
    seed and rows) and that run is registered."""
    trained = kept.model_of(found.best_trial) if kept is not None else None
    if trained is not None:
        best = register_trained(spec, trained, found.best, settings)
    else:
        report(f"the best trial ({found.best_trial}) ran in another worker process: training "
               "its values once more to register its model")  # fmt: skip
        raw = with_values(spec.model_dump(mode="json"), found.best_params)
        raw["search"] = None
        best = run(parse_spec(raw), settings=settings,
                   tags={"mlflow.parentRunId": found.parent_run_id,
                         "dlstudio.search_refit": str(found.best_trial)}, user=user)  # fmt: skip
    version = best.registered
    client.set_tag(found.parent_run_id, "dlstudio.search_registered",
                   f"{version['name']} version {version['version']}")  # fmt: skip
    return best


class _Interrupted(Exception):
    """Carries a worker's shutdown through Optuna (which would go on after a DLStudioError)."""

    def __init__(self, cause: TrainingCancelled) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _BestModel:
    """Holds the best finished trial's model (only that one) until the search registers it."""

    def __init__(self, maximize: bool) -> None:
        self.maximize = maximize
        self.number: int | None = None
        self.value: float | None = None
        self.trained: Trained | None = None
        self.preset: Trained | None = None
        self._last: Trained | None = None

    def offer(self, trained: Trained) -> None:
        """The trial that is ending logged its model (run's ``keep``)."""
        self._last = trained

    def judge(self, number: int, value: float) -> None:
        """The trial finished with ``value``: keep its model if it is the best so far (and the
        preset's, which the search keeps unless a trial is clearly better)."""
        better = self.value is None or (value > self.value if self.maximize else value < self.value)
        if number == 0:
            self.preset = self._last
        if better:
            self.number, self.value, self.trained = number, value, self._last
        self._last = None

    def model_of(self, number: int | None) -> Trained | None:
        """The kept model of trial ``number``, if this process kept it."""
        if number == 0 and self.preset is not None:
            return self.preset
        return self.trained if number == self.number else None


def _tag(client: MlflowClient, run_id: str | None, state: str, value: float | None = None) -> None:
    """Record how a trial ended, and its objective (``search_value``), on its run."""
    if run_id:
        client.set_tag(run_id, TRIAL_STATE_TAG, state)
        if value is not None:
            client.log_metric(run_id, SEARCH_VALUE, value)


def _finish(study: optuna.Study, client: MlflowClient, parent_id: str, key: str,
            results: dict[int, RunResult], budget: Budget, cancelled: bool, spent: float,
            started: float) -> SearchResult:  # fmt: skip
    """Log the best trial on the parent run and end it. Every trial counts, whichever process
    ran it; the best one's result is read back from MLflow when another process ran it."""
    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    runs = {t.number: t.user_attrs[TRIAL_RUN] for t in trials if TRIAL_RUN in t.user_attrs}
    best = chosen_trial(trials, maximize=study.direction.name == "MAXIMIZE")
    best_run = None
    if best is not None:
        best_run = results.get(best.number) or logged_result(client, runs[best.number])
        for path, value in best.params.items():
            client.log_param(parent_id, path, value)
        client.log_metric(parent_id, f"best_{key}", best.value)
        for name, value in best_run.metrics.items():
            client.log_metric(parent_id, name, value)
        client.set_tag(parent_id, "dlstudio.search_best_run", runs.get(best.number, ""))
        client.set_tag(parent_id, "dlstudio.verdict", best_run.verdict)
    counts = {
        "trials": len(states),
        "pruned": states.count(optuna.trial.TrialState.PRUNED),
        "failed": states.count(optuna.trial.TrialState.FAIL),
    }
    for name, value in counts.items():
        client.log_metric(parent_id, f"search_{name}", value)
    client.log_metric(parent_id, "search_seconds", spent + time.monotonic() - started)
    client.set_terminated(parent_id, "FINISHED" if best is not None else "FAILED")
    stopped_by = "cancelled" if cancelled else "trials" if budget.trials else "budget"
    return SearchResult(
        parent_run_id=parent_id, objective=key, **counts,
        best_trial=best.number if best else None, best_value=best.value if best else None,
        best_params=dict(best.params) if best else {}, best=best_run, stopped_by=stopped_by,
        runs=runs,
    )  # fmt: skip


def _helper_result(study: optuna.Study, parent_id: str, key: str, results: dict[int, RunResult],
                   job_id: str | None, cancelled: bool) -> SearchResult:  # fmt: skip
    """What a helper job reports: the trials it ran; the search's own job ends the search."""
    mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(TRIAL_JOB) == job_id]
    states = [t.state for t in mine]
    values = {t.number: t.value for t in mine if t.number in results}
    best = (max if study.direction.name == "MAXIMIZE" else min)(values, key=values.get,
                                                                  default=None)  # fmt: skip
    return SearchResult(
        parent_run_id=parent_id, objective=key, trials=len(mine),
        pruned=states.count(optuna.trial.TrialState.PRUNED),
        failed=states.count(optuna.trial.TrialState.FAIL), best_trial=best,
        best_value=values.get(best), best_params={}, best=results.get(best),
        stopped_by="cancelled" if cancelled else "budget",
        runs={number: result.run_id for number, result in results.items()},
    )  # fmt: skip
