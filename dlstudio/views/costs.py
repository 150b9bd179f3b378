"""The cost tool of a two-class run: given what a false alarm and a miss cost, the threshold
that costs least on the validation rows, and what it gives on the test rows (the threshold is
chosen on validation, as training chose the model's own; the test rows only report)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlstudio.errors import DLStudioError
from dlstudio.evaluation.calibration import THRESHOLDS


@dataclass(frozen=True)
class AtThreshold:
    """What answering the positive class from ``threshold`` on gives on some rows."""

    threshold: float
    cost_per_1000: float
    precision: float
    recall: float


def cost_curve(report: dict, false_alarm: float, miss: float) -> pd.DataFrame:
    """Per threshold, on the validation rows: cost per 1,000 rows, precision and recall.

    Raises:
        DLStudioError: a negative cost, or both costs 0 (every threshold would cost nothing).
    """
    if false_alarm < 0 or miss < 0:
        raise DLStudioError(
            "A cost cannot be negative.",
            fix="Enter what each kind of mistake costs you, 0 or more (a saving is not a cost).",
        )
    if false_alarm == 0 and miss == 0:
        raise DLStudioError(
            "Both costs are 0, so every threshold costs nothing.",
            fix="Enter what a false alarm and a missed case cost (only their ratio matters).",
        )
    counts = {key: np.asarray(v, np.float64) for key, v in report["counts"]["validation"].items()}
    return pd.DataFrame({"threshold": THRESHOLDS, **_scores(counts, false_alarm, miss)})


def cheapest(curve: pd.DataFrame) -> float:
    """The threshold of least cost; among equal costs, the one nearest 0.5."""
    least = curve["cost_per_1000"].min()
    ties = curve[np.isclose(curve["cost_per_1000"], least)]["threshold"]
    return float(ties.iloc[np.argmin(np.abs(ties.to_numpy() - 0.5))])


def on_test_rows(report: dict, threshold: float, false_alarm: float, miss: float) -> AtThreshold:
    """What ``threshold`` gives on the test rows (the nearest threshold of the logged grid)."""
    grid = np.asarray(THRESHOLDS)
    at = int(np.argmin(np.abs(grid - threshold)))
    counts = {key: np.asarray(v[at : at + 1], np.float64)
              for key, v in report["counts"]["test"].items()}  # fmt: skip
    scores = _scores(counts, false_alarm, miss)
    return AtThreshold(float(grid[at]), *(float(scores[k][0]) for k in
                                          ("cost_per_1000", "precision", "recall")))  # fmt: skip


def _scores(counts: dict[str, np.ndarray], false_alarm: float, miss: float) -> dict:
    rows = counts["tp"] + counts["fp"] + counts["fn"] + counts["tn"]
    answered, actual = counts["tp"] + counts["fp"], counts["tp"] + counts["fn"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "cost_per_1000": 1000 * (false_alarm * counts["fp"] + miss * counts["fn"]) / rows,
            "precision": np.where(answered > 0, counts["tp"] / answered, np.nan),
            "recall": np.where(actual > 0, counts["tp"] / actual, np.nan),
        }
