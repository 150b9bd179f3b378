"""The decision threshold of a two-class model, tuned on the validation rows for the metric the
user optimises: macro-F1 (default), accuracy, F1 of the positive class, or a recall to reach."""

from __future__ import annotations

import numpy as np

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
    values = _scores_at(is_positive, scores, candidates, objective)
    best = values.max()
    ties = candidates[np.isclose(values, best)]
    return Decision(positive, float(ties[np.argmin(np.abs(ties - 0.5))]))


def _scores_at(
    is_positive: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, objective: str
) -> np.ndarray:
    """``objective`` of predicting "positive" when ``scores >= t``, for every ``t`` at once.

    The confusion counts of all thresholds come from one sort, so this costs about as much as
    scoring a single threshold; the values equal scikit-learn's ``f1_score`` (``zero_division=0``,
    macro over the classes present in the truth or the predictions) and plain accuracy.
    """
    if objective not in ("f1_macro", "accuracy", "f1_positive"):
        raise ValueError(f"unknown threshold objective {objective!r}")
    positives = int(is_positive.sum())
    negatives = len(is_positive) - positives
    order = np.sort(scores[is_positive])
    # rows with a score >= t, per class: those at or after t's insertion point
    tp = positives - np.searchsorted(order, thresholds, side="left")
    fp = negatives - np.searchsorted(np.sort(scores[~is_positive]), thresholds, side="left")
    fn, tn = positives - tp, negatives - fp
    if objective == "accuracy":
        return (tp + tn) / len(is_positive)
    f1_positive = _ratio(2 * tp, 2 * tp + fp + fn)
    if objective == "f1_positive":
        return f1_positive
    f1_negative = _ratio(2 * tn, 2 * tn + fp + fn)
    has_positive = (positives > 0) | (tp + fp > 0)
    has_negative = (negatives > 0) | (tn + fn > 0)
    return (f1_positive * has_positive + f1_negative * has_negative) / (
        has_positive.astype(int) + has_negative
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)
