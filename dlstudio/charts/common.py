"""What the chart modules share."""

from __future__ import annotations

import altair as alt

SOLID, DASHED = [1, 0], [6, 4]  # stroke dashes: a line, and a dashed reference line


def value_tooltips(*fields: str) -> list[alt.Tooltip]:
    return [alt.Tooltip(f"{name}:Q", format=",.4~f") for name in fields]
