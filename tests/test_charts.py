"""Chart builders, checked through ``chart.to_dict()``: encodings and the data they draw."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from dlstudio import charts


def data_of(chart: alt.TopLevelMixin) -> pd.DataFrame:
    """The rows a (single-dataset) chart draws."""
    spec = chart.to_dict()
    (rows,) = spec["datasets"].values()
    return pd.DataFrame(rows)


@pytest.fixture
def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "epoch": [1, 2, 1, 2, 1, 2],
            "metric": ["train_loss", "train_loss", "val_loss", "val_loss", "val_f1", "val_f1"],
            "value": [0.7, 0.5, 0.6, 0.55, 0.6, 0.8],
        }
    )


def test_learning_curves_put_losses_and_scores_in_two_panels(history: pd.DataFrame) -> None:
    chart = charts.learning_curves(history)
    spec = chart.to_dict()
    panels = data_of(chart).groupby("metric")["panel"].first().to_dict()
    assert panels == {"train_loss": "loss", "val_loss": "loss", "val_f1": "validation scores"}
    assert spec["encoding"]["x"]["field"] == "epoch"
    assert spec["encoding"]["color"]["field"] == "metric"
    assert spec["encoding"]["column"]["field"] == "panel"
    assert spec["resolve"]["scale"]["y"] == "independent"  # losses and scores differ in range
    assert {t["field"] for t in spec["encoding"]["tooltip"]} == {"metric", "epoch", "value"}


def test_a_score_in_the_datas_units_gets_its_own_panel() -> None:
    """Issue 22: MAE (~200) and MASE (~0.5) on one axis flattened MASE to a line."""
    history = pd.DataFrame({
        "epoch": [1, 2] * 3, "metric": ["val_loss"] * 2 + ["val_mae"] * 2 + ["val_mase"] * 2,
        "value": [0.9, 0.7, 210.0, 190.0, 0.61, 0.55],
    })  # fmt: skip
    chart = charts.learning_curves(history)
    panels = data_of(chart).groupby("metric")["panel"].first().to_dict()
    assert panels == {"val_loss": "loss", "val_mae": "val_mae", "val_mase": "validation scores"}
    assert chart.to_dict()["encoding"]["column"]["sort"] == ["loss", "validation scores", "val_mae"]


def test_confusion_matrix_writes_the_count_in_each_cell() -> None:
    chart = charts.confusion_matrix(["no", "yes"], [[30, 9], [2, 7]], normalize=False)
    spec = chart.to_dict()
    cells = data_of(chart).set_index(["true", "predicted"])["count"].to_dict()
    assert cells == {("no", "no"): 30, ("no", "yes"): 9, ("yes", "no"): 2, ("yes", "yes"): 7}
    heat, text = spec["layer"]
    assert text["mark"]["type"] == "text"
    assert text["encoding"]["text"]["field"] == "count"
    assert heat["encoding"]["y"]["title"] == "true"
    assert heat["encoding"]["x"]["title"] == "predicted"
    assert heat["encoding"]["x"]["sort"] == ["no", "yes"]  # class order, not alphabetical


def test_normalized_confusion_matrix_rows_sum_to_one() -> None:
    chart = charts.confusion_matrix(
        ["a", "b", "c"], [[8, 2, 0], [1, 3, 0], [0, 0, 0]], normalize=True
    )
    cells = data_of(chart)
    row_sums = cells.groupby("true")["share"].sum()
    assert row_sums["a"] == pytest.approx(1.0)
    assert row_sums["b"] == pytest.approx(1.0)
    assert row_sums["c"] == 0.0  # a class absent from the test rows: zeros, not NaN
    assert cells.set_index(["true", "predicted"]).loc[("b", "a"), "share"] == pytest.approx(0.25)
    text = chart.to_dict()["layer"][1]["encoding"]["text"]
    assert text == {"field": "share", "format": ".0%", "type": "quantitative"}


def test_metric_bars_draw_one_bar_per_run_that_has_the_metric() -> None:
    frame = pd.DataFrame(
        {
            "run": ["a", "b", "c"],
            "test_f1_macro": [0.8, None, 0.7],
            "test_accuracy": [0.9, 0.8, 0.7],
        }
    )
    chart = charts.metric_bars(frame, "test_f1_macro")
    assert data_of(chart).to_dict("list") == {"run": ["a", "c"], "value": [0.8, 0.7]}
    assert chart.to_dict()["encoding"]["x"]["title"] == "test_f1_macro"


def test_target_balance_counts_and_shares_each_class() -> None:
    chart = charts.target_balance({"no": 75, "yes": 25})
    rows = data_of(chart).set_index("class")
    assert rows["rows"].to_dict() == {"no": 75, "yes": 25}
    assert rows["share"].to_dict() == {"no": 0.75, "yes": 0.25}
    assert chart.to_dict()["encoding"]["y"]["sort"] == "-x"  # largest class on top


def test_target_balance_counts_images_when_told() -> None:
    chart = charts.target_balance({"circle": 12, "square": 10, "triangle": 2}, unit="images")
    rows = data_of(chart).set_index("class")
    assert rows["images"].to_dict() == {"circle": 12, "square": 10, "triangle": 2}
    assert "rows" not in rows.columns
    assert rows["share"]["triangle"] == pytest.approx(2 / 24)
    encoding = chart.to_dict()["encoding"]
    assert (encoding["x"]["field"], encoding["x"]["title"]) == ("images", "images")


def test_run_curves_show_one_metric_coloured_by_run() -> None:
    history = pd.DataFrame(
        {
            "run": ["r1", "r1", "r2", "r2"],
            "epoch": [1, 1, 1, 1],
            "metric": ["val_loss", "train_loss", "val_loss", "train_loss"],
            "value": [0.5, 0.4, 0.6, 0.45],
        }
    )
    chart = charts.run_curves(history, "val_loss")
    assert data_of(chart)[["run", "value"]].to_dict("list") == {
        "run": ["r1", "r2"],
        "value": [0.5, 0.6],
    }
    assert chart.to_dict()["encoding"]["color"]["field"] == "run"


def test_no_chart_hard_codes_a_colour(
    history: pd.DataFrame, tail: pd.DataFrame, backtest: pd.DataFrame, future: pd.DataFrame
) -> None:
    """Colours come from the theme; the one exception, the heatmap's cell text, has its own test."""
    built = [
        charts.learning_curves(history),
        charts.metric_bars(pd.DataFrame({"run": ["a"], "m": [1.0]}), "m"),
        charts.target_balance({"a": 1}),
        charts.forecast(tail, backtest, future, series="A", origin=backtest["origin"][0]),
        charts.horizon_errors([{"step": 1, "model": "LSTM", "mae": 1.0}], "mae"),
    ]
    for chart in built:
        drawn = {k: v for k, v in chart.to_dict().items() if k not in ("datasets", "resolve")}
        spec = json.dumps(drawn)  # resolve says "fill": "independent", which is no colour
        assert '"color": "' not in spec and '"fill": "' not in spec and "#" not in spec


def test_confusion_matrix_text_follows_the_theme() -> None:
    def text_color(dark: bool) -> str:
        spec = charts.confusion_matrix(["a", "b"], [[3, 1], [0, 4]], normalize=False, dark=dark)
        (text_layer,) = [
            layer for layer in spec.to_dict()["layer"] if layer["mark"]["type"] == "text"
        ]
        return text_layer["mark"]["color"]

    assert (text_color(False), text_color(True)) == ("#31333f", "#fafafa")


def layer_rows(chart: alt.TopLevelMixin, mark: str) -> pd.DataFrame:
    """The rows the layer drawing ``mark`` (area, line, rule) draws, in a layered chart."""
    spec = chart.to_dict()
    (layer,) = [layer for layer in spec["layer"] if layer["mark"]["type"] == mark]
    data = layer.get("data", spec.get("data"))  # one layer's data moves up to the chart
    return pd.DataFrame(spec["datasets"][data["name"]])


def lines_of(chart: alt.TopLevelMixin) -> dict[str, list]:
    """line name -> its (time, value) points, times as the date they fall on."""
    rows = layer_rows(chart, "line")
    rows["time"] = rows["time"].str[:10]
    return {name: list(zip(g["time"], g["value"], strict=True)) for name, g in rows.groupby("line")}


MONTHS = pd.date_range("2020-01-01", periods=8, freq="MS")


@pytest.fixture
def tail() -> pd.DataFrame:
    """Two series, eight months each; B is A shifted up by 100."""
    return pd.DataFrame(
        {
            "series": ["A"] * 8 + ["B"] * 8,
            "time": list(MONTHS) * 2,
            "actual": [float(v) for v in range(8)] + [100.0 + v for v in range(8)],
        }
    )


@pytest.fixture
def backtest() -> pd.DataFrame:
    """Series A forecast from the ends of May and June, two steps each (B has its own rows)."""
    rows = []
    for series, level in (("A", 0.0), ("B", 100.0)):
        for origin in MONTHS[4:6]:
            for step in (1, 2):
                time = origin + pd.DateOffset(months=step)
                value = level + MONTHS.get_loc(time)
                rows.append(
                    {
                        "series": series, "origin": origin, "step": step, "time": time,
                        "actual": value, "forecast": value + 0.5, "forecast_p10": value - 1,
                        "forecast_p90": value + 2, "seasonal_naive": value - 3,
                        "holt_winters": value + 1,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def future() -> pd.DataFrame:
    times = list(pd.date_range("2020-09-01", periods=2, freq="MS"))
    return pd.DataFrame(
        {
            "series": ["A", "A", "B", "B"],
            "time": times * 2,
            "forecast": [8.5, 9.5, 108.5, 109.5],
            "forecast_p10": [7.0, 8.0, 107.0, 108.0],
            "forecast_p90": [10.0, 11.0, 110.0, 111.0],
        }
    )


def test_forecast_newest_draws_history_the_whole_test_period_and_the_future(
    tail: pd.DataFrame, backtest: pd.DataFrame, future: pd.DataFrame
) -> None:
    chart = charts.forecast(tail, backtest, future, series="A")
    lines = lines_of(chart)
    assert lines["actual"] == [(f"2020-0{m}-01", float(m - 1)) for m in range(1, 9)]  # A only
    # step 1 of each origin, then the last origin's step 2: up to the last actual of the test
    assert lines["forecast"] == [("2020-06-01", 5.5), ("2020-07-01", 6.5), ("2020-08-01", 7.5)]
    assert lines["seasonal naive"] == [
        ("2020-06-01", 2.0),
        ("2020-07-01", 3.0),
        ("2020-08-01", 4.0),
    ]
    assert lines["future forecast"] == [("2020-09-01", 8.5), ("2020-10-01", 9.5)]
    bands = layer_rows(chart, "area").groupby("line")[["p10", "p90"]].agg(list)
    assert bands.loc["forecast"].tolist() == [[4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    assert bands.loc["future forecast"].tolist() == [[7.0, 8.0], [10.0, 11.0]]
    assert "rule" not in [layer["mark"]["type"] for layer in chart.to_dict()["layer"]]


def test_forecast_from_one_origin_draws_its_whole_horizon_and_marks_the_origin(
    tail: pd.DataFrame, backtest: pd.DataFrame
) -> None:
    origin = pd.Timestamp("2020-06-01")
    chart = charts.forecast(tail, backtest, None, series="B", origin=origin)
    lines = lines_of(chart)
    assert lines["forecast"] == [("2020-07-01", 106.5), ("2020-08-01", 107.5)]
    assert lines["seasonal naive"] == [("2020-07-01", 103.0), ("2020-08-01", 104.0)]
    assert "future forecast" not in lines  # no future_forecast.csv logged
    assert layer_rows(chart, "rule")["time"].str[:10].tolist() == ["2020-06-01"]


def test_forecast_dashes_the_seasonal_naive_line_only(
    tail: pd.DataFrame, backtest: pd.DataFrame
) -> None:
    spec = charts.forecast(tail, backtest, None, series="A").to_dict()
    (line,) = [layer for layer in spec["layer"] if layer["mark"]["type"] == "line"]
    dash = line["encoding"]["strokeDash"]["scale"]
    dashes = dict(zip(dash["domain"], dash["range"], strict=True))
    assert dashes["seasonal naive"] != dashes["forecast"] == dashes["actual"]
    assert line["encoding"]["color"]["field"] == "line"
    assert line["encoding"]["x"] == {"field": "time", "title": None, "type": "temporal"}


def test_forecast_without_quantiles_has_no_band(tail: pd.DataFrame, backtest: pd.DataFrame) -> None:
    point_forecast = backtest.drop(columns=["forecast_p10", "forecast_p90"])
    chart = charts.forecast(tail, point_forecast, None, series="A")
    assert [layer["mark"]["type"] for layer in chart.to_dict()["layer"]] == ["line"]
    assert set(lines_of(chart)) == {"actual", "forecast", "seasonal naive"}


def test_horizon_errors_draw_one_line_per_model_by_step() -> None:
    rows = [
        {"step": 1, "model": "LSTM", "mae": 1.0, "mase": 0.5},
        {"step": 2, "model": "LSTM", "mae": 2.0, "mase": 0.7},
        {"step": 1, "model": "seasonal naive", "mae": 1.5, "mase": 1.0},
        {"step": 2, "model": "seasonal naive", "mae": 2.5, "mase": 1.0},
    ]
    chart = charts.horizon_errors(rows, "mase")
    drawn = data_of(chart).groupby("model")["value"].agg(list).to_dict()
    assert drawn == {"LSTM": [0.5, 0.7], "seasonal naive": [1.0, 1.0]}
    encoding = chart.to_dict()["encoding"]
    assert (encoding["x"]["field"], encoding["color"]["field"]) == ("step", "model")
    assert encoding["y"]["title"] == "mase"


def predictions(n: int, *, seed: int = 0) -> pd.DataFrame:
    """Test rows of a regression: the truth and a prediction off by a little noise."""
    rng = np.random.default_rng(seed)
    actual = rng.uniform(0, 100, n)
    return pd.DataFrame({"actual": actual, "predicted": actual + rng.normal(0, 5, n)})


def test_predicted_vs_actual_draws_each_row_over_the_line_of_exact_predictions() -> None:
    frame = pd.DataFrame({"actual": [1.0, 4.0, 9.0], "predicted": [2.0, 3.0, 10.0]})
    chart = charts.predicted_vs_actual(frame)
    spec = chart.to_dict()
    points = layer_rows(chart, "circle")
    assert points[["actual", "predicted"]].values.tolist() == frame.values.tolist()
    scatter = spec["layer"][0]["encoding"]
    assert (scatter["x"]["field"], scatter["y"]["field"]) == ("actual", "predicted")
    exact = layer_rows(chart, "line")  # y = x across the range of both columns
    assert exact.values.tolist() == [[1.0, 1.0], [10.0, 10.0]]


def test_scatters_draw_at_most_5000_seeded_rows_of_a_large_test_split() -> None:
    frame = predictions(50_000)
    for build in (charts.predicted_vs_actual, charts.residuals):
        drawn = layer_rows(build(frame), "circle")
        assert len(drawn) == 5_000
        assert drawn.equals(layer_rows(build(frame), "circle"))  # the same rows every time


def test_residuals_are_actual_minus_predicted_against_the_prediction_around_zero() -> None:
    frame = pd.DataFrame({"actual": [10.0, 20.0, 30.0], "predicted": [12.0, 20.0, 25.0]})
    chart = charts.residuals(frame)
    points = layer_rows(chart, "circle")
    assert points["residual"].tolist() == [-2.0, 0.0, 5.0]
    scatter = chart.to_dict()["layer"][0]["encoding"]
    assert (scatter["x"]["field"], scatter["y"]["field"]) == ("predicted", "residual")
    assert layer_rows(chart, "rule")["residual"].tolist() == [0.0]


def test_error_by_decile_averages_the_absolute_error_in_each_tenth_of_the_actual_values() -> None:
    # 20 rows: each tenth holds two consecutive actual values; errors 0, 1, 2, 0, 1, 2, ...
    actual = np.arange(20.0) * 10
    frame = pd.DataFrame({"actual": actual, "predicted": actual + np.arange(20) % 3})
    chart = charts.error_by_decile(frame)
    bars = data_of(chart)
    assert bars["range"].tolist()[:3] == ["0 – 10", "20 – 30", "40 – 50"]
    assert bars["range"].iloc[-1] == "180 – 190"
    # |errors| by pair: (0,1) (2,0) (1,2) (0,1) ... -> 0.5, 1.0, 1.5, 0.5, ...
    assert bars["mae"].tolist() == [0.5, 1.0, 1.5, 0.5, 1.0, 1.5, 0.5, 1.0, 1.5, 0.5]
    assert bars["rows"].tolist() == [2] * 10
    encoding = chart.to_dict()["encoding"]
    assert (encoding["x"]["field"], encoding["y"]["field"]) == ("range", "mae")
    assert encoding["x"]["sort"] == bars["range"].tolist()  # lowest values first, not by name


def test_error_by_decile_draws_fewer_bars_when_many_rows_share_a_value() -> None:
    frame = pd.DataFrame({"actual": [0.0] * 15 + [5.0, 6.0, 7.0, 8.0, 9.0], "predicted": 1.0})
    bars = data_of(charts.error_by_decile(frame))
    # the tenths' edges at 0 fall together: the 15 zeros share the first bar with the 5
    assert bars["range"].tolist() == ["0 – 5", "6 – 7", "8 – 9"]
    assert bars["rows"].tolist() == [16, 2, 2]
    assert bars["mae"].tolist() == [(15 * 1 + 4) / 16, 5.5, 7.5]
