"""What a forecasting run reports: the backtest table, errors per step, the verdict in plain
words, the figure and the example input logged with the model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlstudio.evaluation import forecast as fc
from dlstudio.evaluation.metrics import against
from dlstudio.tasks.base import BaselineResult
from dlstudio.tasks.forecasting.combination import NETWORK, Combination, Inner, mase, member_name
from dlstudio.tasks.forecasting.data import SINGLE_SERIES, Layout, Series
from dlstudio.tasks.forecasting.features import Windows
from dlstudio.tasks.forecasting.model import ForecastPredictor, ModelPlan, Plan

# the statistical members' columns in the backtest table, in the order the page lists them
COLUMNS = {"ets": "holt_winters", "theta": "theta", "snaive": "seasonal_naive"}


def verdict_text(ours: dict[str, float], baselines: list[BaselineResult], choice: dict) -> str:
    """Plain words: what the registered blend is made of, by how much it beats each classical
    model on the test origins (or which it does not), and when one statistical model alone was
    the best choice on the inner backtest."""
    mase = ours["mase"]
    rows = {row["key"]: row for row in choice["candidates"]}
    blend = rows["combination"]
    shares = sorted(blend["weights"].items(), key=lambda item: -item[1])
    made_of = ", ".join(
        f"{rows[key]['name']} {share:.0%}" for key, share in shares if share >= 0.005
    )
    gains = {b.name: 100 * (b.metrics["mase"] - mase) / b.metrics["mase"] for b in baselines}
    figures = ", ".join(f"{b.name} {b.metrics['mase']:.3f}" for b in baselines)
    results = {
        b.name: against(mase, b.metrics["mase"], higher_is_better=False) for b in baselines
    }
    beaten = [name for name, result in results.items() if result == "wins"]
    missed = [name for name, result in results.items() if result != "wins"]
    by = " and ".join(f"{name} by {gains[name]:.0f}%" for name in beaten)
    lost = any(result == "loses" for result in results.values())
    if not missed:
        result = f"It beats {by}"
    elif beaten:
        result = f"It beats {by} but not {' or '.join(missed)}"
    else:
        result = (
            f"It does not beat {' or '.join(missed)}: the simpler forecasts are "
            f"{'better' if lost else 'as good'} here"
        )
    text = (
        f"The registered forecast blends {made_of} (weights from the inner backtest). "
        f"{result} (test MASE {mase:.3f} vs {figures})."
    )
    members = [row for key, row in rows.items() if key != "combination"]
    best = min(members, key=lambda row: row["validation"]["mase"])
    if best["key"] != NETWORK and best["validation"]["mase"] <= blend["validation"]["mase"]:
        text += (
            f" On the inner backtest {best['name']} alone was the most accurate (MASE "
            f"{best['validation']['mase']:.3f} vs {blend['validation']['mase']:.3f} for the blend): "
            "a statistical model alone is the best choice for this data."
        )
    return text


def interval_notes(ours: dict[str, float]) -> list[str]:
    """How often the 80% interval held the actual value in the backtest."""
    return [fc.coverage_verdict(ours["coverage80"])[1]] if "coverage80" in ours else []


def candidates(validation: Inner, combination: Combination, backtest: pd.DataFrame,
               cell: str) -> dict:  # fmt: skip
    """candidates.json: each member and the blend, with its MASE on the network's validation
    origins (what weighed the network against the statistical models), its test scores and the
    blend's weights; the blend is the registered model."""
    columns = {NETWORK: "network", **COLUMNS}
    rows = [
        {
            "key": key,
            "name": member_name(key, f"{cell} network (hybrid)"),
            "weights": None,
            "validation": {"mase": validation.mase(key)},
            "test": test_scores(backtest, column),
        }
        for key, column in columns.items()
    ]
    rows.append({
        "key": "combination",
        "name": "Combination",
        "weights": combination.weights,
        "validation": {
            "mase": mase(
                validation.actual, combination.point(validation.forecasts), validation.scale
            )
        },
        "test": test_scores(backtest, "forecast"),
    })  # fmt: skip
    return {
        "metric": "mase",
        "higher_is_better": False,
        "chosen": "combination",
        "chosen_on": "inner backtest",
        "candidates": rows,
    }


def test_scores(backtest: pd.DataFrame, column: str) -> dict[str, float]:
    scores = score(backtest, column)
    return {"mase": scores["mase"], "mae": scores["mae"], **score_interval(backtest, column)}


def backtest_table(series: list[Series], windows: Windows, forecasts: dict[str, np.ndarray],
                   model_plan: ModelPlan, scales: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One row per origin and step: actual, the registered forecast and the network's (each
    with its interval), the statistical members refitted at that origin, and the MASE scale."""
    horizon, middle = model_plan.horizon, len(model_plan.quantiles) // 2
    columns: dict[str, list] = {k: [] for k in ("series", "origin", "step", "time", "actual")}
    for index, origin in zip(windows.series, windows.origin, strict=True):
        s = series[index]
        columns["series"] += [s.key] * horizon
        columns["origin"] += [s.times[origin - 1]] * horizon
        columns["step"] += list(range(1, horizon + 1))
        columns["time"] += list(s.times[origin : origin + horizon])
        columns["actual"] += list(s.values[origin : origin + horizon])
    table = pd.DataFrame(columns)
    for name in ("forecast", "network"):
        values = forecasts[name]
        table[name] = values[:, :, middle].ravel()
        if model_plan.use_quantiles:
            table[f"{name}_p10"], table[f"{name}_p90"] = (
                values[:, :, 0].ravel(),
                values[:, :, -1].ravel(),
            )
    for key, column in COLUMNS.items():
        table[column] = forecasts[key].ravel()
    table["scale"] = np.repeat(scales[windows.series], horizon)
    return table


def score(backtest: pd.DataFrame, column: str) -> dict[str, float]:
    return fc.forecast_metrics(
        backtest["actual"].to_numpy(), backtest[column].to_numpy(), backtest["scale"].to_numpy()
    )


def score_interval(backtest: pd.DataFrame, column: str) -> dict[str, float]:
    """coverage80 and pinball of ``column``'s interval; nothing when it has none."""
    if f"{column}_p10" not in backtest:
        return {}
    return fc.interval_metrics(
        *(backtest[c].to_numpy() for c in ("actual", f"{column}_p10", column, f"{column}_p90")),
        backtest["scale"].to_numpy(),
    )


def horizon_rows(backtest: pd.DataFrame, cell: str) -> list[dict]:
    rows = []
    models = {"Combination": "forecast", f"{cell} network": "network"}
    models |= {member_name(key): column for key, column in COLUMNS.items()}
    for model, column in models.items():
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
    future = predictor.chart_future(predictor.predict(frame[keys.isin(trained)]))
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
