"""Forecasting: a hybrid LSTM/GRU blended with Holt-Winters, Theta and seasonal naive by their
inner-backtest errors, then backtested from rolling origins against those three, which are
refitted at every origin (the same protocol for every model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dlstudio.data.checks import Finding
from dlstudio.evaluation import forecast as fc
from dlstudio.explain.importance import IMPORTANCE_FILE
from dlstudio.nn.recurrent import PinballLoss, RNNForecaster
from dlstudio.search.fields import DROPOUT, RECURRENT_CELL
from dlstudio.tasks.base import (
    BaselineResult,
    Role,
    Sample,
    TaskOutcome,
    TaskTemplate,
    TrainingData,
)
from dlstudio.tasks.forecasting.combination import (
    INNER_BUDGET,
    NETWORK,
    Combination,
    Inner,
    inner_origins,
    member_name,
    statistical_forecasts,
)
from dlstudio.tasks.forecasting.data import (
    Series,
    guess_time_column,
)
from dlstudio.tasks.forecasting.ets import base_forecasts
from dlstudio.tasks.forecasting.features import (
    Windows,
    join_windows,
)
from dlstudio.tasks.forecasting.importance import backtest_importance
from dlstudio.tasks.forecasting.model import (
    PRESETS,
    ForecastPredictor,
    ModelPlan,
    predict_windows,
    save_model,
)
from dlstudio.tasks.forecasting.options import ForecastingSpec
from dlstudio.tasks.forecasting.planning import (
    MAX_ORIGINS,
    fit_model_plan,
    guess_series_column,
    plan,
    prepare,
)
from dlstudio.tasks.forecasting.report import (
    COLUMNS,
    backtest_table,
    candidates,
    horizon_rows,
    input_example,
    interval_notes,
    run_figures,
    run_tables,
    score,
    score_interval,
    verdict_text,
)
from dlstudio.training.callbacks import MemberEarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, FitConfig, fit

GRAD_CLIP = 1.0


class Forecasting(TaskTemplate):
    name = "forecasting"
    search_objective = ("val_mase", "minimize")
    search_space = (DROPOUT, RECURRENT_CELL)
    title = "Time-series forecasting"
    description = "Forecast the next periods of sales, demand or load, with an 80% interval."
    data_needs = "A table with a date column and a numeric column (optionally a series id)."
    roles = (
        Role("target", "Value to forecast", "data.target", "The numeric column to forecast."),
        Role("time", "Date or time column", "options.time_column", "When each value was measured."),
        Role(
            "series",
            "Series id (optional)",
            "options.series_column",
            "Set when the file holds several series (one per store, product...).",
            optional=True,
        ),
    )

    def suggest_roles(self, frame: pd.DataFrame) -> dict[str, str | None]:
        time = guess_time_column(frame)
        numeric = [
            c for c in frame.columns if c != time and pd.api.types.is_numeric_dtype(frame[c])
        ]
        target = numeric[-1] if numeric else None
        return {"target": target, "time": time, "series": guess_series_column(frame, time, target)}

    def sample(self) -> Sample:
        from dlstudio.tasks.forecasting.sample import store_sales

        return Sample(
            name="sample-store-sales",
            description="Monthly sales of three stores over eight years; forecast the next year.",
            frame=store_sales(),
            roles={"target": "sales", "time": "month", "series": "store"},
        )

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float:
        """Start-up and logging (~20 s); Holt-Winters, Theta and seasonal naive refitted at each
        backtest origin (~0.25 s together, about one origin per row of the last 20%) and at
        each inner-backtest origin (up to about half the rows, INNER_BUDGET at most); the
        preset's maximum epochs for each member over at most ``rows`` windows at ~3,000
        windows/s on 2 CPU cores (measured on the bike-sharing series, bench/RESULTS.md)."""
        settings = PRESETS[preset]
        origins = min(0.2 * rows, MAX_ORIGINS) + min(0.5 * rows, INNER_BUDGET)
        windows_per_second = 30_000 if gpu else 3_000
        return 20 + 0.25 * origins + settings.epochs * settings.members * rows / windows_per_second

    def check(self, data: TrainingData, spec: ForecastingSpec) -> list[Finding]:
        prepared, _ = prepare(data.frame, spec)
        return prepared.findings + plan(prepared, spec)[1]

    def train(
        self,
        data: TrainingData,
        spec: ForecastingSpec,
        *,
        device: DeviceChoice,
        callbacks: Sequence[Callback],
        work_dir: Path,
    ) -> TaskOutcome:
        generator = seed_everything(spec.training.seed)
        prepared, layout = prepare(data.frame, spec)
        the_plan, _ = plan(prepared, spec)
        series = [s for s, n in zip(prepared.series, the_plan.train_lengths, strict=True) if n]
        lengths = [n for n in the_plan.train_lengths if n]
        options, preset = spec.options, PRESETS[spec.training.preset]
        model_plan = fit_model_plan(series, lengths, layout, prepared.frequency, the_plan, options)
        horizon, season = the_plan.horizon, the_plan.season_length
        origins = model_plan.origins(series, the_plan)
        histories = [s.values for s in series]
        val_at, test_at = _flatten(origins, 1), _flatten(origins, 2)
        inner_at = inner_origins(lengths, [o[1] for o in origins], horizon, season)
        inner_stats = statistical_forecasts(histories, *inner_at, horizon, season)
        val_stats = _rows_at(inner_stats, inner_at, val_at)
        test_stats = statistical_forecasts(histories, *test_at, horizon, season)
        val_sizes = [
            v for v, n in zip(the_plan.val_sizes, the_plan.train_lengths, strict=True) if n
        ]
        train_data = model_plan.lazy_windows(series, [
            (o[0], base_forecasts(s.values[:n], n - v, horizon, season)[o[0]])
            for s, o, n, v in zip(series, origins, lengths, val_sizes, strict=True)
        ])  # fmt: skip
        val_w = _windows(model_plan, series, val_at, val_stats["ets"])
        test_w = _windows(model_plan, series, test_at, test_stats["ets"])
        network = RNNForecaster(model_plan.network_config(options, preset)).to(device.device)
        loss_fn = PinballLoss(model_plan.quantiles).to(device.device)
        scales = np.array(
            [fc.seasonal_scale(s.values[:n], season) for s, n in zip(series, lengths, strict=True)]
        )
        monitor = _Validation(model_plan, val_w, scales, loss_fn, device)
        stopper = MemberEarlyStopping(
            network.members,
            lambda: monitor.member_losses,
            patience=spec.training.early_stopping_patience or preset.patience,
        )
        state = fit(
            network,
            train_data.to(device.device),
            loss_fn=loss_fn,
            validate=monitor,
            config=FitConfig(
                epochs=spec.training.epochs or preset.epochs,
                batch_size=spec.training.batch_size or _batch_size(len(train_data)),
                learning_rate=spec.training.learning_rate or preset.learning_rate,
                grad_clip=GRAD_CLIP,
            ),
            device=device,
            generator=generator,
            callbacks=[stopper, *callbacks],
        )
        middle = len(model_plan.quantiles) // 2
        network_val = model_plan.decode(predict_windows(network, val_w, device), val_w)
        validation = Inner(
            model_plan.actual(val_w),
            {NETWORK: network_val[:, :, middle], **val_stats},
            scales[val_w.series],
        )
        inner_actual = np.array(
            [histories[i][o : o + horizon] for i, o in zip(*inner_at, strict=True)]
        ).reshape(-1, horizon)
        statistical = Inner(inner_actual, inner_stats, scales[inner_at[0]])
        combination = Combination.fit(statistical, validation)
        model_plan = replace(model_plan, combination=combination)
        network_test = model_plan.decode(predict_windows(network, test_w, device), test_w)
        registered = model_plan.blend(network_test, test_stats, scales[test_w.series])
        backtest = backtest_table(
            series, test_w, {"forecast": registered, "network": network_test, **test_stats},
            model_plan, scales,
        )  # fmt: skip
        ours = {**score(backtest, "forecast"), **score_interval(backtest, "forecast")}
        cell = options.cell.upper()
        baselines = [
            BaselineResult(member_name(key), key, score(backtest, column))
            for key, column in COLUMNS.items()
        ]
        network_scores = {**score(backtest, "network"), **score_interval(backtest, "network")}
        ours.update({f"network_{k}": v for k, v in network_scores.items()})
        choice = candidates(validation, combination, backtest, cell)
        importance = backtest_importance(network, model_plan, test_w, scales, device,
                                         seed=spec.training.seed)  # fmt: skip
        save_model(work_dir, network, model_plan)
        predictor = ForecastPredictor.load(work_dir)
        tables, notes = run_tables(series, data.frame, layout, backtest, the_plan, predictor)
        return TaskOutcome(
            metrics=ours,
            baselines=baselines,
            primary_metric="mase",
            higher_is_better=False,
            model_dir=work_dir,
            input_example=input_example(data.frame, layout, the_plan),
            history=state.history,
            json_artifacts={
                "horizon_errors.json": {"rows": horizon_rows(backtest, cell)},
                "candidates.json": choice,
                IMPORTANCE_FILE: importance,
            },
            tables=tables,
            figures=run_figures(tables, "combination"),
            verdict=verdict_text(ours, baselines, choice),
            stop_reason=state.stop_reason,
            notes=[
                *notes,
                f"Target modelled on a log scale: {'yes' if model_plan.scaling.log else 'no'}.",
                *interval_notes(ours),
            ],
        )

    def load_predictor(self, model_dir: Path) -> ForecastPredictor:
        return ForecastPredictor.load(model_dir)


class _Validation:
    """After each epoch: the ensemble's loss and errors on the validation windows (logged), and
    each member's loss (for its own early stopping)."""

    def __init__(self, plan: ModelPlan, windows: Windows, scales: np.ndarray,
                 loss_fn: PinballLoss, device: DeviceChoice) -> None:  # fmt: skip
        self.plan, self.windows, self.scales = plan, windows, scales
        self.loss_fn, self.device = loss_fn, device
        self.member_losses: list[float] = []

    def __call__(self, network: RNNForecaster) -> dict[str, float]:
        windows, device = self.windows, self.device
        per_member = predict_windows(network, windows, device, members=True)
        target = torch.from_numpy(windows.target).to(device.device)

        def loss(output: np.ndarray) -> float:
            return float(self.loss_fn(torch.from_numpy(output).float().to(device.device), target))

        self.member_losses = [loss(per_member[:, [k]]) for k in range(per_member.shape[1])]
        output = per_member.mean(axis=1)
        middle = len(self.plan.quantiles) // 2
        forecast = self.plan.decode(output, windows)[:, :, middle]
        actual = self.plan.actual(windows)
        scale = np.broadcast_to(self.scales[windows.series][:, None], actual.shape)
        scores = fc.forecast_metrics(actual.ravel(), forecast.ravel(), scale.ravel())
        return {"val_loss": loss(output[:, None]), **{f"val_{k}": v for k, v in scores.items()}}


def _flatten(origins: list[tuple[np.ndarray, ...]], part: int) -> tuple[np.ndarray, np.ndarray]:
    """(series index, origin) of every origin of one part (1: validation, 2: backtest)."""
    index = np.concatenate([np.full(len(o[part]), i) for i, o in enumerate(origins)])
    return index.astype(int), np.concatenate([o[part] for o in origins]).astype(int)


def _rows_at(forecasts: dict[str, np.ndarray], given: tuple[np.ndarray, np.ndarray],
             wanted: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:  # fmt: skip
    """The rows of ``forecasts`` (made at the ``given`` (series, origin) pairs) at ``wanted``."""
    row = {pair: k for k, pair in enumerate(zip(*given, strict=True))}
    picked = [row[pair] for pair in zip(*wanted, strict=True)]
    return {key: values[picked] for key, values in forecasts.items()}


def _windows(model_plan: ModelPlan, series: list[Series], at: tuple[np.ndarray, np.ndarray],
             base: np.ndarray) -> Windows:  # fmt: skip
    """The windows at (series index, origin) pairs, with the base forecast of each row."""
    index, origins = at
    return join_windows([
        model_plan.windows(s, i, origins[index == i], base[index == i])
        for i, s in enumerate(series)
    ])  # fmt: skip


def _batch_size(n_windows: int) -> int:
    """About 20 steps per epoch, between 16 and 256 windows per batch."""
    return int(min(256, max(16, 2 ** round(np.log2(max(n_windows, 1) / 20)))))


TEMPLATE = Forecasting  # registered in dlstudio/tasks/registry.py
