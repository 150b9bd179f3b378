"""Tabular regression: predict a number with TabM (or an MLP for ``fast``), judged against
HistGradientBoosting and ridge regression on the same rows; ``best`` weighs them into one model
on the validation rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from torch import nn

from dlstudio.data.checks import Finding
from dlstudio.data.columns import to_numeric
from dlstudio.evaluation.ensemble import squared_error
from dlstudio.evaluation.metrics import regression_metrics
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
from dlstudio.tasks.regression.options import TabularRegressionSpec
from dlstudio.tasks.tabular.checks import feature_columns
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
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, TensorData

SKEW_FOR_LOG = 1.0  # a positive target skewed more than this trains on log(1 + y)
CLASSICAL = {"hgb": "HistGradientBoosting", "ridge": "ridge regression"}


@dataclass(frozen=True)
class TargetScale:
    """How the network sees the target: log(1 + y) when ``log``, then standardized."""

    log: bool
    mean: float
    std: float

    def forward(self, y: np.ndarray) -> np.ndarray:
        return ((np.log1p(y) if self.log else y) - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        y = z * self.std + self.mean
        # cap before expm1: a wild extrapolation must not overflow to inf
        return np.expm1(np.minimum(y, 700.0)) if self.log else y

    @classmethod
    def fit(cls, y: np.ndarray, choice: str) -> TargetScale:
        log = choice == "log" or (choice == "auto" and _skewed_positive(y))
        values = np.log1p(y) if log else y
        std = float(values.std())
        return cls(log, float(values.mean()), std if std > 1e-12 else 1.0)


def _skewed_positive(y: np.ndarray) -> bool:
    if len(y) < 3 or y.min() < 0:
        return False
    centred = y - y.mean()
    std = centred.std()
    return bool(std > 0 and (centred**3).mean() / std**3 > SKEW_FOR_LOG)


@dataclass(frozen=True)
class Splits:
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray


def split_rows(data: TrainingData, spec: TabularRegressionSpec) -> Splits:
    """Random train/val/test from one file, or train/val from it and test from test_frame;
    rows without a numeric target are left out."""
    target, seed, options = spec.data.target, spec.training.seed, spec.options

    def labelled(part: pd.DataFrame) -> pd.DataFrame:
        values = to_numeric(part[target])
        return part.assign(**{target: values})[values.notna().to_numpy()]

    frame = labelled(data.frame)
    if data.test_frame is None:
        frame, test = train_test_split(frame, test_size=options.test_fraction, random_state=seed)
    else:
        test = labelled(data.test_frame)
    train, val = train_test_split(frame, test_size=options.val_fraction, random_state=seed)

    def y(part: pd.DataFrame) -> np.ndarray:
        return part[target].to_numpy(dtype=np.float64, copy=True)

    return Splits(train, val, test, y(train), y(val), y(test))


class TabularRegression(TaskTemplate):
    name = "tabular_regression"
    search_objective = ("val_rmse", "minimize")
    search_space = (DROPOUT, TABULAR_NETWORK)
    title = "Tabular regression"
    description = "Predict a number (price, demand, days to close) from table columns."
    data_needs = "A CSV, Excel or Parquet table with one row per example and a numeric target."
    roles = (
        Role("target", "Column to predict", "data.target", "The number the model learns."),
    )

    def suggest_roles(self, frame: pd.DataFrame) -> dict[str, str | None]:
        numeric = [
            c for c in frame.columns if to_numeric(frame[c]).notna().mean() > 0.9
            and frame[c].nunique() > 10
        ]  # fmt: skip
        return {"target": numeric[-1] if numeric else None}

    def sample(self) -> Sample:
        from dlstudio.tasks.regression.sample import house_prices

        return Sample(
            name="sample-house-prices",
            description="1,000 house sales; predict the sale price.",
            frame=house_prices(),
            roles={"target": "price"},
        )

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float:
        return estimate_seconds(rows, preset, gpu=gpu)

    def check(self, data: TrainingData, spec: TabularRegressionSpec) -> list[Finding]:
        from dlstudio.tasks.regression.checks import check_regression_table

        return check_regression_table(data, spec)

    def train(
        self,
        data: TrainingData,
        spec: TabularRegressionSpec,
        *,
        device: DeviceChoice,
        callbacks: Sequence[Callback],
        work_dir: Path,
    ) -> TaskOutcome:
        generator = seed_everything(spec.training.seed)
        splits = split_rows(data, spec)
        options = spec.options
        features = fit_features(
            splits.train, feature_columns(splits.train, spec), scaling="quantile"
        )
        scale = TargetScale.fit(splits.y_train, options.target_transform)
        val_set = tensors(features, splits.val, splits.y_val)
        base_loss = nn.HuberLoss(delta=1.0) if options.loss == "huber" else nn.MSELoss()

        def validate(model: nn.Module) -> dict[str, float]:
            predicted = predict_values(model, val_set, scale, device)
            z = torch.from_numpy(scale.forward(predicted)).float()
            loss = base_loss(z, torch.from_numpy(scale.forward(splits.y_val)).float()).item()
            scores = regression_metrics(splits.y_val, predicted)
            return {"val_loss": loss, **{f"val_{k}": v for k, v in scores.items()}}

        network, kind, state = train_network(
            spec, features, _scaled(tensors(features, splits.train, splits.y_train), scale),
            n_outputs=1, regression=True, loss_fn=EnsembleLoss(base_loss), validate=validate,
            monitor="val_rmse", device=device, generator=generator, callbacks=callbacks,
        )  # fmt: skip
        test_set = tensors(features, splits.test, splits.y_test)
        candidates = {
            "network": Candidate(
                NETWORK_NAMES[kind],
                predict_values(network, val_set, scale, device),
                predict_values(network, test_set, scale, device),
            ),
            **classical_candidates(features, splits, seed=spec.training.seed),
        }
        ensemble = use_ensemble(options, PRESETS[spec.training.preset])
        choice = choose_model(candidates, splits, ensemble=ensemble)
        save_tabular(
            work_dir, network, features, choice.members,
            {"task": self.name, "weights": choice.weights, "target_scale": vars(scale)},
            typical_rows(features, splits.train, spec.training.seed),
        )  # fmt: skip
        model = choice.model
        importance = permutation_importance(
            RegressionPredictor.load(work_dir).predict, splits.test[features.input_columns],
            splits.y_test, metric="rmse", seed=spec.training.seed,
        )  # fmt: skip
        outcome = TaskOutcome(
            metrics=model.test_metrics,
            baselines=[
                BaselineResult(c.name, k, c.test_metrics)
                for k, c in candidates.items()
                if k in CLASSICAL
            ],
            primary_metric="rmse",
            higher_is_better=False,
            model_dir=work_dir,
            input_example=splits.test[features.input_columns].head(5),
            history=state.history,
            json_artifacts={"candidates.json": choice.report(), IMPORTANCE_FILE: importance},
            tables={
                "test_predictions.csv": pd.DataFrame(
                    {"actual": splits.y_test, "predicted": model.test}
                )
            },
            stop_reason=state.stop_reason,
            holdout=splits.test[[*features.input_columns, spec.data.target]],
            holdout_target=spec.data.target,
        )
        summary = choice.summary(number=_number)
        if scale.log:
            outcome.notes.append(
                f"The target {spec.data.target!r} is positive and right-skewed: the network "
                "learned log(1 + value); predictions are in the target's own units."
            )
        outcome.notes.append(summary)
        outcome.verdict = f"{verdict_text(outcome)} {summary}"
        return outcome

    def load_predictor(self, model_dir: Path) -> RegressionPredictor:
        return RegressionPredictor.load(model_dir)


def classical_candidates(
    features: TabularFeatures, splits: Splits, *, seed: int
) -> dict[str, Candidate]:
    """HistGradientBoosting and ridge regression on the same training rows as the network."""
    fit_x = classical_inputs(features, splits.train)
    models = {
        "hgb": make_pipeline(
            HistGradientBoostingRegressor(
                categorical_features=categorical_mask(features), random_state=seed
            )
        ),
        "ridge": one_hot_then(features, RidgeCV(alphas=np.logspace(-3, 3, 13))),
    }
    out = {}
    for key, model in models.items():
        model.fit(fit_x, splits.y_train)
        out[key] = Candidate(
            CLASSICAL[key],
            model.predict(classical_inputs(features, splits.val)),
            model.predict(classical_inputs(features, splits.test)),
            model,
        )
    return out


def choose_model(candidates: dict[str, Candidate], splits: Splits, *, ensemble: bool) -> ModelChoice:
    """Score every candidate on the validation and test rows, add the greedy ensemble when
    asked (weights by squared error), and choose (``dlstudio.tasks.tabular.choice``)."""
    y_val = splits.y_val
    mix = add_ensemble(candidates, squared_error(y_val)) if ensemble else None
    errors = {}
    for key, candidate in candidates.items():
        candidate.val_score = regression_metrics(y_val, candidate.val)["rmse"]
        candidate.test_metrics = regression_metrics(splits.y_test, candidate.test)
        errors[key] = (candidate.val - y_val) ** 2

    def row_score(key: str):
        return lambda rows: -float(errors[key][rows].mean())

    return choose(candidates, mix, row_score, len(y_val), metric="rmse", higher_is_better=False)


def _number(value: float) -> str:
    """3 significant digits for small errors, whole numbers with separators for large ones."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _scaled(data: TensorData, scale: TargetScale) -> TensorData:
    target = torch.from_numpy(scale.forward(data.target.numpy())).float()
    return TensorData(data.inputs, target)


def predict_values(
    model: nn.Module, data: TensorData, scale: TargetScale, device: DeviceChoice,
    *, batch_size: int = 8192,
) -> np.ndarray:  # fmt: skip
    """The network's predictions in the target's own units, in large batches."""
    model.eval()
    data = data.to(device.device)
    chunks = []
    with torch.no_grad(), device.autocast():
        for inputs, _ in data.batches(batch_size):
            chunks.append(model(*inputs).float().reshape(-1))
    return scale.inverse(torch.cat(chunks).cpu().numpy().astype(np.float64))


class RegressionPredictor(BlendedModel):
    """Raw rows in; a ``prediction`` column out: the weighted mean of the network's and the
    classical members' predictions, in the target's own units."""

    def __init__(
        self,
        network: nn.Module,
        features: TabularFeatures,
        scale: TargetScale,
        *,
        members: dict[str, Pipeline] | None = None,
        weights: dict[str, float] | None = None,
        background: pd.DataFrame | None = None,
    ) -> None:
        super().__init__(network, features, members, weights, background)
        self.scale = scale

    @classmethod
    def load(cls, model_dir: Path) -> RegressionPredictor:
        network, features, members, raw = load_tabular(model_dir)
        scale = TargetScale(**raw["target_scale"])
        return cls(network, features, scale, members=members, weights=raw["weights"],
                   background=raw["background"])  # fmt: skip

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame({"prediction": pd.Series(dtype="float64")}, index=frame.index)
        values = self.blend(
            frame,
            lambda data: predict_values(self.network, data, self.scale, self.device),
            lambda member, x: member.predict(x),
        )
        return pd.DataFrame({"prediction": values}, index=frame.index)


TEMPLATE = TabularRegression  # registered in dlstudio/tasks/registry.py
