"""The Train page under AppTest with the forecasting template: its column roles, one optional."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStore
from dlstudio.settings import get_settings

APP = str(Path(__file__).resolve().parents[2] / "app.py")  # its navigation, for the page links
ROLE = "train_role_forecasting_{}_sales"
ADVANCED = "train_adv_forecasting_{}"


@pytest.fixture
def forecasting_page(mlflow_home: Path) -> AppTest:
    """The Train page on a stored monthly sales table, forecasting chosen."""
    months = pd.date_range("2019-01-01", periods=60, freq="MS").strftime("%Y-%m")
    promo = np.arange(60) % 5 == 0
    units = 100 + np.arange(60) + 10 * np.sin(2 * np.pi * np.arange(60) / 12) + 8 * promo
    frame = pd.DataFrame({"month": months, "promo": promo.astype(int), "units": units})
    store = DatasetStore(get_settings().datasets_dir)
    store.save("sales", frame.to_csv(index=False).encode(), filename="sales.csv")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/train.py")
    app.run()
    app.button(key="train_pick_forecasting").click().run()
    assert not app.exception, app.exception
    return app


def test_forecasting_roles_are_prefilled_and_the_series_column_may_stay_empty(
    forecasting_page: AppTest,
) -> None:
    app = forecasting_page
    assert app.selectbox(key=ROLE.format("target")).value == "units"
    assert app.selectbox(key=ROLE.format("time")).value == "month"
    series = app.selectbox(key=ROLE.format("series"))
    assert series.value is None
    assert series.options == ["(none)", "month", "promo", "units"]
    assert not app.error
    yaml = app.code[0].value
    assert "task: forecasting" in yaml and "target: units" in yaml
    assert "time_column: month" in yaml and "series_column: null" in yaml
    assert not app.button(key="train_submit").disabled


def test_role_columns_are_not_asked_again_under_advanced_options(
    forecasting_page: AppTest,
) -> None:
    (advanced,) = [e for e in forecasting_page.expander if e.label == "Advanced options"]
    widgets = [*advanced.text_input, *advanced.selectbox, *advanced.multiselect]
    keys = {widget.key for widget in widgets}
    assert ADVANCED.format("options.time_column") not in keys
    assert ADVANCED.format("options.series_column") not in keys
    assert ADVANCED.format("options.frequency") in keys  # the other options are there
    assert ADVANCED.format("options.covariates") in keys


def test_covariates_are_picked_from_the_columns_and_submitted(forecasting_page: AppTest) -> None:
    app = forecasting_page
    covariates = app.multiselect(key=ADVANCED.format("options.covariates"))
    assert covariates.options == ["month", "promo", "units"]
    covariates.set_value(["promo"]).run()
    app.button(key="train_submit").click().run()
    assert not app.exception
    (job,) = JobStore.from_settings(get_settings()).list_jobs()
    assert job.spec["task"] == "forecasting"
    options = job.spec["options"]
    assert (options["time_column"], options["series_column"]) == ("month", None)
    assert options["covariates"] == ["promo"]


def test_the_regression_template_checks_and_submits_a_numeric_target(mlflow_home: Path) -> None:
    from dlstudio.tasks.regression.sample import house_prices

    store = DatasetStore(get_settings().datasets_dir)
    store.save("houses", house_prices(120).to_csv(index=False).encode(), filename="houses.csv")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/train.py")
    app.run()
    app.button(key="train_pick_tabular_regression").click().run()
    assert not app.exception, app.exception

    target = app.selectbox(key="train_role_tabular_regression_target_houses")
    assert target.value == "price"  # a numeric column with many values, guessed
    target.set_value("bedrooms").run()  # 1..7 rooms: a category, not a quantity
    assert any("classification" in e.value for e in app.error)
    assert app.button(key="train_submit").disabled

    target.set_value("price").run()
    assert not app.error
    app.button(key="train_submit").click().run()
    (job,) = JobStore.from_settings(get_settings()).list_jobs()
    assert job.spec["task"] == "tabular_regression"
    assert job.spec["data"]["target"] == "price"
