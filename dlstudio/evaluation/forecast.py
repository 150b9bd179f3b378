"""Forecast accuracy and the classical forecasters every network is judged against.

The protocol is the same for the network and the baselines (rolling origin): from every origin in
the test region, forecast ``horizon`` steps knowing only the true history up to the origin.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

METRICS = ("mae", "rmse", "smape", "mase")


@dataclass(frozen=True)
class Origin:
    """One forecast origin: series ``series`` observed up to position ``position`` (exclusive)."""

    series: int
    position: int


def backtest_origins(
    lengths: Sequence[int], test_sizes: Sequence[int], horizon: int, *, stride: int
) -> list[Origin]:
    """Every origin whose whole horizon lies in its series' test region (the last
    ``test_sizes[i]`` points), every ``stride`` steps, the last possible origin included."""
    origins = []
    for series, (length, test_size) in enumerate(zip(lengths, test_sizes, strict=True)):
        last = length - horizon
        first = length - test_size
        starts = range(last, first - 1, -stride)  # from the end, so the latest data is scored
        origins.extend(Origin(series, position) for position in sorted(starts))
    return origins


def newest_forecasts(backtest: pd.DataFrame) -> pd.DataFrame:
    """Each series' and time's forecast from its latest origin: one step ahead up to the last
    origin, then the last origin's later steps, so the line covers the whole test period (with
    step 1 alone it would stop ``horizon - 1`` points before the actuals end)."""
    latest = backtest.sort_values("step", kind="stable").drop_duplicates(["series", "time"])
    return latest.sort_values(["series", "time"], kind="stable")


def backtest_stride(lengths: Sequence[int], horizon: int) -> int:
    """Stride 1 for series under 1,000 points (every origin), else ``horizon`` (non-overlapping)."""
    return 1 if max(lengths) < 1000 else horizon


def seasonal_scale(history: np.ndarray, season_length: int) -> float:
    """MASE's denominator: the in-sample mean absolute error of the seasonal naive forecast.

    Falls back to lag 1 when the history is shorter than two seasons, and to 1.0 for a flat
    series (so the error stays finite and reads as an absolute error).
    """
    lag = season_length if len(history) > season_length else 1
    if len(history) <= lag:
        return 1.0
    scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
    return scale if scale > 0 else 1.0


def forecast_metrics(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict:
    """mae, rmse, smape (in %, 0..200) and mase over all points; ``scale`` per point."""
    error = forecast - actual
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        2 * np.abs(error), denominator, out=np.zeros_like(error), where=denominator > 0
    )
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "smape": float(100 * np.mean(ratio)),
        "mase": float(np.mean(np.abs(error) / scale)),
    }


def metrics_by_step(table: pd.DataFrame, column: str) -> list[dict]:
    """The metrics of forecast ``column`` per horizon step, from a backtest table with columns
    ``step``, ``actual``, ``scale`` and the forecast."""
    rows = []
    for step, part in table.groupby("step", sort=True):
        scores = forecast_metrics(
            part["actual"].to_numpy(float), part[column].to_numpy(float), part["scale"].to_numpy()
        )
        rows.append({"step": int(step), **scores})
    return rows


def seasonal_naive(history: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """Repeat the last observed season ("same as last year"); the last value when the history
    is shorter than one season."""
    if len(history) < season_length:
        return np.full(horizon, history[-1], dtype=float)
    last_season = history[-season_length:]
    return np.array([last_season[k % season_length] for k in range(horizon)], dtype=float)


def holt_winters(history: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """Holt-Winters exponential smoothing (statsmodels): damped additive trend, multiplicative
    season for positive series (additive otherwise), refitted on ``history``.

    With less than two seasons of history the season is left out; if the optimiser fails the
    seasonal naive forecast stands in (so a baseline is never missing from the backtest).
    """
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = season_length > 1 and len(history) >= 2 * season_length
    multiplicative = bool(np.all(history > 0))
    trend = "add" if len(history) >= 10 else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            model = ExponentialSmoothing(
                history.astype(float),
                trend=trend,
                damped_trend=trend is not None,
                seasonal=("mul" if multiplicative else "add") if seasonal else None,
                seasonal_periods=season_length if seasonal else None,
                initialization_method="estimated",
            ).fit()
            forecast = np.asarray(model.forecast(horizon), dtype=float)
    except (ValueError, np.linalg.LinAlgError):
        forecast = np.full(horizon, np.nan)
    return _or_seasonal_naive(forecast, history, season_length)


def _or_seasonal_naive(forecast: np.ndarray, history: np.ndarray, season_length: int) -> np.ndarray:
    """``forecast``, or the seasonal naive one where a fit failed (a baseline is never missing
    from the backtest)."""
    if np.all(np.isfinite(forecast)):
        return forecast
    return seasonal_naive(history, len(forecast), season_length)


def theta(history: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """The Theta method (statsmodels ``ThetaModel``, Assimakopoulos & Nikolopoulos 2000): a
    drifted simple exponential smoothing on the deseasonalized series, refitted on ``history``.

    The season is removed multiplicatively for positive series and additively otherwise, and left
    alone with less than two seasons of history; seasonal naive stands in if the fit fails.
    """
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = season_length > 1 and len(history) >= 2 * season_length
    positive = bool(np.all(history > 0))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ThetaModel(
                history.astype(float),
                period=season_length if seasonal else 1,
                deseasonalize=seasonal,
                method="auto" if positive else "additive",
            ).fit()
            forecast = np.asarray(model.forecast(horizon), dtype=float)
    except (ValueError, np.linalg.LinAlgError):
        forecast = np.full(horizon, np.nan)
    return _or_seasonal_naive(forecast, history, season_length)


def interval_metrics(
    actual: np.ndarray, low: np.ndarray, middle: np.ndarray, high: np.ndarray, scale: np.ndarray
) -> dict[str, float]:
    """How honest an 80% interval (p10, p90) is: ``coverage80``, the share of actual values inside
    it (0.8 when calibrated), and ``pinball``, the quantile loss of p10, p50 and p90 averaged and
    divided by the series' MASE scale (lower is better; the median's part is half its MASE)."""
    inside = (actual >= low) & (actual <= high)
    losses = [
        np.maximum(q * (actual - f), (q - 1) * (actual - f)) / scale
        for q, f in ((0.1, low), (0.5, middle), (0.9, high))
    ]
    return {"coverage80": float(np.mean(inside)), "pinball": float(np.mean(losses))}


COVERAGE_SLACK = 0.10  # an 80% interval whose backtest coverage is further off is flagged


def coverage_verdict(coverage: float) -> tuple[bool, str]:
    """(within COVERAGE_SLACK of 80%, the sentence a user reads) for an 80% interval that held
    the actual value ``coverage`` of the time in the backtest."""
    line = f"The 80% interval held the actual value {coverage:.0%} of the time in the backtest"
    if coverage < 0.8 - COVERAGE_SLACK:
        return False, f"{line}, well under 80%: it is too narrow, expect bigger surprises."
    if coverage > 0.8 + COVERAGE_SLACK:
        return False, f"{line}, well over 80%: it is wider than it needs to be."
    return True, f"{line} (80% is the aim)."
