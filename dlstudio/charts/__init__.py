"""Altair chart builders for the dashboard: pure functions from plain data to a chart.

No colours are hard-coded, so the charts follow Streamlit's light and dark themes.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dlstudio.charts.explain import column_importance, cost_curve, lag_importance, reliability
from dlstudio.charts.forecasts import forecast, horizon_errors
from dlstudio.charts.regression import error_by_decile, predicted_vs_actual, residuals
from dlstudio.charts.search import importance_bars, search_progress

__all__ = [
    "column_importance", "confusion_matrix", "cost_curve", "error_by_decile", "forecast", "horizon_errors",
    "importance_bars", "lag_importance", "learning_curves", "metric_bars", "predicted_vs_actual", "reliability", "residuals",
    "run_curves", "search_progress", "target_balance",
]  # fmt: skip

LOSS_PANEL, SCORE_PANEL = "loss", "validation scores"


def learning_curves(history: pd.DataFrame) -> alt.Chart:
    """Losses and validation scores by epoch, side by side; one line per metric.

    ``history`` has the columns of ``run_history``: epoch, metric, value.
    """
    data = history.assign(panel=[_panel(m, history) for m in history["metric"]])
    panels = [LOSS_PANEL, SCORE_PANEL, *sorted(set(data["panel"]) - {LOSS_PANEL, SCORE_PANEL})]
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color("metric:N", title="metric"),
            column=alt.Column("panel:N", title=None, sort=panels),
            tooltip=["metric:N", "epoch:Q", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=320, height=240)
        .resolve_scale(y="independent")
    )


def _panel(metric: str, history: pd.DataFrame) -> str:
    """Losses together; scores between 0 and 1 (F1, accuracy, MASE near 1) together; a metric in
    the data's units (MAE ~200) in a panel of its own, where its scale does not flatten the
    others."""
    if metric.endswith("loss"):
        return LOSS_PANEL
    values = history.loc[history["metric"] == metric, "value"].abs()
    return SCORE_PANEL if values.max() <= 2 else metric


def run_curves(history: pd.DataFrame, metric: str) -> alt.Chart:
    """One metric by epoch for several runs, one colour per run (columns run, epoch, metric,
    value as from ``runs_history``)."""
    data = history[history["metric"] == metric]
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run"),
            tooltip=["run:N", "epoch:Q", alt.Tooltip("value:Q", title=metric, format=".4f")],
        )
        .properties(height=300)
    )


TEXT_COLOR = {False: "#31333f", True: "#fafafa"}  # Streamlit's text colour, light / dark theme


def confusion_matrix(
    labels: list[str], matrix: list[list[int]], *, normalize: bool, dark: bool = False
) -> alt.Chart:
    """Heatmap, rows the true class and columns the predicted one, the number in each cell.

    With ``normalize`` each cell holds its share of the true class (every row sums to 1), which
    makes rare classes readable. Intensity is the mark's opacity over the page background, and
    the cell text takes the theme's text colour (``dark``: Vega itself would draw it black,
    unreadable on a dark page).
    """
    cells = pd.DataFrame(
        [
            {"true": str(true), "predicted": str(predicted), "count": int(count)}
            for true, row in zip(labels, matrix, strict=True)
            for predicted, count in zip(labels, row, strict=True)
        ]
    )
    row_totals = cells.groupby("true", sort=False)["count"].transform("sum")
    cells["share"] = (cells["count"] / row_totals.where(row_totals > 0)).fillna(0.0)
    field, number = ("share", ".0%") if normalize else ("count", "d")
    order = [str(label) for label in labels]
    base = alt.Chart(cells).encode(
        x=alt.X("predicted:N", title="predicted", sort=order),
        y=alt.Y("true:N", title="true", sort=order),
        tooltip=["true:N", "predicted:N", "count:Q", alt.Tooltip("share:Q", format=".1%")],
    )
    heat = base.mark_rect().encode(
        opacity=alt.Opacity(
            f"{field}:Q", title=field, scale=alt.Scale(range=[0.08, 0.65]), legend=None
        )
    )
    text = base.mark_text(fontWeight="bold", color=TEXT_COLOR[dark]).encode(
        text=alt.Text(f"{field}:Q", format=number)
    )
    side = max(180, 48 * len(labels))
    return (heat + text).properties(width=side, height=side)


def metric_bars(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """One horizontal bar per run (column ``run``) for ``metric``; runs without it are left out."""
    data = frame[["run", metric]].dropna().rename(columns={metric: "value"})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=metric),
            y=alt.Y("run:N", title=None, sort="-x"),
            tooltip=["run:N", alt.Tooltip("value:Q", title=metric, format=".4f")],
        )
        .properties(height=alt.Step(28))
    )


def target_balance(counts: dict[str, int], *, unit: str = "rows") -> alt.Chart:
    """Rows (or ``unit``: "images") per class of the target, largest first, with each class's
    share in the tooltip."""
    total = sum(counts.values()) or 1
    data = pd.DataFrame(
        {
            "class": [str(label) for label in counts],
            unit: [int(n) for n in counts.values()],
            "share": [n / total for n in counts.values()],
        }
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{unit}:Q", title=unit),
            y=alt.Y("class:N", title=None, sort="-x"),
            tooltip=["class:N", f"{unit}:Q", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=alt.Step(28))
    )
