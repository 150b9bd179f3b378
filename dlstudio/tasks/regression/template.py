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
from dlstudio.evaluation.ensemble import select_weights, squared_error, win_share
from dlstudio.evaluation.metrics import Verdict, regression_metrics
from dlstudio.nn.tabm import EnsembleLoss
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
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, TensorData, fit

SKEW_FOR_LOG = 1.0  # a positive target skewed more than this trains on log(1 + y)
CLASSICAL = {"hgb": "HistGradientBoosting", "ridge": "ridge regression"}
CONFIDENT = 0.9  # as tabular classification: leave the network only for a clear validation win


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
        """As tabular classification: start-up and classical models plus the network's budget."""
        settings = PRESETS[preset]
        rows_per_second = (400_000 if gpu else 40_000) / (8 if settings.network == "tabm" else 1)
        epochs_seconds = settings.epochs * rows * 1.2 / rows_per_second
        return 20 + rows / 5_000 + min(epochs_seconds, settings.seconds * (3 if gpu else 1))

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
        options, preset = spec.options, PRESETS[spec.training.preset]
        features = fit_features(
            splits.train, feature_columns(splits.train, spec), scaling="quantile"
        )
        scale = TargetScale.fit(splits.y_train, options.target_transform)
        train_set = _scaled(tensors(features, splits.train, splits.y_train), scale)
        kind = network_kind(options, preset)
        network = build_network(
            kind, features, train_set.inputs[0].numpy(), n_outputs=1, regression=True,
            options=options, preset=preset,
        ).to(device.device)  # fmt: skip
        val_set = tensors(features, splits.val, splits.y_val)
        base_loss = nn.HuberLoss(delta=1.0) if options.loss == "huber" else nn.MSELoss()
        loss_fn = EnsembleLoss(base_loss)

        def validate(model: nn.Module) -> dict[str, float]:
            predicted = predict_values(model, val_set, scale, device)
            z = torch.from_numpy(scale.forward(predicted)).float()
            loss = base_loss(z, torch.from_numpy(scale.forward(splits.y_val)).float()).item()
            scores = regression_metrics(splits.y_val, predicted)
            return {"val_loss": loss, **{f"val_{k}": v for k, v in scores.items()}}

        stopper = EarlyStopping(
            "val_rmse", mode="min", patience=spec.training.early_stopping_patience or preset.patience
        )
        state = fit(
            network,
            train_set.to(device.device),
            loss_fn=loss_fn,
            validate=validate,
            config=fit_config(spec, preset, len(splits.train), device),
            device=device,
            generator=generator,
            callbacks=[stopper, *callbacks],
        )
        test_set = tensors(features, splits.test, splits.y_test)
        candidates = {
            "network": Candidate(
                NETWORK_NAMES[kind],
                predict_values(network, val_set, scale, device),
                predict_values(network, test_set, scale, device),
            ),
            **classical_candidates(features, splits, seed=spec.training.seed),
        }
        chosen, weights = choose_model(
            candidates, splits.y_val, ensemble=use_ensemble(options, preset)
        )
        for candidate in candidates.values():
            candidate.test_metrics = regression_metrics(splits.y_test, candidate.test_pred)
        members = {k: candidates[k].pipeline for k, w in weights.items() if k != "network" and w}
        save_tabular(
            work_dir, network, features, members,
            {"task": self.name, "weights": weights, "target_scale": vars(scale)},
        )  # fmt: skip
        model = candidates[chosen]
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
            json_artifacts={"candidates.json": _report(candidates, chosen, weights)},
            tables={
                "test_predictions.csv": pd.DataFrame(
                    {"actual": splits.y_test, "predicted": model.test_pred}
                )
            },
            stop_reason=state.stop_reason,
            holdout=splits.test[[*features.input_columns, spec.data.target]],
            holdout_target=spec.data.target,
        )
        summary = _summary(candidates, chosen, weights)
        if scale.log:
            outcome.notes.append(
                f"The target {spec.data.target!r} is positive and right-skewed: the network "
                "learned log(1 + value); predictions are in the target's own units."
            )
        outcome.notes.append(summary)
        verdict = Verdict("rmse", model.test_metrics["rmse"], outcome.baseline.metrics["rmse"],
                          outcome.baseline.name, higher_is_better=False)  # fmt: skip
        outcome.verdict = f"{summary} {verdict}"
        return outcome

    def load_predictor(self, model_dir: Path) -> RegressionPredictor:
        return RegressionPredictor.load(model_dir)


@dataclass
class Candidate:
    """One model's predictions on the validation and the test rows."""

    name: str
    val_pred: np.ndarray
    test_pred: np.ndarray
    pipeline: Pipeline | None = None
    val_rmse: float = float("nan")
    test_metrics: dict[str, float] | None = None


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


def choose_model(
    candidates: dict[str, Candidate], y_val: np.ndarray, *, ensemble: bool
) -> tuple[str, dict[str, float]]:
    """The network, unless ``ensemble`` and the candidate with the lowest validation RMSE (the
    greedy ensemble among them) beats it on 90% of bootstrap resamples of the validation rows;
    and its weights."""
    weights_of: dict[str, dict[str, float]] = {}
    if ensemble:
        keys = list(candidates)
        weights = select_weights([candidates[k].val_pred for k in keys], squared_error(y_val))
        weights_of["ensemble"] = {k: float(w) for k, w in zip(keys, weights, strict=True)}
        candidates["ensemble"] = Candidate(
            "Ensemble",
            sum(w * candidates[k].val_pred for k, w in zip(keys, weights, strict=True)),
            sum(w * candidates[k].test_pred for k, w in zip(keys, weights, strict=True)),
        )
    for candidate in candidates.values():
        candidate.val_rmse = regression_metrics(y_val, candidate.val_pred)["rmse"]
    chosen = "network"
    others = [k for k in candidates if k != "network"] if ensemble else []
    if others:
        rival = min(others, key=lambda k: candidates[k].val_rmse)

        def on_rows(key: str):
            errors = (candidates[key].val_pred - y_val) ** 2
            return lambda rows: -float(errors[rows].mean())

        if win_share(on_rows(rival), on_rows("network"), len(y_val)) >= CONFIDENT:
            chosen = rival
    return chosen, weights_of.get(chosen, {chosen: 1.0})


def _summary(candidates: dict[str, Candidate], chosen: str, weights: dict[str, float]) -> str:
    model = candidates[chosen]
    what = model.name if chosen != "ensemble" else "the ensemble of " + " + ".join(
        f"{candidates[k].name} {w:.2f}" for k, w in weights.items() if w > 0
    )  # fmt: skip
    others = ", ".join(
        f"{c.name} {_number(c.val_rmse)}" for k, c in candidates.items() if k != chosen
    )
    return (
        f"Registered {what}, chosen on the validation rows (rmse {_number(model.val_rmse)}; "
        f"{others})."
    )


def _number(value: float) -> str:
    """3 significant digits for small errors, whole numbers with separators for large ones."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _report(candidates: dict[str, Candidate], chosen: str, weights: dict[str, float]) -> dict:
    return {
        "metric": "rmse",
        "higher_is_better": False,
        "chosen": chosen,
        "candidates": [
            {
                "key": key,
                "name": c.name,
                "weights": weights if key == "ensemble" else None,
                "validation": {"rmse": c.val_rmse},
                "test": c.test_metrics,
            }
            for key, c in candidates.items()
        ],
    }


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


class RegressionPredictor:
    """Raw rows in; a ``prediction`` column out: the weighted mean of the network's and the
    classical members' predictions (weights chosen on the validation rows)."""

    def __init__(
        self,
        network: nn.Module,
        features: TabularFeatures,
        scale: TargetScale,
        *,
        members: dict[str, Pipeline] | None = None,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.network, self.features, self.scale = network.eval(), features, scale
        self.members = members or {}
        self.weights = weights or {"network": 1.0}
        self.device = DeviceChoice(torch.device("cpu"), None)

    @classmethod
    def load(cls, model_dir: Path) -> RegressionPredictor:
        network, features, members, raw = load_tabular(model_dir)
        scale = TargetScale(**raw["target_scale"])
        return cls(network, features, scale, members=members, weights=raw["weights"])

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame({"prediction": pd.Series(dtype="float64")}, index=frame.index)
        numeric, categorical = self.features.transform(frame)
        total = np.zeros(len(frame))
        for key, weight in self.weights.items():
            if weight <= 0:
                continue
            if key == "network":
                data = TensorData(
                    (torch.from_numpy(numeric), torch.from_numpy(categorical)),
                    torch.zeros(len(frame)),
                )
                total += weight * predict_values(self.network, data, self.scale, self.device)
            else:
                inputs = np.hstack([numeric, categorical.astype(np.float32)])
                total += weight * self.members[key].predict(inputs)
        return pd.DataFrame({"prediction": total}, index=frame.index)


TEMPLATE = TabularRegression  # registered in dlstudio/tasks/registry.py
