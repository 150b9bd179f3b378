"""calibration.json: the Brier score and the reliability bins of a two-class model."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.evaluation.calibration import calibration_report


def test_bins_hold_the_mean_probability_the_observed_share_and_the_rows() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1, 1])
    probability = np.array([0.05, 0.12, 0.15, 0.55, 0.58, 0.52, 0.95, 1.0])

    report = calibration_report(y, probability, "yes")

    assert report["positive_class"] == "yes" and report["base_rate"] == 5 / 8
    assert report["brier"] == pytest.approx(np.mean((probability - y) ** 2))
    assert report["bins"] == [
        {"predicted": 0.05, "observed": 0.0, "rows": 1},
        {"predicted": pytest.approx(0.135), "observed": 0.5, "rows": 2},
        {"predicted": pytest.approx(0.55), "observed": pytest.approx(2 / 3), "rows": 3},
        {"predicted": pytest.approx(0.975), "observed": 1.0, "rows": 2},  # 1.0 joins the last bin
    ]


def test_a_model_that_says_the_truth_scores_zero_and_sits_on_the_diagonal() -> None:
    y = np.array([0, 1, 0, 1])

    report = calibration_report(y, y.astype(float), "1")

    assert report["brier"] == 0.0
    assert [(b["predicted"], b["observed"]) for b in report["bins"]] == [(0.0, 0.0), (1.0, 1.0)]
