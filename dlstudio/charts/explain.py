"""Charts of what a model relies on."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dlstudio.charts.common import DASHED, value_tooltips


def column_importance(
    columns: pd.DataFrame, metric: str, *, top: int = 15, where: str = "test"
) -> alt.LayerChart:
    """One bar per column (the most important ``top``): how much ``metric`` (on the ``where``
    rows) worsens when the column is shuffled, with a rule for the spread over the shuffles."""
    data = columns.head(top).assign(
        low=lambda f: f["worsens_by"] - f["spread"], high=lambda f: f["worsens_by"] + f["spread"]
    )
    y = alt.Y("column:N", title=None, sort=None)
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("worsens_by:Q", title=f"how much the {where} {metric} worsens when shuffled"),
        y=y,
        tooltip=["column:N", *value_tooltips("worsens_by", "spread")],
    )  # fmt: skip
    spread = alt.Chart(data).mark_rule().encode(x="low:Q", x2="high:Q", y=y)
    return alt.layer(bars, spread).properties(height=alt.Step(24))


def lag_importance(lags: pd.DataFrame, metric: str) -> alt.LayerChart:
    """One bar per lag (1: the last value before the forecast starts): how much ``metric``
    worsens when that one past value is shuffled, with a rule for the spread."""
    data = lags.assign(
        low=lambda f: f["worsens_by"] - f["spread"], high=lambda f: f["worsens_by"] + f["spread"]
    )
    x = alt.X("lag:O", title="steps before the forecast starts")
    bars = alt.Chart(data).mark_bar().encode(
        x=x, y=alt.Y("worsens_by:Q", title=f"{metric} worsens by"),
        tooltip=["lag:O", *value_tooltips("worsens_by", "spread")],
    )  # fmt: skip
    spread = alt.Chart(data).mark_rule().encode(x=x, y="low:Q", y2="high:Q")
    return alt.layer(bars, spread).properties(height=220)


def reliability(bins: list[dict], positive_class: str) -> alt.LayerChart:
    """Mean predicted probability against the observed share per bin; the dashed diagonal is a
    perfectly calibrated model. Points are sized by their rows."""
    data = pd.DataFrame(bins)
    x = alt.X("predicted:Q", title=f"predicted chance of {positive_class}",
              scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))  # fmt: skip
    y = alt.Y("observed:Q", title=f"share that was {positive_class}",
              scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))  # fmt: skip
    diagonal = alt.Chart(pd.DataFrame({"predicted": [0, 1], "observed": [0, 1]})).mark_line(
        strokeDash=DASHED, opacity=0.5
    ).encode(x=x, y=y)  # fmt: skip
    tooltip = [alt.Tooltip("predicted:Q", format=".0%"), alt.Tooltip("observed:Q", format=".0%"),
               "rows:Q"]  # fmt: skip
    line = alt.Chart(data).mark_line().encode(x=x, y=y, tooltip=tooltip)
    points = alt.Chart(data).mark_circle(opacity=1).encode(
        x=x, y=y, size=alt.Size("rows:Q", title="test rows"), tooltip=tooltip
    )  # fmt: skip
    return alt.layer(diagonal, line, points).properties(height=300)


def cost_curve(curve: pd.DataFrame, *, current: float, best: float) -> alt.VConcatChart:
    """Cost per 1,000 rows (top) and precision and recall (below) across thresholds on the
    validation rows, each with a rule at the model's threshold and a dashed one at the
    cheapest."""
    x = alt.X("threshold:Q", scale=alt.Scale(domain=[0, 1]))
    marks = pd.DataFrame(
        {"threshold": [current, best], "rule": ["model's threshold", "least cost"]}
    )
    rules = alt.Chart(marks).mark_rule().encode(
        x=x, strokeDash=alt.StrokeDash("rule:N", title=None), tooltip=["rule:N", "threshold:Q"]
    )  # fmt: skip
    cost = alt.Chart(curve).mark_line().encode(
        x=x, y=alt.Y("cost_per_1000:Q", title="cost per 1,000 rows"),
        tooltip=["threshold:Q", *value_tooltips("cost_per_1000")],
    )  # fmt: skip
    rates = curve.melt("threshold", ["precision", "recall"], var_name="measure")
    quality = alt.Chart(rates).mark_line().encode(
        x=x, y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%")),
        color=alt.Color("measure:N", title=None), tooltip=["threshold:Q", "measure:N", "value:Q"],
    )  # fmt: skip
    return alt.vconcat(
        alt.layer(cost, rules).properties(height=200),
        alt.layer(quality, rules).properties(height=160),
    )
