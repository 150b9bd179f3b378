"""Which model a tabular run registers: the network, a classical model or their ensemble, chosen
on the validation rows; both tabular templates use it (classification with probabilities and a
decision rule, regression with values).

The ensemble is greedy ensemble selection (Caruana et al. 2004) over every candidate's
validation predictions. The network is registered unless the best other candidate beats it on
``CONFIDENT`` of the paired bootstrap resamples of the validation rows: measured on 3 tables x
3 seeds, the plain validation winner, decided by a handful of rare-class rows, registered models
that lost on the test rows (bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.pipeline import Pipeline

from dlstudio.evaluation.ensemble import select_weights, win_share
from dlstudio.evaluation.metrics import Decision, Verdict
from dlstudio.tasks.base import TaskOutcome

CONFIDENT = 0.9
NETWORK = "network"


@dataclass
class Candidate:
    """One model's predictions (class probabilities or values) on the validation and the test
    rows, and its scores."""

    name: str
    val: np.ndarray
    test: np.ndarray
    pipeline: Pipeline | None = None  # a classical model: saved when the choice uses it
    decision: Decision = field(default_factory=Decision)  # classification: its tuned rule
    val_score: float = float("nan")  # the objective on the validation rows
    test_metrics: dict[str, float] = field(default_factory=dict)


def add_ensemble(
    candidates: dict[str, Candidate], loss: Callable[[np.ndarray], float]
) -> dict[str, float]:
    """Add the greedy ensemble of ``candidates`` (weights fitted on their validation
    predictions by ``loss``) as the candidate "ensemble"; its weights by candidate key."""
    keys = list(candidates)
    weights = select_weights([candidates[k].val for k in keys], loss)
    mix = {k: float(w) for k, w in zip(keys, weights, strict=True)}
    candidates["ensemble"] = Candidate(
        "Ensemble",
        sum(w * candidates[k].val for k, w in mix.items()),
        sum(w * candidates[k].test for k, w in mix.items()),
    )
    return mix


def pick(
    candidates: dict[str, Candidate],
    row_score: Callable[[str], Callable[[np.ndarray], float]],
    n_rows: int,
    *,
    higher_is_better: bool,
) -> str:
    """The network, unless the best other candidate on the validation score beats it on
    ``CONFIDENT`` of the bootstrap resamples (``row_score(key)(rows)``: higher is better)."""
    others = [k for k in candidates if k != NETWORK]
    if not others:
        return NETWORK
    sign = 1 if higher_is_better else -1
    rival = max(others, key=lambda k: sign * candidates[k].val_score)
    share = win_share(row_score(rival), row_score(NETWORK), n_rows)
    return rival if share >= CONFIDENT else NETWORK


@dataclass
class ModelChoice:
    """The registered model: weights over the candidates (one alone, or the ensemble)."""

    chosen: str  # "network", a classical model's key, or "ensemble"
    weights: dict[str, float]
    candidates: dict[str, Candidate]  # every candidate, the ensemble too when fitted
    metric: str
    higher_is_better: bool
    ensemble_weights: dict[str, float] | None = None  # the ensemble's, registered or not

    @property
    def model(self) -> Candidate:
        return self.candidates[self.chosen]

    @property
    def members(self) -> dict[str, Pipeline]:
        """The classical models the registered prediction mixes in."""
        return {
            key: self.candidates[key].pipeline
            for key, weight in self.weights.items()
            if key != NETWORK and weight > 0
        }

    def summary(self, number: Callable[[float], str] = lambda v: f"{v:.3f}") -> str:
        """One sentence: what was registered, and the validation scores it was chosen on."""
        others = ", ".join(
            f"{c.name} {number(c.val_score)}"
            for key, c in self.candidates.items()
            if key != self.chosen
        )
        what = self.model.name
        if self.chosen == "ensemble":
            what = "the ensemble of " + " + ".join(
                f"{self.candidates[k].name} {w:.2f}" for k, w in self.weights.items() if w > 0
            )
        return (
            f"Registered {what}, chosen on the validation rows ({self.metric} "
            f"{number(self.model.val_score)}; {others})."
        )

    def report(self) -> dict:
        """``candidates.json``: every model on the same rows, and which one was registered."""
        return {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "chosen": self.chosen,
            "candidates": [
                {
                    "key": key,
                    "name": c.name,
                    "weights": self.ensemble_weights if key == "ensemble" else None,
                    "validation": {self.metric: c.val_score},
                    "test": c.test_metrics,
                }
                for key, c in self.candidates.items()
            ],
        }


def choose(
    candidates: dict[str, Candidate],
    ensemble_weights: dict[str, float] | None,
    row_score: Callable[[str], Callable[[np.ndarray], float]],
    n_rows: int,
    *,
    metric: str,
    higher_is_better: bool,
) -> ModelChoice:
    """The ModelChoice among scored ``candidates`` (the network alone when no ensemble was
    fitted: ``ensemble_weights`` None)."""
    chosen = NETWORK
    if ensemble_weights is not None:
        chosen = pick(candidates, row_score, n_rows, higher_is_better=higher_is_better)
    weights = ensemble_weights if chosen == "ensemble" else {chosen: 1.0}
    return ModelChoice(chosen, weights, candidates, metric, higher_is_better, ensemble_weights)


def verdict_text(outcome: TaskOutcome) -> str:
    """The generic verdict: the registered model against the strongest classical model."""
    metric = outcome.primary_metric
    return str(
        Verdict(metric, outcome.metrics[metric], outcome.baseline.metrics[metric],
                outcome.baseline.name, outcome.higher_is_better)
    )  # fmt: skip
