"""Models-from-code entry point: MLflow runs this file to build the model (no pickle)."""

import mlflow.models

from dlstudio.tracking.pyfunc import DLStudioModel

mlflow.models.set_model(DLStudioModel())
