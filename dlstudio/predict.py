"""Predict new rows with a logged model: read the file, call the pyfunc, write input + output."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dlstudio.data.images import is_image_source, iter_image_files
from dlstudio.data.readers import read_table
from dlstudio.data.uploads import read_upload
from dlstudio.errors import DataError, DLStudioError
from dlstudio.settings import Settings, get_settings
from dlstudio.tracking.loading import StudioModel, load_studio_model
from dlstudio.tracking.setup import configure_tracking

WRITERS = {".csv": "to_csv", ".parquet": "to_parquet", ".pq": "to_parquet"}
CHAMPION = "champion"  # the alias training gives a registered model's first version
_RUN_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class RegisteredModel:
    """A model in the MLflow registry: its versions (newest first) and aliases."""

    name: str
    versions: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]  # (alias, version), the champion first

    def choices(self) -> dict[str, str]:
        """Label -> model URI pinned to one version: the aliases first, then every version.

        Pinned, so that a cached model never outlives a move of its alias.
        """
        by_alias = {
            f"{alias} (version {v})": version_uri(self.name, v) for alias, v in self.aliases
        }
        return by_alias | {f"version {v}": version_uri(self.name, v) for v in self.versions}


def registered_models(settings: Settings | None = None) -> list[RegisteredModel]:
    """Every registered model with its versions and aliases, by name."""
    from mlflow.tracking import MlflowClient

    configure_tracking(settings or get_settings())
    client = MlflowClient()
    found = []
    for model in client.search_registered_models(order_by=["name ASC"]):
        quoted = model.name.replace("'", "\\'")
        numbers = sorted(
            (int(v.version) for v in client.search_model_versions(f"name = '{quoted}'")),
            reverse=True,
        )
        aliases = sorted(
            ((alias, str(version)) for alias, version in model.aliases.items()),
            key=lambda item: (item[0] != CHAMPION, item[0]),
        )
        found.append(RegisteredModel(model.name, tuple(map(str, numbers)), tuple(aliases)))
    return found


def version_uri(name: str, version: str) -> str:
    """The URI of one version of a registered model."""
    return f"models:/{name}/{version}"


def run_model_uri(run_id: str) -> str:
    """``runs:/<id>/model`` for a run id as copied from the Runs page or the MLflow UI.

    Raises:
        DLStudioError: ``run_id`` is not a 32-character MLflow run id.
    """
    cleaned = run_id.strip().lower()
    if not _RUN_ID.fullmatch(cleaned):
        raise DLStudioError(
            f"{run_id!r} is not a run id.",
            fix="Copy the 32-character id from the Runs page (column 'run') or the MLflow UI.",
        )
    return f"runs:/{cleaned}/model"


def load_model(model_uri: str, settings: Settings | None = None) -> StudioModel:
    """A model this studio trained, by URI (``models:/name@alias``, ``runs:/id/model``,
    ``models:/m-...``), rebuilt from its signed files: no code stored with a model runs.

    Raises:
        DLStudioError: no such model, not a dlstudio model, or not signed by this studio.
    """
    return load_studio_model(model_uri, settings or get_settings())


@dataclass(frozen=True)
class ModelCard:
    """What a model reads and returns, from its MLmodel file alone (nothing is loaded and no
    code runs): enough for a page to ask for the right input before the user acts."""

    metadata: Any  # mlflow.models.Model: signature and dlstudio metadata


def model_card(model_uri: str, settings: Settings | None = None) -> ModelCard:
    """The card of the model at ``model_uri``.

    Raises:
        DLStudioError: no such model.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    configure_tracking(settings or get_settings())
    try:
        return ModelCard(Model.load(model_uri))
    except (MlflowException, OSError) as exc:
        raise DLStudioError(
            f"could not load model {model_uri!r}: {_first_line(exc)}",
            fix="copy the model URI from `dlstudio train` output or the MLflow UI "
            "(e.g. models:/NAME@champion)",
        ) from None


def predict_frame(model, frame: pd.DataFrame, *, explain: bool = False) -> pd.DataFrame:
    """The input rows followed by ``prediction`` and ``probability_<class>`` columns (and, with
    ``explain``, ``reason_1`` .. ``reason_3``); for a forecaster (not row-wise), the forecast
    table itself (series, time, forecast, interval).

    Raises:
        DataError: the rows lack columns the model reads, or hold values it cannot read.
        DLStudioError: ``explain`` for a model that cannot give reasons.
    """
    from mlflow.exceptions import MlflowException

    _check_inputs(model, frame)
    try:
        if explain:
            from dlstudio.explain.reasons import with_reasons

            predictions = with_reasons(model.predictor, frame, model.uri)
        else:
            predictions = model.predict(frame)
    except MlflowException as exc:  # schema enforcement: missing column, wrong type
        raise DataError(
            f"the data does not match what the model expects: {_first_line(exc)}",
            fix="use the same columns as the training file (the target may be left out)",
        ) from None
    if not is_row_wise(model):
        return predictions
    clashing = {c: f"{c}_input" for c in frame.columns if c in predictions.columns}
    return pd.concat([frame.rename(columns=clashing), predictions.set_index(frame.index)], axis=1)


def explains(model) -> bool:
    """Whether a model (or its card) gives reason codes: table models trained since they exist."""
    extra = getattr(getattr(model, "metadata", None), "metadata", None) or {}
    return bool(extra.get("dlstudio_explains", False))


def is_row_wise(model) -> bool:
    """Whether the model predicts one row per input row (classifiers) or a table of its own
    (forecasters: the next periods of each series)."""
    extra = getattr(getattr(model, "metadata", None), "metadata", None) or {}
    return bool(extra.get("dlstudio_row_wise", True))


def predict_upload(model, data: bytes, *, filename: str) -> pd.DataFrame:
    """Predictions for the rows of an uploaded file (see ``predict_frame``), or for each image
    of an uploaded ZIP.

    Raises:
        DataError: the file cannot be read, or lacks columns the model needs.
    """
    if filename.lower().endswith(".zip"):
        return predict_images(model, data)
    return predict_frame(model, read_upload(data, filename=filename).frame)


def predict_images(model, source: Path | bytes, *, batch: int = 256) -> pd.DataFrame:
    """One row per image of a ZIP or folder: ``file``, ``prediction``, ``probability_<class>``
    and ``problem`` (why an image could not be read; empty when it was). Files that are not
    images are listed with their reason and no prediction. Read and predicted ``batch`` files
    at a time, so a large archive is never held whole.

    Raises:
        DataError: not a ZIP, too large, or no image file in it.
    """
    files = iter_image_files(source)
    parts, unread = [], []
    while chunk := list(itertools.islice(files, batch)):
        unread += [(name, why) for name, data, why in chunk if data is None]
        readable = [(name, data) for name, data, _ in chunk if data is not None]
        if readable:
            images = pd.DataFrame({"image": [data for _, data in readable]})
            part = predict_frame(model, images).drop(columns=["image"])
            part.insert(0, "file", [name for name, _ in readable])
            parts.append(part)
    if not parts:
        raise DataError(
            "No image file was found in the ZIP.",
            fix="Add JPEG, PNG, BMP, WebP or GIF images (in any folders) and zip them again.",
        )
    if unread:
        parts.append(pd.DataFrame({"file": [n for n, _ in unread], "problem": [w for _, w in unread]}))
    return pd.concat(parts, ignore_index=True)


def predict_file(
    model_uri: str, data_path: str | Path, output_path: str | Path, *, explain: bool = False
) -> int:
    """Predict every row of ``data_path`` into ``output_path`` (with ``explain``, the reasons
    of each prediction too); returns the number of rows."""
    output = Path(output_path)
    writer = WRITERS.get(output.suffix.lower())
    if writer is None:
        raise DataError(
            f"cannot write predictions to {output.name!r}",
            fix=f"use an output file ending in {', '.join(WRITERS)}",
        )
    model = load_model(model_uri)
    if explain:
        from dlstudio.explain.reasons import require_background

        require_background(model.predictor, model.uri)  # told before the data is read
    source = Path(data_path).expanduser()
    if is_image_source(source):
        result = predict_images(model, source)
    else:
        result = predict_frame(model, read_table(source).frame, explain=explain)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    getattr(result, writer)(partial, index=False)
    partial.replace(output)  # atomic: a failure never leaves a half-written file behind
    return len(result)


def _check_inputs(model, frame: pd.DataFrame) -> None:
    """Name the columns the model needs that ``frame`` lacks (MLflow's message dumps the rows)."""
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return
    missing = [name for name in schema.required_input_names() if name not in frame.columns]
    if missing:
        raise DataError(
            f"The data lacks {len(missing)} column(s) the model needs: "
            f"{', '.join(repr(name) for name in missing)}.",
            fix="Add the missing column(s), named exactly as in the training file (the target column is not "
            f"needed). The model reads: {', '.join(schema.input_names())}.",
        )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def forecast_extent(forecast: pd.DataFrame) -> str:
    """What a forecaster's table covers, in words: "12 periods" for one series, "12 periods for
    each of 3 series" when the first column (before the time) names the series."""
    leading = list(forecast.columns[: list(forecast.columns).index("forecast")])
    if len(leading) < 2 or forecast.empty:
        return f"{len(forecast):,} future periods"
    series = forecast[leading[0]].nunique()
    return f"{len(forecast) // series:,} future periods for each of {series:,} series"
