"""Log a run to MLflow: per-epoch metrics as they come, then results, artifacts and the model."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest.mock import patch

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

import dlstudio
from dlstudio import __version__
from dlstudio.settings import Settings
from dlstudio.tasks.base import TaskOutcome
from dlstudio.tracking import figures
from dlstudio.tracking.pyfunc import EXPLAIN_PARAM, MANIFEST_FILE
from dlstudio.tracking.signing import SIGNATURE_TAG, sign_model
from dlstudio.training.loop import Callback, FitState

ENTRY_FILE = Path(__file__).with_name("pyfunc_entry.py")
PACKAGE_DIR = Path(dlstudio.__file__).parent
# What the carried dlstudio code imports when a model loads, for every template alike: they
# share modules (loading a tabular model imports Pillow too).
RUNTIME_DISTRIBUTIONS = (
    "mlflow", "torch", "numpy", "pandas", "scikit-learn", "pydantic", "PyYAML", "matplotlib",
    "pillow", "scipy", "tabm", "rtdl_num_embeddings", "skops", "efficientnet-lite-pytorch",
    "transformers", "tokenizers", "safetensors", "captum",
)  # fmt: skip


class MLflowMetrics(Callback):
    """Log ``train_loss``, ``val_loss`` and ``val_*`` with ``step=epoch`` after each epoch."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.client = MlflowClient()

    def on_epoch_end(self, state: FitState) -> None:
        now_ms = int(time.time() * 1000)
        metrics = [
            mlflow.entities.Metric(key, value, now_ms, state.epoch)
            for key, value in state.metrics.items()
        ]
        self.client.log_batch(self.run_id, metrics=metrics, synchronous=True)


def log_outcome(outcome: TaskOutcome, *, task: str) -> None:
    """Test and baseline metrics, JSON reports, PNG figures (shown in the MLflow UI)."""
    mlflow.log_metrics({f"test_{k}": v for k, v in outcome.metrics.items()})
    mlflow.log_metrics({f"baseline_test_{k}": v for k, v in outcome.baseline.metrics.items()})
    for baseline in outcome.baselines:
        mlflow.log_metrics({f"{baseline.key}_test_{k}": v for k, v in baseline.metrics.items()})
    for name, payload in outcome.json_artifacts.items():
        mlflow.log_dict(payload, name)
    for name, table in outcome.tables.items():
        mlflow.log_text(table.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S"), name)
    for name, figure in outcome.figures.items():
        mlflow.log_figure(figure, name)
    mlflow.log_dict(outcome.history, "history.json")
    if outcome.backbone is not None:
        mlflow.log_params(outcome.backbone.params())
        mlflow.log_dict(asdict(outcome.backbone), "backbone.json")
    if "confusion_matrix.json" in outcome.json_artifacts:
        mlflow.log_figure(
            figures.confusion_matrix(outcome.json_artifacts["confusion_matrix.json"]),
            "confusion_matrix.png",
        )
    if outcome.history:
        mlflow.log_figure(figures.learning_curves(outcome.history), "learning_curves.png")


def log_model(outcome: TaskOutcome, predictor: Any, *, task: str, settings: Settings) -> str:
    """Log the pyfunc (JSON + state_dict, no pickle) with signature and input example; its URI.

    The model carries the dlstudio package as code (``code/dlstudio``, first on ``sys.path``
    when it loads) and pins the packages that code imports, so a fresh process loads it
    without dlstudio installed: ``mlflow models serve``, or another machine's MLflow. That
    code runs when MLflow loads the model, so those tools are for trusted models only;
    dlstudio itself never loads a model that way (``dlstudio.tracking.loading``).
    """
    manifest = {"task": task, "dlstudio_version": __version__}
    row_wise = getattr(predictor, "row_wise", True)
    (outcome.model_dir / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    # dlstudio loads only models whose files carry its signature (dlstudio.tracking.loading)
    mlflow.set_tag(SIGNATURE_TAG, sign_model(outcome.model_dir, settings))
    example = outcome.input_example
    with warnings.catch_warnings():
        # integer class labels trigger MLflow's "integers cannot hold missing values" hint,
        # which concerns inputs; predictions are never missing
        warnings.simplefilter("ignore", UserWarning)
        outputs = infer_signature(None, predictor.predict(example)).outputs
    explains = getattr(predictor, "background", None) is not None
    # declared by every model, so a request for reasons to one that has none is told so (MLflow
    # would drop a parameter the signature lacks without a word)
    params = ParamSchema([ParamSpec(EXPLAIN_PARAM, "boolean", False)])
    signature = ModelSignature(inputs=_raw_columns(example), outputs=outputs, params=params)
    metadata = {"dlstudio_task": task, "dlstudio_row_wise": row_wise, "dlstudio_explains": explains}
    return log_model_dir(outcome.model_dir, signature=signature, input_example=example,
                         metadata=metadata)  # fmt: skip


def log_model_dir(
    model_dir: Path, *, signature: ModelSignature, input_example: Any, metadata: dict
) -> str:
    """Log the pyfunc over ``model_dir`` (already signed) in the active run; its URI."""
    with _pins_trusted():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(ENTRY_FILE),
            artifacts={"model_dir": str(model_dir)},
            code_paths=[str(PACKAGE_DIR)],
            signature=signature,
            input_example=input_example,
            pip_requirements=_requirements(),
            metadata=metadata,
        )
    return info.model_uri


@contextmanager
def _pins_trusted() -> Iterator[None]:
    """Skip MLflow's check that the installed packages satisfy the model's requirements.

    ``_requirements()`` reads the pins from the installed versions, so they match by
    construction; MLflow's check maps every installed package to its modules by reading each
    one's file list, ~2 s of a first model's ~10 (bench/first_model.py). Where a later MLflow
    moves the function, the check simply runs.
    """
    from mlflow import pyfunc
    from mlflow.utils import environment

    name = "warn_dependency_requirement_mismatches"  # validating the example loads the model
    with ExitStack() as stack:
        for module in (environment, pyfunc):
            if hasattr(module, name):
                stack.enter_context(patch.object(module, name, lambda _: None))
        yield


def _raw_columns(frame: pd.DataFrame) -> Schema:
    """Name every input column but accept any dtype: users' files type columns loosely (an int
    column with one blank cell arrives as float, dates as text), and the template converts them
    exactly as in training. MLflow's strict types would refuse such rows (int64 -> float64)."""
    return Schema([ColSpec(AnyType(), str(column)) for column in frame.columns])


def _requirements() -> list[str]:
    """The installed versions of ``RUNTIME_DISTRIBUTIONS``, pinned; without a local label
    (``2.13.0+cpu``), so that a GPU machine resolves torch to its CUDA build."""
    # Given explicitly: MLflow's inference would load the model in a subprocess (slow).
    return [f"{name}=={version(name).split('+')[0]}" for name in RUNTIME_DISTRIBUTIONS]
