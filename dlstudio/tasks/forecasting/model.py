"""The trained forecaster as saved and loaded: sizes, the plan that turns a history into
windows, the predictor behind the pyfunc."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dlstudio.errors import DataError
from dlstudio.evaluation import forecast as fc
from dlstudio.nn.persist import load_network, save_network
from dlstudio.nn.recurrent import RNNForecaster, RNNForecasterConfig
from dlstudio.tasks.forecasting.combination import NETWORK, Combination, statistical_forecasts
from dlstudio.tasks.forecasting.data import SINGLE_SERIES, Frequency, Layout, Series, read_series
from dlstudio.tasks.forecasting.features import (
    Covariates,
    LazyWindows,
    Scaling,
    Windows,
    cut_windows,
    extras,
    join_windows,
)
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import TensorData

QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class Preset:
    epochs: int
    hidden_size: int
    layers: int
    dropout: float
    learning_rate: float
    patience: int
    members: int


PRESETS = {
    "fast": Preset(40, 32, 1, 0.0, 3e-3, 8, 1),
    "balanced": Preset(150, 64, 1, 0.1, 2e-3, 20, 3),
    "best": Preset(300, 128, 2, 0.1, 1e-3, 30, 5),
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
    hybrid: bool = True  # the network corrects a Holt-Winters forecast (False: models before it)
    combination: Combination | None = None  # the registered blend with the statistical models

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
            n_future_features=self.n_extra + int(self.hybrid),
            lookback=self.lookback,
            horizon=self.horizon,
            n_quantiles=len(self.quantiles),
            cell=options.cell,
            hidden_size=options.hidden_size or preset.hidden_size,
            layers=options.layers or preset.layers,
            dropout=preset.dropout if options.dropout is None else options.dropout,
            members=options.ensemble or preset.members,
        )

    def windows(self, series: Series, index: int, origins: np.ndarray, base: np.ndarray | None,
                extra: np.ndarray | None = None) -> Windows:  # fmt: skip
        """Windows of ``series`` at ``origins``; ``base`` (N, horizon) the Holt-Winters forecast
        from each origin in the user's units (ignored by a model without the hybrid base)."""
        return cut_windows(
            self.scaling.forward(series),
            extras(series, self.frequency, self.covariates) if extra is None else extra,
            origins,
            self.scaling.scale(base, series) if self.hybrid else None,
            lookback=self.lookback,
            horizon=self.horizon,
            season_length=self.frequency.season_length,
            stats=self.scaling.stats_for(series),
            series_index=index,
        )

    def lazy_windows(self, series: list[Series],
                     cuts: list[tuple[np.ndarray, np.ndarray]]) -> LazyWindows:  # fmt: skip
        """The training windows of a hybrid model, cut at batch time: per series, the origins
        and the Holt-Winters forecast from each (in the user's units)."""
        parts = [
            (self.scaling.forward(s), extras(s, self.frequency, self.covariates), origins,
             self.scaling.scale(base, s))
            for s, (origins, base) in zip(series, cuts, strict=True)
        ]  # fmt: skip
        return LazyWindows.cut(
            parts, lookback=self.lookback, horizon=self.horizon,
            season_length=self.frequency.season_length,
        )  # fmt: skip

    def origins(self, series: list[Series], plan: Plan) -> list[tuple[np.ndarray, ...]]:
        """Per series: the training origins, the validation origins (the end of the training
        part: early stopping and the combination's weights) and the backtest origins (the test
        region)."""
        out = []
        sizes = [(n, v) for n, v in zip(plan.train_lengths, plan.val_sizes, strict=True) if n]
        for s, (n_train, n_val) in zip(series, sizes, strict=True):
            lookback, horizon = self.lookback, self.horizon
            test = fc.backtest_origins([len(s)], [len(s) - n_train], horizon, stride=plan.stride)
            out.append((
                np.arange(lookback, n_train - n_val - horizon + 1),
                np.arange(max(lookback, n_train - n_val), n_train - horizon + 1),
                np.array([o.position for o in test], dtype=int),
            ))  # fmt: skip
        return out

    def decode(self, output: np.ndarray, windows: Windows) -> np.ndarray:
        """Network output (N, horizon, quantiles) back in the user's units, quantiles sorted."""
        z = output + windows.base[:, :, None]
        values = self.scaling.inverse(z, windows.mean[:, None, None], windows.std[:, None, None])
        return np.sort(values, axis=2)

    def statistical(self, histories: list[np.ndarray]) -> dict[str, np.ndarray]:
        """The statistical members' forecasts from the end of each history: key -> (N, horizon)."""
        ends = np.array([len(h) for h in histories])
        return statistical_forecasts(
            histories, np.arange(len(histories)), ends, self.horizon, self.frequency.season_length
        )

    def blend(self, values: np.ndarray, statistical: dict[str, np.ndarray],
              scale: np.ndarray) -> np.ndarray:  # fmt: skip
        """The registered forecast (N, horizon, quantiles): the network's ``values`` alone, or
        blended with the statistical members by the combination, with its conformal interval."""
        if self.combination is None:
            return values
        middle = len(self.quantiles) // 2
        point = self.combination.point({NETWORK: values[:, :, middle], **statistical})
        if not self.use_quantiles:
            return point[..., None]
        low, high = self.combination.interval(point, scale)
        return np.stack([low, point, high], axis=2)

    def actual(self, windows: Windows) -> np.ndarray:
        """The known future values of the windows, in the user's units."""
        z = windows.target + windows.base
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
            "hybrid": self.hybrid,
            "combination": self.combination.to_dict() if self.combination else None,
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
            bool(raw.get("hybrid", False)),
            Combination.from_dict(raw["combination"]) if raw.get("combination") else None,
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
        network, raw = load_network(
            model_dir, lambda config: RNNForecaster(RNNForecasterConfig.from_dict(config))
        )
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
            if short[0].key == SINGLE_SERIES:
                where = "The history has"
            else:  # one series "has", several "have"
                where = f"Series {names} {'has' if len(short) == 1 else 'have'}"
            raise DataError(
                f"{where} fewer than the {plan.lookback} points the model reads "
                f"({len(short[0])} given).",
                fix=f"Give at least the last {plan.lookback} periods of each series.",
            )
        series = prepared.series
        statistical = plan.statistical([s.values for s in series]) if plan.hybrid else {}
        parts, future_times = [], []
        for i, s in enumerate(series):
            times = plan.frequency.steps(s.times[-1], plan.horizon)
            covariates = pd.concat([s.covariates, self._future_covariates(s, times)])
            extra = np.hstack([
                plan.frequency.calendar(s.times.append(times)),
                plan.covariates.transform(covariates),
            ])  # fmt: skip
            base = statistical["ets"][i : i + 1] if plan.hybrid else None
            parts.append(plan.windows(s, i, np.array([len(s)]), base, extra))
            future_times.append(times)
        windows = join_windows(parts)
        values = plan.decode(predict_windows(self.network, windows, self.device), windows)
        season = plan.frequency.season_length
        scales = np.array([fc.seasonal_scale(s.values, season) for s in series])
        return self._table(series, future_times, plan.blend(values, statistical, scales))

    def chart_frames(
        self, frame: pd.DataFrame, forecast: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(history, future) as ``dlstudio.charts.forecast`` draws them: the last points of each
        series in ``frame`` (``series``, ``time``, ``actual``; as many as Results shows) and
        ``forecast``, this predictor's table for ``frame``, in the chart's columns."""
        plan = self.plan
        prepared = read_series(
            frame, plan.layout, duplicates=plan.duplicates, fill=plan.fill,
            frequency=plan.frequency, keep_future=True,
        )  # fmt: skip
        keep = plan.horizon + 4 * max(plan.frequency.season_length, plan.horizon)
        history = pd.concat(
            [
                pd.DataFrame({"series": s.key, "time": s.times[-keep:], "actual": s.values[-keep:]})
                for s in prepared.series
            ],
            ignore_index=True,
        )
        return history, self.chart_future(forecast)

    def chart_future(self, forecast: pd.DataFrame) -> pd.DataFrame:
        """This predictor's table with ``series`` first and ``time``, as the charts read it."""
        layout = self.plan.layout
        future = forecast.rename(columns={layout.time: "time"})
        future.insert(0, "series", future.pop(layout.series) if layout.series else SINGLE_SERIES)
        return future

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
    """The ensemble and its plan, loadable by ``ForecastPredictor.load``."""
    description = {
        "task": "forecasting",
        "network": network.config.to_dict(),
        "plan": plan.to_dict(),
    }
    save_network(folder, network, description)


def window_tensors(windows: Windows) -> TensorData:
    inputs = (torch.from_numpy(windows.past), torch.from_numpy(windows.future))
    return TensorData(inputs, torch.from_numpy(windows.target))


def predict_windows(
    network: RNNForecaster, windows: Windows, device: DeviceChoice, *, members: bool = False
) -> np.ndarray:
    """Normalized forecasts (N, horizon, quantiles): the average of the ensemble's members (or
    each member's, (N, members, horizon, quantiles)), in large batches without gradients."""
    network.eval()
    data = window_tensors(windows).to(device.device)
    chunks = []
    with torch.no_grad(), device.autocast():
        for (past, future), _ in data.batches(4096):
            output = network(past, future).float()
            chunks.append(output if members else output.mean(dim=1))
    return torch.cat(chunks).cpu().numpy().astype(np.float64)
