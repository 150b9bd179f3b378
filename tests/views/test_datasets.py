"""The kind of a stored dataset and the templates offered for it, from the template registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dlstudio.tasks import get_template
from dlstudio.views.datasets import data_kind, suggest_task, template_for, templates_reading


def test_a_zip_or_a_folder_holds_images_and_any_other_file_a_table(tmp_path: Path) -> None:
    assert data_kind(tmp_path / "shapes.ZIP") == "images"
    assert data_kind(tmp_path) == "images"  # a folder of class folders on the server
    assert data_kind(tmp_path / "sales.csv") == "table"
    assert data_kind(tmp_path / "sales.parquet") == "table"


def test_templates_are_sorted_by_what_they_read() -> None:
    assert templates_reading("images") == ["image_classification"]
    assert templates_reading("table") == [
        "tabular_classification", "tabular_regression", "forecasting", "text_sentiment"
    ]  # fmt: skip


def test_the_current_template_stays_when_it_reads_that_kind_of_data() -> None:
    assert template_for("table", current="forecasting") == "forecasting"
    assert template_for("images", current="image_classification") == "image_classification"


def test_otherwise_the_first_template_reading_it_is_offered() -> None:
    assert template_for("images", current="forecasting") == "image_classification"
    assert template_for("table", current="image_classification") == "tabular_classification"
    assert template_for("images") == "image_classification"
    assert template_for("table", current="no_such_task") == "tabular_classification"


def _table(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_a_table_opens_on_the_template_it_suits() -> None:
    rng = np.random.default_rng(0)
    months = pd.date_range("2020-01-01", periods=36, freq="MS").strftime("%Y-%m-%d")
    sales = _table(month=months, units=rng.integers(50, 150, 36))
    assert suggest_task(sales) == "forecasting"
    prophet = _table(ds=months, y=rng.normal(size=36))  # "y" is a series here, not a label
    assert suggest_task(prophet) == "forecasting"
    reviews = _table(
        comment=[f"the screen is bright and sharp, happy with order {i}" for i in range(20)],
        label=["pos", "neg"] * 10,
    )
    assert suggest_task(reviews) == "text_sentiment"
    # dates of events are not a time axis: irregular sign-ups, and a label column named so
    signups = pd.Timestamp("2021-01-01") + pd.to_timedelta(np.cumsum(rng.integers(1, 30, 40)), "D")
    customers = _table(signup=signups.strftime("%Y-%m-%d"), spend=rng.normal(size=40),
                       plan=rng.choice(["a", "b"], 40))  # fmt: skip
    assert suggest_task(customers) == "tabular_classification"
    daily = _table(signup=pd.date_range("2021-01-01", periods=40).strftime("%Y-%m-%d"),
                   spend=rng.normal(size=40), churn=["yes", "no"] * 20)  # fmt: skip
    assert suggest_task(daily) == "tabular_classification"
    houses = _table(rooms=rng.integers(1, 6, 50), area=rng.normal(90, 20, 50),
                    price=rng.normal(300_000, 50_000, 50))  # fmt: skip
    assert suggest_task(houses) == "tabular_regression"
    names = _table(name=["Ford Torino", "Chevy Nova"] * 20, origin=["usa", "europe"] * 20)
    assert suggest_task(names) == "tabular_classification"  # two-word names are no sentences


def test_a_sample_opens_on_its_own_template_by_name() -> None:
    for task in templates_reading("table"):
        sample = get_template(task).sample()
        assert suggest_task(sample.frame, name=sample.name) == task
        assert suggest_task(sample.frame) == task  # and by its content alone
