"""The decision threshold of a two-class model, tuned on the validation rows for the metric the
user optimises: macro-F1 (default), accuracy, F1 of the positive class, or a recall to reach."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from dlstudio.evaluation.metrics import Decision

MAX_CANDIDATES = 400  # thresholds tried: the validation probabilities, thinned to quantiles


def tune_threshold(
    y_val: np.ndarray,
    proba_val: np.ndarray,
    *,
    positive: int,
    objective: str = "f1_macro",
    target_recall: float | None = None,
) -> Decision:
    """The threshold on the positive class's probability that scores best on the validation rows.

    ``objective``: "f1_macro", "accuracy", "f1_positive" or "recall" (the highest threshold whose
    recall of the positive class reaches ``target_recall``: as few false alarms as the recall
    allows). Ties go to the threshold nearest 0.5, the untuned choice.
    """
    scores = proba_val[:, positive]
    candidates = np.unique(np.quantile(scores, np.linspace(0, 1, MAX_CANDIDATES)))
    candidates = np.unique(np.concatenate([candidates, [0.5]]))
    is_positive = y_val == positive
    if objective == "recall":
        if target_recall is None:
            raise ValueError("objective 'recall' needs target_recall")
        recall = np.array([(scores[is_positive] >= t).mean() for t in candidates])
        reaching = candidates[recall >= target_recall]
        return Decision(positive, float(reaching.max()) if len(reaching) else float(scores.min()))
    score = _scorer(objective)
    values = np.array([score(is_positive, scores >= t) for t in candidates])
    best = values.max()
    ties = candidates[np.isclose(values, best)]
    return Decision(positive, float(ties[np.argmin(np.abs(ties - 0.5))]))


def _scorer(objective: str) -> Callable[[np.ndarray, np.ndarray], float]:
    if objective == "f1_macro":
        return lambda t, p: skm.f1_score(t, p, average="macro", zero_division=0)
    if objective == "accuracy":
        return lambda t, p: float((t == p).mean())
    if objective == "f1_positive":
        return lambda t, p: skm.f1_score(t, p, zero_division=0)
    raise ValueError(f"unknown threshold objective {objective!r}")
