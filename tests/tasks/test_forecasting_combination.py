"""The pieces of the registered forecaster: the Holt-Winters base of the hybrid network, the
inner backtest, the weights and the conformal interval, and a model saved before the hybrid."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from dlstudio.evaluation import forecast as fc
from dlstudio.nn.recurrent import RNNForecaster
from dlstudio.tasks.forecasting.combination import (
    NETWORK,
    SHARPNESS,
    STATISTICAL,
    Combination,
    Inner,
    inner_origins,
    sharp_weights,
)
from dlstudio.tasks.forecasting.data import Frequency, Layout
from dlstudio.tasks.forecasting.ets import base_forecasts
from dlstudio.tasks.forecasting.features import Covariates, Scaling
from dlstudio.tasks.forecasting.model import PRESETS, ForecastPredictor, ModelPlan, save_model
from dlstudio.tasks.forecasting.options import ForecastingOptions


def seasonal(n: int, *, seed: int = 0, noise: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (100 + 2 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) * np.exp(rng.normal(0, noise, n))


def test_the_base_at_the_end_of_the_fit_is_the_refitted_holt_winters() -> None:
    values = seasonal(90)
    paths = base_forecasts(values, 72, 12, 12)
    assert paths.shape == (91, 12)
    # row 72 knows values[:72], the part the parameters were fitted on: the same forecast
    assert np.allclose(paths[72], fc.holt_winters(values[:72], 12, 12), rtol=1e-6)
    # later rows filter the newer values with those parameters: they follow the data, no refit
    later = np.abs(paths[78] - values[78:]).mean()
    assert later < np.abs(fc.seasonal_naive(values[:78], 12, 12) - values[78:]).mean()
    assert np.isfinite(paths).all()


def test_the_base_falls_back_to_seasonal_naive_without_enough_history() -> None:
    values = seasonal(30)
    paths = base_forecasts(values, 20, 6, 12)  # under two seasons to fit: no season in the fit
    assert np.allclose(paths[5], fc.seasonal_naive(values[:5], 6, 12))
    assert np.isfinite(paths).all()


def test_theta_follows_a_trend_and_survives_negative_values() -> None:
    values = seasonal(96)
    error = np.abs(fc.theta(values[:84], 12, 12) - values[84:]).mean()
    assert error < np.abs(fc.seasonal_naive(values[:84], 12, 12) - values[84:]).mean()
    shifted = values - 150  # negative values: an additive season
    assert np.isfinite(fc.theta(shifted[:84], 12, 12)).all()


def test_interval_metrics_on_known_values() -> None:
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    low, middle, high = actual - 1, actual, actual + 1
    high[3] = 39.0  # one value above its interval
    scores = fc.interval_metrics(actual, low, middle, high, np.full(4, 2.0))
    assert scores["coverage80"] == 0.75
    # p10 one below: 0.1 each; the median exact; p90 one above (0.1) or one below (0.9)
    expected = (4 * 0.1 + 0 + 3 * 0.1 + 0.9) / (3 * 4) / 2.0
    assert scores["pinball"] == pytest.approx(expected)


def test_coverage_verdict_flags_an_interval_off_by_more_than_ten_points() -> None:
    assert fc.coverage_verdict(0.75) == (
        True,
        "The 80% interval held the actual value 75% of the time in the backtest (80% is the aim).",
    )
    assert fc.coverage_verdict(0.55)[0] is False
    assert "too narrow" in fc.coverage_verdict(0.55)[1]
    assert "wider than it needs to be" in fc.coverage_verdict(0.97)[1]


def test_sharp_weights_favour_the_smaller_error() -> None:
    weights = sharp_weights({"a": 1.0, "b": 1.1, "c": 2.0}, SHARPNESS)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["a"] > weights["b"] > weights["c"]
    assert weights["b"] / weights["a"] == pytest.approx(1.1**-SHARPNESS)
    assert sharp_weights({"a": 0.0, "b": 1.0}, 4)["a"] == pytest.approx(1.0)  # no division by 0


def test_inner_origins_stay_in_the_training_part_and_keep_the_validation_origins() -> None:
    val = [np.array([70, 71, 72]), np.array([40, 41])]
    index, origins = inner_origins([84, 53], val, 12, 12)
    for i, (n, v) in enumerate(zip([84, 53], val, strict=True)):
        mine = origins[index == i]
        assert mine.max() <= n - 12  # every forecast ends inside the training part
        assert mine.min() >= 2 * 12 + 2 or mine.min() >= n // 3
        assert set(v) <= set(mine)
        assert list(mine) == sorted(set(mine))


def test_inner_origins_are_thinned_to_the_budget_with_many_series() -> None:
    lengths = [500] * 300
    index, _ = inner_origins(lengths, [np.array([480])] * 300, 7, 7)
    per_series = np.bincount(index)
    assert per_series.max() <= 3  # two evenly spread plus the validation origin


def _inner(actual: np.ndarray, **forecasts: np.ndarray) -> Inner:
    return Inner(actual, forecasts, np.ones(len(actual)))


def test_the_combination_leans_on_the_member_that_forecast_best() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(100, 10, (40, 6))
    good = actual + rng.normal(0, 1, actual.shape)
    poor = actual + rng.normal(0, 5, actual.shape)
    statistical = _inner(actual, ets=good, theta=poor, snaive=poor + 3)
    validation = _inner(actual[-8:], **{NETWORK: poor[-8:], "ets": good[-8:],
                                        "theta": poor[-8:], "snaive": poor[-8:] + 3})  # fmt: skip
    combination = Combination.fit(statistical, validation)
    weights = combination.weights
    assert set(weights) == {NETWORK, *STATISTICAL}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["ets"] > 0.8 and weights[NETWORK] < 0.1
    point = combination.point(validation.forecasts)
    assert np.abs(point - actual[-8:]).mean() < np.abs(poor[-8:] - actual[-8:]).mean()


def test_the_conformal_interval_holds_about_eighty_percent_of_its_errors() -> None:
    rng = np.random.default_rng(1)
    actual = rng.normal(100, 10, (200, 4))
    forecast = actual + rng.normal(0, 2, actual.shape) * np.sqrt(np.arange(1, 5))
    members = {"ets": forecast, "theta": forecast, "snaive": forecast}
    combination = Combination.fit(
        _inner(actual, **members), _inner(actual, **{NETWORK: forecast, **members})
    )
    low, high = combination.interval(forecast, np.ones(len(actual)))
    inside = ((actual >= low) & (actual <= high)).mean()
    assert 0.75 <= inside <= 0.85
    assert Combination.from_dict(combination.to_dict()) == combination


def test_a_model_saved_before_the_hybrid_base_still_forecasts(tmp_path) -> None:
    """Models registered before the hybrid network (no base input, no combination) must keep
    predicting: their plan has no ``hybrid`` flag and their network no base feature."""
    months = pd.date_range("2018-01-01", periods=48, freq="MS")
    frame = pd.DataFrame({"month": months.strftime("%Y-%m"), "sales": seasonal(48)})
    layout = Layout(time="month", target="sales", series=None, covariates=(), date_format="%Y-%m")
    frequency = Frequency("monthly", 12)
    from dlstudio.tasks.forecasting.data import read_series

    (series,) = read_series(frame, layout, duplicates="error", fill="interpolate").series
    plan = ModelPlan(layout, frequency, 6, 24, Scaling.fit([series], [48], log=False),
                     Covariates({}, {}), True, "error", "interpolate", hybrid=False)  # fmt: skip
    network = RNNForecaster(plan.network_config(ForecastingOptions(), PRESETS["fast"]))
    assert network.config.n_future_features == plan.n_extra  # no base input
    save_model(tmp_path, network, plan)
    description = json.loads((tmp_path / "model.json").read_text())
    del description["plan"]["hybrid"], description["plan"]["combination"]  # as wave 1 wrote it
    (tmp_path / "model.json").write_text(json.dumps(description))
    forecast = ForecastPredictor.load(tmp_path).predict(frame)
    assert len(forecast) == 6 and np.isfinite(forecast["forecast"]).all()
    assert (forecast["forecast_p10"] <= forecast["forecast_p90"]).all()


def test_lazy_training_windows_are_the_windows_cut_up_front() -> None:
    """Training windows cut at batch time hold what ``cut_windows`` holds, for several series."""
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    frame = pd.concat([
        pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "store": store,
                      "sales": seasonal(60, seed=k) * (k + 1)})
        for k, store in enumerate(("north", "south"))
    ])  # fmt: skip
    layout = Layout("day", "sales", "store", (), "%Y-%m-%d")
    from dlstudio.tasks.forecasting.data import read_series

    series = read_series(frame, layout, duplicates="error", fill="interpolate").series
    plan = ModelPlan(layout, Frequency("daily", 7), 5, 14,
                     Scaling.fit(series, [60, 60], log=True), Covariates({}, {}), True, "error",
                     "interpolate")  # fmt: skip
    rng = np.random.default_rng(0)
    cuts = [(np.arange(14, 50, 3), rng.uniform(50, 150, (12, 5))) for _ in series]
    lazy = plan.lazy_windows(series, cuts)
    from dlstudio.tasks.forecasting.features import join_windows
    from dlstudio.tasks.forecasting.model import window_tensors

    eager = window_tensors(join_windows(
        [plan.windows(s, i, o, b) for i, (s, (o, b)) in enumerate(zip(series, cuts, strict=True))]
    ))  # fmt: skip
    assert len(lazy) == len(eager) == 24
    ((past, future), target), *_ = lazy.batches(100)
    ((past_e, future_e), target_e), *_ = eager.batches(100)
    for mine, theirs in ((past, past_e), (future, future_e), (target, target_e)):
        assert mine.shape == theirs.shape
        assert torch.allclose(mine, theirs, atol=1e-5)
    shuffled = list(lazy.batches(10, generator=torch.Generator().manual_seed(0)))
    assert sum(len(t) for _, t in shuffled) == 24


def test_many_origins_are_fitted_in_parallel_with_the_same_forecasts(monkeypatch) -> None:
    from dlstudio.tasks.forecasting import combination

    histories = [seasonal(60, seed=k) for k in range(3)]
    index, origins = np.repeat(np.arange(3), 4), np.tile(np.arange(40, 44), 3)
    serial = combination.statistical_forecasts(histories, index, origins, 6, 12)
    monkeypatch.setattr(combination, "PARALLEL_FROM", 4)
    monkeypatch.setattr(combination.os, "cpu_count", lambda: 2)
    parallel = combination.statistical_forecasts(histories, index, origins, 6, 12)
    assert set(parallel) == set(STATISTICAL)
    for key in STATISTICAL:
        assert np.allclose(parallel[key], serial[key])
    assert np.allclose(serial["snaive"][0], fc.seasonal_naive(histories[0][:40], 6, 12))


def test_the_network_handicap_shrinks_as_its_validation_origins_grow() -> None:
    from dlstudio.tasks.forecasting.combination import handicap

    assert handicap(3) == handicap(6) == pytest.approx(1.5)
    assert handicap(24) == pytest.approx(1.25)
    assert 1.0 < handicap(600) < 1.06
