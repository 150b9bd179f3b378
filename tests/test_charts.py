"""Chart builders, checked through ``chart.to_dict()``: encodings and the data they draw."""

from __future__ import annotations

import json

import altair as alt
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


def test_no_chart_hard_codes_a_colour(history: pd.DataFrame) -> None:
    """Colours come from the theme; the one exception, the heatmap's cell text, has its own test."""
    built = [
        charts.learning_curves(history),
        charts.metric_bars(pd.DataFrame({"run": ["a"], "m": [1.0]}), "m"),
        charts.target_balance({"a": 1}),
    ]
    for chart in built:
        spec = json.dumps({k: v for k, v in chart.to_dict().items() if k != "datasets"})
        assert '"color": "' not in spec and '"fill": "' not in spec and "#" not in spec


def test_confusion_matrix_text_follows_the_theme() -> None:
    def text_color(dark: bool) -> str:
        spec = charts.confusion_matrix(["a", "b"], [[3, 1], [0, 4]], normalize=False, dark=dark)
        (text_layer,) = [
            layer for layer in spec.to_dict()["layer"] if layer["mark"]["type"] == "text"
        ]
        return text_layer["mark"]["color"]

    assert (text_color(False), text_color(True)) == ("#31333f", "#fafafa")
