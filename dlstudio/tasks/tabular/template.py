"""Tabular classification: an MLP with embeddings, checked against HistGradientBoosting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder
from torch import nn

from dlstudio.data.checks import Finding
from dlstudio.evaluation.metrics import classification_metrics
from dlstudio.nn.mlp import TabularMLP, TabularMLPConfig, embedding_dim
from dlstudio.nn.persist import load_network, save_network
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
from dlstudio.tasks.tabular.options import TabularClassificationSpec
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, FitConfig, TensorData, fit


@dataclass(frozen=True)
class Preset:
    """What fast / balanced / best mean for this template."""

    epochs: int
    hidden_sizes: tuple[int, ...]
    dropout: float
    learning_rate: float
    patience: int


PRESETS = {
    "fast": Preset(15, (128, 64), 0.1, 3e-3, 4),
    "balanced": Preset(60, (256, 128), 0.15, 2e-3, 8),
    "best": Preset(200, (256, 128), 0.15, 1e-3, 20),
}


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
        """Start-up, baselines and logging (~20 s measured) plus the preset's maximum epochs at
        the measured ~40,000 rows/s of the loop on 2 CPU cores (bench/RESULTS.md)."""
        rows_per_second = 400_000 if gpu else 40_000
        return 20 + PRESETS[preset].epochs * rows * 1.2 / rows_per_second

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
        features = fit_features(splits.train, feature_columns(splits.train, spec))
        preset = PRESETS[spec.training.preset]
        model = build_model(features, splits, spec, preset).to(device.device)
        train_set = _tensors(features, splits.train, splits.y_train).to(device.device)
        val_set = _tensors(features, splits.val, splits.y_val).to(device.device)
        loss_fn = nn.CrossEntropyLoss(weight=class_weights(splits, spec).to(device.device))
        stopper = EarlyStopping(
            "val_f1_macro", patience=spec.training.early_stopping_patience or preset.patience
        )
        state = fit(
            model,
            train_set,
            loss_fn=loss_fn,
            validate=lambda m: validation_scores(m, val_set, loss_fn, len(splits.classes), device),
            config=_fit_config(spec, preset, len(splits.train)),
            device=device,
            generator=generator,
            callbacks=[stopper, *callbacks],
        )
        test_proba = predict_proba(model, _tensors(features, splits.test, splits.y_test), device)
        save_model(work_dir, model, features, splits.classes)
        return TaskOutcome(
            metrics=classification_metrics(
                splits.y_test, test_proba, n_classes=len(splits.classes)
            ),
            baselines=baselines(features, splits, seed=spec.training.seed),
            primary_metric="f1_macro",
            higher_is_better=True,
            model_dir=work_dir,
            input_example=splits.test[features.input_columns].head(5),
            history=state.history,
            json_artifacts=classification_reports(splits, test_proba),
            stop_reason=state.stop_reason,
            holdout=splits.test[[*features.input_columns, spec.data.target]],
            holdout_target=spec.data.target,
        )

    def load_predictor(self, model_dir: Path) -> TabularPredictor:
        return TabularPredictor.load(model_dir)


def build_model(
    features: TabularFeatures, splits: Splits, spec: TabularClassificationSpec, preset: Preset
) -> TabularMLP:
    """An MLP sized by the preset unless the options say otherwise."""
    cards = tuple(f.cardinality for f in features.categorical)
    options = spec.options
    config = TabularMLPConfig(
        n_numeric=features.n_numeric_inputs,
        cardinalities=cards,
        embedding_dims=tuple(embedding_dim(n, cap=options.max_embedding_dim) for n in cards),
        hidden_sizes=tuple(options.hidden_sizes or preset.hidden_sizes),
        n_classes=len(splits.classes),
        dropout=preset.dropout if options.dropout is None else options.dropout,
    )
    return TabularMLP(config)


def baselines(features: TabularFeatures, splits: Splits, *, seed: int) -> list[BaselineResult]:
    """HistGradientBoosting and logistic regression on the same columns, fitted on train+val,
    scored on the same test rows; the run is judged against the stronger of the two."""
    fit_y = np.concatenate([splits.y_train, splits.y_val])
    fit_x, test_x = pd.concat([splits.train, splits.val]), splits.test
    n_classes = len(splits.classes)
    results = []
    for name, key, make in (
        ("HistGradientBoosting", "hgb", _hgb),
        ("logistic regression", "logreg", _logistic_regression),
    ):
        model = make(features, seed).fit(_classical_inputs(features, fit_x), fit_y)
        proba = model.predict_proba(_classical_inputs(features, test_x))
        proba = full_proba(proba, model.classes_, n_classes)
        metrics = classification_metrics(splits.y_test, proba, n_classes=n_classes)
        results.append(BaselineResult(name, key, metrics))
    return results


def _hgb(features: TabularFeatures, seed: int) -> Pipeline:
    n_numeric = features.n_numeric_inputs
    # sklearn treats at most 255 levels as categories; wider columns stay ordinal codes
    is_categorical = [False] * n_numeric + [f.cardinality <= 255 for f in features.categorical]
    mask = np.array(is_categorical, dtype=bool) if any(is_categorical) else None
    return make_pipeline(
        HistGradientBoostingClassifier(categorical_features=mask, random_state=seed)
    )


def _logistic_regression(features: TabularFeatures, seed: int) -> Pipeline:
    n_numeric = features.n_numeric_inputs
    n_columns = n_numeric + len(features.categorical)
    encode = ColumnTransformer(
        [("codes", OneHotEncoder(handle_unknown="ignore"), list(range(n_numeric, n_columns)))],
        remainder="passthrough",  # the numbers are already imputed and standardized
    )
    return make_pipeline(encode, LogisticRegression(max_iter=2000, random_state=seed))


class TabularPredictor:
    """Raw rows in; ``prediction`` and ``probability_<class>`` columns out."""

    def __init__(self, model: TabularMLP, features: TabularFeatures, classes: list) -> None:
        self.model, self.features, self.classes = model.eval(), features, classes
        self.device = DeviceChoice(torch.device("cpu"), None)

    @classmethod
    def load(cls, model_dir: Path) -> TabularPredictor:
        model, raw = load_network(model_dir, lambda c: TabularMLP(TabularMLPConfig.from_dict(c)))
        return cls(model, TabularFeatures.from_json(raw["features"]), raw["classes"])

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return prediction_table(None, self.classes, frame.index)
        numeric, categorical = self.features.transform(frame)
        data = TensorData(
            (torch.from_numpy(numeric), torch.from_numpy(categorical)), torch.zeros(len(frame))
        )
        return prediction_table(
            predict_proba(self.model, data, self.device), self.classes, frame.index
        )


def save_model(folder: Path, model: TabularMLP, features: TabularFeatures, classes: list) -> None:
    """The network and its preprocessing, loadable by ``TabularPredictor.load``."""
    description = {
        "task": TabularClassification.name,
        "network": model.config.to_dict(),
        "features": features.to_json(),
        "classes": [plain_value(label) for label in classes],
    }
    save_network(folder, model, description)


def _tensors(features: TabularFeatures, part: pd.DataFrame, y: np.ndarray) -> TensorData:
    numeric, categorical = features.transform(part)
    inputs = (torch.from_numpy(numeric), torch.from_numpy(categorical))
    return TensorData(inputs, torch.from_numpy(y))


def _fit_config(spec: TabularClassificationSpec, preset: Preset, n_train: int) -> FitConfig:
    training = spec.training
    # ~50 steps per epoch on small tables, capped so big tables keep GPU-sized batches
    auto_batch = int(min(1024, max(32, 2 ** round(np.log2(max(n_train, 1) / 50)))))
    return FitConfig(
        epochs=training.epochs or preset.epochs,
        batch_size=training.batch_size or auto_batch,
        learning_rate=training.learning_rate or preset.learning_rate,
    )


def _classical_inputs(features: TabularFeatures, part: pd.DataFrame) -> np.ndarray:
    numeric, categorical = features.transform(part)
    return np.hstack([numeric, categorical.astype(np.float32)])


TEMPLATE = TabularClassification  # registered in dlstudio/tasks/registry.py
