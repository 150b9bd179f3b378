"""What every classification template shares: the stratified split, class weights, batched
probabilities, validation scores and the reports logged with a run (confusion matrix, per-class
scores, sample predictions)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from torch import nn

from dlstudio.evaluation.metrics import (
    Decision,
    classification_metrics,
    confusion,
    per_class_report,
)
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.classification_checks import clean_target
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import TensorData


@dataclass(frozen=True)
class Splits:
    """Rows for fitting, early stopping and the final test; targets as class indices."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    classes: list


def split_rows(data: TrainingData, spec: Any) -> Splits:
    """Stratified train/val/test from one file, or train/val from it and test from test_frame."""
    target, seed, options = spec.data.target, spec.training.seed, spec.options

    def labelled(part: pd.DataFrame) -> pd.DataFrame:
        return part.assign(**{target: clean_target(part[target])}).dropna(subset=[target])

    frame = labelled(data.frame)
    if data.test_frame is None:
        frame, test = train_test_split(
            frame, test_size=options.test_fraction, stratify=frame[target], random_state=seed
        )
    else:
        test = labelled(data.test_frame)
    train, val = train_test_split(
        frame, test_size=options.val_fraction, stratify=frame[target], random_state=seed
    )
    return encode_splits(train, val, test, target)


def encode_splits(
    train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame, target: str
) -> Splits:
    """The three parts with their targets as indices into the sorted classes of train + val."""
    classes = sorted(pd.concat([train[target], val[target]]).unique().tolist(), key=str)
    index = {str(label): i for i, label in enumerate(classes)}

    def encode(part: pd.DataFrame) -> np.ndarray:
        return part[target].map(lambda label: index[str(label)]).to_numpy(dtype=np.int64, copy=True)

    return Splits(train, val, test, encode(train), encode(val), encode(test), classes)


def predict_proba(
    model: nn.Module, data: TensorData, device: DeviceChoice, *, batch_size: int = 8192
) -> np.ndarray:
    """Class probabilities, computed in large batches without gradients (images need smaller
    batches: their activations are large)."""
    model.eval()
    data = data.to(device.device)
    chunks = []
    with torch.no_grad(), device.autocast():
        for inputs, _ in data.batches(batch_size):
            chunks.append(torch.softmax(model(*inputs).float(), dim=1))
    return torch.cat(chunks).cpu().numpy()


def validation_scores(
    model: nn.Module,
    val: TensorData,
    loss_fn: nn.Module,
    n_classes: int,
    device: DeviceChoice,
    *,
    batch_size: int = 8192,
) -> dict[str, float]:
    """``val_loss`` (weighted like the training loss) and ``val_<metric>`` after an epoch."""
    proba = predict_proba(model, val, device, batch_size=batch_size)
    scores = classification_metrics(val.target.cpu().numpy(), proba, n_classes=n_classes)
    # on the CPU, where the probabilities are: the validation set and the loss weights may sit
    # on different devices (the set is moved batch by batch, the weights live with the model)
    log_proba = torch.log(torch.from_numpy(proba).clamp_min(1e-7))
    weight = None if loss_fn.weight is None else loss_fn.weight.cpu()
    val_loss = nn.functional.nll_loss(log_proba, val.target.cpu(), weight=weight).item()
    return {"val_loss": val_loss, **{f"val_{name}": value for name, value in scores.items()}}


def class_weights(splits: Splits, spec: Any) -> torch.Tensor:
    """Loss weight per class, share^-power (``options.class_weight``: none 0, auto 0.5,
    balanced 1), scaled so that the average training row weighs 1."""
    counts = np.bincount(splits.y_train, minlength=len(splits.classes)).astype(np.float64)
    share = np.maximum(counts, 1) / counts.sum()
    power = {"none": 0.0, "auto": 0.5, "balanced": 1.0}[spec.options.class_weight]
    weights = share**-power
    return torch.tensor(weights / (weights * share).sum(), dtype=torch.float32)


def prediction_table(
    proba: np.ndarray | None, classes: list, index: pd.Index, decision: Decision | None = None
) -> pd.DataFrame:
    """``prediction`` and ``probability_<class>`` per row (an empty table when ``proba`` is
    None: no rows to predict); ``decision`` turns probabilities into classes (default: the most
    probable)."""
    columns = ["prediction"] + [f"probability_{label}" for label in classes]
    if proba is None:
        return pd.DataFrame(columns=columns, index=index)
    predicted = (decision or Decision()).classes(proba)
    columns = {"prediction": [classes[i] for i in predicted]}
    columns |= {f"probability_{label}": proba[:, i] for i, label in enumerate(classes)}
    # built at once: adding the columns one by one was 4x slower (1.4 vs 0.35 ms, 2 classes)
    return pd.DataFrame(columns, index=index)


def full_proba(proba: np.ndarray, seen: np.ndarray, n_classes: int) -> np.ndarray:
    """A classical model's probabilities over the classes it saw, spread to all classes."""
    full = np.zeros((len(proba), n_classes))
    full[:, seen] = proba
    return full


def classification_reports(
    splits: Splits, proba: np.ndarray, decision: Decision | None = None
) -> dict:
    """The JSON artifacts of a classification run: confusion matrix, per-class report, and
    the first 20 test rows with their prediction."""
    names = [str(label) for label in splits.classes]
    predicted = (decision or Decision()).classes(proba)
    sample = splits.test.head(20).copy()
    sample["prediction"] = [names[i] for i in predicted[:20]]
    sample["probability"] = proba[:20].max(axis=1).round(4)
    return {
        "confusion_matrix.json": confusion(splits.y_test, predicted, names),
        "classification_report.json": per_class_report(splits.y_test, predicted, names),
        "sample_predictions.json": json.loads(sample.to_json(orient="records", date_format="iso")),
    }


def plain_value(value: object) -> object:
    """A NumPy scalar as a plain Python value (for JSON)."""
    return value.item() if hasattr(value, "item") else value
