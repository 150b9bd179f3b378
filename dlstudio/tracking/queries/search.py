"""A search's trials, read back from MLflow for the Results page (``dlstudio.search``)."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlstudio.search.fields import SPACE_FILE, SearchField
from dlstudio.settings import Settings
from dlstudio.tracking.setup import configure_tracking

STATE_TAG = "tags.dlstudio.trial_state"
TRIAL_TAG = "tags.dlstudio.trial"
PRESET = "preset's"  # a searched field the trial left to the preset (trial 0)


@dataclass(frozen=True)
class SearchTrials:
    """The trials of the search a run belongs to, one row each in trial order: ``trial``,
    ``state`` (complete, pruned, failed), the searched ``params``, ``value`` (the trial's best
    validation ``objective``) and ``run_id``."""

    parent_id: str
    experiment_id: str
    objective: str
    maximize: bool
    best_run_id: str | None
    budget: str
    params: list[str]
    trials: pd.DataFrame
    space: tuple = ()  # SearchField of each searched spec field, as the search logged them
    registered: str | None = None  # "churn version 3": the best trial's model, registered

    def importance(self) -> dict[str, float]:
        """Each searched field's share of the variation in the finished trials' validation
        scores (Optuna's fANOVA importance), largest first; empty with fewer than 3 finished
        trials or when every trial scored the same."""
        import optuna

        done = self.trials[(self.trials["state"] == "complete") & self.trials["value"].notna()]
        fields = [f for f in self.space if f.path in done.columns]
        done = done[~done["trial"].isin(self.preset_trials())]  # not sampled from the space
        if len(done) < 3 or done["value"].nunique() < 2 or not fields:
            return {}
        study = optuna.create_study(direction="maximize" if self.maximize else "minimize")
        for _, row in done.iterrows():
            study.add_trial(
                optuna.trial.create_trial(
                    params={f.path: f.parse(str(row[f.path])) for f in fields},
                    distributions={f.path: f.distribution() for f in fields},
                    value=float(row["value"]),
                )
            )
        return optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
        )

    def preset_trials(self) -> list[int]:
        """Trials that trained the preset's own values (shown as PRESET, not sampled)."""
        if not self.params:
            return []
        own = (self.trials[self.params] == PRESET).all(axis=1)
        return self.trials.loc[own, "trial"].tolist()

    def best_so_far(self) -> pd.DataFrame:
        """``trial`` and ``best``: the best value of the finished trials up to each one."""
        done = self.trials[self.trials["state"] == "complete"]
        best = done["value"].cummax() if self.maximize else done["value"].cummin()
        return pd.DataFrame({"trial": done["trial"], "best": best})


def search_trials(settings: Settings, run_id: str) -> SearchTrials | None:
    """The search that ``run_id`` is a trial of; None for a run trained on its own."""
    configure_tracking(settings)
    client = MlflowClient()
    run = client.get_run(run_id)
    parent_id = run.data.tags.get("mlflow.parentRunId")
    if not parent_id or "dlstudio.trial" not in run.data.tags:
        return None
    parent = client.get_run(parent_id)
    tags = parent.data.tags
    from dlstudio.tasks import get_template

    _, direction = get_template(tags["dlstudio.search_task"]).search_objective
    runs = mlflow.search_runs(
        experiment_ids=[parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
    )
    space = parent.data.params.get("search.space", "")  # "path: range; path: range"
    searched = [part.split(":", 1)[0].strip() for part in space.split(";") if part.strip()]
    params = [f"params.{path}" for path in searched if f"params.{path}" in runs.columns]
    trials = pd.DataFrame(
        {
            "trial": runs[TRIAL_TAG].astype(int),
            "state": runs.get(STATE_TAG, pd.Series("failed", index=runs.index)).fillna("failed"),
            # a field left unset ("None", or "auto" for a choice) is the preset's value
            **{c.removeprefix("params."): runs[c].replace({"None": PRESET, "auto": PRESET})
               for c in params},
            "value": runs.get("metrics.search_value"),
            "run_id": runs["run_id"],
        }
    ).sort_values("trial", ignore_index=True)
    try:
        logged = mlflow.artifacts.load_dict(f"runs:/{parent_id}/{SPACE_FILE}")
        space = tuple(SearchField.from_json(raw) for raw in logged["fields"])
    except (MlflowException, OSError, KeyError, ValueError):  # a search just starting, or its
        # files unreadable: no importance then
        space = ()
    return SearchTrials(
        space=space,
        parent_id=parent_id,
        experiment_id=parent.info.experiment_id,
        objective=tags.get("dlstudio.search_objective", "val_loss"),
        maximize=direction == "maximize",
        best_run_id=tags.get("dlstudio.search_best_run") or None,
        budget=tags.get("dlstudio.search_budget", ""),
        params=[c.removeprefix("params.") for c in params],
        trials=trials,
        registered=tags.get("dlstudio.search_registered"),
    )
