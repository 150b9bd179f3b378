"""The MLflow pyfunc wrapper: raw user columns in, predictions out, for every template."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

MANIFEST_FILE = "manifest.json"

# MLflow suggests type hints on predict() when the class is defined; the signature logged with
# the model (raw user columns) is the one that is enforced, so the hint-based one is not wanted.
warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")


class DLStudioModel(mlflow.pyfunc.PythonModel):
    """Loads the template's predictor from the logged model folder (JSON + state_dict)."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from dlstudio.tasks import get_template  # import late: keeps logging the model cheap

        model_dir = Path(context.artifacts["model_dir"])
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        self._predictor = get_template(manifest["task"]).load_predictor(model_dir)

    # No type hints on model_input: MLflow would try to derive a signature from them, and the
    # signature logged with the model (raw user columns) is the one that should be enforced.
    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        return self._predictor.predict(model_input)
