"""What an image run shows beyond the metrics: its most confident mistakes, as a table and as a
contact sheet of thumbnails."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import nn

from dlstudio.explain.heatmaps import heat_maps, overlay
from dlstudio.tasks.classification import Splits

MISTAKES_SHOWN = 24
HEAT_SHEET = "mistakes_heatmaps.png"  # the mistakes with where the model looked


def mistake_heat(
    model: nn.Module, images: np.ndarray, worst: list[dict], classes: list
) -> np.ndarray:
    """A Grad-CAM map per mistake (``images``: the test images), for the class it was
    wrongly given: what in the photo led the model astray."""
    names = [str(label) for label in classes]
    chosen = images[[mistake["position"] for mistake in worst]]
    return heat_maps(model, chosen, [names.index(mistake["predicted"]) for mistake in worst])


def mistakes(splits: Splits, proba: np.ndarray) -> list[dict]:
    """The test images the model got wrong with the most confidence: file, true, predicted,
    probability (at most 24, most confident first)."""
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != splits.y_test)
    order = wrong[np.argsort(-proba[wrong, predicted[wrong]], kind="stable")][:MISTAKES_SHOWN]
    names = [str(label) for label in splits.classes]
    files = splits.test["image"].tolist()
    return [
        {"image": files[i], "position": int(i), "true": names[splits.y_test[i]],
         "predicted": names[predicted[i]], "probability": round(float(proba[i, predicted[i]]), 4)}
        for i in order
    ]  # fmt: skip


def contact_sheet(images: np.ndarray, worst: list[dict], heat: np.ndarray | None = None) -> Figure:
    """A grid of the mistakes' thumbnails, each titled 'true -> predicted (probability)';
    with ``heat`` (one Grad-CAM map per mistake), each thumbnail carries its heat map."""
    columns = min(6, max(1, len(worst)))
    rows = max(1, math.ceil(len(worst) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2.0 * columns, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for index, (ax, mistake) in enumerate(zip(axes.flat, worst, strict=False)):
        image = images[mistake["position"]]
        if heat is not None:
            image = overlay(image, heat[index])
        ax.imshow(
            image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255
        )
        ax.set_title(
            f"{mistake['true']} -> {mistake['predicted']}\n({mistake['probability']:.0%})",
            fontsize=8,
        )
    if not worst:
        axes.flat[0].text(0.5, 0.5, "No mistakes on the test images", ha="center", va="center")
    figure.tight_layout()
    plt.close(figure)
    return figure
