"""Image classifiers; each maps uint8 images (B, H, W, C) to logits (B, n_classes).

* ``small_cnn``: three stages of two 3x3 conv-BN-ReLU layers and a 2x2 max-pool, global average
  pooling, dropout, linear. Fast; enough for digits, symbols, simple defects.
* ``resnet``: a compact ResNet (He et al. 2016): a 3x3 stem, three stages of two basic residual
  blocks (widths w, 2w, 4w; stride 2 between stages), global average pooling, linear.
* ``efficientnet_lite0``: EfficientNet-Lite0 pretrained on ImageNet (``dlstudio.nn.efficientnet``),
  for photos; 3 channels, standardized as it was trained.

The network takes raw uint8 pixels: scaling to [0, 1], augmentation (training mode only) and
standardization with the training set's channel mean and std happen inside, on the device the
network lives on. So batches travel as uint8 (4x fewer bytes than float), augmentation runs on the
GPU when there is one, and a saved network needs no separate preprocessing to predict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ImageModelConfig:
    """Shapes and sizes; saved as JSON with the weights."""

    kind: str  # "small_cnn" | "resnet" | "efficientnet_lite0"
    channels: int  # 1 (grayscale) or 3 (RGB)
    n_classes: int
    width: int = 32  # channels of the first stage; doubled at each later stage
    dropout: float = 0.2
    stem_stride: int = 1  # 2 for large images (64 px and up): a quarter of the compute
    augment: str = "none"  # "none" | "shift" (small moves, no flip) | "photo" (crop, flip, colour)
    mean: tuple[float, ...] = (0.5,)  # per channel, of pixels scaled to [0, 1]
    std: tuple[float, ...] = (0.25,)

    def __post_init__(self) -> None:
        if self.kind not in IMAGE_MODELS:
            raise ValueError(f"unknown image model {self.kind!r}; valid: {sorted(IMAGE_MODELS)}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {self.augment!r}; valid: {AUGMENTATIONS}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(f"mean and std need {self.channels} values, one per channel")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> ImageModelConfig:
        return cls(**{**raw, "mean": tuple(raw["mean"]), "std": tuple(raw["std"])})


AUGMENTATIONS = ("none", "shift", "photo")


def build_image_model(config: ImageModelConfig) -> ImageClassifier:
    return ImageClassifier(config)


class ImageClassifier(nn.Module):
    """uint8 (B, H, W, C) -> [augment] -> standardize -> backbone -> logits."""

    def __init__(self, config: ImageModelConfig) -> None:
        super().__init__()
        self.augment, self.n_classes = config.augment, config.n_classes
        self.register_buffer("mean", torch.tensor(config.mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(config.std).view(1, -1, 1, 1))
        self.backbone = IMAGE_MODELS[config.kind](config)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        augment = self.training and self.augment != "none"
        return self.backbone(self.standardize(images, augment=augment))

    def standardize(self, images: torch.Tensor, *, augment: bool = False) -> torch.Tensor:
        """uint8 (B, H, W, C) -> [augmented] standardized float (B, C, H, W)."""
        # NHWC uint8 viewed as NCHW keeps channels-last strides, the fast layout for cuDNN
        x = images.permute(0, 3, 1, 2).float().div_(255)
        if augment:
            x = augment_batch(x, photo=self.augment == "photo")
        return (x - self.mean) / self.std


def augment_batch(x: torch.Tensor, *, photo: bool) -> torch.Tensor:
    """A random geometric transform per image, in one ``grid_sample``, plus colour jitter.

    shift: scale 0.9-1.1, rotation +-10 degrees, translation +-10%: handwriting, symbols and
    documents, whose meaning a flip would change. photo: random resized crop (area 50-100%,
    aspect 3:4-4:3), horizontal flip, brightness and contrast +-20%.
    """
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.empty(n, device=x.device).uniform_(low, high)

    if photo:
        area, log_ratio = uniform(0.5, 1.0), uniform(math.log(3 / 4), math.log(4 / 3))
        sx = (area * log_ratio.exp()).sqrt().clamp(max=1.0)
        sy = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
        flip = torch.where(torch.rand(n, device=x.device) < 0.5, -1.0, 1.0)
        angle = torch.zeros(n, device=x.device)
        tx, ty = (1 - sx) * uniform(-1, 1), (1 - sy) * uniform(-1, 1)  # crop stays inside
        sx = sx * flip
    else:
        scale, angle = uniform(0.9, 1.1), uniform(-10, 10) * math.pi / 180
        sx = sy = 1 / scale
        tx, ty = uniform(-0.1, 0.1), uniform(-0.1, 0.1)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [torch.stack([sx * cos, -sy * sin, tx], 1), torch.stack([sx * sin, sy * cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if photo:
        brightness = uniform(0.8, 1.2).view(n, 1, 1, 1)
        contrast = uniform(0.8, 1.2).view(n, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean) * brightness
    return x.clamp_(0, 1)


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _head(c_in: int, config: ImageModelConfig) -> list[nn.Module]:
    """Global average pooling -> dropout -> linear to the classes."""
    return [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(config.dropout),
        nn.Linear(c_in, config.n_classes),
    ]


class SmallCNN(nn.Sequential):
    """[conv-BN-ReLU x2, max-pool] x3 with widths w, 2w, 4w -> global pool -> dropout -> linear."""

    def __init__(self, config: ImageModelConfig) -> None:
        w, layers, c_in = config.width, [], config.channels
        for stage, c_out in enumerate((w, 2 * w, 4 * w)):
            stride = config.stem_stride if stage == 0 else 1
            layers += [
                *_conv_bn(c_in, c_out, stride),
                *_conv_bn(c_out, c_out),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            c_in = c_out
        super().__init__(*layers, *_head(c_in, config))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual; a 1x1 conv on the shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(c_in, c_out, stride),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        )
        # the last BN starts at zero: each block begins as the identity (Goyal et al. 2017)
        nn.init.zeros_(self.body[-1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x), inplace=True)


class CompactResNet(nn.Sequential):
    """3x3 stem -> 3 stages of 2 basic blocks (w, 2w, 4w) -> global pool -> dropout -> linear."""

    def __init__(self, config: ImageModelConfig) -> None:
        w = config.width
        blocks: list[nn.Module] = list(_conv_bn(config.channels, w, config.stem_stride))
        c_in = w
        for stage, c_out in enumerate((w, 2 * w, 4 * w)):
            stride = 1 if stage == 0 else 2
            blocks += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
            c_in = c_out
        super().__init__(*blocks, *_head(c_in, config))


def _efficientnet_lite0(config: ImageModelConfig) -> nn.Module:
    from dlstudio.nn.efficientnet import EfficientNetLite0

    return EfficientNetLite0(config.n_classes, config.dropout)


IMAGE_MODELS: dict[str, Callable[[ImageModelConfig], nn.Module]] = {
    "small_cnn": SmallCNN, "resnet": CompactResNet, "efficientnet_lite0": _efficientnet_lite0,
}  # fmt: skip
PRETRAINED = ("efficientnet_lite0",)
