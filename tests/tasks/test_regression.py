"""The tabular regression template: a number predicted from table columns, judged against
HistGradientBoosting and ridge regression on the same rows, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlstudio.cli import main
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TaskOutcome, TrainingData
from dlstudio.tasks.regression.sample import house_prices
from dlstudio.tasks.regression.template import TargetScale
from dlstudio.tracking.promotion import holdout_scores
from dlstudio.training.device import choose_device


def train(tmp_path: Path, frame: pd.DataFrame, preset: str, **options) -> TaskOutcome:
    spec = parse_spec({
        "task": "tabular_regression", "data": {"path": "x.csv", "target": "price"},
        "training": {"preset": preset, "epochs": 3, "seed": 0}, "options": options,
    })  # fmt: skip
    return get_template("tabular_regression").train(
        TrainingData(frame), spec, device=choose_device("cpu"), callbacks=[],
        work_dir=tmp_path / "model",
    )  # fmt: skip


@pytest.fixture(scope="module")
def houses_run(tmp_path_factory) -> TaskOutcome:
    return train(tmp_path_factory.mktemp("houses"), house_prices(300), "balanced")


def test_metrics_and_baselines_on_the_same_test_rows(houses_run) -> None:
    assert set(houses_run.metrics) == {"rmse", "mae", "r2", "mape"}
    assert {b.key for b in houses_run.baselines} == {"hgb", "ridge"}
    assert houses_run.primary_metric == "rmse" and not houses_run.higher_is_better
    predictions = houses_run.tables["test_predictions.csv"]
    assert list(predictions.columns) == ["actual", "predicted"]
    assert len(predictions) == len(houses_run.holdout)
    report = houses_run.json_artifacts["candidates.json"]
    assert report["metric"] == "rmse" and report["chosen"] == "network"


def test_a_skewed_positive_price_is_learned_on_the_log_scale(houses_run) -> None:
    assert any("log(1 + value)" in note for note in houses_run.notes)


def test_the_saved_model_scores_as_reported(houses_run) -> None:
    predictor = get_template("tabular_regression").load_predictor(houses_run.model_dir)
    scores = holdout_scores(predictor.predict, houses_run.holdout, "price")
    assert scores == pytest.approx(houses_run.metrics)
    assert predictor.predict(houses_run.holdout.head(0)).empty


def test_best_can_register_an_ensemble_that_serves_as_one_model(tmp_path: Path) -> None:
    outcome = train(tmp_path, house_prices(300), "best", loss="huber")
    report = outcome.json_artifacts["candidates.json"]
    assert [c["key"] for c in report["candidates"]] == ["network", "hgb", "ridge", "ensemble"]
    predictor = get_template("tabular_regression").load_predictor(outcome.model_dir)
    scores = holdout_scores(predictor.predict, outcome.holdout, "price")
    assert scores == pytest.approx(outcome.metrics)


def test_target_scale_round_trips_and_logs_only_skewed_positive_targets() -> None:
    skewed = np.random.default_rng(0).lognormal(3, 1, 500)
    scale = TargetScale.fit(skewed, "auto")
    assert scale.log
    assert np.allclose(scale.inverse(scale.forward(skewed)), skewed)
    assert not TargetScale.fit(skewed - 100, "auto").log  # negative values: no log
    assert not TargetScale.fit(np.random.default_rng(0).normal(size=500), "auto").log
    assert not TargetScale.fit(skewed, "none").log


def test_cli_trains_registers_and_predicts_a_number(
    mlflow_home: Path, tmp_path: Path, capsys
) -> None:
    data = tmp_path / "houses.csv"
    house_prices(200).to_csv(data, index=False)
    code = main(["train", "--data", str(data), "--task", "tabular_regression", "--target",
                 "price", "--preset", "fast", "--set", "training.epochs=2", "--register",
                 "houses", "--json"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)

    assert code == 0
    assert {"test_rmse", "hgb_test_rmse", "ridge_test_rmse"} <= set(result["metrics"])
    assert result["baseline"]["name"] in ("HistGradientBoosting", "ridge regression")
    assert [c["key"] for c in result["candidates"]["candidates"]] == ["network", "hgb", "ridge"]
    assert result["registered"]["decision"] == "promoted"

    rows = tmp_path / "new.csv"
    house_prices(20, seed=3).drop(columns=["price"]).to_csv(rows, index=False)
    out = tmp_path / "scored.csv"
    assert main(["predict", "--model", "models:/houses@champion", "--data", str(rows),
                 "--output", str(out)]) == 0  # fmt: skip
    scored = pd.read_csv(out)
    assert len(scored) == 20 and (scored["prediction"] > 0).all()


def test_cli_refuses_a_target_that_looks_like_classes(
    mlflow_home: Path, tmp_path: Path, capsys
) -> None:
    data = tmp_path / "houses.csv"
    house_prices(200).assign(price=lambda f: f["bedrooms"]).to_csv(data, index=False)
    code = main(["train", "--data", str(data), "--task", "tabular_regression", "--target",
                 "price", "--json"])  # fmt: skip
    assert code == 2
    assert "classification" in capsys.readouterr().err


def test_a_retrain_is_judged_on_rmse_against_the_champion_and_reports_the_shift(
    mlflow_home: Path, tmp_path: Path
) -> None:
    from dlstudio.training.runner import run

    first, second = tmp_path / "may.csv", tmp_path / "june.csv"
    house_prices(200, seed=1).to_csv(first, index=False)
    house_prices(200, seed=2).assign(price=lambda f: f["price"] * 1.6).to_csv(second, index=False)

    def retrain(path: Path):
        return run(parse_spec({
            "task": "tabular_regression", "data": {"path": str(path), "target": "price"},
            "training": {"preset": "fast", "epochs": 2, "seed": 0},
            "tracking": {"register_as": "houses"},
        }))  # fmt: skip

    assert retrain(first).registered["decision"] == "promoted"
    registered = retrain(second).registered

    assert registered["version"] == "2"
    # both versions scored on June's test rows; lower rmse is better
    assert "test_rmse" in registered["reason"] and "champion (version 1)" in registered["reason"]
    assert "price" in registered["drift"]
