"""Which inputs and lags a forecasting network relies on: permutation importance over the
backtest windows (issue 20).

Each input group (the recent values, the calendar, each covariate, the Holt-Winters forecast the
hybrid network corrects) is shuffled across the backtest windows, all its time steps together,
and so is each lag (the value k steps before the forecast origin) on its own; the importance is
how much the network's backtest MASE grows. The network's own forecast is measured, not the
blend with the statistical models, which read none of these inputs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from dlstudio.evaluation import forecast as fc
from dlstudio.nn.recurrent import RNNForecaster
from dlstudio.tasks.forecasting.features import Windows
from dlstudio.tasks.forecasting.model import ModelPlan, predict_windows
from dlstudio.training.device import DeviceChoice

REPEATS = 3
UNIT = "backtest windows"

# an input group: (name, channels of ``past``, channels of ``future``); all time steps
Group = tuple[str, list[int], list[int]]


def input_groups(plan: ModelPlan) -> list[Group]:
    """The network's inputs by what a user knows them as: channel 0 of ``past`` is the value,
    then the calendar and the covariates in both ``past`` and ``future``, and a hybrid model's
    last ``future`` channel is the Holt-Winters forecast."""
    calendar = plan.frequency.calendar(pd.DatetimeIndex([])).shape[1]
    groups: list[Group] = [(f"recent values of {plan.layout.target}", [0], [])]
    if calendar:
        groups.append(("calendar (time of year, week, day)", _past(range(calendar)),
                       list(range(calendar))))  # fmt: skip
    start = calendar
    covariates = plan.covariates
    widths = [(name, 1) for name in covariates.numeric] + [
        (name, len(levels)) for name, levels in covariates.categorical.items()
    ]
    for name, width in widths:
        columns = list(range(start, start + width))
        groups.append((name, _past(columns), columns))
        start += width
    if plan.hybrid:
        groups.append(("Holt-Winters forecast", [], [start]))
    return groups


def backtest_importance(
    network: RNNForecaster, plan: ModelPlan, windows: Windows, scales: np.ndarray,
    device: DeviceChoice, *, seed: int = 0,
) -> dict:  # fmt: skip
    """``importance.json`` of a forecasting run: per input group and per lag, the mean and spread
    over ``REPEATS`` shuffles of how much the network's backtest MASE grows."""
    rng = np.random.default_rng(seed)
    actual = plan.actual(windows)
    scale = np.broadcast_to(scales[windows.series][:, None], actual.shape)
    known = np.isfinite(actual)
    middle = len(plan.quantiles) // 2

    def mase(shown: Windows) -> float:
        forecast = plan.decode(predict_windows(network, shown, device), shown)[:, :, middle]
        return fc.forecast_metrics(actual[known], forecast[known], scale[known])["mase"]

    reference = mase(windows)

    def worsening(shuffle) -> dict:
        grown = [mase(shuffle(rng.permutation(len(windows)))) - reference for _ in range(REPEATS)]
        return {"worsens_by": float(np.mean(grown)), "spread": float(np.std(grown))}

    columns = [
        {
            "column": name,
            **worsening(lambda order, p=past, f=future: _shuffled(windows, order, p, f)),
        }
        for name, past, future in input_groups(plan)
    ]
    columns.sort(key=lambda row: -row["worsens_by"])
    lags = [
        {"lag": lag, **worsening(lambda order, k=lag: _lag_shuffled(windows, order, k))}
        for lag in range(1, windows.past.shape[1] + 1)
    ]
    return {"metric": "mase", "rows": len(windows), "repeats": REPEATS, "unit": UNIT,
            "columns": columns, "lags": lags}  # fmt: skip


def _past(channels) -> list[int]:
    return [1 + c for c in channels]  # past channel 0 is the value itself


def _shuffled(windows: Windows, order: np.ndarray, past: list[int], future: list[int]) -> Windows:
    """The windows with these channels, at every time step, taken from other windows."""
    shown_past, shown_future = windows.past.copy(), windows.future.copy()
    shown_past[:, :, past] = windows.past[order][:, :, past]
    shown_future[:, :, future] = windows.future[order][:, :, future]
    return replace(windows, past=shown_past, future=shown_future)


def _lag_shuffled(windows: Windows, order: np.ndarray, lag: int) -> Windows:
    """The windows with the value ``lag`` steps before the origin taken from other windows."""
    shown = windows.past.copy()
    shown[:, -lag, 0] = windows.past[order, -lag, 0]
    return replace(windows, past=shown)
