"""Grad-CAM heat maps of image networks: where they put the evidence, and how they are drawn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlstudio.explain.heatmaps import heat_maps, overlay, pooling_layer
from dlstudio.nn.cnn import ImageModelConfig, build_image_model


class BrightnessClassifier(nn.Module):
    """An ImageClassifier whose class-1 score is the image's mean brightness: its feature map is
    the image itself, so the evidence for class 1 lies exactly where the pixels are bright."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(1, 1, 1, bias=False)
        nn.init.ones_(conv.weight)
        linear = nn.Linear(1, 2, bias=False)
        linear.weight.data = torch.tensor([[-1.0], [1.0]])
        self.backbone = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear)

    def standardize(self, images: torch.Tensor) -> torch.Tensor:
        return images.permute(0, 3, 1, 2).float() / 255


def test_the_heat_lies_where_the_evidence_is() -> None:
    image = np.zeros((1, 16, 16, 1), np.uint8)
    image[0, 2:6, 10:14] = 255  # a bright square, top right
    (heat,) = heat_maps(BrightnessClassifier(), image, [1])
    assert heat.shape == (16, 16) and heat.max() == pytest.approx(1.0)
    assert heat[2:6, 10:14].min() > 0.9  # the square
    assert heat[10:, :6].max() == 0  # far from it
    (against,) = heat_maps(BrightnessClassifier(), image, [0])  # brightness lowers class 0
    assert against.max() == 0


@pytest.mark.parametrize("kind", ["small_cnn", "resnet"])
def test_every_image_network_gives_one_map_per_image_scaled_0_to_1(kind: str) -> None:
    torch.manual_seed(0)
    network = build_image_model(
        ImageModelConfig(
            kind=kind, channels=3, n_classes=3, width=8, mean=(0.5,) * 3, std=(0.25,) * 3
        )
    )
    network.requires_grad_(False)  # a fine-tuned network's frozen layers
    images = np.random.default_rng(0).integers(0, 256, (5, 24, 24, 3), dtype=np.uint8)
    maps = heat_maps(network, images, [0, 1, 2, 0, 1])
    assert maps.shape == (5, 24, 24)
    assert maps.min() >= 0 and maps.max() <= 1 and np.isfinite(maps).all()


def test_no_images_give_no_maps() -> None:  # a run without mistakes
    images = np.zeros((0, 16, 16, 1), np.uint8)
    assert heat_maps(BrightnessClassifier(), images, []).shape == (0, 16, 16)


def test_a_network_without_global_pooling_is_refused() -> None:
    with pytest.raises(ValueError, match="no global pooling layer"):
        pooling_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))


def test_the_overlay_keeps_the_photo_where_there_is_no_heat_and_colours_the_hot_parts() -> None:
    grey = np.full((8, 8, 1), 100, np.uint8)
    heat = np.zeros((8, 8))
    heat[:4] = 1.0
    drawn = overlay(grey, heat)
    assert drawn.shape == (8, 8, 3) and drawn.dtype == np.uint8
    hot, cold = drawn[0, 0].astype(int), drawn[7, 7].astype(int)
    assert hot[0] > hot[2]  # red over the evidence
    assert np.abs(cold - 100).max() < 25  # the photo shows through where there is none
