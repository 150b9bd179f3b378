"""Greedy ensemble selection (Caruana et al., ICML 2004), as AutoGluon weights its models.

Start from nothing; at each of ``rounds`` steps add (with replacement) the model whose
addition gives the best validation loss of the averaged prediction; a model's weight is the
share of steps that picked it. Fitted on validation predictions only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

ROUNDS = 25  # AutoGluon's default


def select_weights(
    predictions: Sequence[np.ndarray],
    loss: Callable[[np.ndarray], float],
    *,
    rounds: int = ROUNDS,
) -> np.ndarray:
    """Weights (summing to 1) over ``predictions`` (each the validation prediction of one model:
    class probabilities or values) that minimise ``loss(weighted average)``; ties go to the
    earlier model."""
    counts = np.zeros(len(predictions))
    total = np.zeros_like(predictions[0], dtype=np.float64)
    for step in range(1, rounds + 1):
        losses = [loss((total + p) / step) for p in predictions]
        best = int(np.argmin(losses))
        counts[best] += 1
        total += predictions[best]
    return counts / counts.sum()


def log_loss(
    y_true: np.ndarray, class_weight: np.ndarray | None = None
) -> Callable[[np.ndarray], float]:
    """Mean negative log-probability of the true class, each row weighted by its class's weight
    (as the network's training loss): a proper score, smooth even on small validation sets,
    where macro-F1 would jump and overfit the selection."""
    rows = np.arange(len(y_true))
    weight = np.ones(len(y_true)) if class_weight is None else class_weight[y_true]

    def loss(proba: np.ndarray) -> float:
        nll = -np.log(np.clip(proba[rows, y_true], 1e-12, None))
        return float((nll * weight).sum() / weight.sum())

    return loss


def squared_error(y_true: np.ndarray) -> Callable[[np.ndarray], float]:
    return lambda values: float(np.mean((values - y_true) ** 2))


def win_share(
    score: Callable[[np.ndarray], float],
    baseline: Callable[[np.ndarray], float],
    n_rows: int,
    *,
    rounds: int = 200,
    seed: int = 0,
) -> float:
    """The share of paired bootstrap resamples of the validation rows on which ``score`` beats
    ``baseline`` (both take the resampled row indices; higher is better).

    A few hundred validation rows decide a macro-F1 by a handful of rare-class rows; a model
    that wins on 90% of resamples wins for a reason, not by the luck of the split.
    """
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(rounds):
        rows = rng.integers(0, n_rows, n_rows)
        wins += score(rows) > baseline(rows)
    return wins / rounds


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over ``n_classes`` (classes absent from both count 0), fast enough to
    bootstrap: one bincount instead of sklearn's checks."""
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    matrix = counts.reshape(n_classes, n_classes)
    tp = np.diag(matrix).astype(np.float64)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)
    f1 = np.divide(2 * tp, denominator, out=np.zeros(n_classes), where=denominator > 0)
    return float(f1.mean())
