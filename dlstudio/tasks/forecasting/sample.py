"""A generated sample for the forecasting template: monthly sales of a few stores."""

from __future__ import annotations

import numpy as np
import pandas as pd


def store_sales(*, stores: int = 3, years: int = 8, seed: int = 7) -> pd.DataFrame:
    """Monthly sales with a trend, a December peak that grows with the level, and noise."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2017-01-01", periods=12 * years, freq="MS")
    season = 1 + 0.25 * np.sin(2 * np.pi * (months.month - 3) / 12) + 0.35 * (months.month == 12)
    rows = []
    for store in range(stores):
        level = 800 + 400 * store
        trend = level * (1 + (0.04 + 0.02 * store) * np.arange(len(months)) / 12)
        sales = trend * season * rng.normal(1, 0.04, len(months))
        rows.append(pd.DataFrame({
            "month": months.strftime("%Y-%m"),
            "store": f"store {chr(ord('A') + store)}",
            "sales": sales.round(0),
        }))  # fmt: skip
    return pd.concat(rows, ignore_index=True)
