"""Forecast metrics, backtest origins and the classical baselines."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.evaluation import forecast as fc


def test_origins_cover_the_test_region_with_whole_horizons() -> None:
    # the airline series: 144 points, last 29 held out, horizon 12 -> 18 origins
    origins = fc.backtest_origins([144], [29], 12, stride=1)
    assert [o.position for o in origins] == list(range(115, 133))
    assert fc.backtest_origins([144], [29], 12, stride=12) == [fc.Origin(0, 120), fc.Origin(0, 132)]


def test_stride_is_one_below_a_thousand_points() -> None:
    assert fc.backtest_stride([731, 20], 7) == 1
    assert fc.backtest_stride([1000], 7) == 7


def test_seasonal_naive_repeats_the_last_season() -> None:
    history = np.arange(1.0, 9.0)  # 1..8, season 4: last season is 5 6 7 8
    assert fc.seasonal_naive(history, 6, 4).tolist() == [5, 6, 7, 8, 5, 6]
    assert fc.seasonal_naive(np.array([3.0, 4.0]), 2, 4).tolist() == [4, 4]


def test_mase_scale_is_the_in_sample_seasonal_naive_error() -> None:
    history = np.array([1.0, 2.0, 4.0, 8.0])
    assert fc.seasonal_scale(history, 2) == pytest.approx((3 + 6) / 2)
    assert fc.seasonal_scale(np.ones(10), 2) == 1.0  # flat: no division by zero


def test_metrics_on_known_errors() -> None:
    actual, forecast = np.array([10.0, 20.0, 0.0]), np.array([12.0, 17.0, 0.0])
    scores = fc.forecast_metrics(actual, forecast, np.full(3, 2.0))
    assert scores["mae"] == pytest.approx(5 / 3)
    assert scores["rmse"] == pytest.approx(np.sqrt(13 / 3))
    assert scores["smape"] == pytest.approx(100 * (4 / 22 + 6 / 37 + 0) / 3)
    assert scores["mase"] == pytest.approx(5 / 6)


def test_holt_winters_follows_a_trend_that_seasonal_naive_misses() -> None:
    t = np.arange(96)
    series = (100 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    history, future = series[:84], series[84:]
    hw_error = np.abs(fc.holt_winters(history, 12, 12) - future).mean()
    naive_error = np.abs(fc.seasonal_naive(history, 12, 12) - future).mean()
    assert hw_error < naive_error / 3


def test_holt_winters_with_too_little_history_drops_the_season() -> None:
    forecast = fc.holt_winters(np.array([5.0, 6.0, 7.0, 8.0, 9.0]), 3, 12)
    assert forecast.shape == (3,) and np.all(np.isfinite(forecast))
