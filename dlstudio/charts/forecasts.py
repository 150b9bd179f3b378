"""Forecast charts: a series with its backtest and future forecasts, errors by step."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dlstudio.charts.common import DASHED, SOLID, value_tooltips
from dlstudio.evaluation.forecast import newest_forecasts

ACTUAL, FORECAST, NAIVE, FUTURE = "actual", "forecast", "seasonal naive", "future forecast"
FORECAST_LINES = [ACTUAL, FORECAST, NAIVE, FUTURE]  # legend order; colours from the theme
LINE_DASHES = {ACTUAL: SOLID, FORECAST: SOLID, NAIVE: DASHED, FUTURE: SOLID}  # the baseline dashed


def forecast(
    tail: pd.DataFrame,
    backtest: pd.DataFrame | None,
    future: pd.DataFrame | None,
    *,
    series: str,
    origin: pd.Timestamp | None = None,
) -> alt.LayerChart:
    """One series: its history, the backtest forecast, the seasonal-naive forecast (dashed) and
    the forecast beyond the data, with their p10-p90 bands where logged.

    Frames as ``ForecastArtifacts`` holds them. Without ``origin`` the backtest is each date's
    newest forecast (one step ahead up to the last origin, then its later steps: the whole test
    period); with it, that origin's whole horizon, and a rule marks where it was made. Without
    a backtest (Predict), the history and the forecast alone.
    """
    history = tail[tail["series"] == series]
    if backtest is None:
        made = None
    else:
        made = backtest[backtest["series"] == series]
        made = newest_forecasts(made) if origin is None else made[made["origin"] == origin]
    ahead = None if future is None else future[future["series"] == series]
    lines = _stack(
        [
            _line(history, "actual", ACTUAL),
            _line(made, "forecast", FORECAST),
            _line(made, "seasonal_naive", NAIVE),
            _line(ahead, "forecast", FUTURE),
        ],
        columns=["time", "value", "line"],
    )
    bands = _stack([_band(made, FORECAST), _band(ahead, FUTURE)], columns=["time", "p10", "p90"])
    shown = [name for name in FORECAST_LINES if name in set(lines["line"])]  # legend order
    layers = [] if bands.empty else [_band_layer(bands, shown)]
    layers.append(_line_layer(lines, shown))
    if origin is not None:
        marker = pd.DataFrame({"time": [origin], "label": ["forecast made"]})
        layers.append(
            alt.Chart(marker)
            .mark_rule(strokeDash=[2, 2])
            .encode(x="time:T", tooltip=["label:N", "time:T"])
        )
    chart = alt.layer(*layers).properties(height=320)
    return chart.resolve_legend(fill="independent")  # else the bands' hidden legend hides all


def _line_layer(lines: pd.DataFrame, shown: list[str]) -> alt.Chart:
    """The named lines; colour and dash share one legend."""
    dashes = alt.Scale(domain=shown, range=[LINE_DASHES[name] for name in shown])
    return (
        alt.Chart(lines)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "line:N",
                title=None,
                scale=alt.Scale(domain=shown),
                legend=alt.Legend(symbolType="stroke"),  # a line, so the dashes show
            ),
            strokeDash=alt.StrokeDash("line:N", title=None, scale=dashes),
            tooltip=["line:N", "time:T", *value_tooltips("value")],
        )
    )


def _band_layer(bands: pd.DataFrame, shown: list[str]) -> alt.Chart:
    """The intervals, each in its line's colour (``fill`` over the same domain as the lines'
    ``color`` picks the same theme colour), without a legend of their own."""
    return (
        alt.Chart(bands)
        .mark_area(opacity=0.25)
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("p10:Q", title=None, scale=alt.Scale(zero=False)),
            y2="p90:Q",
            fill=alt.Fill("line:N", scale=alt.Scale(domain=shown), legend=None),
            tooltip=["line:N", "time:T", *value_tooltips("p10", "p90")],
        )
    )


def _stack(parts: list[pd.DataFrame | None], *, columns: list[str]) -> pd.DataFrame:
    """The parts that have rows, one below the other (an empty frame when none has)."""
    present = [part for part in parts if part is not None and not part.empty]
    return pd.concat(present, ignore_index=True) if present else pd.DataFrame(columns=columns)


def _line(frame: pd.DataFrame | None, column: str, name: str) -> pd.DataFrame | None:
    """One named line of the forecast chart (rows without a value left out)."""
    if frame is None or column not in frame.columns:
        return None
    points = frame[["time", column]].rename(columns={column: "value"}).dropna()
    return points.assign(line=name)


def _band(frame: pd.DataFrame | None, name: str) -> pd.DataFrame | None:
    """The p10-p90 interval of a forecast line, when it was logged."""
    if frame is None or not {"forecast_p10", "forecast_p90"} <= set(frame.columns):
        return None
    columns = {"forecast_p10": "p10", "forecast_p90": "p90"}
    band = frame[["time", *columns]].rename(columns=columns).dropna()
    return band.assign(line=name)


def horizon_errors(rows: list[dict], metric: str) -> alt.Chart:
    """One error metric by forecast step, one line per model (ours and the baselines).

    ``rows`` as in ``horizon_errors.json``: step, model and one value per metric.
    """
    data = pd.DataFrame(rows)[["step", "model", metric]].rename(columns={metric: "value"})
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="steps ahead", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("model:N", title="model"),
            tooltip=["model:N", "step:Q", alt.Tooltip("value:Q", title=metric, format=".4f")],
        )
        .properties(height=280)
    )
