"""Predict new rows with a logged model: read the file, call the pyfunc, write input + output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dlstudio.data.readers import read_table
from dlstudio.errors import DataError, DLStudioError
from dlstudio.settings import Settings, get_settings
from dlstudio.tracking.setup import configure_tracking

WRITERS = {".csv": "to_csv", ".parquet": "to_parquet", ".pq": "to_parquet"}


def load_model(model_uri: str, settings: Settings | None = None):
    """Load a pyfunc by URI (``models:/name@alias``, ``runs:/id/model``, ``models:/m-...``)."""
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    configure_tracking(settings or get_settings())
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise DLStudioError(
            f"could not load model {model_uri!r}: {_first_line(exc)}",
            fix="copy the model URI from `dlstudio train` output or the MLflow UI "
            "(e.g. models:/NAME@champion)",
        ) from None


def predict_frame(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The input rows followed by ``prediction`` and ``probability_<class>`` columns."""
    from mlflow.exceptions import MlflowException

    try:
        predictions = model.predict(frame)
    except MlflowException as exc:  # schema enforcement: missing column, wrong type
        raise DataError(
            f"the data does not match what the model expects: {_first_line(exc)}",
            fix="use the same columns as the training file (the target may be left out)",
        ) from None
    clashing = {c: f"{c}_input" for c in frame.columns if c in predictions.columns}
    return pd.concat([frame.rename(columns=clashing), predictions.set_index(frame.index)], axis=1)


def predict_file(model_uri: str, data_path: str | Path, output_path: str | Path) -> int:
    """Predict every row of ``data_path`` into ``output_path``; returns the number of rows."""
    output = Path(output_path)
    writer = WRITERS.get(output.suffix.lower())
    if writer is None:
        raise DataError(
            f"cannot write predictions to {output.name!r}",
            fix=f"use an output file ending in {', '.join(WRITERS)}",
        )
    model = load_model(model_uri)
    result = predict_frame(model, read_table(data_path).frame)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    getattr(result, writer)(partial, index=False)
    partial.replace(output)  # atomic: a failure never leaves a half-written file behind
    return len(result)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
