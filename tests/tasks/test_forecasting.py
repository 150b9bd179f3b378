"""The forecasting template end to end: run(spec), the MLflow record, the pyfunc, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from dlstudio.cli import main
from dlstudio.errors import DataError
from dlstudio.evaluation.metrics import against
from dlstudio.predict import load_model, predict_frame
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.training import run
from dlstudio.training.runner import check_run

FAST = {"preset": "fast", "epochs": 2, "seed": 0}


def seasonal_months(n: int = 60, *, seed: int = 0) -> pd.DataFrame:
    """A monthly series with trend, a season that grows with the level, and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    sales = (200 + 3 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 5, n)
    months = pd.date_range("2015-01-01", periods=n, freq="MS").strftime("%Y-%m")
    return pd.DataFrame({"month": months, "sales": sales.round(1)})


def store_days(n: int = 80) -> pd.DataFrame:
    """Two stores, daily, with a promotion covariate that lifts sales."""
    rng = np.random.default_rng(1)
    days = pd.date_range("2024-01-01", periods=n, freq="D")
    frames = []
    for store, level in (("north", 100.0), ("south", 300.0)):
        promo = rng.integers(0, 2, n)
        sales = level * (1 + 0.2 * (days.dayofweek >= 5)) + 40 * promo + rng.normal(0, 3, n)
        frames.append(pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "store": store,
                                    "promo": promo, "sales": sales.round(1)}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def spec(path: Path, **options):
    return parse_spec({"task": "forecasting", "data": {"path": str(path), "target": "sales"},
                       "training": FAST, "options": options})  # fmt: skip


@pytest.fixture(scope="module")
def monthly_run(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path):
    """One trained run on a 60-month series (module-scoped: training takes seconds)."""
    import shutil

    folder = tmp_path_factory.mktemp("forecast")
    home = folder / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    path = folder / "sales.csv"
    seasonal_months().to_csv(path, index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec(path, horizon=6))
        client = mlflow.tracking.MlflowClient()
        run_data = client.get_run(result.run_id).data
        artifacts = {a.path for a in client.list_artifacts(result.run_id)}
        backtest = pd.read_csv(mlflow.artifacts.download_artifacts(
            run_id=result.run_id, artifact_path="backtest.csv", dst_path=str(folder)))  # fmt: skip
        model = load_model(result.model_uri)
        yield result, run_data, artifacts, backtest, model, path, home


def test_run_reports_mase_against_seasonal_naive_and_holt_winters(monthly_run) -> None:
    result, run_data, *_ = monthly_run
    assert {"test_mae", "test_rmse", "test_smape", "test_mase"} <= set(result.metrics)
    assert {"ets_test_mase", "snaive_test_mase", "theta_test_mase"} <= set(result.metrics)
    # judged against the strongest classical model (lower MASE), never a weaker one (issue 22)
    strongest = min(("snaive", "seasonal naive"), ("ets", "Holt-Winters"), ("theta", "Theta"),
                    key=lambda b: result.metrics[f"{b[0]}_test_mase"])  # fmt: skip
    assert result.baseline["name"] == strongest[1]
    assert result.baseline["metrics"]["test_mase"] == run_data.metrics["baseline_test_mase"]
    assert run_data.metrics["ets_test_mase"] == result.metrics["ets_test_mase"]
    assert run_data.tags["dlstudio.primary_metric"] == "mase"
    assert run_data.tags["dlstudio.higher_is_better"] == "false"
    assert "seasonal naive" in result.verdict and "Holt-Winters" in result.verdict
    assert result.verdict.startswith("The registered forecast blends ")
    assert result.beats_baseline == (
        against(result.metrics["test_mase"], result.metrics[f"{strongest[0]}_test_mase"],
                higher_is_better=False) == "wins"
    )  # fmt: skip


def test_backtest_table_is_the_protocol_it_claims(monthly_run) -> None:
    result, run_data, artifacts, backtest, *_ = monthly_run
    assert {"backtest.csv", "series_tail.csv", "future_forecast.csv", "horizon_errors.json",
            "forecast.png", "learning_curves.png"} <= artifacts  # fmt: skip
    series = seasonal_months().set_index(pd.to_datetime(seasonal_months()["month"]))["sales"]
    # 60 points, the last 12 held out, horizon 6: origins at positions 48..54, every step
    assert sorted(backtest["origin"].unique()) == [str(series.index[p - 1].date()) + "T00:00:00"
                                                   for p in range(48, 55)]  # fmt: skip
    times = pd.to_datetime(backtest["time"])
    assert backtest["actual"].tolist() == series.loc[times].tolist()
    # seasonal naive: the value one season (12 months) before, within the known history
    origin = pd.to_datetime(backtest["origin"])
    lag = (times.dt.year - origin.dt.year) * 12 + times.dt.month - origin.dt.month
    back = [
        t - pd.DateOffset(months=12 * ((k - 1) // 12 + 1)) for t, k in zip(times, lag, strict=True)
    ]
    assert np.allclose(backtest["seasonal_naive"], series.loc[back].to_numpy())
    # the logged metric is the one of this table
    mae = (backtest["seasonal_naive"] - backtest["actual"]).abs().mean()
    assert run_data.metrics["snaive_test_mae"] == pytest.approx(mae)
    ours = (backtest["forecast"] - backtest["actual"]).abs().mean()
    assert result.metrics["test_mae"] == pytest.approx(ours)
    assert (backtest["forecast_p10"] <= backtest["forecast"]).all()
    assert (backtest["forecast"] <= backtest["forecast_p90"]).all()


def test_the_registered_forecast_is_the_weighted_blend_of_its_members(monthly_run) -> None:
    result, _, _, backtest, *_ = monthly_run
    choice = result.candidates
    assert choice["chosen"] == "combination" and choice["chosen_on"] == "inner backtest"
    rows = {row["key"]: row for row in choice["candidates"]}
    assert set(rows) == {"network", "ets", "theta", "snaive", "combination"}
    weights = rows["combination"]["weights"]
    assert sum(weights.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in weights.values())
    columns = {"network": "network", "ets": "holt_winters", "theta": "theta",
               "snaive": "seasonal_naive"}  # fmt: skip
    blended = sum(w * backtest[columns[key]] for key, w in weights.items())
    assert np.allclose(backtest["forecast"], blended)
    # each member's logged test MASE is the one of its column in the backtest table
    scale = (
        backtest["actual"].sub(backtest["holt_winters"]).abs().mean()
        / result.metrics["ets_test_mase"]
    )
    for key, column in columns.items():
        mase = (backtest[column] - backtest["actual"]).abs().mean() / scale
        assert rows[key]["test"]["mase"] == pytest.approx(mase)
    assert result.metrics["test_network_mase"] == pytest.approx(rows["network"]["test"]["mase"])


def test_interval_coverage_and_pinball_are_those_of_the_backtest(monthly_run) -> None:
    result, _, _, backtest, *_ = monthly_run
    inside = (backtest["actual"] >= backtest["forecast_p10"]) & (
        backtest["actual"] <= backtest["forecast_p90"]
    )
    assert result.metrics["test_coverage80"] == pytest.approx(inside.mean())
    assert result.metrics["test_pinball"] > 0
    assert "test_network_coverage80" in result.metrics
    assert any("80% interval held the actual value" in note for note in result.notes)


def test_pyfunc_forecasts_the_next_horizon_from_a_history(monthly_run) -> None:
    *_, model, path, _ = monthly_run
    history = pd.read_csv(path)
    forecast = predict_frame(model, history)
    assert list(forecast.columns) == ["month", "forecast", "forecast_p10", "forecast_p90"]
    expected = pd.date_range("2020-01-01", periods=6, freq="MS")
    assert list(pd.to_datetime(forecast["month"])) == list(expected)
    assert np.isfinite(forecast["forecast"]).all()
    # a shorter history (the last 40 months) forecasts from its own end
    later = predict_frame(model, history.head(40))
    assert pd.to_datetime(later["month"]).iloc[0] == pd.Timestamp("2018-05-01")


def test_predict_command_writes_the_future_forecast(
    monthly_run, tmp_path, capsys, monkeypatch
) -> None:
    result, *_, path, home = monthly_run
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    output = tmp_path / "forecast.csv"
    assert main(["predict", "--model", result.model_uri, "--data", str(path),
                 "--output", str(output)]) == 0  # fmt: skip
    written = pd.read_csv(output)
    assert len(written) == 6 and "forecast_p90" in written
    assert "wrote 6 predictions" in capsys.readouterr().err


def test_pyfunc_refuses_a_history_shorter_than_its_window(monthly_run) -> None:
    *_, model, path, _ = monthly_run
    with pytest.raises(DataError) as caught:
        predict_frame(model, pd.read_csv(path).head(5))
    assert caught.value.message.startswith("The history has fewer than the")


def test_several_series_with_a_covariate(mlflow_home, tmp_path) -> None:
    path = tmp_path / "stores.csv"
    frame = store_days()
    frame.to_csv(path, index=False)
    result = run(spec(path, series_column="store", covariates=["promo"], time_column="day"))
    assert result.metrics["test_mase"] > 0
    assert any("needs future values of promo" in note for note in result.notes)
    importance = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/importance.json")
    assert {c["column"] for c in importance["columns"]} == {
        "recent values of sales", "calendar (time of year, week, day)", "promo",
        "Holt-Winters forecast",
    }  # fmt: skip
    assert importance["unit"] == "backtest windows" and importance["metric"] == "mase"
    assert [lag["lag"] for lag in importance["lags"]] == list(range(1, len(importance["lags"]) + 1))
    model = load_model(result.model_uri)
    with pytest.raises(DataError) as caught:
        predict_frame(model, frame)
    assert "needs their values for the 7 periods to forecast for series 'north'" in (
        caught.value.message
    )
    future_days = pd.date_range("2024-03-21", periods=7, freq="D").strftime("%Y-%m-%d")
    future = pd.concat([
        pd.DataFrame({"day": future_days, "store": store, "promo": 1, "sales": None})
        for store in ("north", "south")
    ])  # fmt: skip
    forecast = predict_frame(model, pd.concat([frame, future]))
    assert forecast.groupby("store").size().to_dict() == {"north": 7, "south": 7}
    assert forecast["day"].min() == pd.Timestamp("2024-03-21")


def test_cli_train_json_returns_mase_and_the_seasonal_naive_baseline(
    mlflow_home, tmp_path, capsys
) -> None:
    path = tmp_path / "series.csv"
    seasonal_months().to_csv(path, index=False)
    code = main(["train", "--task", "forecasting", "--data", str(path), "--target", "sales",
                 "--preset", "fast", "--set", "training.epochs=1", "--set", "options.horizon=12",
                 "--json"])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"test_mase", "ets_test_mase"} <= set(payload["metrics"])
    best = min(payload["baselines"], key=lambda b: b["metrics"]["test_mase"])
    assert payload["baseline"]["name"] == best["name"]
    assert "test_mase" in payload["baseline"]["metrics"]


# --- bad input --------------------------------------------------------------------------------


def check(frame: pd.DataFrame, tmp_path: Path, **options):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return check_run(spec(path, **options), get_settings())[1]


def test_too_short_a_series_says_how_many_points_are_needed(tmp_path) -> None:
    with pytest.raises(DataError) as caught:
        check(seasonal_months(30), tmp_path)
    assert caught.value.message == (
        "The series has 30 points; forecasting 12 steps from a window of 12 needs at least 56 "
        "(training windows, then the last 20% held out for the backtest)."
    )
    assert "lower options.horizon" in caught.value.fix


def test_a_series_with_a_single_point_is_left_out_with_a_warning(tmp_path) -> None:
    frame = pd.concat([seasonal_months().assign(shop="main"),
                       seasonal_months(1).assign(shop="typo")])  # fmt: skip
    findings = check(frame, tmp_path, series_column="shop")
    assert [f.level for f in findings] == ["warning"]
    assert "left out of training and the backtest: 'typo'" in findings[0].message


def test_negative_values_with_a_log_transform(tmp_path) -> None:
    frame = seasonal_months().assign(sales=lambda f: f["sales"] - 300)
    with pytest.raises(DataError) as caught:
        check(frame, tmp_path, target_transform="log")
    assert "negative values, so it cannot be modelled on a log scale" in caught.value.message


def test_bad_input_reaches_the_cli_as_one_clear_error(tmp_path, capsys) -> None:
    path = tmp_path / "words.csv"
    seasonal_months().assign(sales="n/a").to_csv(path, index=False)
    code = main(["train", "--task", "forecasting", "--data", str(path), "--target", "sales"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: The target 'sales' must hold numbers to forecast")


def test_roles_are_guessed_for_a_long_table_of_several_series() -> None:
    template = get_template("forecasting")
    assert template.suggest_roles(store_days()) == {
        "target": "sales", "time": "day", "series": "store"
    }  # fmt: skip
    assert template.suggest_roles(seasonal_months()) == {
        "target": "sales", "time": "month", "series": None
    }  # fmt: skip
    sample = template.sample()
    assert template.suggest_roles(sample.frame) == sample.roles


def test_the_sample_passes_every_check(tmp_path) -> None:
    sample = get_template("forecasting").sample()
    findings = check(sample.frame, tmp_path, time_column="month", series_column="store")
    assert findings == []
