"""Forecasting: an LSTM/GRU trained once, backtested from rolling origins against seasonal naive
and Holt-Winters, which are refitted at every origin (the same protocol for all three)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dlstudio.data.checks import Finding
from dlstudio.errors import DataError
from dlstudio.evaluation import forecast as fc
from dlstudio.nn.recurrent import PinballLoss, RNNForecaster, RNNForecasterConfig
from dlstudio.spec import ForecastingSpec
from dlstudio.tasks.base import (
    BaselineResult,
    Role,
    Sample,
    TaskOutcome,
    TaskTemplate,
    TrainingData,
)
from dlstudio.tasks.forecasting_data import (
    SINGLE_SERIES,
    Frequency,
    Layout,
    Prepared,
    Series,
    guess_time_column,
    layout_of,
    read_series,
)
from dlstudio.tasks.forecasting_features import (
    Covariates,
    Scaling,
    Windows,
    cut_windows,
    extras,
    join_windows,
    wants_log,
)
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, FitConfig, TensorData, fit

MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.pt"
QUANTILES = (0.1, 0.5, 0.9)
MIN_WINDOWS = 8  # training windows a series needs, besides validation and test
VAL_SHARE = 0.15  # of the training part, for early stopping
MAX_ORIGINS = 1000  # above this many backtest origins at stride 1, step by the horizon
GRAD_CLIP = 1.0


@dataclass(frozen=True)
class Preset:
    epochs: int
    hidden_size: int
    layers: int
    dropout: float
    learning_rate: float
    patience: int


PRESETS = {
    "fast": Preset(40, 32, 1, 0.0, 3e-3, 8),
    "balanced": Preset(150, 64, 1, 0.1, 2e-3, 20),
    "best": Preset(300, 128, 2, 0.1, 1e-3, 30),
}


@dataclass(frozen=True)
class Plan:
    """Horizon, lookback and the split of every series, resolved from the options and data."""

    horizon: int
    lookback: int
    season_length: int
    train_lengths: list[int]  # points before the test region, per series
    val_sizes: list[int]  # last points of the training part used for early stopping
    stride: int


class Forecasting(TaskTemplate):
    name = "forecasting"
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
        return {"target": numeric[-1] if numeric else None, "time": time, "series": None}

    def sample(self) -> Sample:
        from dlstudio.tasks.forecasting_sample import store_sales

        return Sample(
            name="sample-store-sales",
            description="Monthly sales of three stores over eight years; forecast the next year.",
            frame=store_sales(),
            roles={"target": "sales", "time": "month", "series": "store"},
        )

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float:
        """Start-up and baselines (~25 s) plus the preset's epochs over ``rows`` windows at the
        ~3,000 windows/s measured on 2 CPU cores (bench/RESULTS.md)."""
        return 25 + PRESETS[preset].epochs * rows / (30_000 if gpu else 3_000)

    def check(self, data: TrainingData, spec: ForecastingSpec) -> list[Finding]:
        prepared, _ = prepare(data.frame, spec)
        return prepared.findings + plan(prepared, spec, prepared.findings)[1]

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
        the_plan, _ = plan(prepared, spec, [])
        series = [s for s, n in zip(prepared.series, the_plan.train_lengths, strict=True) if n]
        lengths = [n for n in the_plan.train_lengths if n]
        options, preset = spec.options, PRESETS[spec.training.preset]
        log = options.target_transform == "log" or (
            options.target_transform == "auto"
            and wants_log(series, lengths, the_plan.season_length)
        )
        scaling = Scaling.fit(series, lengths, log=log)
        covariates = Covariates.fit(
            [s.covariates.iloc[:n] for s, n in zip(series, lengths, strict=True)], layout.covariates
        )
        model_plan = ModelPlan(
            layout,
            prepared.frequency,
            the_plan.horizon,
            the_plan.lookback,
            scaling,
            covariates,
            options.quantiles,
            options.duplicates,
            options.fill,
        )
        train_w, val_w, test_w = model_plan.split_windows(series, the_plan)
        network = RNNForecaster(model_plan.network_config(options, preset)).to(device.device)
        loss_fn = PinballLoss(model_plan.quantiles).to(device.device)
        scales = np.array(
            [
                fc.seasonal_scale(s.values[:n], the_plan.season_length)
                for s, n in zip(series, lengths, strict=True)
            ]
        )
        stopper = EarlyStopping(
            "val_loss",
            patience=spec.training.early_stopping_patience or preset.patience,
            mode="min",
        )
        state = fit(
            network,
            _tensors(train_w).to(device.device),
            loss_fn=loss_fn,
            validate=lambda m: _validate(m, model_plan, val_w, scales, loss_fn, device),
            config=FitConfig(
                epochs=spec.training.epochs or preset.epochs,
                batch_size=spec.training.batch_size or _batch_size(len(train_w)),
                learning_rate=spec.training.learning_rate or preset.learning_rate,
                grad_clip=GRAD_CLIP,
            ),
            device=device,
            generator=generator,
            callbacks=[stopper, *callbacks],
        )
        forecasts = model_plan.decode(_predict(network, test_w, device), test_w)
        backtest = backtest_table(series, test_w, forecasts, model_plan, the_plan, scales)
        ours = fc.forecast_metrics(
            backtest["actual"].to_numpy(),
            backtest["forecast"].to_numpy(),
            backtest["scale"].to_numpy(),
        )
        baselines = [
            BaselineResult("seasonal naive", "snaive", _score(backtest, "seasonal_naive")),
            BaselineResult("Holt-Winters", "ets", _score(backtest, "holt_winters")),
        ]
        save_model(work_dir, network, model_plan)
        predictor = ForecastPredictor.load(work_dir)
        cell = options.cell.upper()
        tables, notes = _tables(series, data.frame, layout, backtest, the_plan, predictor)
        return TaskOutcome(
            metrics=ours,
            baselines=baselines,
            primary_metric="mase",
            higher_is_better=False,
            model_dir=work_dir,
            input_example=_input_example(data.frame, layout, the_plan),
            history=state.history,
            json_artifacts={"horizon_errors.json": {"rows": _horizon_rows(backtest, cell)}},
            tables=tables,
            figures=_figures(tables, cell),
            reference_baseline="snaive",
            verdict=verdict_text(ours["mase"], baselines),
            stop_reason=state.stop_reason,
            notes=[*notes, f"Target modelled on a log scale: {'yes' if log else 'no'}."],
        )

    def load_predictor(self, model_dir: Path) -> ForecastPredictor:
        return ForecastPredictor.load(model_dir)


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


def plan(
    prepared: Prepared, spec: ForecastingSpec, findings: list[Finding]
) -> tuple[Plan, list[Finding]]:
    """Resolve horizon and lookback and split each series; series too short are left out
    (a warning), and an error says how many points are needed when none is long enough."""
    options, found = spec.options, []
    season = prepared.frequency.season_length
    horizon = options.horizon or (season if season > 1 else 3)
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
        val = max(horizon, round(VAL_SHARE * n_train))
        if n_train - val - horizon - lookback + 1 < MIN_WINDOWS:
            val = horizon
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
    return Plan(horizon, lookback, season, train_lengths, val_sizes, stride), found


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


@dataclass(frozen=True)
class ModelPlan:
    """Everything, besides the weights, that turns a history into a forecast (saved as JSON)."""

    layout: Layout
    frequency: Frequency
    horizon: int
    lookback: int
    scaling: Scaling
    covariates: Covariates
    use_quantiles: bool
    duplicates: str
    fill: str

    @property
    def quantiles(self) -> tuple[float, ...]:
        return QUANTILES if self.use_quantiles else (0.5,)

    @property
    def n_extra(self) -> int:
        """Calendar and covariate features per time step."""
        calendar = self.frequency.calendar(pd.DatetimeIndex([])).shape[1]
        return calendar + self.covariates.width

    def network_config(self, options, preset: Preset) -> RNNForecasterConfig:
        return RNNForecasterConfig(
            n_past_features=1 + self.n_extra,
            n_future_features=self.n_extra,
            lookback=self.lookback,
            horizon=self.horizon,
            n_quantiles=len(self.quantiles),
            cell=options.cell,
            hidden_size=options.hidden_size or preset.hidden_size,
            layers=options.layers or preset.layers,
            dropout=preset.dropout if options.dropout is None else options.dropout,
        )

    def windows(self, series: Series, index: int, origins: np.ndarray,
                extra: np.ndarray | None = None) -> Windows:  # fmt: skip
        return cut_windows(
            self.scaling.forward(series),
            extras(series, self.frequency, self.covariates) if extra is None else extra,
            origins,
            lookback=self.lookback,
            horizon=self.horizon,
            season_length=self.frequency.season_length,
            stats=self.scaling.stats_for(series),
            series_index=index,
        )

    def split_windows(self, series: list[Series], plan: Plan) -> tuple[Windows, Windows, Windows]:
        """Training windows, validation windows (the end of the training part) and the
        backtest origins (the test region), per series, joined."""
        train, val, test = [], [], []
        sizes = [(n, v) for n, v in zip(plan.train_lengths, plan.val_sizes, strict=True) if n]
        for i, (s, (n_train, n_val)) in enumerate(zip(series, sizes, strict=True)):
            lookback, horizon = self.lookback, self.horizon
            train.append(self.windows(s, i, np.arange(lookback, n_train - n_val - horizon + 1)))
            val.append(
                self.windows(s, i, np.arange(max(lookback, n_train - n_val), n_train - horizon + 1))
            )
            origins = fc.backtest_origins([len(s)], [len(s) - n_train], horizon, stride=plan.stride)
            test.append(self.windows(s, i, np.array([o.position for o in origins])))
        return join_windows(train), join_windows(val), join_windows(test)

    def decode(self, output: np.ndarray, windows: Windows) -> np.ndarray:
        """Network output (N, horizon, quantiles) back in the user's units, quantiles sorted."""
        z = output + windows.level[:, None, None]
        values = self.scaling.inverse(z, windows.mean[:, None, None], windows.std[:, None, None])
        return np.sort(values, axis=2)

    def actual(self, windows: Windows) -> np.ndarray:
        """The known future values of the windows, in the user's units."""
        z = windows.target + windows.level[:, None]
        return self.scaling.inverse(z, windows.mean[:, None], windows.std[:, None])

    def to_dict(self) -> dict:
        return {
            "layout": self.layout.to_dict(),
            "frequency": self.frequency.to_dict(),
            "horizon": self.horizon,
            "lookback": self.lookback,
            "scaling": self.scaling.to_dict(),
            "covariates": self.covariates.to_dict(),
            "use_quantiles": self.use_quantiles,
            "duplicates": self.duplicates,
            "fill": self.fill,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> ModelPlan:
        return cls(
            Layout.from_dict(raw["layout"]),
            Frequency.from_dict(raw["frequency"]),
            int(raw["horizon"]),
            int(raw["lookback"]),
            Scaling.from_dict(raw["scaling"]),
            Covariates.from_dict(raw["covariates"]),
            bool(raw["use_quantiles"]),
            raw["duplicates"],
            raw["fill"],
        )


class ForecastPredictor:
    """A history table in (the training columns); the next ``horizon`` points of each series
    out, with the 80% interval when the model has one."""

    row_wise = False  # one output row per future step, not per input row

    def __init__(self, network: RNNForecaster, plan: ModelPlan) -> None:
        self.network, self.plan = network.eval(), plan
        self.device = DeviceChoice(torch.device("cpu"), None)

    @classmethod
    def load(cls, model_dir: Path) -> ForecastPredictor:
        raw = json.loads((model_dir / MODEL_FILE).read_text(encoding="utf-8"))
        network = RNNForecaster(RNNForecasterConfig.from_dict(raw["network"]))
        # weights_only: a state_dict of tensors, never arbitrary pickled objects
        network.load_state_dict(torch.load(model_dir / WEIGHTS_FILE, weights_only=True))
        return cls(network, ModelPlan.from_dict(raw["plan"]))

    @property
    def columns(self) -> list[str]:
        layout = self.plan.layout
        bands = ["forecast_p10", "forecast_p90"] if self.plan.use_quantiles else []
        return [*([layout.series] if layout.series else []), layout.time, "forecast", *bands]

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raises DataError when a series is too short or future covariates are missing."""
        plan = self.plan
        if frame.empty:
            return pd.DataFrame(columns=self.columns)
        prepared = read_series(
            frame, plan.layout, duplicates=plan.duplicates, fill=plan.fill,
            frequency=plan.frequency, keep_future=True,
        )  # fmt: skip
        short = [s for s in prepared.series if len(s) < plan.lookback]
        if short:
            names = ", ".join(repr(s.key) for s in short[:5])
            where = "The history has" if short[0].key == SINGLE_SERIES else f"Series {names} have"
            raise DataError(
                f"{where} fewer than the {plan.lookback} points the model reads "
                f"({len(short[0])} given).",
                fix=f"Give at least the last {plan.lookback} periods of each series.",
            )
        parts, future_times = [], []
        for i, s in enumerate(prepared.series):
            times = plan.frequency.steps(s.times[-1], plan.horizon)
            covariates = pd.concat([s.covariates, self._future_covariates(s, times)])
            extra = np.hstack([
                plan.frequency.calendar(s.times.append(times)),
                plan.covariates.transform(covariates),
            ])  # fmt: skip
            parts.append(plan.windows(s, i, np.array([len(s)]), extra))
            future_times.append(times)
        windows = join_windows(parts)
        values = plan.decode(_predict(self.network, windows, self.device), windows)
        return self._table(prepared.series, future_times, values)

    def _future_covariates(self, series: Series, times: pd.DatetimeIndex) -> pd.DataFrame:
        names = list(self.plan.layout.covariates)
        if not names:
            return pd.DataFrame(index=times)
        given = series.future if series.future is not None else pd.DataFrame(columns=names)
        future = given[~given.index.duplicated(keep="last")].reindex(times)
        if future.isna().any(axis=None):
            where = "" if series.key == SINGLE_SERIES else f" for series {series.key!r}"
            raise DataError(
                f"The model uses {', '.join(map(repr, names))}, so it needs their values for the "
                f"{self.plan.horizon} periods to forecast{where} (from {times[0]:%Y-%m-%d %H:%M}).",
                fix=f"Add {self.plan.horizon} rows after the last value with those columns filled "
                "and the target left empty.",
            )
        return future

    def _table(
        self, series: list[Series], times: list[pd.DatetimeIndex], values: np.ndarray
    ) -> pd.DataFrame:
        layout, middle = self.plan.layout, len(self.plan.quantiles) // 2
        out = pd.DataFrame({
            **({layout.series: np.repeat([s.key for s in series], self.plan.horizon)} if layout.series else {}),
            layout.time: np.concatenate([t.to_numpy() for t in times]),
            "forecast": values[:, :, middle].ravel(),
        })  # fmt: skip
        if self.plan.use_quantiles:
            out["forecast_p10"], out["forecast_p90"] = (
                values[:, :, 0].ravel(),
                values[:, :, -1].ravel(),
            )
        return out


def save_model(folder: Path, network: RNNForecaster, plan: ModelPlan) -> None:
    """Weights as a state_dict, everything else as JSON: no pickles of user-influenced objects."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in network.state_dict().items()}, folder / WEIGHTS_FILE)
    raw = {"task": Forecasting.name, "network": network.config.to_dict(), "plan": plan.to_dict()}
    (folder / MODEL_FILE).write_text(json.dumps(raw, indent=1), encoding="utf-8")


def verdict_text(ours: float, baselines: list[BaselineResult]) -> str:
    """Plain words: by how much the network beats each baseline on MASE, or which it does not."""
    gains = {b.name: 100 * (b.metrics["mase"] - ours) / b.metrics["mase"] for b in baselines}
    figures = " and ".join(f"{b.metrics['mase']:.3f}" for b in baselines)
    scores = f"(MASE {ours:.3f} vs {figures})"
    beaten = [b.name for b in baselines if gains[b.name] > 0]
    missed = [b.name for b in baselines if gains[b.name] <= 0]
    by = " and ".join(f"{name} by {gains[name]:.0f}%" for name in beaten)
    if not missed:
        return f"Beats {by} {scores}."
    if beaten:
        return (
            f"Beats {by} but not {' or '.join(missed)} {scores}: the simpler "
            f"{' and '.join(missed)} forecasts as well or better here."
        )
    return (
        f"Does not beat {' or '.join(missed)} {scores}: the simpler forecasts are as good or "
        "better here."
    )


def backtest_table(series: list[Series], windows: Windows, forecasts: np.ndarray, model_plan: ModelPlan,
                   plan: Plan, scales: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One row per origin and step: actual, our forecast (and interval), both baselines refitted
    on the history up to that origin, and the MASE scale of the series."""
    horizon, season, middle = plan.horizon, plan.season_length, len(model_plan.quantiles) // 2
    columns: dict[str, list] = {
        k: []
        for k in ("series", "origin", "step", "time", "actual", "seasonal_naive", "holt_winters")
    }
    for index, origin in zip(windows.series, windows.origin, strict=True):
        s = series[index]
        history = s.values[:origin]
        columns["series"] += [s.key] * horizon
        columns["origin"] += [s.times[origin - 1]] * horizon
        columns["step"] += list(range(1, horizon + 1))
        columns["time"] += list(s.times[origin : origin + horizon])
        columns["actual"] += list(s.values[origin : origin + horizon])
        columns["seasonal_naive"] += list(fc.seasonal_naive(history, horizon, season))
        columns["holt_winters"] += list(fc.holt_winters(history, horizon, season))
    table = pd.DataFrame(columns)
    table.insert(5, "forecast", forecasts[:, :, middle].ravel())
    if model_plan.use_quantiles:
        table.insert(6, "forecast_p10", forecasts[:, :, 0].ravel())
        table.insert(7, "forecast_p90", forecasts[:, :, -1].ravel())
    table["scale"] = np.repeat(scales[windows.series], horizon)
    return table


def _score(backtest: pd.DataFrame, column: str) -> dict[str, float]:
    return fc.forecast_metrics(
        backtest["actual"].to_numpy(), backtest[column].to_numpy(), backtest["scale"].to_numpy()
    )


def _horizon_rows(backtest: pd.DataFrame, cell: str) -> list[dict]:
    rows = []
    for model, column in (
        (cell, "forecast"),
        ("seasonal naive", "seasonal_naive"),
        ("Holt-Winters", "holt_winters"),
    ):
        rows += [{**row, "model": model} for row in fc.metrics_by_step(backtest, column)]
    return rows


def _tables(series: list[Series], frame: pd.DataFrame, layout: Layout, backtest: pd.DataFrame,
            plan: Plan, predictor: ForecastPredictor) -> tuple[dict[str, pd.DataFrame], list[str]]:  # fmt: skip
    """backtest.csv, series_tail.csv and (without covariates) future_forecast.csv."""
    keep = plan.horizon + 4 * max(plan.season_length, plan.horizon)
    tail = pd.concat([
        pd.DataFrame({"series": s.key, "time": s.times[-(len(s) - n + keep):], "actual": s.values[-(len(s) - n + keep):]})
        for s, n in zip(series, [t for t in plan.train_lengths if t], strict=True)
    ])  # fmt: skip
    tables = {"backtest.csv": backtest.drop(columns="scale"), "series_tail.csv": tail}
    if layout.covariates:
        note = (
            "No forecast beyond the data in this run: the model needs future values of "
            f"{', '.join(layout.covariates)}. Predict with a file that adds the next "
            f"{plan.horizon} rows with those filled and the target empty."
        )
        return tables, [note]
    trained = {s.key for s in series}
    keys = (
        frame[layout.series].astype(str)
        if layout.series
        else pd.Series(SINGLE_SERIES, index=frame.index)
    )
    future = predictor.predict(frame[keys.isin(trained)])
    future = future.rename(columns={layout.time: "time"})
    future.insert(0, "series", future.pop(layout.series) if layout.series else SINGLE_SERIES)
    return {**tables, "future_forecast.csv": future}, []


def _figures(tables: dict[str, pd.DataFrame], cell: str) -> dict:
    from dlstudio.tracking import figures

    return {
        "forecast.png": figures.forecast(
            tables["series_tail.csv"],
            tables["backtest.csv"],
            tables.get("future_forecast.csv"),
            model=cell,
        )
    }


def _input_example(frame: pd.DataFrame, layout: Layout, plan: Plan) -> pd.DataFrame:
    """The raw rows of one series a prediction needs: its last ``lookback`` periods (and, for a
    model with covariates, ``horizon`` more rows with the target left empty)."""
    from dlstudio.data.columns import to_datetime

    rows = frame[layout.columns]
    if layout.series:
        rows = rows[rows[layout.series].astype(str) == str(rows[layout.series].iloc[0])]
    times = to_datetime(rows[layout.time], date_format=layout.date_format)
    rows = rows.assign(_t=times).dropna(subset=["_t"]).sort_values("_t")
    unique = rows["_t"].drop_duplicates()
    extra = plan.horizon if layout.covariates else 0
    example = rows[rows["_t"] >= unique.iloc[-min(len(unique), plan.lookback + extra)]].copy()
    if extra:
        future = example["_t"] > unique.iloc[-extra - 1]
        example[layout.target] = example[layout.target].astype(float).where(~future)
    return example.drop(columns="_t").reset_index(drop=True)


def _tensors(windows: Windows) -> TensorData:
    inputs = (torch.from_numpy(windows.past), torch.from_numpy(windows.future))
    return TensorData(inputs, torch.from_numpy(windows.target))


def _predict(network: RNNForecaster, windows: Windows, device: DeviceChoice) -> np.ndarray:
    """Normalized network output (N, horizon, quantiles), in large batches without gradients."""
    network.eval()
    data = _tensors(windows).to(device.device)
    chunks = []
    with torch.no_grad(), device.autocast():
        for (past, future), _ in data.batches(4096):
            chunks.append(network(past, future).float())
    return torch.cat(chunks).cpu().numpy().astype(np.float64)


def _validate(network: RNNForecaster, plan: ModelPlan, windows: Windows, scales: np.ndarray,
              loss_fn: PinballLoss, device: DeviceChoice) -> dict[str, float]:  # fmt: skip
    output = _predict(network, windows, device)
    loss = loss_fn(torch.from_numpy(output).float().to(device.device),
                   torch.from_numpy(windows.target).to(device.device))  # fmt: skip
    middle = len(plan.quantiles) // 2
    forecast = plan.decode(output, windows)[:, :, middle]
    actual = plan.actual(windows)
    scale = np.broadcast_to(scales[windows.series][:, None], actual.shape)
    scores = fc.forecast_metrics(actual.ravel(), forecast.ravel(), scale.ravel())
    return {"val_loss": float(loss), **{f"val_{k}": v for k, v in scores.items()}}


def _batch_size(n_windows: int) -> int:
    """About 20 steps per epoch, between 16 and 256 windows per batch."""
    return int(min(256, max(16, 2 ** round(np.log2(max(n_windows, 1) / 20)))))
