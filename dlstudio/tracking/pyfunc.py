"""The MLflow pyfunc wrapper: raw user columns in, predictions out, for every template."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

MANIFEST_FILE = "manifest.json"


class DLStudioModel(mlflow.pyfunc.PythonModel):
    """Loads the template's predictor from the logged model folder (JSON + state_dict)."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from dlstudio.tasks import get_template  # import late: keeps logging the model cheap

        model_dir = Path(context.artifacts["model_dir"])
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        self._predictor = get_template(manifest["task"]).load_predictor(model_dir)

    # A DataFrame hint makes MLflow skip hint-based validation: the signature logged with the
    # model (raw user columns, any dtype) is the contract, and the template converts the values.
    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict | None = None,
    ) -> pd.DataFrame:
        return self._predictor.predict(model_input)
