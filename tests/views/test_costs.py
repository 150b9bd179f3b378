"""The cost tool of a two-class run: the cheapest threshold on the validation rows, reported on
the test rows, and costs that make no sense refused."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.errors import DLStudioError
from dlstudio.evaluation.calibration import THRESHOLDS, counts_by_threshold
from dlstudio.views.costs import cheapest, cost_curve, on_test_rows


def report() -> dict:
    """Validation: positives score 0.6-0.9, negatives 0.1-0.7 (they overlap at 0.6-0.7)."""
    val_positive = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    val_scores = np.array([0.6, 0.7, 0.8, 0.9, 0.1, 0.2, 0.3, 0.4, 0.65, 0.7])
    test_positive = np.array([1, 1, 0, 0], bool)
    test_scores = np.array([0.75, 0.55, 0.62, 0.2])
    return {"positive_class": "yes", "threshold": 0.5,
            "counts": {"validation": counts_by_threshold(val_positive, val_scores),
                       "test": counts_by_threshold(test_positive, test_scores)}}  # fmt: skip


def test_counts_follow_each_threshold() -> None:
    counts = counts_by_threshold(np.array([1, 0, 1], bool), np.array([0.2, 0.5, 0.9]))
    at = {t: i for i, t in enumerate(THRESHOLDS)}
    assert [counts[k][at[0.1]] for k in ("tp", "fp", "fn", "tn")] == [2, 1, 0, 0]
    assert [counts[k][at[0.5]] for k in ("tp", "fp", "fn", "tn")] == [1, 1, 1, 0]
    assert [counts[k][at[0.95]] for k in ("tp", "fp", "fn", "tn")] == [0, 0, 2, 1]


def test_dear_misses_lower_the_threshold_and_dear_false_alarms_raise_it() -> None:
    cheap_misses, dear_misses = cost_curve(report(), 10, 1), cost_curve(report(), 1, 10)

    assert cheapest(dear_misses) <= 0.6 < cheapest(cheap_misses)
    # with misses 10x a false alarm, catching every positive (threshold <= 0.6) costs
    # 2 false alarms (0.65, 0.7) in 10 rows: 200 per 1,000
    assert dear_misses["cost_per_1000"].min() == pytest.approx(200.0)


def test_the_test_rows_report_the_chosen_threshold() -> None:
    at = on_test_rows(report(), 0.6, 1, 1)

    assert at.threshold == 0.6
    # test: 0.75 caught, 0.55 missed, 0.62 a false alarm, 0.2 rightly left
    assert (at.cost_per_1000, at.precision, at.recall) == (500.0, 0.5, 0.5)


@pytest.mark.parametrize(("false_alarm", "miss", "said"), [
    (-1, 5, "A cost cannot be negative."),
    (0, 0, "Both costs are 0, so every threshold costs nothing."),
])  # fmt: skip
def test_costs_that_make_no_sense_are_refused(false_alarm: float, miss: float, said: str) -> None:
    with pytest.raises(DLStudioError) as caught:
        cost_curve(report(), false_alarm, miss)
    assert caught.value.message == said and caught.value.fix
