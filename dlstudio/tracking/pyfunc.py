"""The MLflow pyfunc wrapper: raw user columns in, predictions out, for every template."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException

from dlstudio.errors import DLStudioError

MANIFEST_FILE = "manifest.json"
EXPLAIN_PARAM = "explain"  # a request's params: {"explain": true} adds the reasons
# Set by MLflow's scoring server (`mlflow models serve`) and by `mlflow models predict`. Read by
# name, as MLflow keeps it internal: were it renamed, served errors would lose their message,
# never the prediction (tests/tracking/test_serving.py would notice).
SERVING_FLAG = "_MLFLOW_IS_IN_SERVING_ENVIRONMENT"


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
        """The template's predictions; with ``params={"explain": True}`` (a table model), the
        top 3 reasons of each row too (``reason_1`` .. ``reason_3``).

        Raises:
            DLStudioError: the rows cannot be predicted (dlstudio and Python callers).
            MlflowException: the same, when served: MLflow's scoring server answers any other
                error with "unexpected error" and hides the message in a stack trace.
        """
        try:
            if params and params.get(EXPLAIN_PARAM):
                from dlstudio.explain.reasons import with_reasons  # only when asked: captum

                return with_reasons(self._predictor, model_input, "This model")
            return self._predictor.predict(model_input)
        except DLStudioError as error:
            if not is_serving():
                raise
            raise MlflowException.invalid_parameter_value(str(error)) from error


def is_serving() -> bool:
    """Whether MLflow's serving tools called the model (their errors go back to a client)."""
    return os.environ.get(SERVING_FLAG, "").lower() in ("true", "1")
