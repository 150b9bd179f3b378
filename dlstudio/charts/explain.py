"""Charts of what a model relies on."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dlstudio.charts.common import value_tooltips


def column_importance(columns: pd.DataFrame, metric: str, *, top: int = 15) -> alt.LayerChart:
    """One bar per column (the most important ``top``): how much ``metric`` worsens when the
    column is shuffled, with a rule for the spread over the shuffles."""
    data = columns.head(top).assign(
        low=lambda f: f["worsens_by"] - f["spread"], high=lambda f: f["worsens_by"] + f["spread"]
    )
    y = alt.Y("column:N", title=None, sort=None)
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("worsens_by:Q", title=f"how much the test {metric} worsens when shuffled"),
        y=y,
        tooltip=["column:N", *value_tooltips("worsens_by", "spread")],
    )  # fmt: skip
    spread = alt.Chart(data).mark_rule().encode(x="low:Q", x2="high:Q", y=y)
    return alt.layer(bars, spread).properties(height=alt.Step(24))
