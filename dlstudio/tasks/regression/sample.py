"""The generated "try a sample" table of the regression template: house sales and their prices."""

from __future__ import annotations

import numpy as np
import pandas as pd


def house_prices(rows: int = 1000, seed: int = 7) -> pd.DataFrame:
    """Sales with area, rooms, neighbourhood, age, garage and condition; the price grows with
    area and falls with age, by neighbourhood, multiplicatively (so it is right-skewed), with
    noise and a few blank cells, as in a real export."""
    rng = np.random.default_rng(seed)
    neighbourhoods = np.array(["Riverside", "Old Town", "Hillcrest", "Harbour", "Northfield"])
    premium = np.array([1.35, 1.15, 1.0, 1.5, 0.85])
    hood = rng.integers(0, len(neighbourhoods), rows)
    area = np.round(rng.gamma(3.0, 30.0, rows) + 25)
    bedrooms = np.clip(np.round(area / 35 + rng.normal(0, 0.7, rows)), 1, 7).astype(int)
    year_built = rng.integers(1920, 2024, rows)
    garage = rng.random(rows) < 0.55
    condition = rng.choice(["poor", "fair", "good", "excellent"], rows, p=[0.1, 0.3, 0.45, 0.15])
    condition_factor = pd.Series(condition).map(
        {"poor": 0.8, "fair": 0.93, "good": 1.0, "excellent": 1.12}
    )
    age = 2025 - year_built
    price = (
        2600 * area**0.95 * premium[hood] * condition_factor.to_numpy()
        * (1 - 0.0025 * np.minimum(age, 80)) * np.where(garage, 1.06, 1.0)
        * np.exp(rng.normal(0, 0.12, rows))
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "area_sqm": area,
            "bedrooms": bedrooms,
            "neighbourhood": neighbourhoods[hood],
            "year_built": year_built,
            "garage": np.where(garage, "yes", "no"),
            "condition": condition,
            "price": np.round(price, -2),
        }
    )
    blank = rng.random(rows) < 0.02
    frame.loc[blank, "year_built"] = np.nan
    return frame
