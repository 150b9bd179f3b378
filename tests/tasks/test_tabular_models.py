"""Tabular classification's models: TabM, the tuned two-class threshold, the validation-chosen
ensemble, and a saved model that predicts exactly what the run reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

from dlstudio.errors import DLStudioError
from dlstudio.evaluation.metrics import classification_metrics
from dlstudio.nn.mlp import TabularMLP, TabularMLPConfig
from dlstudio.nn.tabm import TabularTabM
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TaskOutcome, TrainingData
from dlstudio.tasks.tabular.features import fit_features
from dlstudio.tasks.tabular.model import (
    categorical_mask,
    classical_inputs,
    load_tabular,
    save_tabular,
)
from dlstudio.training.device import choose_device
from tests.conftest import make_customers


def train(tmp_path: Path, frame: pd.DataFrame, target: str, preset: str, **options) -> TaskOutcome:
    spec = parse_spec({
        "task": "tabular_classification", "data": {"path": "x.csv", "target": target},
        "training": {"preset": preset, "epochs": 3, "seed": 0}, "options": options,
    })  # fmt: skip
    template = get_template("tabular_classification")
    return template.train(
        TrainingData(frame), spec, device=choose_device("cpu"), callbacks=[],
        work_dir=tmp_path / "model",
    )  # fmt: skip


def rescored(outcome: TaskOutcome) -> tuple[pd.DataFrame, dict[str, float]]:
    """The saved model's predictions on the run's test rows, and its metrics from them."""
    predictor = get_template("tabular_classification").load_predictor(outcome.model_dir)
    target = outcome.holdout_target
    out = predictor.predict(outcome.holdout.drop(columns=[target]))
    classes = [c.removeprefix("probability_") for c in out.columns if c != "prediction"]
    truth = np.array([classes.index(str(v)) for v in outcome.holdout[target]])
    predicted = np.array([classes.index(str(v)) for v in out["prediction"]])
    proba = out[[f"probability_{c}" for c in classes]].to_numpy()
    scores = classification_metrics(truth, proba, n_classes=len(classes), predicted=predicted)
    return out, scores


@pytest.fixture(scope="module")
def balanced_run(tmp_path_factory) -> TaskOutcome:
    return train(tmp_path_factory.mktemp("balanced"), make_customers(), "churn", "balanced")


def test_balanced_trains_tabm_and_reports_it_beside_the_classical_models(balanced_run) -> None:
    report = balanced_run.json_artifacts["candidates.json"]
    assert report["chosen"] == "network"  # no ensemble unless best (or asked)
    assert [c["key"] for c in report["candidates"]] == ["network", "hgb", "logreg"]
    assert report["candidates"][0]["name"] == "TabM network"
    assert {b.key for b in balanced_run.baselines} == {"hgb", "logreg"}
    assert "Registered TabM network, chosen on the validation rows" in balanced_run.verdict


def test_the_saved_model_applies_the_tuned_threshold_and_scores_as_reported(balanced_run) -> None:
    decision = balanced_run.json_artifacts["decision.json"]
    out, scores = rescored(balanced_run)

    positive = decision["positive_class"]
    above = out[f"probability_{positive}"] >= decision["threshold"]
    assert ((out["prediction"] == positive) == above).all()
    assert scores == pytest.approx(balanced_run.metrics)


def test_best_weighs_network_and_classical_models_into_one_model(tmp_path: Path) -> None:
    outcome = train(tmp_path, make_customers(), "churn", "best")
    report = outcome.json_artifacts["candidates.json"]
    ensemble = next(c for c in report["candidates"] if c["key"] == "ensemble")
    assert sum(ensemble["weights"].values()) == pytest.approx(1.0)
    assert set(ensemble["weights"]) == {"network", "hgb", "logreg"}
    chosen = next(c for c in report["candidates"] if c["key"] == report["chosen"])
    network = report["candidates"][0]
    # the network, unless another model wins clearly on validation
    assert chosen["validation"]["f1_macro"] >= network["validation"]["f1_macro"]
    assert outcome.metrics == pytest.approx(chosen["test"])
    _, scores = rescored(outcome)  # members saved with skops load back and mix as in training
    assert scores == pytest.approx(outcome.metrics)


def test_classical_members_are_saved_without_pickle_and_load_back(tmp_path: Path) -> None:
    frame = make_customers()
    features = fit_features(frame, ["tenure", "plan", "monthly"], scaling="quantile")
    x = classical_inputs(features, frame)
    y = (frame["churn"] == "yes").to_numpy()
    hgb = make_pipeline(
        HistGradientBoostingClassifier(categorical_features=categorical_mask(features))
    )
    hgb.fit(x, y)
    network = TabularMLP(TabularMLPConfig(features.n_numeric_inputs, (5,), (2,), (4,), 2))
    save_tabular(tmp_path, network, features, {"hgb": hgb}, {"task": "tabular_classification"})

    _, loaded_features, members, raw = load_tabular(tmp_path)

    assert raw["members"] == ["hgb"] and (tmp_path / "member-hgb.skops").exists()
    assert np.array_equal(members["hgb"].predict_proba(x), hgb.predict_proba(x))
    assert loaded_features == features


def test_a_member_file_holding_other_code_is_refused(tmp_path: Path) -> None:
    import os

    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    network = TabularMLP(TabularMLPConfig(1, (), (), (4,), 2))
    features = fit_features(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), ["a"])
    save_tabular(tmp_path, network, features, {}, {"task": "tabular_classification"})
    skops.io.dump(make_pipeline(FunctionTransformer(os.system)), tmp_path / "member-hgb.skops")
    raw = (tmp_path / "model.json").read_text().replace('"members": []', '"members": ["hgb"]')
    (tmp_path / "model.json").write_text(raw)

    with pytest.raises(DLStudioError, match="not scikit-learn's"):
        load_tabular(tmp_path)


def test_three_classes_use_the_most_probable_class(tmp_path: Path) -> None:
    outcome = train(tmp_path, make_customers(), "plan", "fast")
    assert "decision.json" not in outcome.json_artifacts
    predictor = get_template("tabular_classification").load_predictor(outcome.model_dir)
    assert isinstance(predictor.network, TabularMLP)  # fast keeps the plain MLP
    out = predictor.predict(outcome.holdout.drop(columns=["plan"]))
    probabilities = out.drop(columns=["prediction"]).to_numpy()
    labels = [c.removeprefix("probability_") for c in out.columns[1:]]
    assert (out["prediction"].astype(str) == [labels[i] for i in probabilities.argmax(1)]).all()


def test_network_option_overrides_the_preset(tmp_path: Path) -> None:
    outcome = train(tmp_path, make_customers(), "churn", "fast", network="tabm")
    predictor = get_template("tabular_classification").load_predictor(outcome.model_dir)
    assert isinstance(predictor.network, TabularTabM)


def test_a_target_recall_is_met_on_the_validation_rows(tmp_path: Path) -> None:
    outcome = train(
        tmp_path, make_customers(), "churn", "fast", optimize="recall", target_recall=0.95,
        positive_class="yes",
    )  # fmt: skip
    decision = outcome.json_artifacts["decision.json"]
    assert decision["positive_class"] == "yes"
    assert decision["optimize"] == "f1_positive"
    report = outcome.json_artifacts["classification_report.json"]
    assert report["yes"]["recall"] >= 0.8  # tuned for 95% on validation; the test rows follow
