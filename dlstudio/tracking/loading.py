"""Load a model this studio trained from its data, never by running code stored with it.

A logged model is an MLflow pyfunc whose code MLflow runs when ``mlflow.pyfunc.load_model``
loads it; anyone who can register a model could plant code there. dlstudio instead downloads
the model's files, checks that its training run signed them (``dlstudio.tracking.signing``),
and rebuilds the template's predictor from ``manifest.json``, ``model.json`` and the weights
(``torch.load(weights_only=True)``). The MLmodel file is read as YAML for the input columns.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dlstudio.errors import DLStudioError
from dlstudio.settings import Settings
from dlstudio.tracking.pyfunc import MANIFEST_FILE
from dlstudio.tracking.setup import configure_tracking
from dlstudio.tracking.signing import SIGNATURE_TAG, sign_model, signature_matches

VOUCHED_TAG = "dlstudio.model_trusted_by"  # who vouched for a model trained elsewhere


class UntrustedModel(DLStudioError):
    """A registered model this studio did not write (or whose files changed since)."""

    exit_code = 2


@dataclass(frozen=True)
class StudioModel:
    """A dlstudio model, predicting as its pyfunc would: raw user columns in, a table out."""

    uri: str  # pinned to one version: models:/NAME/VERSION or runs:/ID/model
    metadata: Any  # mlflow.models.Model: signature and dlstudio metadata
    predictor: Any  # the template's Predictor

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.predictor.predict(frame)


def load_studio_model(model_uri: str, settings: Settings) -> StudioModel:
    """The model at ``model_uri`` (``models:/NAME@ALIAS``, ``models:/NAME/VERSION``,
    ``runs:/ID/model``, ``models:/m-ID``), rebuilt from its signed files.

    Raises:
        UntrustedModel: its files do not carry this studio's signature.
        DLStudioError: no such model, or it is not a dlstudio model.
    """
    from mlflow.tracking import MlflowClient

    configure_tracking(settings)
    client = MlflowClient()
    pinned, run_id = pin_version(model_uri, client)
    with tempfile.TemporaryDirectory(prefix="dlstudio-model-") as scratch:
        metadata, model_dir = download_model(pinned, Path(scratch))
        signature = client.get_run(run_id).data.tags.get(SIGNATURE_TAG) if run_id else None
        if not signature_matches(model_dir, signature, settings):
            raise UntrustedModel(
                f"{pinned} was not trained by this studio, or its files changed after training "
                "(they do not carry this studio's signature), so it is not loaded: loading it "
                "could run code someone else stored with it.",
                fix="choose a version trained here (`dlstudio models list NAME`); if you know "
                "where this one came from and trust it, an admin can run `dlstudio models trust "
                "NAME --version N` (for example for a model trained before signatures existed)",
            )
        predictor = _template(model_dir, pinned).load_predictor(model_dir)
    return StudioModel(pinned, metadata, predictor)


def trust_model_version(name: str, version: str, settings: Settings, *, by: str) -> str:
    """Sign the files of a registered version this studio did not sign (a model trained
    before signatures, or by another studio), after checking it is a dlstudio model that
    loads from its data alone; the signature."""
    from mlflow.tracking import MlflowClient

    configure_tracking(settings)
    client = MlflowClient()
    pinned, run_id = pin_version(f"models:/{name}/{version}", client)
    if not run_id:
        raise DLStudioError(f"{pinned} has no training run to record the trust on.")
    with tempfile.TemporaryDirectory(prefix="dlstudio-model-") as scratch:
        _, model_dir = download_model(pinned, Path(scratch))
        _template(model_dir, pinned).load_predictor(model_dir)  # data only: JSON and weights
        signature = sign_model(model_dir, settings)
    client.set_tag(run_id, SIGNATURE_TAG, signature)
    client.set_tag(run_id, VOUCHED_TAG, by)
    return signature


def pin_version(model_uri: str, client: Any) -> tuple[str, str | None]:
    """``model_uri`` pinned to one version (an alias may move meanwhile) and its run id."""
    from mlflow.exceptions import MlflowException

    try:
        if model_uri.startswith("runs:/"):
            return model_uri, model_uri.removeprefix("runs:/").split("/", 1)[0]
        if model_uri.startswith("models:/m-"):
            logged = client.get_logged_model(model_uri.removeprefix("models:/").split("/")[0])
            return model_uri, logged.source_run_id
        if model_uri.startswith("models:/"):
            name, _, rest = model_uri.removeprefix("models:/").partition("@")
            if rest:
                version = client.get_model_version_by_alias(name, rest)
            else:
                name, _, number = name.rpartition("/")
                version = client.get_model_version(name, number)
            return f"models:/{version.name}/{version.version}", version.run_id
    except MlflowException as exc:
        raise _not_found(model_uri, exc) from None
    raise _not_found(model_uri, None)


def download_model(pinned: str, scratch: Path) -> tuple[Any, Path]:
    """The MLmodel description and the folder of the model's own files (``model_dir``)."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=pinned, dst_path=scratch))
        metadata = Model.load(local)
    except (MlflowException, OSError) as exc:
        raise _not_found(pinned, exc) from None
    pyfunc = metadata.flavors.get("python_function", {})
    relative = pyfunc.get("artifacts", {}).get("model_dir", {}).get("path", "")
    model_dir = (local / relative).resolve()
    if not relative or not model_dir.is_relative_to(local.resolve()):
        raise DLStudioError(
            f"{pinned} is not a dlstudio model (it has no model_dir artifact).",
            fix="choose a model trained with dlstudio",
        )
    return metadata, model_dir


def _template(model_dir: Path, pinned: str) -> Any:
    from dlstudio.tasks import get_template

    try:
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        return get_template(str(manifest["task"]))
    except (OSError, ValueError, KeyError, TypeError, DLStudioError):
        raise DLStudioError(
            f"{pinned} is not a dlstudio model (its {MANIFEST_FILE} is missing or names no "
            "template).",
            fix="choose a model trained with dlstudio",
        ) from None


def _not_found(model_uri: str, exc: Exception | None) -> DLStudioError:
    reason = f": {str(exc).strip().splitlines()[0]}" if exc and str(exc).strip() else ""
    return DLStudioError(
        f"could not load model {model_uri!r}{reason}",
        fix="copy the model URI from `dlstudio train` output or the MLflow UI "
        "(e.g. models:/NAME@champion)",
    )
