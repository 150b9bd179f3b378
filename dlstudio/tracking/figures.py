"""PNG figures logged with each run, so the MLflow UI shows them too (matplotlib, no display)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from dlstudio.evaluation.forecast import newest_forecasts


def confusion_matrix(report: dict) -> Figure:
    """Heatmap of counts; rows are the true class, columns the predicted one."""
    labels, counts = report["labels"], report["matrix"]
    size = max(3.0, 0.6 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    peak = max(max(row) for row in counts) or 1
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            color = "white" if count > peak / 2 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=color)
    figure.tight_layout()
    plt.close(figure)
    return figure


def learning_curves(history: list[dict[str, float]]) -> Figure:
    """Losses on the left, validation scores on the right, by epoch."""
    epochs = [row["epoch"] for row in history]
    figure, (losses, scores) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key in sorted({k for row in history for k in row} - {"epoch"}):
        axes = losses if key.endswith("loss") else scores
        axes.plot(epochs, [row.get(key) for row in history], marker=".", label=key)
    for axes, title in ((losses, "loss"), (scores, "validation")):
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.legend()
    figure.tight_layout()
    plt.close(figure)
    return figure


def forecast(tail, backtest, future, *, model: str, max_series: int = 3) -> Figure:
    """Per series (the first few): history, each date's newest backtest forecast of the model
    and of seasonal naive (one step ahead where an origin allows), and the forecast beyond the
    data with its interval."""
    keys = list(dict.fromkeys(tail["series"]))[:max_series]
    figure, axes_list = plt.subplots(len(keys), 1, figsize=(9, 3 * len(keys)), squeeze=False)
    for key, (axes,) in zip(keys, axes_list, strict=True):
        history = tail[tail["series"] == key]
        first = newest_forecasts(backtest[backtest["series"] == key])
        axes.plot(history["time"], history["actual"], color="black", lw=1.2, label="actual")
        axes.plot(
            first["time"], first["forecast"], color="tab:blue", label=f"{model}, newest forecast"
        )
        axes.plot(first["time"], first["seasonal_naive"], color="tab:gray", ls="--",
                  label="seasonal naive")  # fmt: skip
        if future is not None:
            ahead = future[future["series"] == key]
            axes.plot(ahead["time"], ahead["forecast"], color="tab:orange", label="forecast")
            if "forecast_p10" in ahead:
                axes.fill_between(ahead["time"], ahead["forecast_p10"], ahead["forecast_p90"],
                                  color="tab:orange", alpha=0.25, label="80% interval")  # fmt: skip
        axes.set_title(str(key) if len(keys) > 1 else "backtest and forecast")
        axes.legend(fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    plt.close(figure)
    return figure
