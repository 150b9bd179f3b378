"""The statistical base of the hybrid network, in the spirit of ES-RNN (Smyl 2020).

Holt-Winters (``fc.holt_winters``'s settings) is fitted once on the start of a series; its level,
trend and season are then filtered along the whole series with those parameters, so its forecast
from every training origin costs one pass instead of one fit per origin. The network learns what
this forecast misses. Validation, backtest and Predict use the forecast refitted at the origin
(the ETS member of the combination), as a user's model would on new data.
"""

from __future__ import annotations

import warnings

import numpy as np

from dlstudio.evaluation import forecast as fc


def base_forecasts(values: np.ndarray, n_fit: int, horizon: int, season_length: int) -> np.ndarray:
    """(len(values) + 1, horizon): row ``o`` is the forecast made knowing ``values[:o]``, by a
    Holt-Winters whose parameters were fitted on ``values[:n_fit]``. Rows the filter cannot give
    (too little history, a failed fit, a non-finite state) hold the seasonal naive forecast."""
    n = len(values)
    naive = np.array(
        [fc.seasonal_naive(values[: max(o, 1)], horizon, season_length) for o in range(n + 1)]
    )
    paths = _filtered(values, n_fit, horizon, season_length)
    if paths is None:
        return naive
    good = np.all(np.isfinite(paths), axis=1)
    good[: min(n, 2 * season_length if season_length > 1 else 2)] = False
    return np.where(good[:, None], paths, naive)


def _filtered(
    values: np.ndarray, n_fit: int, horizon: int, season_length: int
) -> np.ndarray | None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    head = values[:n_fit].astype(float)
    seasonal = season_length > 1 and len(head) >= 2 * season_length
    multiplicative = bool(np.all(values > 0))
    trend = "add" if len(head) >= 10 else None
    settings = {
        "trend": trend,
        "damped_trend": trend is not None,
        "seasonal": ("mul" if multiplicative else "add") if seasonal else None,
        "seasonal_periods": season_length if seasonal else None,
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = ExponentialSmoothing(head, **settings, initialization_method="estimated").fit()
            p = fitted.params
            known = {
                "initialization_method": "known",
                "initial_level": p["initial_level"],
                **({"initial_trend": p["initial_trend"]} if trend else {}),
                **({"initial_seasonal": p["initial_seasons"]} if seasonal else {}),
            }
            fixed = {
                "smoothing_level": p["smoothing_level"],
                **({"smoothing_trend": p["smoothing_trend"]} if trend else {}),
                **({"damping_trend": p["damping_trend"]} if trend else {}),
                **({"smoothing_seasonal": p["smoothing_seasonal"]} if seasonal else {}),
            }
            path = ExponentialSmoothing(values.astype(float), **settings, **known).fit(
                **fixed, optimized=False
            )
    except (ValueError, np.linalg.LinAlgError, KeyError):
        return None
    steps = np.arange(1, horizon + 1)
    phi = float(p["damping_trend"]) if trend else 1.0
    damped = np.cumsum(phi**steps) if trend else np.zeros(horizon)
    level = np.asarray(path.level, dtype=float)
    slope = np.asarray(path.trend, dtype=float) if trend else np.zeros(len(values))
    out = np.full((len(values) + 1, horizon), np.nan)
    last = np.arange(1, len(values) + 1) - 1  # the state after the last known value
    point = level[last, None] + damped[None, :] * slope[last, None]
    if seasonal:
        season = np.asarray(path.season, dtype=float)
        lag = (
            last[:, None]
            + steps[None, :]
            - season_length * ((steps[None, :] - 1) // season_length + 1)
        )
        factor = np.where(lag >= 0, season[np.clip(lag, 0, None)], np.nan)
        point = point * factor if multiplicative else point + factor
    out[1:] = point
    return out
