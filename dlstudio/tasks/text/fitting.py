"""What every text model family shares: the job it is given, what it hands back, and one fit
with early stopping on the validation split followed by the test probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from dlstudio.tasks.base import Backbone
from dlstudio.tasks.classification import (
    Splits,
    class_weights,
    plain_value,
    predict_proba,
    validation_scores,
)
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import Callback, FitConfig, FitState, fit


@dataclass(frozen=True)
class Schedule:
    """How long and how fast one kind of network trains (the spec's training fields win)."""

    epochs: int
    learning_rate: float
    patience: int  # epochs without a better validation macro-F1 before stopping
    dropout: float
    batch_size: int = 64
    warmup_cosine: bool = False  # fine-tuning pretrained weights: warm up, then decay
    weight_decay: float = 1e-4
    # at most this many training texts seen in all: larger data gets fewer epochs (at least 2),
    # as the same number of steps tunes a pretrained layer as well, in a fraction of the time
    max_passes: int | None = None
    # at most this many steps an epoch (larger batches on more data): the n-gram bag's table is
    # updated whole at every step, so its cost is per step (an epoch on 10,200 texts: 79 s at
    # batch 64, 22 s at 256, on 2 loaded cores)
    max_steps: int | None = None

    def epochs_for(self, rows: int) -> int:
        """The epochs to train on ``rows`` texts."""
        if self.max_passes is None:
            return self.epochs
        return max(2, min(self.epochs, -(-self.max_passes // max(rows, 1))))

    def batch_for(self, rows: int) -> int:
        """The batch size to train on ``rows`` texts."""
        if self.max_steps is None:
            return self.batch_size
        return max(self.batch_size, -(-rows // self.max_steps))


@dataclass(frozen=True)
class Preset:
    """What ``training.preset`` means for each kind of text network."""

    backbone: str  # what backbone "auto" starts from: "minilm" or "none"
    tuned_layers: int  # MiniLM layers fine-tuned; 0: frozen, a linear layer on its embeddings
    model: str  # the network trained from scratch (backbone none)
    embedding_dim: int  # and its sizes
    hidden_size: int
    scratch: Schedule
    linear: Schedule  # a linear layer on MiniLM's frozen sentence embeddings
    tuned: Schedule  # MiniLM's top layers tuned
    hub: Schedule  # a Hugging Face model fine-tuned whole

    def schedule(self, family: str, tuned_layers: int) -> Schedule:
        """The schedule of a network of ``family`` ("scratch", "minilm", "hub")."""
        if family == "minilm":
            return self.tuned if tuned_layers else self.linear
        return self.hub if family == "hub" else self.scratch


@dataclass(frozen=True)
class TextJob:
    """One training run of the text template, as a model family sees it."""

    texts: dict[str, list[str]]  # "train", "val", "test": cut as the model reads them
    splits: Splits
    spec: Any  # TextSentimentSpec
    preset: Preset
    schedule: Schedule  # the preset's, for the network being trained
    device: DeviceChoice
    callbacks: Sequence[Callback]
    generator: Any  # torch.Generator for the shuffling
    work_dir: Path
    column: str

    @property
    def n_classes(self) -> int:
        return len(self.splits.classes)

    def described(self, **details: Any) -> dict[str, Any]:
        """The model.json of a saved model: what every family records, and its own details."""
        return {"task": "text_sentiment", "text_column": self.column,
                "max_length": self.spec.options.max_length,
                "classes": [plain_value(c) for c in self.splits.classes], **details}  # fmt: skip


@dataclass
class Fitted:
    """What a family hands back to the template after training and saving its model."""

    proba: np.ndarray  # on the test split
    history: list[dict[str, float]]
    stop_reason: str | None
    notes: list[str] = field(default_factory=list)
    backbone: Backbone | None = None  # None: trained from scratch


def fit_and_test(
    model: nn.Module,
    data: dict[str, Any],
    job: TextJob,
    *,
    grad_clip: float | None = None,
    predict_batch: int = 8192,
) -> tuple[FitState, np.ndarray]:
    """Train ``model`` on ``data["train"]`` with early stopping on ``data["val"]`` (best weights
    restored); return the fit's state and the probabilities on ``data["test"]``."""
    training, schedule, device = job.spec.training, job.schedule, job.device
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(job.splits, job.spec).to(device.device))
    state = fit(
        model,
        data["train"].to(device.device),
        loss_fn=loss_fn,
        validate=lambda m: validation_scores(
            m, data["val"], loss_fn, job.n_classes, device, batch_size=predict_batch
        ),
        config=FitConfig(
            epochs=training.epochs or schedule.epochs_for(len(data["train"])),
            batch_size=training.batch_size or schedule.batch_for(len(data["train"])),
            learning_rate=training.learning_rate or schedule.learning_rate,
            weight_decay=schedule.weight_decay,
            grad_clip=grad_clip,
            schedule="cosine" if schedule.warmup_cosine else "constant",
        ),
        device=device,
        generator=job.generator,
        callbacks=[
            EarlyStopping(
                "val_f1_macro", patience=training.early_stopping_patience or schedule.patience
            ),
            *job.callbacks,
        ],
    )
    return state, predict_proba(model, data["test"], device, batch_size=predict_batch)


def prepare_splits(inputs: Any, job: TextJob) -> tuple[dict[str, Any], int]:
    """Each split's tensors from ``inputs.tensors`` (a pretrained encoder runs here, once per
    text), and how many training texts were cut."""
    data, truncated = {}, 0
    for part, y in (("train", job.splits.y_train), ("val", job.splits.y_val),
                    ("test", job.splits.y_test)):  # fmt: skip
        data[part], cut = inputs.tensors(job.texts[part], y)
        truncated = cut if part == "train" else truncated
    return data, truncated
