"""A generated customer-churn table: the tabular template's "try a sample" dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd


def churn_table(rows: int = 1000, *, seed: int = 0) -> pd.DataFrame:
    """Customers of a subscription business and whether they left; the signal is learnable
    (short tenure, the basic plan, high bills and support calls raise churn) but noisy."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    plan = rng.choice(["basic", "plus", "premium"], rows, p=[0.5, 0.3, 0.2])
    monthly = np.round(rng.normal(60, 20, rows).clip(10, 150), 2)
    calls = rng.poisson(1.5, rows)
    contract = rng.choice(["month-to-month", "one year", "two year"], rows, p=[0.55, 0.25, 0.2])
    score = (
        1.2 * (plan == "basic")
        + 1.0 * (contract == "month-to-month")
        - tenure / 20
        + (monthly - 60) / 25
        + 0.5 * calls
        + rng.normal(0, 0.8, rows)
    )
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(rows)],
            "signup_date": (
                pd.Timestamp("2024-12-31") - pd.to_timedelta(tenure * 30, unit="D")
            ).strftime("%Y-%m-%d"),
            "tenure_months": tenure,
            "plan": plan,
            "contract": contract,
            "monthly_bill": monthly,
            "support_calls": calls,
            "paperless_billing": rng.choice(["Yes", "No"], rows),
            "churned": np.where(score > 0.8, "yes", "no"),
        }
    )
    frame.loc[rng.choice(rows, rows // 50, replace=False), "monthly_bill"] = np.nan
    return frame
