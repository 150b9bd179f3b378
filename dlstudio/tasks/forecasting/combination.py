"""The registered forecaster: the hybrid network and three statistical models, weighted by their
error on the inner backtest (origins in the training part, never the test region).

Weights come in two stages, because the statistical models can be scored from many origins and
the network only from the few at the end of the training part it never trained on:

1. the statistical models are weighted among themselves by their MASE from up to
   ``INNER_ORIGINS`` origins per series (all of the training part after two seasons);
2. the network and that statistical blend are weighted by their MASE on the network's
   validation origins.

On short series a handful of origins is a noisy judge, and equal-ish weights then drag the best
model down (a 15-series study in bench/RESULTS.md): the weights are sharp (~ MASE**-SHARPNESS),
close to picking the best while hedging near-ties, and the network's validation error carries
a handicap for the optimism of early stopping on the same origins. The statistical members are refitted on the
history they are given, at every backtest origin and at Predict, so they follow the newest data as
the baselines do. The 80% interval is conformal: the spread of the inner-backtest errors, per
series scale, growing with the square root of the step.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlstudio.evaluation import forecast as fc

NETWORK = "network"
Forecaster = Callable[
    [np.ndarray, int, int], np.ndarray
]  # (history, horizon, season) -> (horizon,)
STATISTICAL: dict[str, tuple[str, Forecaster]] = {
    "ets": ("Holt-Winters", fc.holt_winters),
    "theta": ("Theta", fc.theta),
    "snaive": ("seasonal naive", fc.seasonal_naive),
}
SHARPNESS = 16  # statistical weights ~ MASE**-16: 5% more error, under half the weight
NETWORK_SHARPNESS = 4  # network vs the statistical blend, judged on fewer origins: softer
# The validation origins that weigh the network also chose its epoch (early stopping), so its
# error there is optimistic: on the few origins of a short series it counts 1.5x against the
# statistical blend, less as the origins grow (the optimism of a choice shrinks like 1/sqrt(n)).
NETWORK_HANDICAP = 0.5
FEW_ORIGINS = 6
INNER_ORIGINS = 40  # most inner-backtest origins per series for the statistical models
INNER_BUDGET = 600  # ... and over all series (each origin costs three model fits)
PARALLEL_FROM = 200  # origins from which the model fits are spread over the CPU cores


def statistical_forecasts(
    histories: list[np.ndarray], series: np.ndarray, origins: np.ndarray, horizon: int,
    season_length: int, *, only: tuple[str, ...] = tuple(STATISTICAL),
) -> dict[str, np.ndarray]:  # fmt: skip
    """Each statistical member (or those ``only``) refitted at every (series, origin): key ->
    (N, horizon). Many origins are spread over the CPU cores (a process each)."""
    jobs = [
        (histories[s][:o], horizon, season_length, only)
        for s, o in zip(series, origins, strict=True)
    ]
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_FROM or workers < 2:
        rows = [_fit_all(*job) for job in jobs]
    else:
        from joblib import Parallel, delayed

        chunks = [jobs[k :: workers * 4] for k in range(workers * 4)]
        done = Parallel(n_jobs=workers)(delayed(_fit_chunk)(chunk) for chunk in chunks)
        rows = [None] * len(jobs)
        for k, chunk in enumerate(done):
            rows[k :: workers * 4] = chunk
    return {key: np.array([row[key] for row in rows]).reshape(len(jobs), horizon) for key in only}


def _fit_all(history: np.ndarray, horizon: int, season_length: int,
             only: tuple[str, ...]) -> dict[str, np.ndarray]:  # fmt: skip
    return {key: STATISTICAL[key][1](history, horizon, season_length) for key in only}


def _fit_chunk(jobs: list[tuple]) -> list[dict[str, np.ndarray]]:
    return [_fit_all(*job) for job in jobs]


def member_name(key: str, network: str = "RNN") -> str:
    return network if key == NETWORK else STATISTICAL[key][0]


def inner_origins(train_lengths: list[int], val_origins: list[np.ndarray], horizon: int,
                  season_length: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(series index, origin) of the statistical models' inner backtest: every origin of each
    training part from two seasons on (a third of it at least), thinned evenly to the budget,
    plus the network's validation origins."""
    keep = max(2, min(INNER_ORIGINS, INNER_BUDGET // max(len(train_lengths), 1)))
    index, origins = [], []
    for i, (n, val) in enumerate(zip(train_lengths, val_origins, strict=True)):
        last = n - horizon
        first = min(max(2 * season_length + 2, n // 3), last)
        every = np.arange(first, last + 1)
        picked = every[
            np.unique(np.linspace(0, len(every) - 1, min(keep, len(every))).round().astype(int))
        ]
        chosen = np.union1d(picked, val)
        index.append(np.full(len(chosen), i))
        origins.append(chosen)
    return np.concatenate(index).astype(int), np.concatenate(origins).astype(int)


def handicap(origins: int) -> float:
    """How much the network's validation error counts: 1.5 on FEW_ORIGINS origins or fewer,
    down towards 1 as they grow."""
    return 1 + NETWORK_HANDICAP * min(1.0, (FEW_ORIGINS / max(origins, 1)) ** 0.5)


def sharp_weights(errors: dict[str, float], sharpness: float) -> dict[str, float]:
    """Weights summing to one, ~ error**-sharpness."""
    best = max(min(errors.values()), 1e-9)
    raw = {key: (max(e, 1e-9) / best) ** -sharpness for key, e in errors.items()}
    total = sum(raw.values())
    return {key: value / total for key, value in raw.items()}


@dataclass(frozen=True)
class Inner:
    """Actual values, forecasts (key -> array) and MASE scales at a set of origins."""

    actual: np.ndarray  # (N, horizon)
    forecasts: dict[str, np.ndarray]  # (N, horizon) each
    scale: np.ndarray  # (N,)

    def mase(self, key: str) -> float:
        return mase(self.actual, self.forecasts[key], self.scale)


@dataclass(frozen=True)
class Combination:
    """Member weights (summing to one) and the conformal interval of the weighted forecast."""

    weights: dict[str, float]
    low: float  # 10% quantile of the inner-backtest error / (scale * sqrt(step))
    high: float  # 90% quantile of the same

    @classmethod
    def fit(cls, statistical: Inner, validation: Inner) -> Combination:
        """``statistical``: the statistical members on their inner backtest; ``validation``: all
        members, the network included, on the network's validation origins."""
        among = sharp_weights({key: statistical.mase(key) for key in STATISTICAL}, SHARPNESS)
        blend = combine(among, validation.forecasts)
        network = handicap(len(validation.actual)) * validation.mase(NETWORK)
        share = sharp_weights(
            {NETWORK: network, "blend": mase(validation.actual, blend, validation.scale)},
            NETWORK_SHARPNESS,
        )[NETWORK]
        weights = {NETWORK: share, **{key: (1 - share) * w for key, w in among.items()}}
        point = combine(weights, validation.forecasts)
        residuals = [
            (validation.actual - point) / _spread(validation.scale, point.shape[1]),
            (statistical.actual - combine(among, statistical.forecasts))
            / _spread(statistical.scale, point.shape[1]),
        ]
        pooled = np.concatenate([r.ravel() for r in residuals])
        low, high = np.quantile(pooled[np.isfinite(pooled)], [0.1, 0.9])
        return cls(weights, float(low), float(high))

    def point(self, forecasts: dict[str, np.ndarray]) -> np.ndarray:
        return combine(self.weights, forecasts)

    def interval(self, point: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p10 and p90 around ``point`` (N, horizon) for series scales ``scale`` (N,)."""
        spread = _spread(scale, point.shape[1])
        return point + self.low * spread, point + self.high * spread

    def to_dict(self) -> dict:
        return {"weights": self.weights, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, raw: dict) -> Combination:
        return cls(
            {k: float(v) for k, v in raw["weights"].items()}, float(raw["low"]), float(raw["high"])
        )


def combine(weights: dict[str, float], forecasts: dict[str, np.ndarray]) -> np.ndarray:
    return sum(weight * forecasts[key] for key, weight in weights.items())


def mase(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> float:
    """Mean absolute error over the series' scale, for (N, horizon) arrays and (N,) scales."""
    return float(np.mean(np.abs(forecast - actual) / scale[:, None]))


def _spread(scale: np.ndarray, horizon: int) -> np.ndarray:
    return scale[:, None] * np.sqrt(np.arange(1, horizon + 1))[None, :]
