"""Altair chart builders for the dashboard: pure functions from plain data to a chart.

No colours are hard-coded, so the charts follow Streamlit's light and dark themes.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dlstudio.evaluation.forecast import newest_forecasts

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


ACTUAL, FORECAST, NAIVE, FUTURE = "actual", "forecast", "seasonal naive", "future forecast"
FORECAST_LINES = [ACTUAL, FORECAST, NAIVE, FUTURE]  # legend order; colours from the theme
SOLID, DASHED = [1, 0], [6, 4]
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
            tooltip=["line:N", "time:T", *_values("value")],
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
            tooltip=["line:N", "time:T", *_values("p10", "p90")],
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


def _values(*fields: str) -> list[alt.Tooltip]:
    return [alt.Tooltip(f"{name}:Q", format=",.4~f") for name in fields]


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
            tooltip=_values("actual", "predicted"),
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
            tooltip=_values("actual", "predicted", "residual"),
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
            tooltip=["decile:O", "range:N", *_values("mae"), "rows:Q"],
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
            tooltip=["trial:Q", "state:N", *_values("value")],
        )
    )
    line = (
        alt.Chart(best)
        .mark_line(interpolate="step-after", color="gray")
        .encode(
            x="trial:Q", y=alt.Y("best:Q", title=objective), tooltip=["trial:Q", *_values("best")]
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
