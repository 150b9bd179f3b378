"""From a table to the plan of a forecasting run: the regular series of the spec's data, the
horizon and window, each series' training, validation and test parts, the backtest's stride,
and the scaling and covariate encoding fitted on the training parts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.errors import DataError
from dlstudio.evaluation import forecast as fc
from dlstudio.tasks.forecasting.checks import shape_findings
from dlstudio.tasks.forecasting.data import (
    Frequency,
    Layout,
    Prepared,
    Series,
    layout_of,
    read_series,
)
from dlstudio.tasks.forecasting.features import Covariates, Scaling, wants_log
from dlstudio.tasks.forecasting.model import ModelPlan, Plan
from dlstudio.tasks.forecasting.options import ForecastingOptions, ForecastingSpec

MIN_WINDOWS = 8  # training windows a series needs, besides validation and test
VAL_SHARE = 0.2  # of the training part: early stopping and the combination's weights
VAL_ORIGINS = 6  # inner-backtest origins a series gets at least, when it is long enough
MAX_ORIGINS = 1000  # above this many backtest origins at stride 1, step by the horizon (or more)


def guess_series_column(frame: pd.DataFrame, time: str | None, target: str | None) -> str | None:
    """When times repeat, the non-numeric column that makes (time, column) unique: the series id
    of a long table (store, product); None otherwise."""
    if time is None or not frame[time].duplicated().any():
        return None
    for column in frame.columns:
        if column in (time, target) or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        if frame[column].nunique() < len(frame) / 2 and not frame.duplicated([time, column]).any():
            return column
    return None


def prepare(
    frame: pd.DataFrame, spec: ForecastingSpec, *, keep_future: bool = False
) -> tuple[Prepared, Layout]:
    """The regular series of the spec's data (DataError when the data cannot be a series)."""
    options = spec.options
    layout = layout_of(
        frame,
        time=options.time_column,
        target=spec.data.target,
        series=options.series_column,
        covariates=options.covariates,
        day_first=options.day_first,
    )
    prepared = read_series(
        frame,
        layout,
        duplicates=options.duplicates,
        fill=options.fill,
        frequency=options.frequency,
        season_length=options.season_length,
        keep_future=keep_future,
    )
    if options.target_transform == "log" and any(np.any(s.values < 0) for s in prepared.series):
        raise DataError(
            f"The target {layout.target!r} has negative values, so it cannot be modelled on a log "
            "scale.",
            fix="Set options.target_transform to none (or auto, which picks it for you).",
        )
    return prepared, layout


def plan(prepared: Prepared, spec: ForecastingSpec) -> tuple[Plan, list[Finding]]:
    """Resolve horizon and lookback and split each series; series too short are left out
    (a warning), and an error says how many points are needed when none is long enough."""
    options = spec.options
    season = prepared.frequency.season_length
    horizon = options.horizon or (season if season > 1 else 3)
    found = shape_findings(prepared, horizon=horizon, season_length=season)
    longest = max(len(s) for s in prepared.series)
    if options.lookback:
        lookback = options.lookback
    else:
        base = max(season, horizon)
        fitting = [
            k * base
            for k in (3, 2, 1)
            if _needed(k * base, horizon, options.test_fraction) <= longest
        ]
        lookback = fitting[0] if fitting else base
    needed = _needed(lookback, horizon, options.test_fraction)
    train_lengths, val_sizes, short = [], [], []
    for s in prepared.series:
        n_train = len(s) - _test_size(len(s), options.test_fraction)
        if len(s) < needed:
            train_lengths.append(0)
            val_sizes.append(0)
            short.append(s)
            continue
        spare = n_train - 2 * horizon - lookback + 1 - MIN_WINDOWS  # beyond the fewest windows
        val = horizon + min(max(VAL_ORIGINS - 1, round(VAL_SHARE * n_train) - horizon), spare)
        train_lengths.append(n_train)
        val_sizes.append(val)
    if len(short) == len(prepared.series):
        where = "The series has" if len(short) == 1 else f"The longest of {len(short)} series has"
        raise DataError(
            f"{where} {longest:,} points; forecasting {horizon} steps from a window of "
            f"{lookback} needs at least {needed:,} (training windows, then the last "
            f"{options.test_fraction:.0%} held out for the backtest).",
            fix="Use a longer history, or lower options.horizon / options.lookback.",
        )
    if short:
        names = ", ".join(repr(s.key) for s in short[:5]) + (" ..." if len(short) > 5 else "")
        found.append(Finding(
            "warning",
            f"{len(short)} series have fewer than {needed:,} points and are left out of training "
            f"and the backtest: {names}.",
            "Check their ids (a typo makes a new series) or give them a longer history.",
        ))  # fmt: skip
    lengths = [len(s) for s, n in zip(prepared.series, train_lengths, strict=True) if n]
    stride = fc.backtest_stride(lengths, horizon)
    tests = [n - t for n, t in zip(lengths, [t for t in train_lengths if t], strict=True)]
    if stride == 1 and sum(t - horizon + 1 for t in tests) > MAX_ORIGINS:
        stride = horizon
    while stride < max(tests) and sum((t - horizon) // stride + 1 for t in tests) > MAX_ORIGINS:
        stride += horizon  # many series: fewer origins each (each costs three model fits)
    return Plan(horizon, lookback, season, train_lengths, val_sizes, stride), found


def fit_model_plan(
    series: list[Series],
    lengths: list[int],
    layout: Layout,
    frequency: Frequency,
    the_plan: Plan,
    options: ForecastingOptions,
) -> ModelPlan:
    """Fit the scaling (log or not) and the covariate encoding on the training parts."""
    log = options.target_transform == "log" or (
        options.target_transform == "auto" and wants_log(series, lengths, the_plan.season_length)
    )
    return ModelPlan(
        layout,
        frequency,
        the_plan.horizon,
        the_plan.lookback,
        Scaling.fit(series, lengths, log=log),
        Covariates.fit(
            [s.covariates.iloc[:n] for s, n in zip(series, lengths, strict=True)],
            layout.covariates,
        ),
        options.quantiles,
        options.duplicates,
        options.fill,
    )


def _needed(lookback: int, horizon: int, test_fraction: float) -> int:
    """The shortest series with MIN_WINDOWS training windows, one validation horizon and a
    test region of at least one horizon."""
    n = lookback + 2 * horizon + MIN_WINDOWS - 1
    while (
        n - _test_size(n, test_fraction) < lookback + 2 * horizon + MIN_WINDOWS - 1
        or _test_size(n, test_fraction) < horizon
    ):
        n += 1
    return n


def _test_size(length: int, test_fraction: float) -> int:
    return length - int((1 - test_fraction) * length)
