"""What the forecaster reads: scaled values, calendar and covariates, cut into windows.

Fitted on the training part of each series only; saved as JSON with the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from dlstudio.data.columns import to_numeric
from dlstudio.tasks.forecasting.data import Frequency, Series
from dlstudio.training.loop import TensorData

MAX_LEVELS = 20  # categorical covariate levels kept; rarer ones share a zero code


@dataclass(frozen=True)
class Scaling:
    """Optional log1p, then per-series standardization (mean and std of the training part)."""

    log: bool
    stats: dict[str, tuple[float, float]]  # series key -> (mean, std) after the transform

    @classmethod
    def fit(cls, series: list[Series], train_lengths: list[int], *, log: bool) -> Scaling:
        stats = {
            s.key: _mean_std(_transform(s.values[:n], log))
            for s, n in zip(series, train_lengths, strict=True)
        }
        return cls(log, stats)

    def stats_for(self, series: Series) -> tuple[float, float]:
        """Saved statistics; a series unseen in training is scaled by its own history."""
        return self.stats.get(series.key) or _mean_std(_transform(series.values, self.log))

    def forward(self, series: Series) -> np.ndarray:
        mean, std = self.stats_for(series)
        return (_transform(series.values, self.log) - mean) / std

    def scale(self, values: np.ndarray, series: Series) -> np.ndarray:
        """Values of ``series`` (a forecast, say) in the scaled units the network works in."""
        mean, std = self.stats_for(series)
        return (_transform(values, self.log) - mean) / std

    def inverse(self, z: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Back to the user's units; ``mean``/``std`` broadcast against ``z``."""
        values = z * std + mean
        return np.expm1(values) if self.log else values

    def to_dict(self) -> dict:
        return {"log": self.log, "stats": {k: list(v) for k, v in self.stats.items()}}

    @classmethod
    def from_dict(cls, raw: dict) -> Scaling:
        return cls(raw["log"], {k: (float(v[0]), float(v[1])) for k, v in raw["stats"].items()})


def wants_log(series: list[Series], train_lengths: list[int], season_length: int) -> bool:
    """Log for positive series whose seasonal swings grow with their level (multiplicative):
    the correlation between the mean and the spread of each season is clearly positive."""
    if season_length < 2:
        return False
    correlations = []
    for s, n in zip(series, train_lengths, strict=True):
        values = s.values[:n]
        if np.any(values < 0):
            return False
        if n < 3 * season_length:
            continue
        seasons = values[: n // season_length * season_length].reshape(-1, season_length)
        means, spreads = seasons.mean(axis=1), seasons.std(axis=1)
        if np.std(means) > 0 and np.std(spreads) > 0:
            correlations.append(float(np.corrcoef(means, spreads)[0, 1]))
    return bool(correlations) and float(np.median(correlations)) > 0.5


@dataclass(frozen=True)
class Covariates:
    """Numeric covariates standardized; categorical ones one-hot over their common levels."""

    numeric: dict[str, tuple[float, float]]
    categorical: dict[str, list[str]]

    @classmethod
    def fit(cls, frames: list[pd.DataFrame], names: tuple[str, ...]) -> Covariates:
        if not names:
            return cls({}, {})
        joined = pd.concat(frames)
        numeric, categorical = {}, {}
        for name in names:
            raw = joined[name]
            numbers = to_numeric(raw)
            if raw.notna().any() and numbers.notna().sum() >= 0.95 * raw.notna().sum():
                numeric[name] = _mean_std(numbers.dropna().to_numpy(float))
            else:
                counts = raw.dropna().astype(str).value_counts()
                categorical[name] = counts.index[:MAX_LEVELS].tolist()
        return cls(numeric, categorical)

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(levels) for levels in self.categorical.values())

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        columns = []
        for name, (mean, std) in self.numeric.items():
            values = (to_numeric(frame[name]).to_numpy(float) - mean) / std
            columns.append(np.nan_to_num(values)[:, None])
        for name, levels in self.categorical.items():
            text = frame[name].astype(str).to_numpy()
            columns.append((text[:, None] == np.array(levels)[None, :]).astype(float))
        return np.hstack(columns) if columns else np.zeros((len(frame), 0))

    def to_dict(self) -> dict:
        return {
            "numeric": {k: list(v) for k, v in self.numeric.items()},
            "categorical": self.categorical,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> Covariates:
        return cls(
            {k: (float(v[0]), float(v[1])) for k, v in raw["numeric"].items()}, raw["categorical"]
        )


@dataclass
class Windows:
    """Model inputs and targets for a set of origins, with what it takes to undo the scaling."""

    past: np.ndarray  # (N, lookback, 1 + extra): value minus the window's level, then extras
    future: np.ndarray  # (N, horizon, extra + 1): calendar, covariates, base minus the level
    target: np.ndarray  # (N, horizon): scaled future values minus the base (nan if unknown)
    level: np.ndarray  # (N,)
    base: np.ndarray  # (N, horizon): the statistical forecast from the origin, scaled
    mean: np.ndarray  # (N,) the series' scaling
    std: np.ndarray  # (N,)
    series: np.ndarray  # (N,) index into the list of series
    origin: np.ndarray  # (N,) position of the first forecast step

    def __len__(self) -> int:
        return len(self.origin)


def cut_windows(z: np.ndarray, extra: np.ndarray, origins: np.ndarray, base: np.ndarray | None, *,
                lookback: int, horizon: int, season_length: int, stats: tuple[float, float],
                series_index: int) -> Windows:  # fmt: skip
    """Windows of one series at ``origins`` (positions of the first forecast step).

    ``z`` holds the scaled values (may be shorter than ``extra``, which also covers the future);
    ``base`` the scaled statistical forecast from each origin (N, horizon). Each window is shifted
    by its level (the mean of its last season) so the network sees shapes, not levels; it reads
    the base forecast as a known future input and learns the correction to it. Without a base
    (models saved before the hybrid network) the level is the base and no input.
    """
    past_index = origins[:, None] + np.arange(-lookback, 0)[None, :]
    future_index = origins[:, None] + np.arange(horizon)[None, :]
    past_z = z[past_index]
    level = past_z[:, -min(season_length, lookback) :].mean(axis=1)
    past = np.concatenate([(past_z - level[:, None])[..., None], extra[past_index]], axis=2)
    future = extra[future_index]
    if base is None:
        base = np.repeat(level[:, None], horizon, axis=1)
    else:
        future = np.concatenate([future, (base - level[:, None])[..., None]], axis=2)
    padded = np.concatenate([z, np.full(max(0, future_index.max(initial=0) + 1 - len(z)), np.nan)])
    n = len(origins)
    return Windows(
        past=past.astype(np.float32),
        future=future.astype(np.float32),
        target=(padded[future_index] - base).astype(np.float32),
        level=level,
        base=base,
        mean=np.full(n, stats[0]),
        std=np.full(n, stats[1]),
        series=np.full(n, series_index),
        origin=origins,
    )


def join_windows(parts: list[Windows]) -> Windows:
    """One set of windows from several series."""
    fields = Windows.__dataclass_fields__
    return Windows(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def extras(series: Series, frequency: Frequency, covariates: Covariates) -> np.ndarray:
    """Calendar features and encoded covariates per timestamp of the series."""
    return np.hstack([frequency.calendar(series.times), covariates.transform(series.covariates)])


def _transform(values: np.ndarray, log: bool) -> np.ndarray:
    return np.log1p(np.clip(values, 0, None)) if log else values


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    std = float(np.std(values))
    return float(np.mean(values)), std if std > 1e-8 else 1.0


class LazyWindows(TensorData):
    """Training windows cut at batch time from the series themselves, the way ``cut_windows``
    cuts them, so memory grows with the points, not with points x lookback (1,000 series x
    1,000 points train in well under 4 GB). Batches like ``TensorData``: ((past, future), target).
    """

    def __init__(self, values: torch.Tensor, extra: torch.Tensor, position: torch.Tensor,
                 base: torch.Tensor, *, lookback: int, horizon: int, season_length: int) -> None:  # fmt: skip
        self.values, self.extra = values, extra  # (T,), (T, F): every series end to end
        self.position, self.base = position, base  # (N,) first forecast step, (N, horizon)
        self.lookback, self.horizon = lookback, horizon
        self.season = min(season_length, lookback)

    @classmethod
    def cut(cls, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], *,
            lookback: int, horizon: int, season_length: int) -> LazyWindows:  # fmt: skip
        """From (scaled values, extras, origins, scaled base) per series."""
        starts = np.cumsum([0, *(len(z) for z, *_ in parts)])[:-1]
        return cls(
            torch.from_numpy(np.concatenate([z for z, *_ in parts]).astype(np.float32)),
            torch.from_numpy(np.concatenate([e[: len(z)] for z, e, *_ in parts]).astype(np.float32)),
            torch.from_numpy(np.concatenate([s + o for s, (_, _, o, _) in zip(starts, parts, strict=True)])),
            torch.from_numpy(np.concatenate([b for *_, b in parts]).astype(np.float32)),
            lookback=lookback, horizon=horizon, season_length=season_length,
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.position)

    @property
    def target(self) -> torch.Tensor:  # the loop reads its device
        return self.base

    def to(self, device: torch.device) -> LazyWindows:
        return LazyWindows(
            self.values.to(device), self.extra.to(device), self.position.to(device),
            self.base.to(device), lookback=self.lookback, horizon=self.horizon,
            season_length=self.season,
        )  # fmt: skip

    def batches(self, batch_size: int, *, generator: torch.Generator | None = None):
        n = len(self)
        if generator is None:
            order, rows = torch.arange(n, device=self.position.device), n
        else:
            order, rows = (
                torch.randperm(n, generator=generator).to(self.position.device),
                self._shuffled_rows(batch_size),
            )
        for start in range(0, rows, batch_size):
            yield self._window(order[start : start + batch_size])

    def _window(self, index: torch.Tensor):
        position, base = self.position[index], self.base[index]
        device = position.device
        past = position[:, None] + torch.arange(-self.lookback, 0, device=device)[None, :]
        ahead = position[:, None] + torch.arange(self.horizon, device=device)[None, :]
        past_z = self.values[past]
        level = past_z[:, -self.season :].mean(dim=1, keepdim=True)
        inputs = torch.cat([(past_z - level)[..., None], self.extra[past]], dim=2)
        future = torch.cat([self.extra[ahead], (base - level)[..., None]], dim=2)
        return (inputs, future), self.values[ahead] - base
