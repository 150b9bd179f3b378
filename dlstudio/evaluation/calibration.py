"""Calibration of a two-class model on the test rows: the Brier score and a reliability diagram
(does "70% sure" come true 70% of the time?), and the counts of right and wrong answers at every
threshold on the validation and the test rows (what the cost tool on Results reads), logged as
``calibration.json``."""

from __future__ import annotations

import numpy as np

CALIBRATION_FILE = "calibration.json"
BINS = 10
THRESHOLDS = [round(0.01 * k, 2) for k in range(1, 100)]


def counts_by_threshold(is_positive: np.ndarray, probability: np.ndarray) -> dict[str, list[int]]:
    """True and false positives and negatives when the positive class is answered at each of
    ``THRESHOLDS``."""
    is_positive = np.asarray(is_positive, bool)
    answered = np.asarray(probability)[None, :] >= np.array(THRESHOLDS)[:, None]
    tp = (answered & is_positive).sum(axis=1)
    fp = (answered & ~is_positive).sum(axis=1)
    positives, negatives = int(is_positive.sum()), int((~is_positive).sum())
    return {"tp": tp.tolist(), "fp": fp.tolist(), "fn": (positives - tp).tolist(),
            "tn": (negatives - fp).tolist()}  # fmt: skip


def calibration_report(y: np.ndarray, probability: np.ndarray, positive_class: str) -> dict:
    """``calibration.json`` for the positive class's ``probability`` of each test row against
    ``y`` (1 = the row is of the positive class): Brier score, and per non-empty bin of width
    0.1 the mean probability, the observed share and the number of rows."""
    y, probability = np.asarray(y, np.float64), np.asarray(probability, np.float64)
    index = np.minimum((probability * BINS).astype(int), BINS - 1)
    bins = [
        {"predicted": float(probability[index == b].mean()),
         "observed": float(y[index == b].mean()), "rows": int((index == b).sum())}
        for b in range(BINS) if (index == b).any()
    ]  # fmt: skip
    return {
        "positive_class": positive_class,
        "brier": float(np.mean((probability - y) ** 2)),
        "base_rate": float(y.mean()),
        "bins": bins,
    }
