"""How a search reads its trials: which one it keeps, the progress line per trial, and a
trial's result as MLflow recorded it (for a trial another process ran)."""

from __future__ import annotations

from collections.abc import Sequence

import optuna
from mlflow.tracking import MlflowClient

from dlstudio.evaluation.metrics import against
from dlstudio.search.budget import Budget
from dlstudio.training.runner import RunResult

PRESET_MARGIN = 0.01  # a trial replaces the preset's own settings only when 1% better


def chosen_trial(
    trials: Sequence[optuna.trial.FrozenTrial], *, maximize: bool
) -> optuna.trial.FrozenTrial | None:
    """The trial the search keeps: the best finished one on the validation rows, unless the
    preset's own settings (trial 0) come within ``PRESET_MARGIN`` of it. Picking the top of
    many trials on a few hundred validation rows favours the luckiest; the margin keeps the
    preset unless a trial is clearly better (on telco-churn, 3 seeds, the top trial scored
    0.011 lower F1 on the test rows than the preset, bench/RESULTS.md)."""
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return None
    best = (max if maximize else min)(complete, key=lambda t: t.value)
    preset = next((t for t in complete if t.number == 0), None)
    if preset is None or best is preset:
        return best
    gain = best.value - preset.value if maximize else preset.value - best.value
    return best if gain > PRESET_MARGIN * abs(preset.value) else preset


def progress_line(
    study: optuna.Study, trial: optuna.trial.FrozenTrial, key: str, budget: Budget, spent: float
) -> str:
    """ "trial 3 stopped early (val_f1_macro 0.7012); 4 trials done, best 0.8123 (trial 1);
    2 min 10 s left"."""
    state = {"COMPLETE": "finished", "PRUNED": "stopped early", "FAIL": "failed"}.get(
        trial.state.name, trial.state.name.lower()
    )
    value = trial.value if trial.value is not None else last_report(trial)
    shown = f" ({key} {value:.4f})" if value is not None else ""
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    best = f", best {study.best_value:.4f} (trial {study.best_trial.number})" if done else ""
    if budget.seconds is not None:
        left = max(0.0, budget.seconds - spent)
        rest = f"{int(left // 60)} min {int(left % 60)} s left"
    else:
        rest = f"{len(study.trials)} of {budget.trials} trials"
    count = len(study.trials)
    return f"trial {trial.number} {state}{shown}; {count} trial{'s' * (count != 1)} done{best}; {rest}"


def last_report(trial: optuna.trial.FrozenTrial) -> float | None:
    return (
        trial.intermediate_values[max(trial.intermediate_values)]
        if trial.intermediate_values
        else None
    )


def logged_result(client: MlflowClient, run_id: str) -> RunResult:
    """A finished trial's result as its MLflow run recorded it (for a trial another process
    ran): test metrics, the strongest baseline's, the verdict."""
    logged = client.get_run(run_id)
    tags, metrics = logged.data.tags, logged.data.metrics
    primary = tags.get("dlstudio.primary_metric", "")
    higher = tags.get("dlstudio.higher_is_better", "true") == "true"
    ours, theirs = metrics.get(f"test_{primary}"), metrics.get(f"baseline_test_{primary}")
    beats = ours is not None and theirs is not None and (
        against(ours, theirs, higher_is_better=higher) == "wins"
    )
    return RunResult(
        run_id=run_id, experiment_id=logged.info.experiment_id,
        task=tags.get("dlstudio.task", ""), device=tags.get("dlstudio.device", ""),
        metrics={k: v for k, v in metrics.items() if k.startswith("test_") or "_test_" in k},
        baseline={"name": tags.get("dlstudio.baseline", ""),
                  "metrics": {k.removeprefix("baseline_"): v for k, v in metrics.items()
                              if k.startswith("baseline_test_")}},
        beats_baseline=beats, verdict=tags.get("dlstudio.verdict", ""),
        model_uri=f"runs:/{run_id}/model", registered=None,
    )  # fmt: skip
