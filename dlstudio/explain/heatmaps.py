"""Where an image model looked: Grad-CAM heat maps (captum's ``LayerGradCam``) over the photo.

Grad-CAM weighs the network's last feature maps, the input of its global pooling, by the
gradient of the class's score, keeps what raises the score, and stretches the coarse map over
the image. Every image network here (small CNN, compact ResNet, EfficientNet-Lite0) ends in
global average pooling, so the same layer serves all of them. One backward pass per batch:
bench/heatmaps.py times it on CPU.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

HEAT_ALPHA = 0.45  # how much of the heat colour covers the photo
BATCH = 16  # images per backward pass


def pooling_layer(network: nn.Module) -> nn.Module:
    """The network's last global pooling layer, whose input is its last feature maps.

    Raises:
        ValueError: the network has none (Grad-CAM needs spatial maps before a pooling).
    """
    pools = [m for m in network.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise ValueError("the network has no global pooling layer to take its feature maps from")
    return pools[-1]


def heat_maps(classifier: nn.Module, images: np.ndarray, targets: list[int]) -> np.ndarray:
    """One map per image (rows, height, width), 0 to 1: where the evidence for class
    ``targets[i]`` lies in ``images[i]`` (uint8, rows x height x width x channels, as the
    predictor reads them). ``classifier``: an ``ImageClassifier`` (standardize + backbone)."""
    from captum.attr import LayerAttribution, LayerGradCam

    classifier = classifier.eval()
    backbone, device = classifier.backbone, next(classifier.parameters()).device
    explainer = LayerGradCam(backbone, pooling_layer(backbone))
    height, width = images.shape[1:3]
    maps = []
    for start in range(0, len(images), BATCH):
        batch = torch.from_numpy(np.array(images[start : start + BATCH])).to(device)  # a copy
        with torch.no_grad():
            inputs = classifier.standardize(batch)
        cam = explainer.attribute(
            inputs, target=list(targets[start : start + BATCH]), attribute_to_layer_input=True,
            relu_attributions=True,
        )  # fmt: skip
        cam = LayerAttribution.interpolate(cam.detach(), (height, width), "bilinear")
        maps.append(cam[:, 0].float().cpu().numpy())
    if not maps:  # no images (a run without mistakes)
        return np.zeros((0, height, width))
    heat = np.concatenate(maps)
    peak = heat.reshape(len(heat), -1).max(axis=1).reshape(-1, 1, 1)
    return np.divide(heat, peak, out=np.zeros_like(heat), where=peak > 0)


def overlay(image: np.ndarray, heat: np.ndarray, *, alpha: float = HEAT_ALPHA) -> np.ndarray:
    """The photo (uint8, height x width x 1 or 3) in colour with the heat map laid
    over it: red where the evidence is strongest, blue where there is none (uint8 RGB)."""
    from matplotlib import colormaps

    photo = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
    colour = colormaps["jet"](np.clip(heat, 0, 1))[..., :3] * 255
    weight = alpha * np.clip(heat, 0.15, 1)[..., None]  # cold parts keep the photo visible
    mixed = photo.astype(np.float64) * (1 - weight) + colour * weight
    return mixed.round().astype(np.uint8)
