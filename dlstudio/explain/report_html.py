"""The parts of the model report (``report.html``): escaped HTML pieces, and the Results page's
charts drawn as inline SVG with matplotlib, so the file opens offline and loads nothing.

Written by hand: the report is a few tables and six charts. A template engine would add little,
and rendering the dashboard's altair charts would need vl-convert (a wheel of tens of MB that
bundles a JavaScript engine) where matplotlib, already a dependency, draws the same figures; the
confusion matrix, curves and forecast reuse the PNG figures each run logs (``tracking.figures``). Every string that comes from a user (dataset,
column, class and model names, file names, the spec) goes through :func:`esc` or matplotlib's
own SVG escaping.
"""

from __future__ import annotations

import base64
import html
import io
import numbers
import re
from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dlstudio.evaluation.forecast import coverage_verdict
from dlstudio.tracking import figures
from dlstudio.tracking.queries import RunDetails
from dlstudio.views.model_choice import candidates_table, metric_name

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { margin-bottom: 0.1em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em;
margin-top: 1.8em; } .muted { color: #59636e; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { padding: 0.7em 1em; border-radius: 6px; margin: 1em 0; }
.good { background: #dafbe1; } .bad { background: #fff8c5; }
.error { color: #d1242f; } .warning { color: #9a6700; }
figure { margin: 0.8em 0; } figure svg, figure img { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 13px; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
"""
_SVG_START = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)  # the XML prolog and DOCTYPE (a URL)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)  # RDF with URLs


def esc(value: object) -> str:
    """Any value as HTML text (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def page(title: str, body: Iterable[str]) -> str:
    """A whole HTML document: its style inline, nothing loaded from elsewhere."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def section(title: str, *parts: str) -> str:
    """An ``<h2>`` and what follows it; empty parts are left out."""
    return "\n".join([f"<section>\n<h2>{esc(title)}</h2>", *(p for p in parts if p), "</section>"])


def paragraph(text: str, *, kind: str | None = None) -> str:
    """One escaped paragraph; ``kind`` is a CSS class (muted, verdict good, ...)."""
    return f'<p class="{esc(kind)}">{esc(text)}</p>' if kind else f"<p>{esc(text)}</p>"


def bullets(lines: Iterable[str]) -> str:
    """An escaped list of sentences."""
    return "<ul>\n" + "".join(f"<li>{esc(line)}</li>\n" for line in lines) + "</ul>"


def facts(pairs: Iterable[tuple[str, object]]) -> str:
    """A two-column table of labels and values, skipping values that are None."""
    rows = "".join(
        f"<tr><th>{esc(label)}</th><td>{esc(value)}</td></tr>\n"
        for label, value in pairs
        if value is not None
    )
    return f"<table>\n{rows}</table>"


def table(frame: pd.DataFrame, *, digits: int = 4, max_rows: int = 50) -> str:
    """A table of the first ``max_rows`` rows; fractions with ``digits`` decimals, every cell
    and header escaped."""
    head = "".join(f"<th>{esc(column)}</th>" for column in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(value, digits) for value in row) + "</tr>\n"
        for row in frame.head(max_rows).itertuples(index=False)
    )
    more = len(frame) - max_rows
    note = paragraph(f"... and {more:,} more rows.", kind="muted") if more > 0 else ""
    return f"<table>\n<tr>{head}</tr>\n{body}</table>{note}"


def number(value: float | None, digits: int = 4) -> str:
    """A score as the report prints it everywhere (so a reader can match the figures)."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:,.{digits}f}"


def _cell(value: object, digits: int) -> str:
    """A table cell: a tick for True, numbers right-aligned (numpy's too), the rest as text."""
    if isinstance(value, bool | np.bool_) or value is None:
        return f"<td>{'yes' if value else ''}</td>"
    if isinstance(value, numbers.Integral):
        return f'<td class="number">{int(value):,}</td>'
    if isinstance(value, numbers.Real):
        return f'<td class="number">{number(float(value), digits)}</td>'
    return f"<td>{esc(value)}</td>"


def preformatted(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


CURVES_PNG, CONFUSION_PNG = "learning_curves.png", "confusion_matrix.png"
LOGGED_FIGURES = (CURVES_PNG, CONFUSION_PNG)  # logged by every run that draws them


def svg(figure: Figure, caption: str = "") -> str:
    """A matplotlib figure as inline SVG (text kept as text, so it stays small and searchable),
    with an escaped caption; the figure is closed."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": str(id(figure))}):
        figure.savefig(buffer, format="svg")  # laid out by the figure (tight_layout)
    plt.close(figure)
    drawing = _SVG_METADATA.sub("", _SVG_START.sub("", buffer.getvalue(), count=1))
    note = f'<figcaption class="muted">{esc(caption)}</figcaption>' if caption else ""
    return f"<figure>\n{drawing}{note}</figure>"


def png(data: bytes, alt: str) -> str:
    """A PNG inside the file itself (a data: URI), never a link."""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{encoded}"></figure>'


def plain(text: object) -> str:
    """A user's text for a matplotlib label: a ``$`` would start mathtext there."""
    return str(text).replace("$", r"\$")


def importance_figure(columns: pd.DataFrame, metric: str, *, top: int = 15) -> Figure:
    """Bars of how much ``metric`` worsens when each column is shuffled (the most important
    ``top``, the first on top), with the spread over the shuffles as error bars."""
    shown = columns.head(top).iloc[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.2))
    axes.barh([plain(c) for c in shown["column"]], shown["worsens_by"], xerr=shown["spread"],
              color="tab:blue", ecolor="gray")  # fmt: skip
    axes.axvline(0, color="black", lw=0.8)
    axes.set_xlabel(f"how much the test {plain(metric)} worsens when the column is shuffled")
    figure.tight_layout()
    return figure


def reliability_figure(bins: list[dict], positive_class: str) -> Figure:
    """Mean predicted probability against the observed share per bin; on the dashed diagonal
    the model's probabilities come true as often as they say."""
    data = pd.DataFrame(bins)
    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    axes.plot([0, 1], [0, 1], ls="--", color="gray", lw=1)
    axes.plot(data["predicted"], data["observed"], color="tab:blue", lw=1)
    axes.scatter(data["predicted"], data["observed"], s=20 + 200 * data["rows"] / data["rows"].max(),
                 color="tab:blue", zorder=3)  # fmt: skip
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel=f"predicted chance of {plain(positive_class)}",
             ylabel=f"share that was {plain(positive_class)}")  # fmt: skip
    figure.tight_layout()
    return figure


def predicted_figure(predictions: pd.DataFrame) -> Figure:
    """A regression's prediction against the actual value of each test row; exact on the
    dashed line."""
    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    axes.scatter(predictions["actual"], predictions["predicted"], s=10, alpha=0.6)
    low = min(predictions["actual"].min(), predictions["predicted"].min())
    high = max(predictions["actual"].max(), predictions["predicted"].max())
    axes.plot([low, high], [low, high], ls="--", color="gray", lw=1)
    axes.set(xlabel="actual", ylabel="predicted")
    figure.tight_layout()
    return figure


def result_sections(details: RunDetails, logged: dict[str, bytes]) -> list[str]:
    """The Results page's charts and tables, for what this run logged (each template logs its
    own artifacts, so no section asks which template it was); ``logged``: the run's own PNG
    figures by name, embedded rather than drawn again."""
    sections = [
        _candidates(details),
        _classes(details, logged.get(CONFUSION_PNG)),
        _predictions(details),
        _forecast(details),
        _mistakes(details),
        _importance(details),
        _calibration(details.calibration),
    ]
    return [part for part in sections if part]


def curves_section(history: pd.DataFrame, logged_png: bytes | None = None) -> str:
    """Losses and validation scores by epoch (``history``: epoch, metric, value), or the run's
    own ``learning_curves.png`` when given."""
    if logged_png is not None:
        return section("Learning curves", png(logged_png, "Losses and validation scores by epoch."))
    if history.empty:
        return ""
    wide = history.pivot_table(index="epoch", columns="metric", values="value").reset_index()
    drawing = figures.learning_curves(wide.to_dict(orient="records"))
    return section("Learning curves", svg(drawing, "Losses and validation scores by epoch."))


def _candidates(details: RunDetails) -> str:
    if not details.candidates:
        return ""
    note = "Each model tried on the same rows; the best on the validation rows is registered."
    return section(
        "Models compared",
        paragraph(note, kind="muted"),
        table(candidates_table(details.candidates)),
    )


def _classes(details: RunDetails, logged_png: bytes | None = None) -> str:
    if not details.labels:
        return ""
    per_class = "" if details.per_class is None else table(details.per_class)
    caption = "Test rows: the true class down, the predicted class across."
    if logged_png is not None:
        return section("Confusion matrix and scores per class", png(logged_png, caption), per_class)
    labels = [plain(label) for label in details.labels]
    drawing = figures.confusion_matrix({"labels": labels, "matrix": details.confusion})
    return section("Confusion matrix and scores per class", svg(drawing, caption), per_class)


def _predictions(details: RunDetails) -> str:
    if details.test_predictions is None:
        return ""
    drawing = predicted_figure(details.test_predictions)
    caption = "Each point is a test row; points on the dashed line are exact."
    return section("Predictions on the test rows", svg(drawing, caption))


def _forecast(details: RunDetails) -> str:
    forecast = details.forecast
    if forecast is None:
        return ""
    choice = details.candidates
    model = plain(choice.name_of(choice.chosen)) if choice else "model"
    drawing = figures.forecast(forecast.history, forecast.backtest, forecast.future, model=model)
    coverage = details.metrics.get("coverage80")
    return section(
        "Forecast",
        svg(drawing, "The recent history, the backtest and the forecast beyond the data."),
        "" if coverage is None else paragraph(coverage_verdict(coverage)[1]),
        _horizon_errors(details),
    )


def _horizon_errors(details: RunDetails) -> str:
    """One row per forecast step, one column per model: the primary error (else the first)."""
    forecast = details.forecast
    if not forecast.horizon_errors:
        return ""
    metrics = forecast.error_metrics
    metric = details.primary_metric if details.primary_metric in metrics else metrics[0]
    errors = pd.DataFrame(forecast.horizon_errors)
    by_step = errors.pivot_table(index="step", columns="model", values=metric, sort=False)
    heading = paragraph(f"{metric_name(metric)} by forecast step (lower is better):")
    return heading + table(by_step.reset_index().rename_axis(columns=None))


def _mistakes(details: RunDetails) -> str:
    if details.mistakes_sheet is not None:  # image runs draw theirs
        return section("Most confident mistakes", png(details.mistakes_sheet, "mistakes"))
    if details.mistakes is None or details.mistakes.empty:
        return ""
    note = "The test rows it got wrong while most sure of its answer, the surest first."
    return section(
        "Most confident mistakes",
        paragraph(note, kind="muted"),
        table(details.mistakes, max_rows=10),
    )


def _importance(details: RunDetails) -> str:
    importance = details.importance
    if importance is None:
        return ""
    metric = metric_name(importance.metric)
    unit = getattr(importance, "unit", "test rows")  # a forecast's: backtest windows
    caption = (
        f"How much the test {metric} gets worse when one column's values are shuffled across the "
        f"{importance.rows:,} {unit} ({importance.repeats} shuffles; the line shows their "
        "spread). Near 0: the model barely uses the column."
    )
    drawing = importance_figure(importance.columns, metric)
    lags = getattr(importance, "lags", None)  # a forecast's past values of the target
    by_lag = "" if lags is None else paragraph("The same for each lag:") + table(lags)
    columns = table(importance.columns)
    return section("What the model relies on", svg(drawing, caption), columns, by_lag)


def _calibration(report: dict | None) -> str:
    if not report:
        return ""
    positive, base, brier = report["positive_class"], report["base_rate"], report["brier"]
    text = (
        f"Each point groups the test rows by the predicted chance of {positive}: on the dashed "
        f"line, what the model says comes true as often as it says. Brier score {brier:.4f} "
        f"(lower is better; always answering the share of {positive}, {base:.0%}, would score "
        f"{base * (1 - base):.4f})."
    )
    drawing = reliability_figure(report["bins"], positive)
    return section("Can its probabilities be trusted?", svg(drawing), paragraph(text))
