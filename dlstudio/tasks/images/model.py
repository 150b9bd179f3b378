"""The trained image classifier as loaded: the predictor behind the pyfunc, which takes an
``image`` column of file bytes, paths or base64 text."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from dlstudio.data.image_decode import decode_image
from dlstudio.errors import DataError
from dlstudio.nn.cnn import ImageModelConfig, build_image_model
from dlstudio.nn.persist import load_network
from dlstudio.tasks.classification import predict_proba, prediction_table
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import TensorData

IMAGE_COLUMN = "image"


def predict_batch(size: int) -> int:
    """Images per batch when predicting: 256 at 32 px, fewer for larger images (the same
    pixels per batch, at least 16)."""
    return int(min(256, max(16, 256 * 32**2 // size**2)))


class ImagePredictor:
    """An ``image`` column (file bytes, a file path, or base64 text) in; ``prediction`` and
    ``probability_<class>`` out, and ``problem`` naming images that could not be read."""

    def __init__(self, model: nn.Module, size: int, channels: int, classes: list[str]) -> None:
        self.model, self.size, self.channels, self.classes = model.eval(), size, channels, classes
        self.device = DeviceChoice(torch.device("cpu"), None)

    @classmethod
    def load(cls, model_dir: Path) -> ImagePredictor:
        model, raw = load_network(
            model_dir, lambda c: build_image_model(ImageModelConfig.from_dict(c))
        )
        return cls(model, raw["size"], raw["channels"], raw["classes"])

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if IMAGE_COLUMN not in frame.columns:
            raise DataError(
                f"The data has no {IMAGE_COLUMN!r} column with the images to classify.",
                fix=f"Give a table with an {IMAGE_COLUMN!r} column holding image files' bytes "
                "or paths, or a ZIP of images to `dlstudio predict`.",
            )
        arrays, problems = [], []
        for value in frame[IMAGE_COLUMN]:
            try:
                arrays.append(
                    decode_image(_image_bytes(value), size=self.size, channels=self.channels)
                )
                problems.append("")
            except ValueError as exc:
                arrays.append(np.zeros((self.size, self.size, self.channels), np.uint8))
                problems.append(str(exc))
        if not arrays:
            return prediction_table(None, self.classes, frame.index).assign(problem="")
        data = TensorData((torch.from_numpy(np.stack(arrays)),), torch.zeros(len(arrays)))
        proba = predict_proba(self.model, data, self.device, batch_size=predict_batch(self.size))
        failed = np.array([bool(p) for p in problems])
        proba[failed] = np.nan
        table = prediction_table(proba, self.classes, frame.index)
        table.loc[failed, "prediction"] = None
        return table.assign(problem=problems)


def _image_bytes(value: object) -> bytes:
    """An image cell as file bytes: bytes as they are, text as a path, else as base64 (how JSON
    carries bytes to a served model)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if not isinstance(value, str) or not value:
        raise ValueError("empty cell: give the image's bytes or path")
    try:
        path = Path(value).expanduser()
        if len(value) < 4096 and path.is_file():
            return path.read_bytes()
    except OSError:  # base64 text is no path (a part may be too long for a file name)
        pass
    try:  # MLflow's JSON carries bytes as base64 with line breaks
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{value[:80]!r} is neither an image file's path nor base64 bytes"
        ) from None


def input_example(images: np.ndarray) -> pd.DataFrame:
    """Two test images as PNG bytes: what the pyfunc takes."""
    import io

    from PIL import Image

    encoded = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    return pd.DataFrame({IMAGE_COLUMN: encoded})
