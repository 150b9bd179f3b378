"""Tabular classification: TabM (or an MLP for ``fast``), a decision threshold tuned on the
validation rows for two classes, and for ``best`` a validation-weighted ensemble with
HistGradientBoosting and logistic regression; judged against those classical models alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from torch import nn

from dlstudio.data.checks import Finding
from dlstudio.evaluation.calibration import (
    CALIBRATION_FILE,
    calibration_report,
    counts_by_threshold,
)
from dlstudio.evaluation.ensemble import log_loss, macro_f1
from dlstudio.evaluation.metrics import Decision, classification_metrics
from dlstudio.evaluation.thresholds import tune_threshold
from dlstudio.explain.importance import IMPORTANCE_FILE, permutation_importance
from dlstudio.nn.tabm import EnsembleLoss
from dlstudio.search.fields import DROPOUT, TABULAR_NETWORK
from dlstudio.tasks.base import (
    BaselineResult,
    Role,
    Sample,
    TaskOutcome,
    TaskTemplate,
    TrainingData,
)
from dlstudio.tasks.classification import (
    Splits,
    class_weights,
    classification_reports,
    full_proba,
    plain_value,
    predict_proba,
    prediction_table,
    split_rows,
    validation_scores,
)
from dlstudio.tasks.classification_checks import guess_target
from dlstudio.tasks.tabular.checks import check_table, feature_columns
from dlstudio.tasks.tabular.choice import (
    Candidate,
    ModelChoice,
    add_ensemble,
    choose,
    verdict_text,
)
from dlstudio.tasks.tabular.features import TabularFeatures, fit_features
from dlstudio.tasks.tabular.model import (
    NETWORK_NAMES,
    PRESETS,
    BlendedModel,
    categorical_mask,
    classical_inputs,
    estimate_seconds,
    load_tabular,
    one_hot_then,
    save_tabular,
    tensors,
    train_network,
    typical_rows,
    use_ensemble,
)
from dlstudio.tasks.tabular.options import TabularClassificationSpec
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback


class TabularClassification(TaskTemplate):
    name = "tabular_classification"
    search_objective = ("val_f1_macro", "maximize")
    search_space = (DROPOUT, TABULAR_NETWORK)
    title = "Tabular classification"
    description = "Predict a category (churn yes/no, product type, risk band) from table columns."
    data_needs = "A CSV, Excel or Parquet table with one row per example and a target column."
    roles = (
        Role(
            "target",
            "Column to predict",
            "data.target",
            "The category the model learns to predict.",
        ),
    )

    def suggest_roles(self, frame: pd.DataFrame) -> dict[str, str | None]:
        return {"target": guess_target(frame)}

    def sample(self) -> Sample:
        from dlstudio.tasks.tabular.sample import churn_table

        return Sample(
            name="sample-churn",
            description="1,000 customers of a subscription business; predict who churned.",
            frame=churn_table(),
            roles={"target": "churned"},
        )

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float:
        return estimate_seconds(rows, preset, gpu=gpu)

    def check(self, data: TrainingData, spec: TabularClassificationSpec) -> list[Finding]:
        return check_table(data, spec)

    def train(
        self,
        data: TrainingData,
        spec: TabularClassificationSpec,
        *,
        device: DeviceChoice,
        callbacks: Sequence[Callback],
        work_dir: Path,
    ) -> TaskOutcome:
        generator = seed_everything(spec.training.seed)
        splits = split_rows(data, spec)
        features = fit_features(
            splits.train, feature_columns(splits.train, spec), scaling="quantile"
        )
        n_classes = len(splits.classes)
        val_set = tensors(features, splits.val, splits.y_val).to(device.device)
        weight = class_weights(splits, spec)
        loss_fn = EnsembleLoss(nn.CrossEntropyLoss(weight=weight.to(device.device)))
        network, kind, state = train_network(
            spec, features, tensors(features, splits.train, splits.y_train),
            n_outputs=n_classes, regression=False, loss_fn=loss_fn,
            validate=lambda m: validation_scores(m, val_set, loss_fn, n_classes, device),
            monitor="val_loss", device=device, generator=generator, callbacks=callbacks,
        )  # fmt: skip
        test_set = tensors(features, splits.test, splits.y_test)
        candidates = {
            "network": Candidate(
                NETWORK_NAMES[kind],
                predict_proba(network, val_set, device),
                predict_proba(network, test_set, device),
            ),
            **classical_candidates(features, splits, seed=spec.training.seed, class_weight=weight),
        }
        ensemble = use_ensemble(spec.options, PRESETS[spec.training.preset])
        choice, rule = choose_model(candidates, splits, spec, ensemble=ensemble)
        save_model(work_dir, network, features, splits.classes, choice,
                   background=typical_rows(features, splits.train, spec.training.seed))  # fmt: skip
        model = choice.model
        importance = permutation_importance(
            TabularPredictor.load(work_dir).predict, splits.test[features.input_columns],
            splits.test[spec.data.target], metric="f1_macro", seed=spec.training.seed,
        )  # fmt: skip
        outcome = TaskOutcome(
            metrics=model.test_metrics,
            baselines=[
                BaselineResult(c.name, key, c.test_metrics)
                for key, c in candidates.items()
                if key in CLASSICAL
            ],
            primary_metric="f1_macro",
            higher_is_better=True,
            model_dir=work_dir,
            input_example=splits.test[features.input_columns].head(5),
            history=state.history,
            json_artifacts={
                **classification_reports(splits, model.test, model.decision),
                "candidates.json": choice.report(),
                **({"decision.json": rule} if rule else {}),
                **_calibration(splits, model.val, model.test, rule),
                IMPORTANCE_FILE: importance,
            },
            stop_reason=state.stop_reason,
            holdout=splits.test[[*features.input_columns, spec.data.target]],
            holdout_target=spec.data.target,
        )
        outcome.verdict = f"{verdict_text(outcome)} {choice.summary()}"
        outcome.notes.append(choice.summary())
        return outcome

    def load_predictor(self, model_dir: Path) -> TabularPredictor:
        return TabularPredictor.load(model_dir)


CLASSICAL = {"hgb": "HistGradientBoosting", "logreg": "logistic regression"}


def _calibration(splits: Splits, val: np.ndarray, test: np.ndarray, rule: dict | None) -> dict:
    """``calibration.json`` of a two-class model (its positive class is the rule's): the test
    rows' calibration, and each threshold's counts on the validation and the test rows."""
    if rule is None:
        return {}
    names = [plain_value(label) for label in splits.classes]
    positive = names.index(rule["positive_class"])
    is_test, is_val = splits.y_test == positive, splits.y_val == positive
    report = calibration_report(is_test, test[:, positive], str(names[positive]))
    report["threshold"] = rule["threshold"]
    report["counts"] = {"validation": counts_by_threshold(is_val, val[:, positive]),
                        "test": counts_by_threshold(is_test, test[:, positive])}  # fmt: skip
    return {CALIBRATION_FILE: report}


def classical_candidates(
    features: TabularFeatures, splits: Splits, *, seed: int, class_weight: torch.Tensor
) -> dict[str, Candidate]:
    """HistGradientBoosting and logistic regression, fitted on the same training rows as the
    network with the same class weights (the validation rows tune their thresholds and the
    ensemble, as for the network)."""
    sample_weight = class_weight.numpy()[splits.y_train]
    fit_x = classical_inputs(features, splits.train)
    val_x, test_x = classical_inputs(features, splits.val), classical_inputs(features, splits.test)
    n_classes = len(splits.classes)
    models = {
        "hgb": make_pipeline(
            HistGradientBoostingClassifier(
                categorical_features=categorical_mask(features), random_state=seed
            )
        ),
        # numbers are already imputed and quantile-scaled; categories one-hot
        "logreg": one_hot_then(features, LogisticRegression(max_iter=2000, random_state=seed)),
    }
    candidates = {}
    for key, model in models.items():
        step = model.steps[-1][0]
        model.fit(fit_x, splits.y_train, **{f"{step}__sample_weight": sample_weight})

        def proba(x: np.ndarray, model: Pipeline = model) -> np.ndarray:
            return full_proba(model.predict_proba(x), model.classes_, n_classes)

        candidates[key] = Candidate(CLASSICAL[key], proba(val_x), proba(test_x), model)
    return candidates


def choose_model(
    candidates: dict[str, Candidate], splits: Splits, spec: Any, *, ensemble: bool
) -> tuple[ModelChoice, dict | None]:
    """Score every candidate on the validation rows, each with its own tuned threshold (two
    classes), add the greedy ensemble when asked, and choose (``dlstudio.tasks.tabular.choice``);
    with ``decision.json`` for two classes."""
    options = spec.options
    n_classes = len(splits.classes)
    positive = positive_index(splits, options.positive_class) if n_classes == 2 else None
    objective = "f1_macro"
    if positive is not None:
        objective = {"recall": "f1_positive"}.get(options.optimize, options.optimize)
    mix = None
    if ensemble:
        mix = add_ensemble(candidates, log_loss(splits.y_val, class_weights(splits, spec).numpy()))
    labels = {}
    for key, candidate in candidates.items():
        if positive is not None:
            candidate.decision = tune_threshold(
                splits.y_val, candidate.val, positive=positive,
                objective=options.optimize, target_recall=options.target_recall,
            )  # fmt: skip
        labels[key] = candidate.decision.classes(candidate.val)
        candidate.val_score = label_score(splits.y_val, labels[key], objective, n_classes, positive)
        candidate.test_metrics = classification_metrics(
            splits.y_test, candidate.test, n_classes=n_classes, decision=candidate.decision
        )

    def row_score(key: str):
        return lambda rows: label_score(
            splits.y_val[rows], labels[key][rows], objective, n_classes, positive
        )

    choice = choose(candidates, mix, row_score, len(splits.y_val), metric=objective,
                    higher_is_better=True)  # fmt: skip
    if positive is None:
        return choice, None
    model = choice.model
    untuned = label_score(splits.y_val, model.val.argmax(axis=1), objective, n_classes, positive)
    return choice, {
        "positive_class": plain_value(splits.classes[positive]),
        "threshold": model.decision.threshold,
        "optimize": objective,
        "validation_score": model.val_score,
        "untuned_validation_score": untuned,
    }


def label_score(
    y: np.ndarray, predicted: np.ndarray, objective: str, n_classes: int, positive: int | None
) -> float:
    """The objective from predicted classes: accuracy, F1 of the positive class, or macro-F1."""
    if objective == "accuracy":
        return float((y == predicted).mean())
    if objective == "f1_positive" and positive is not None:
        is_true, is_predicted = y == positive, predicted == positive
        total = is_true.sum() + is_predicted.sum()
        return 2 * float((is_true & is_predicted).sum()) / total if total else 0.0
    return macro_f1(y, predicted, n_classes)


def positive_index(splits: Splits, named: str | None) -> int:
    """The class a two-class threshold is about: the one named in the options, else the rarer
    one in the training rows (churned, fraud, defect...)."""
    names = [str(label) for label in splits.classes]
    if named is not None and named in names:
        return names.index(named)
    return int(np.argmin(np.bincount(splits.y_train, minlength=2)))


class TabularPredictor(BlendedModel):
    """Raw rows in; ``prediction`` and ``probability_<class>`` columns out. The probabilities
    are the weighted mean of the network's and the classical members'; two classes are decided
    by the threshold tuned on the validation rows."""

    def __init__(
        self,
        network: nn.Module,
        features: TabularFeatures,
        classes: list,
        *,
        members: dict[str, Pipeline] | None = None,
        weights: dict[str, float] | None = None,
        decision: Decision | None = None,
        background: pd.DataFrame | None = None,
    ) -> None:
        super().__init__(network, features, members, weights, background)
        self.classes = classes
        self.decision = decision or Decision()

    @classmethod
    def load(cls, model_dir: Path) -> TabularPredictor:
        network, features, members, raw = load_tabular(model_dir)
        return cls(
            network, features, raw["classes"], members=members,
            weights=raw.get("weights"), decision=Decision.from_json(raw.get("decision")),
            background=raw["background"],
        )  # fmt: skip

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        n_classes = len(self.classes)
        return self.blend(
            frame,
            lambda data: predict_proba(self.network, data, self.device),
            lambda member, x: full_proba(member.predict_proba(x), member.classes_, n_classes),
        )

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return prediction_table(None, self.classes, frame.index)
        return prediction_table(self.proba(frame), self.classes, frame.index, self.decision)


def save_model(
    folder: Path, network: nn.Module, features: TabularFeatures, classes: list,
    choice: ModelChoice | None = None, *, background: pd.DataFrame | None = None,
) -> None:  # fmt: skip
    """The network, the classical members the choice uses, the weights, the decision rule and
    the typical rows (``background``), loadable by ``TabularPredictor.load``."""
    save_tabular(
        folder,
        network,
        features,
        choice.members if choice else {},
        {
            "task": TabularClassification.name,
            "classes": [plain_value(label) for label in classes],
            "weights": choice.weights if choice else {"network": 1.0},
            "decision": (choice.model.decision if choice else Decision()).to_json(),
        },
        background,
    )


TEMPLATE = TabularClassification  # registered in dlstudio/tasks/registry.py
