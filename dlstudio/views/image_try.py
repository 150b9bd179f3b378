"""Classify images with an image model: one uploaded image (its class and every class's
probability), or a batch of image files and ZIPs (one row per image). No streamlit here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlstudio.data.image_decode import decode_image
from dlstudio.errors import DataError, DLStudioError
from dlstudio.explain.heatmaps import heat_maps, overlay
from dlstudio.predict import predict_frame, predict_upload
from dlstudio.tasks import get_template, task_names
from dlstudio.views.text_try import LabelPrediction, read_prediction, single_input

FILE_COLUMN, PROBLEM_COLUMN = "file", "problem"
IMAGE_FIX = "Upload a JPEG, PNG, BMP, WebP or GIF image."


@dataclass(frozen=True)
class ImagePredictions:
    """One row per uploaded image: file, prediction, probability_<class>, problem."""

    table: pd.DataFrame

    @property
    def classified(self) -> int:
        """How many images got a prediction."""
        return int((self.table[PROBLEM_COLUMN].fillna("") == "").sum())

    @property
    def unread(self) -> int:
        """How many files could not be classified (the problem column says why)."""
        return len(self.table) - self.classified


def accepts_images(task: str | None) -> bool:
    """Whether a run of this task has a model that classifies uploaded images."""
    return task in task_names() and get_template(task).reads == "images"


def reads_images(model) -> bool:
    """Whether a loaded model classifies images (the task it was trained for reads images)."""
    extra = getattr(getattr(model, "metadata", None), "metadata", None) or {}
    return accepts_images(extra.get("dlstudio_task"))


def image_column(model) -> str:
    """The name of the one column an image model reads (from its logged input schema).

    Raises:
        DLStudioError: the model does not read exactly one named column.
    """
    return single_input(model, "image")


def predict_image(model, data: bytes, *, filename: str) -> LabelPrediction:
    """The model's class for one image file's bytes, with every class's probability.

    Raises:
        DataError: the file is empty or not a readable image.
        DLStudioError: the model does not read one image column.
    """
    if not data:
        raise DataError(f"{filename!r} is empty.", fix=IMAGE_FIX)
    row = model.predict(pd.DataFrame({image_column(model): [data]})).iloc[0]
    if row.get(PROBLEM_COLUMN):
        raise DataError(
            f"{filename!r} could not be classified: {row[PROBLEM_COLUMN]}.", fix=IMAGE_FIX
        )
    return read_prediction(row)


def image_heat(model, data: bytes, label: str) -> np.ndarray:
    """The image as the model sees it (its size and channels), with a Grad-CAM heat map over
    it of where the evidence for ``label`` lies (uint8 RGB).

    Raises:
        DataError: the bytes are not a readable image.
        DLStudioError: the model is not a network this studio trained on images.
    """
    predictor = getattr(model, "predictor", None)
    network = getattr(predictor, "model", None)
    if network is None or not hasattr(network, "backbone") or label not in predictor.classes:
        raise DLStudioError(
            "This model cannot show where it looked.",
            fix="Heat maps are drawn for image classification models trained by dlstudio.",
        )
    try:
        image = decode_image(data, size=predictor.size, channels=predictor.channels)
    except ValueError as exc:
        raise DataError(f"The image could not be read: {exc}.", fix=IMAGE_FIX) from None
    heat = heat_maps(network, image[None], [predictor.classes.index(label)])[0]
    return overlay(image, heat)


def predict_image_files(model, uploads: list[tuple[str, bytes]]) -> ImagePredictions:
    """Predictions for uploaded files: single images, and ZIPs of images in any layout.

    Single images come first, then each ZIP's images; with more than one upload a ZIP's
    entries are named ``archive.zip/folder/file.png``.

    Raises:
        DataError: a ZIP cannot be read, or holds no image.
    """
    images = [(name, data) for name, data in uploads if not _is_zip(name)]
    parts = [_image_rows(model, images)] if images else []
    for name, data in uploads:
        if _is_zip(name):
            part = predict_upload(model, data, filename=name)
            if len(uploads) > 1:
                part[FILE_COLUMN] = name + "/" + part[FILE_COLUMN]
            parts.append(part)
    if not parts:
        raise DataError("There are no images to classify.", fix=IMAGE_FIX)
    return ImagePredictions(pd.concat(parts, ignore_index=True))


def _image_rows(model, images: list[tuple[str, bytes]]) -> pd.DataFrame:
    column = image_column(model)
    frame = pd.DataFrame({column: [data for _, data in images]})
    rows = predict_frame(model, frame).drop(columns=[column])
    rows.insert(0, FILE_COLUMN, [name for name, _ in images])
    return rows


def _is_zip(filename: str) -> bool:
    return filename.lower().endswith(".zip")
