"""The Predict page under AppTest, with one tiny model trained and registered per module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.predict import RegisteredModel, registered_models
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.training import run
from tests.conftest import make_customers

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NEW_ROWS = make_customers(12, seed=7).drop(columns=["churn"])


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> Path:
    """A home holding one run whose model is registered as 'churn' (champion: version 1)."""
    home = tmp_path_factory.mktemp("predict") / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    data = home.parent / "customers.csv"
    make_customers().to_csv(data, index=False)
    spec = {
        "data": {"path": str(data), "target": "churn"},
        "training": {"preset": "fast", "epochs": 2},
        "tracking": {"register_as": "churn"},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        (home / "run_id").write_text(run(parse_spec(spec)).run_id)
    return home


@pytest.fixture
def trained(isolated_home: Path, trained_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point this test at the trained home; returns the run id."""
    monkeypatch.setenv("DLSTUDIO_HOME", str(trained_home))
    return (trained_home / "run_id").read_text()


def open_page() -> AppTest:
    """Through app.py, as users get there (the page links to Train)."""
    app = AppTest.from_file(APP, default_timeout=60).run()
    return app.switch_page("pages/predict.py").run()


def upload(app: AppTest, filename: str, data: bytes) -> AppTest:
    app.file_uploader(key="predict_upload").set_value((filename, data, "text/csv"))
    return app.run()


def test_no_registered_model_explains_how_to_get_one(mlflow_home: Path) -> None:
    app = open_page()

    assert not app.exception
    assert "No trained models yet" in app.info[0].value
    assert "Train page" in app.info[0].value
    assert len(app.file_uploader) == 0  # the page stops before asking for a file


def test_registered_models_lists_the_trained_model(trained: str) -> None:
    assert registered_models(get_settings()) == [
        RegisteredModel("churn", versions=("1",), aliases=(("champion", "1"),))
    ]


def test_champion_predicts_an_uploaded_file(trained: str) -> None:
    app = open_page()
    assert app.selectbox(key="predict_version_churn").value == "champion (version 1)"

    upload(app, "new_customers.csv", NEW_ROWS.to_csv(index=False).encode())

    assert not app.exception
    assert len(app.error) == 0
    table = app.dataframe[0].value
    assert list(table.columns) == [  # the answers first, on screen without scrolling
        "prediction",
        "probability_no",
        "probability_yes",
        *NEW_ROWS.columns,
    ]
    assert table["customer_id"].tolist() == NEW_ROWS["customer_id"].tolist()
    assert set(table["prediction"]) <= {"yes", "no"}
    assert (table["probability_no"] + table["probability_yes"]).round(6).eq(1).all()
    button = app.get("download_button")[0].proto
    assert button.label == "Download predictions (CSV)"
    assert "12 rows scored with `models:/churn/1`." in app.caption[-1].value


def test_explained_predictions_add_three_reasons_per_row(trained: str) -> None:
    app = open_page()
    app.toggle(key="predict_explain").set_value(True).run()

    upload(app, "new_customers.csv", NEW_ROWS.to_csv(index=False).encode())

    assert not app.exception
    table = app.dataframe[0].value
    assert list(table.columns[:6]) == ["prediction", "probability_no", "probability_yes",
                                       "reason_1", "reason_2", "reason_3"]  # fmt: skip
    assert table["customer_id"].tolist() == NEW_ROWS["customer_id"].tolist()
    columns = "|".join(NEW_ROWS.columns)
    assert table["reason_1"].str.match(
        rf"^(?:{columns}) = .+ (?:raises|lowers) the chance of (?:yes|no) \([+-]"
    ).all()


def test_a_file_too_long_to_explain_here_is_scored_without_reasons(trained: str) -> None:
    app = open_page()
    app.toggle(key="predict_explain").set_value(True).run()
    rows = make_customers(5_001, seed=9).drop(columns=["churn"])

    upload(app, "everyone.csv", rows.to_csv(index=False).encode())

    assert not app.exception
    assert "The file has 5,001 rows: explaining more than 5,000 here" in app.warning[0].value
    assert "dlstudio predict --explain" in app.warning[0].value
    table = app.dataframe[0].value
    assert len(table) == 5_001 and "reason_1" not in table.columns


def test_a_file_missing_a_column_names_it(trained: str) -> None:
    app = open_page()

    upload(app, "partial.csv", NEW_ROWS.drop(columns=["tenure"]).to_csv(index=False).encode())

    assert not app.exception
    assert app.error[0].value.startswith("The data lacks 1 column(s) the model needs: 'tenure'.")
    assert "The model reads: tenure" in app.error[0].value
    assert len(app.dataframe) == 0


def test_a_runs_model_scores_too(trained: str) -> None:
    app = open_page()
    app.radio(key="predict_source").set_value("A run's model").run()
    assert app.selectbox(key="predict_run").value == trained
    upload(app, "new_customers.csv", NEW_ROWS.to_csv(index=False).encode())

    assert not app.exception
    assert len(app.dataframe[0].value) == len(NEW_ROWS)
    assert f"scored with `runs:/{trained}/model`" in app.caption[-1].value


@pytest.fixture
def forecaster(
    isolated_home: Path, migrated_mlflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> pd.DataFrame:
    """A home with a forecaster registered as 'sales'; returns its training history."""
    from tests.tasks.test_forecasting import seasonal_months

    shutil.copy(migrated_mlflow_db, isolated_home / "mlflow.db")
    history = seasonal_months()
    data = isolated_home.parent / "sales.csv"
    history.to_csv(data, index=False)
    spec = {
        "task": "forecasting",
        "data": {"path": str(data), "target": "sales"},
        "training": {"preset": "fast", "epochs": 1},
        "options": {"horizon": 6},
        "tracking": {"register_as": "sales"},
    }
    run(parse_spec(spec))
    return history


def test_a_forecaster_forecasts_the_next_periods_of_an_uploaded_history(
    forecaster: pd.DataFrame,
) -> None:
    app = open_page()
    assert "History to forecast from" in app.file_uploader(key="predict_upload").label

    upload(app, "recent.csv", forecaster.tail(40).to_csv(index=False).encode())

    assert not app.exception
    table = app.dataframe[0].value
    assert list(table.columns) == ["month", "forecast", "forecast_p10", "forecast_p90"]
    assert len(table) == 6
    assert any(
        "Forecast of 6 future periods with `models:/sales/1`." in c.value for c in app.caption
    )
    from tests.app.test_results_page import chart_layers

    lines = chart_layers(app.get("vega_lite_chart")[0])["line"].groupby("line")["value"]
    drawn = lines.agg(list).to_dict()
    assert drawn["actual"] == forecaster["sales"].tail(40).tolist()  # the uploaded history
    assert drawn["future forecast"] == pytest.approx(table["forecast"].tolist())
    assert set(drawn) == {"actual", "future forecast"}  # no backtest on Predict


def test_a_forecaster_given_too_short_a_history_says_how_much_it_needs(
    forecaster: pd.DataFrame,
) -> None:
    app = upload(open_page(), "recent.csv", forecaster.tail(3).to_csv(index=False).encode())

    assert not app.exception
    assert "fewer than the 24 points the model reads" in app.error[0].value
    assert len(app.dataframe) == 0
