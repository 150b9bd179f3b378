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


def log_loss(y_true: np.ndarray) -> Callable[[np.ndarray], float]:
    """Mean negative log-probability of the true class (a proper score, smooth even on small
    validation sets, where macro-F1 would jump and overfit the selection)."""
    rows = np.arange(len(y_true))
    return lambda proba: float(-np.log(np.clip(proba[rows, y_true], 1e-12, None)).mean())


def squared_error(y_true: np.ndarray) -> Callable[[np.ndarray], float]:
    return lambda values: float(np.mean((values - y_true) ** 2))
