"""What a forecasting run reports: the backtest table, errors per step, the verdict in plain
words, the figure and the example input logged with the model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlstudio.evaluation import forecast as fc
from dlstudio.tasks.base import BaselineResult
from dlstudio.tasks.forecasting.data import SINGLE_SERIES, Layout, Series
from dlstudio.tasks.forecasting.features import Windows
from dlstudio.tasks.forecasting.model import ForecastPredictor, ModelPlan, Plan


def verdict_text(ours: float, baselines: list[BaselineResult]) -> str:
    """Plain words: by how much the network beats each baseline on MASE, or which it does not."""
    gains = {b.name: 100 * (b.metrics["mase"] - ours) / b.metrics["mase"] for b in baselines}
    figures = " and ".join(f"{b.metrics['mase']:.3f}" for b in baselines)
    scores = f"(MASE {ours:.3f} vs {figures})"
    beaten = [b.name for b in baselines if gains[b.name] > 0]
    missed = [b.name for b in baselines if gains[b.name] <= 0]
    by = " and ".join(f"{name} by {gains[name]:.0f}%" for name in beaten)
    if not missed:
        return f"Beats {by} {scores}."
    if beaten:
        return (
            f"Beats {by} but not {' or '.join(missed)} {scores}: the simpler "
            f"{' and '.join(missed)} forecasts as well or better here."
        )
    return (
        f"Does not beat {' or '.join(missed)} {scores}: the simpler forecasts are as good or "
        "better here."
    )


def backtest_table(series: list[Series], windows: Windows, forecasts: np.ndarray, model_plan: ModelPlan,
                   plan: Plan, scales: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One row per origin and step: actual, our forecast (and interval), both baselines refitted
    on the history up to that origin, and the MASE scale of the series."""
    horizon, season, middle = plan.horizon, plan.season_length, len(model_plan.quantiles) // 2
    columns: dict[str, list] = {
        k: []
        for k in ("series", "origin", "step", "time", "actual", "seasonal_naive", "holt_winters")
    }
    for index, origin in zip(windows.series, windows.origin, strict=True):
        s = series[index]
        history = s.values[:origin]
        columns["series"] += [s.key] * horizon
        columns["origin"] += [s.times[origin - 1]] * horizon
        columns["step"] += list(range(1, horizon + 1))
        columns["time"] += list(s.times[origin : origin + horizon])
        columns["actual"] += list(s.values[origin : origin + horizon])
        columns["seasonal_naive"] += list(fc.seasonal_naive(history, horizon, season))
        columns["holt_winters"] += list(fc.holt_winters(history, horizon, season))
    table = pd.DataFrame(columns)
    table.insert(5, "forecast", forecasts[:, :, middle].ravel())
    if model_plan.use_quantiles:
        table.insert(6, "forecast_p10", forecasts[:, :, 0].ravel())
        table.insert(7, "forecast_p90", forecasts[:, :, -1].ravel())
    table["scale"] = np.repeat(scales[windows.series], horizon)
    return table


def score(backtest: pd.DataFrame, column: str) -> dict[str, float]:
    return fc.forecast_metrics(
        backtest["actual"].to_numpy(), backtest[column].to_numpy(), backtest["scale"].to_numpy()
    )


def horizon_rows(backtest: pd.DataFrame, cell: str) -> list[dict]:
    rows = []
    for model, column in (
        (cell, "forecast"),
        ("seasonal naive", "seasonal_naive"),
        ("Holt-Winters", "holt_winters"),
    ):
        rows += [{**row, "model": model} for row in fc.metrics_by_step(backtest, column)]
    return rows


def run_tables(series: list[Series], frame: pd.DataFrame, layout: Layout, backtest: pd.DataFrame,
            plan: Plan, predictor: ForecastPredictor) -> tuple[dict[str, pd.DataFrame], list[str]]:  # fmt: skip
    """backtest.csv, series_tail.csv and (without covariates) future_forecast.csv."""
    keep = plan.horizon + 4 * max(plan.season_length, plan.horizon)
    tail = pd.concat([
        pd.DataFrame({"series": s.key, "time": s.times[-(len(s) - n + keep):], "actual": s.values[-(len(s) - n + keep):]})
        for s, n in zip(series, [t for t in plan.train_lengths if t], strict=True)
    ])  # fmt: skip
    tables = {"backtest.csv": backtest.drop(columns="scale"), "series_tail.csv": tail}
    if layout.covariates:
        note = (
            "No forecast beyond the data in this run: the model needs future values of "
            f"{', '.join(layout.covariates)}. Predict with a file that adds the next "
            f"{plan.horizon} rows with those filled and the target empty."
        )
        return tables, [note]
    trained = {s.key for s in series}
    keys = (
        frame[layout.series].astype(str)
        if layout.series
        else pd.Series(SINGLE_SERIES, index=frame.index)
    )
    future = predictor.predict(frame[keys.isin(trained)])
    future = future.rename(columns={layout.time: "time"})
    future.insert(0, "series", future.pop(layout.series) if layout.series else SINGLE_SERIES)
    return {**tables, "future_forecast.csv": future}, []


def run_figures(tables: dict[str, pd.DataFrame], cell: str) -> dict:
    from dlstudio.tracking import figures

    return {
        "forecast.png": figures.forecast(
            tables["series_tail.csv"],
            tables["backtest.csv"],
            tables.get("future_forecast.csv"),
            model=cell,
        )
    }


def input_example(frame: pd.DataFrame, layout: Layout, plan: Plan) -> pd.DataFrame:
    """The raw rows of one series a prediction needs: its last ``lookback`` periods (and, for a
    model with covariates, ``horizon`` more rows with the target left empty)."""
    from dlstudio.data.columns import to_datetime

    rows = frame[layout.columns]
    if layout.series:
        rows = rows[rows[layout.series].astype(str) == str(rows[layout.series].iloc[0])]
    times = to_datetime(rows[layout.time], date_format=layout.date_format)
    rows = rows.assign(_t=times).dropna(subset=["_t"]).sort_values("_t")
    unique = rows["_t"].drop_duplicates()
    extra = plan.horizon if layout.covariates else 0
    example = rows[rows["_t"] >= unique.iloc[-min(len(unique), plan.lookback + extra)]].copy()
    if extra:
        future = example["_t"] > unique.iloc[-extra - 1]
        example[layout.target] = example[layout.target].astype(float).where(~future)
    return example.drop(columns="_t").reset_index(drop=True)
