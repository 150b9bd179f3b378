"""Regression charts: predicted against actual, residuals, error by decile."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dlstudio.charts.common import DASHED, value_tooltips

MAX_POINTS = 5_000  # a scatter of more points draws slowly and shows no more


def predicted_vs_actual(frame: pd.DataFrame) -> alt.LayerChart:
    """One point per test row, actual across and predicted up, over the dashed line y = x on
    which every prediction would lie if it were exact (at most ``MAX_POINTS`` rows, seeded).

    ``frame`` has the columns ``actual`` and ``predicted``.
    """
    points = _scatter_rows(frame)
    low = float(points[["actual", "predicted"]].min().min()) if len(points) else 0.0
    high = float(points[["actual", "predicted"]].max().max()) if len(points) else 1.0
    exact = pd.DataFrame({"actual": [low, high], "predicted": [low, high]})
    scatter = (
        alt.Chart(points)
        .mark_circle(size=16, opacity=0.5)
        .encode(
            x=alt.X("actual:Q", title="actual", scale=alt.Scale(zero=False)),
            y=alt.Y("predicted:Q", title="predicted", scale=alt.Scale(zero=False)),
            tooltip=value_tooltips("actual", "predicted"),
        )
    )
    line = alt.Chart(exact).mark_line(strokeDash=DASHED).encode(x="actual:Q", y="predicted:Q")
    return alt.layer(scatter, line).properties(height=320)


def residuals(frame: pd.DataFrame) -> alt.LayerChart:
    """Each test row's error (actual - predicted) against its prediction, around a line at
    zero: a funnel or a curve means the errors depend on the size of the prediction."""
    points = _scatter_rows(frame)
    points = points.assign(residual=points["actual"] - points["predicted"])
    scatter = (
        alt.Chart(points)
        .mark_circle(size=16, opacity=0.5)
        .encode(
            x=alt.X("predicted:Q", title="predicted", scale=alt.Scale(zero=False)),
            y=alt.Y("residual:Q", title="actual - predicted"),
            tooltip=value_tooltips("actual", "predicted", "residual"),
        )
    )
    zero = alt.Chart(pd.DataFrame({"residual": [0.0]})).mark_rule().encode(y="residual:Q")
    return alt.layer(scatter, zero).properties(height=320)


def error_by_decile(frame: pd.DataFrame) -> alt.Chart:
    """The mean absolute error of the test rows in each tenth of the actual values, lowest
    tenth first, each bar labelled by the range of actual values it holds."""
    rows = frame[["actual", "predicted"]].dropna()
    rows = rows.assign(
        error=(rows["actual"] - rows["predicted"]).abs(),
        # equal shares of the rows; fewer bars when many rows share a value (duplicates dropped)
        decile=pd.qcut(rows["actual"], 10, labels=False, duplicates="drop") + 1,
    )
    bars = (
        rows.groupby("decile")
        .agg(
            low=("actual", "min"),
            high=("actual", "max"),
            mae=("error", "mean"),
            rows=("error", "size"),
        )
        .reset_index()
    )
    bars["range"] = [
        f"{_number(lo)} – {_number(hi)}" for lo, hi in zip(bars["low"], bars["high"], strict=True)
    ]
    return (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=alt.X("range:N", title="actual value", sort=bars["range"].tolist()),
            y=alt.Y("mae:Q", title="mean absolute error"),
            tooltip=["decile:O", "range:N", *value_tooltips("mae"), "rows:Q"],
        )
        .properties(height=280)
    )


def _scatter_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with both values, at most ``MAX_POINTS`` of them (the same ones every time)."""
    rows = frame[["actual", "predicted"]].dropna()
    return rows.sample(n=MAX_POINTS, random_state=0) if len(rows) > MAX_POINTS else rows


def _number(value: float) -> str:
    """A value as an axis label: thousands separated, no more decimals than it needs."""
    if value != 0 and abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")
