"""Tabular classification: TabM (or an MLP for ``fast``), a decision threshold tuned on the
validation rows for two classes, and for ``best`` a validation-weighted ensemble with
HistGradientBoosting and logistic regression; judged against those classical models alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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
from dlstudio.evaluation.ensemble import log_loss, macro_f1, select_weights, win_share
from dlstudio.evaluation.metrics import Decision, Verdict, classification_metrics
from dlstudio.evaluation.thresholds import tune_threshold
from dlstudio.nn.tabm import EnsembleLoss
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
from dlstudio.tasks.tabular.features import TabularFeatures, fit_features
from dlstudio.tasks.tabular.model import (
    NETWORK_NAMES,
    PRESETS,
    build_network,
    categorical_mask,
    classical_inputs,
    fit_config,
    load_tabular,
    network_kind,
    one_hot_then,
    save_tabular,
    tensors,
    use_ensemble,
)
from dlstudio.tasks.tabular.options import TabularClassificationSpec
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, TensorData, fit


class TabularClassification(TaskTemplate):
    name = "tabular_classification"
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
        """Start-up, classical models and logging (~20 s), plus the network's time budget or
        its maximum epochs at the measured rows/s of the loop on 2 CPU cores (bench/RESULTS.md),
        whichever is smaller."""
        settings = PRESETS[preset]
        rows_per_second = (400_000 if gpu else 40_000) / (8 if settings.network == "tabm" else 1)
        epochs_seconds = settings.epochs * rows * 1.2 / rows_per_second
        return 20 + rows / 5_000 + min(epochs_seconds, settings.seconds * (3 if gpu else 1))

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
        preset = PRESETS[spec.training.preset]
        features = fit_features(
            splits.train, feature_columns(splits.train, spec), scaling="quantile"
        )
        train_set = tensors(features, splits.train, splits.y_train)
        kind = network_kind(spec.options, preset)
        network = build_network(
            kind, features, train_set.inputs[0].numpy(), n_outputs=len(splits.classes),
            regression=False, options=spec.options, preset=preset,
        ).to(device.device)  # fmt: skip
        val_set = tensors(features, splits.val, splits.y_val).to(device.device)
        loss_fn = EnsembleLoss(
            nn.CrossEntropyLoss(weight=class_weights(splits, spec).to(device.device))
        )
        stopper = EarlyStopping(
            "val_loss", mode="min", patience=spec.training.early_stopping_patience or preset.patience
        )
        state = fit(
            network,
            train_set.to(device.device),
            loss_fn=loss_fn,
            validate=lambda m: validation_scores(m, val_set, loss_fn, len(splits.classes), device),
            config=fit_config(spec, preset, len(splits.train), device),
            device=device,
            generator=generator,
            callbacks=[stopper, *callbacks],
        )
        test_set = tensors(features, splits.test, splits.y_test)
        candidates = {
            "network": Candidate(
                NETWORK_NAMES[kind],
                predict_proba(network, val_set, device),
                predict_proba(network, test_set, device),
            ),
            **classical_candidates(
                features, splits, seed=spec.training.seed, class_weight=loss_fn.weight.cpu()
            ),
        }
        choice = choose_model(candidates, splits, spec, ensemble=use_ensemble(spec.options, preset))
        save_model(work_dir, network, features, splits.classes, choice)
        metrics = classification_metrics(
            splits.y_test, choice.test_proba, n_classes=len(splits.classes),
            decision=choice.decision,
        )  # fmt: skip
        baselines = [
            BaselineResult(c.name, key, c.test_metrics) for key, c in choice.scored.items()
            if key in CLASSICAL
        ]  # fmt: skip
        outcome = TaskOutcome(
            metrics=metrics,
            baselines=baselines,
            primary_metric="f1_macro",
            higher_is_better=True,
            model_dir=work_dir,
            input_example=splits.test[features.input_columns].head(5),
            history=state.history,
            json_artifacts={
                **classification_reports(splits, choice.test_proba, choice.decision),
                "candidates.json": choice.report(),
                **({"decision.json": choice.decision_report()} if choice.tuned else {}),
            },
            stop_reason=state.stop_reason,
            holdout=splits.test[[*features.input_columns, spec.data.target]],
            holdout_target=spec.data.target,
        )
        outcome.verdict = f"{choice.summary()} {_verdict(outcome)}"
        outcome.notes.append(choice.summary())
        return outcome

    def load_predictor(self, model_dir: Path) -> TabularPredictor:
        return TabularPredictor.load(model_dir)


CLASSICAL = {"hgb": "HistGradientBoosting", "logreg": "logistic regression"}
# ``best`` registers another model than the network only when it beats the network on this share
# of bootstrap resamples of the validation rows (measured on 3 tables x 3 seeds: picking the
# plain validation winner registered models that lost on the test rows, bench/RESULTS.md)
CONFIDENT = 0.9


@dataclass
class Candidate:
    """One model's class probabilities on the validation and the test rows."""

    name: str
    val_proba: np.ndarray
    test_proba: np.ndarray
    pipeline: Pipeline | None = None  # a classical model, kept for the ensemble
    decision: Decision = field(default_factory=Decision)
    val_score: float = 0.0
    test_metrics: dict[str, float] | None = None


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


@dataclass
class ModelChoice:
    """The model registered: weights over the candidates (one of them alone, or an ensemble),
    chosen on the validation rows, and its decision rule."""

    chosen: str  # "network", "hgb", "logreg" or "ensemble"
    weights: dict[str, float]
    scored: dict[str, Candidate]  # every candidate, and the ensemble when one was fitted
    objective: str
    positive_label: object = None  # two classes: the class the threshold is about
    untuned_val_score: float = 0.0  # the chosen model's validation score at threshold 0.5

    @property
    def model(self) -> Candidate:
        return self.scored[self.chosen]

    @property
    def decision(self) -> Decision:
        return self.model.decision

    @property
    def test_proba(self) -> np.ndarray:
        return self.model.test_proba

    @property
    def tuned(self) -> bool:
        return self.decision.positive is not None

    def summary(self) -> str:
        """One sentence: what was registered, and the validation scores it was chosen on."""
        others = ", ".join(
            f"{c.name} {c.val_score:.3f}" for key, c in self.scored.items() if key != self.chosen
        )
        what = self.model.name if self.chosen != "ensemble" else "the ensemble of " + " + ".join(
            f"{self.scored[k].name} {w:.2f}" for k, w in self.weights.items() if w > 0
        )  # fmt: skip
        return (
            f"Registered {what}, chosen on the validation rows ({self.objective} "
            f"{self.model.val_score:.3f}; {others})."
        )

    def report(self) -> dict:
        return {
            "metric": self.objective,
            "higher_is_better": True,
            "chosen": self.chosen,
            "candidates": [
                {
                    "key": key,
                    "name": c.name,
                    "weights": self.weights if key == "ensemble" else None,
                    "validation": {self.objective: c.val_score},
                    "test": c.test_metrics,
                }
                for key, c in self.scored.items()
            ],
        }

    def decision_report(self) -> dict:
        return {
            "positive_class": self.positive_label,
            "threshold": self.decision.threshold,
            "optimize": self.objective,
            "validation_score": self.model.val_score,
            "untuned_validation_score": self.untuned_val_score,
        }


def choose_model(
    candidates: dict[str, Candidate], splits: Splits, spec: Any, *, ensemble: bool
) -> ModelChoice:
    """Score every candidate on the validation rows (each with its own tuned threshold) and add
    the greedy ensemble when asked; keep the network unless ``ensemble`` and the best of the
    others beats it on 90% of bootstrap resamples of the validation rows."""
    options = spec.options
    n_classes = len(splits.classes)
    positive = positive_index(splits, options.positive_class) if n_classes == 2 else None
    objective = _objective_metric(options.optimize) if positive is not None else "f1_macro"
    weights_by_key: dict[str, dict[str, float]] = {}
    if ensemble:
        keys = list(candidates)
        class_weight = class_weights(splits, spec).numpy()
        weights = select_weights(
            [candidates[k].val_proba for k in keys], log_loss(splits.y_val, class_weight)
        )
        weights_by_key["ensemble"] = {k: float(w) for k, w in zip(keys, weights, strict=True)}
        candidates["ensemble"] = Candidate(
            "Ensemble",
            sum(w * candidates[k].val_proba for k, w in zip(keys, weights, strict=True)),
            sum(w * candidates[k].test_proba for k, w in zip(keys, weights, strict=True)),
        )
    for candidate in candidates.values():
        candidate.decision = (
            tune_threshold(
                splits.y_val, candidate.val_proba, positive=positive,
                objective=options.optimize, target_recall=options.target_recall,
            )
            if positive is not None
            else Decision()
        )  # fmt: skip
        candidate.val_score = _score(splits.y_val, candidate.val_proba, candidate.decision,
                                     objective, n_classes, positive)  # fmt: skip
        candidate.test_metrics = classification_metrics(
            splits.y_test, candidate.test_proba, n_classes=n_classes, decision=candidate.decision
        )
    chosen = "network"
    others = [k for k in candidates if k != "network"] if ensemble else []
    if others:
        rival = max(others, key=lambda k: candidates[k].val_score)
        labels = {k: candidates[k].decision.classes(candidates[k].val_proba) for k in candidates}

        def on_rows(key: str):
            return lambda rows: _label_score(
                splits.y_val[rows], labels[key][rows], objective, n_classes, positive
            )

        if win_share(on_rows(rival), on_rows("network"), len(splits.y_val)) >= CONFIDENT:
            chosen = rival
    weights = weights_by_key.get(chosen, {chosen: 1.0})
    untuned = _score(
        splits.y_val, candidates[chosen].val_proba, Decision(), objective, n_classes, positive
    )
    label = None if positive is None else plain_value(splits.classes[positive])
    return ModelChoice(chosen, weights, candidates, objective, label, untuned)


def _label_score(
    y: np.ndarray, predicted: np.ndarray, objective: str, n_classes: int, positive: int | None
) -> float:
    if objective == "accuracy":
        return float((y == predicted).mean())
    if objective == "f1_positive" and positive is not None:
        is_true, is_predicted = y == positive, predicted == positive
        tp = float((is_true & is_predicted).sum())
        total = is_true.sum() + is_predicted.sum()
        return 2 * tp / total if total else 0.0
    return macro_f1(y, predicted, n_classes)


def positive_index(splits: Splits, named: str | None) -> int:
    """The class a two-class threshold is about: the one named in the options, else the rarer
    one in the training rows (churned, fraud, defect...)."""
    names = [str(label) for label in splits.classes]
    if named is not None and named in names:
        return names.index(named)
    counts = np.bincount(splits.y_train, minlength=2)
    return int(np.argmin(counts))


def _objective_metric(optimize: str) -> str:
    return {"recall": "f1_positive"}.get(optimize, optimize)


def _score(
    y: np.ndarray, proba: np.ndarray, decision: Decision, objective: str, n_classes: int,
    positive: int | None,
) -> float:  # fmt: skip
    if objective == "f1_positive" and positive is not None:
        predicted = decision.classes(proba)
        from sklearn.metrics import f1_score

        return float(f1_score(y == positive, predicted == positive, zero_division=0))
    return classification_metrics(y, proba, n_classes=n_classes, decision=decision)[objective]


def _verdict(outcome: TaskOutcome) -> str:
    return str(
        Verdict(
            outcome.primary_metric,
            outcome.metrics[outcome.primary_metric],
            outcome.baseline.metrics[outcome.primary_metric],
            outcome.baseline.name,
            outcome.higher_is_better,
        )
    )


class TabularPredictor:
    """Raw rows in; ``prediction`` and ``probability_<class>`` columns out. The probabilities
    are the weighted mean of the network's and the classical members' (weights chosen on the
    validation rows); two classes are decided by the tuned threshold."""

    def __init__(
        self,
        network: nn.Module,
        features: TabularFeatures,
        classes: list,
        *,
        members: dict[str, Pipeline] | None = None,
        weights: dict[str, float] | None = None,
        decision: Decision | None = None,
    ) -> None:
        self.network, self.features, self.classes = network.eval(), features, classes
        self.members = members or {}
        self.weights = weights or {"network": 1.0}
        self.decision = decision or Decision()
        self.device = DeviceChoice(torch.device("cpu"), None)

    @classmethod
    def load(cls, model_dir: Path) -> TabularPredictor:
        network, features, members, raw = load_tabular(model_dir)
        return cls(
            network, features, raw["classes"], members=members,
            weights=raw.get("weights"), decision=Decision.from_json(raw.get("decision")),
        )  # fmt: skip

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        numeric, categorical = self.features.transform(frame)
        total = np.zeros((len(frame), len(self.classes)))
        for key, weight in self.weights.items():
            if weight <= 0:
                continue
            if key == "network":
                data = TensorData(
                    (torch.from_numpy(numeric), torch.from_numpy(categorical)),
                    torch.zeros(len(frame)),
                )
                total += weight * predict_proba(self.network, data, self.device)
            else:
                member = self.members[key]
                inputs = np.hstack([numeric, categorical.astype(np.float32)])
                total += weight * full_proba(
                    member.predict_proba(inputs), member.classes_, len(self.classes)
                )
        return total

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return prediction_table(None, self.classes, frame.index)
        return prediction_table(self.proba(frame), self.classes, frame.index, self.decision)


def save_model(
    folder: Path, network: nn.Module, features: TabularFeatures, classes: list,
    choice: ModelChoice | None = None,
) -> None:  # fmt: skip
    """The network, the classical members the choice uses, the weights and the decision rule,
    loadable by ``TabularPredictor.load``."""
    weights = choice.weights if choice else {"network": 1.0}
    members = {
        key: choice.scored[key].pipeline for key, w in weights.items() if key != "network" and w > 0
    } if choice else {}  # fmt: skip
    decision = choice.decision if choice else Decision()
    save_tabular(
        folder,
        network,
        features,
        members,
        {
            "task": TabularClassification.name,
            "classes": [plain_value(label) for label in classes],
            "weights": weights,
            "decision": decision.to_json(),
        },
    )


TEMPLATE = TabularClassification  # registered in dlstudio/tasks/registry.py
