"""The contract every task template fulfils, and what a trained template hands back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.image_source import ImageSource
from dlstudio.search.fields import SearchField
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import Callback


@dataclass(frozen=True)
class TrainingData:
    """The frames a run trains on, already read from files or the dataset store."""

    frame: pd.DataFrame  # for images: one row per image file (image, label, split)
    test_frame: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    images: ImageSource | None = None  # a ZIP or folder of image class folders
    test_images: ImageSource | None = None


@dataclass(frozen=True)
class BaselineResult:
    """A classical model scored on the same test split as ours."""

    name: str
    key: str  # metric prefix in MLflow, e.g. "hgb" -> hgb_test_f1_macro
    metrics: dict[str, float]  # keys without prefix: "accuracy", "f1_macro", ...


@dataclass(frozen=True)
class Backbone:
    """The pretrained network a model starts from: shown on Results, logged as MLflow params
    (``backbone``, ``backbone_source``, ``backbone_licence``) and as ``backbone.json``."""

    name: str  # "efficientnet_lite0", "all-MiniLM-L6-v2", a Hugging Face id or folder
    source: str  # where its weights came from, e.g. "the pip package X 0.1.0 (offline)"
    licence: str  # of the weights, e.g. "Apache-2.0"; "unknown" when nothing states it
    pretrained_on: str  # "ImageNet-1k", "1B sentence pairs", ...

    def params(self) -> dict[str, str]:
        return {"backbone": self.name, "backbone_source": self.source,
                "backbone_licence": self.licence, "backbone_pretrained_on": self.pretrained_on}  # fmt: skip


@dataclass
class TaskOutcome:
    """Everything run(spec) logs and returns after a template has trained."""

    metrics: dict[str, float]  # test metrics, keys without prefix
    baselines: list[BaselineResult]  # every classical model tried, on the same test split
    primary_metric: str
    higher_is_better: bool
    model_dir: Path  # a self-contained folder the template's Predictor can load
    input_example: pd.DataFrame
    history: list[dict[str, float]]
    json_artifacts: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # logged as CSV
    figures: dict[str, Any] = field(default_factory=dict)  # matplotlib figures, logged as PNG
    findings: list[Finding] = field(default_factory=list)
    stop_reason: str | None = None
    verdict: str | None = None  # the template's own words for the verdict, else the generic one
    notes: list[str] = field(default_factory=list)
    # the test rows as the predictor takes them, with the truth in holdout_target: a later
    # challenger and the champion are both scored on the challenger's holdout (classification)
    holdout: pd.DataFrame | None = None
    holdout_target: str | None = None
    backbone: Backbone | None = None  # None: trained from scratch

    @property
    def baseline(self) -> BaselineResult:
        """The bar deep learning must clear: the strongest classical model on the primary metric
        (for a forecast, Holt-Winters when it beats seasonal naive: never the weaker one)."""
        sign = 1 if self.higher_is_better else -1
        return max(self.baselines, key=lambda b: sign * b.metrics[self.primary_metric])


@dataclass(frozen=True)
class Role:
    """A column the user assigns when setting up a run (target, time column, text column...)."""

    key: str
    label: str
    spec_path: str  # dotted path in the RunSpec, e.g. "data.target"
    help: str
    optional: bool = False  # the user may leave it empty (e.g. the series-id column)


@dataclass(frozen=True)
class Sample:
    """A small dataset the template ships (generated), for "try a sample" in the dashboard."""

    name: str
    description: str
    frame: pd.DataFrame  # for images: the listing of `archive` (image, label, split)
    roles: dict[str, str]
    archive: bytes | None = None  # a ZIP of image class folders, stored instead of the frame


class Predictor(Protocol):
    """A loaded model: raw user columns in, predictions out."""

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame: ...


class TaskTemplate(ABC):
    """One template (tabular classification, forecasting, ...), registered by name."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    data_needs: ClassVar[str]
    roles: ClassVar[tuple[Role, ...]] = ()
    reads: ClassVar[str] = "table"  # or "images": a ZIP or folder of image class folders
    # spec paths kept so that older specs mean the same, superseded by another option: they
    # still load and work, but forms do not offer them
    superseded: ClassVar[tuple[str, ...]] = ()
    # what a search (dlstudio.search) optimises: a per-epoch validation metric and its direction
    search_objective: ClassVar[tuple[str, str]] = ("val_loss", "minimize")
    # the template's own searchable fields (dlstudio.search.fields), after the shared training ones
    search_space: ClassVar[tuple[SearchField, ...]] = ()

    def suggest_roles(self, frame: pd.DataFrame) -> dict[str, str | None]:
        """A first guess for each role from the columns (the user can change it)."""
        return {role.key: None for role in self.roles}

    def sample(self) -> Sample | None:
        """A generated example dataset, or None."""
        return None

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float | None:
        """A rough upper bound of the training time, for the preset picker; None if unknown."""
        return None

    @abstractmethod
    def check(self, data: TrainingData, spec: Any) -> list[Finding]:
        """Plain-language problems before training; level 'error' blocks the run."""

    @abstractmethod
    def train(
        self,
        data: TrainingData,
        spec: Any,
        *,
        device: DeviceChoice,
        callbacks: Sequence[Callback],
        work_dir: Path,
    ) -> TaskOutcome:
        """Split, prepare, fit, evaluate against the baseline; save the model under work_dir."""

    @abstractmethod
    def load_predictor(self, model_dir: Path) -> Predictor:
        """Rebuild the trained model from the folder ``train`` saved."""
