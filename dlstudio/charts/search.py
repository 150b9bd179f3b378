"""A search's charts: its trials with the best so far, and which settings mattered."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dlstudio.charts.common import value_tooltips


def search_progress(trials: pd.DataFrame, best: pd.DataFrame, objective: str) -> alt.LayerChart:
    """A search's trials: each trial's best validation value (a point, by how it ended) and the
    best value found so far (a step line), by trial number."""
    scored = trials.dropna(subset=["value"])
    points = (
        alt.Chart(scored)
        .mark_point(filled=True, size=60)
        .encode(
            x=alt.X("trial:Q", title="trial", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=objective, scale=alt.Scale(zero=False)),
            color=alt.Color("state:N", title=None),
            tooltip=["trial:Q", "state:N", *value_tooltips("value")],
        )
    )
    line = (
        alt.Chart(best)
        .mark_line(interpolate="step-after", color="gray")
        .encode(
            x="trial:Q",
            y=alt.Y("best:Q", title=objective),
            tooltip=["trial:Q", *value_tooltips("best")],
        )
    )
    return alt.layer(line, points).properties(height=260)


def importance_bars(importance: dict[str, float]) -> alt.Chart:
    """One horizontal bar per searched field: its share of the variation in the scores."""
    data = pd.DataFrame({"field": list(importance), "share": list(importance.values())})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="share of the variation in validation scores",
                    axis=alt.Axis(format="%")),
            y=alt.Y("field:N", title=None, sort="-x"),
            tooltip=["field:N", alt.Tooltip("share:Q", format=".0%")],
        )
        .properties(height=alt.Step(28))
    )  # fmt: skip
