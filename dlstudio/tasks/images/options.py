"""The options of the image template, and its RunSpec model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from dlstudio.spec import FrozenModel, RunSpecBase

BACKBONES = ("auto", "efficientnet_lite0", "small_cnn", "resnet")


class ImageClassificationOptions(FrozenModel):
    """Options of the image template (a CNN trained on a ZIP or folder of class folders)."""

    image_size: int | None = Field(
        default=None,
        ge=8,
        le=512,
        description="Side in pixels every image is resized to; from the images and the preset "
        "when empty (small images such as 8x8 digits are enlarged to 32).",
    )
    channels: Literal["auto", 1, 3] = Field(
        default="auto", description="1: grayscale; 3: colour; auto: 1 when every image is grey."
    )
    model: Literal["auto", "small_cnn", "resnet"] = Field(
        default="auto",
        description="small_cnn: a fast plain CNN; resnet: a compact ResNet (more accurate, "
        "slower); auto: the preset picks.",
    )  # superseded by backbone (which wins when set); kept so that older specs mean the same
    backbone: Literal["auto", "efficientnet_lite0", "small_cnn", "resnet"] = Field(
        default="auto",
        description="efficientnet_lite0: pretrained on ImageNet photos and fine-tuned (bundled, "
        "no download; best for photos); small_cnn: a fast CNN trained from scratch (digits, "
        "symbols, simple defects); resnet: a compact ResNet from scratch; auto: "
        "efficientnet_lite0, or small_cnn for the fast preset and for small grey images.",
    )

    @field_validator("backbone", mode="before")
    @classmethod
    def _known_backbone(cls, value: object) -> object:
        if isinstance(value, str) and value not in BACKBONES:
            raise ValueError(
                f"backbone {value!r} is not available. This studio bundles efficientnet_lite0 "
                "(pretrained, offline) and trains small_cnn or resnet from scratch; torchvision "
                "and timm models are not supported yet. Choose one of: "
                f"{', '.join(BACKBONES)}."
            )
        return value

    width: int | None = Field(
        default=None, ge=8, le=256, description="Channels of the first layer; preset."
    )
    augment: Literal["auto", "none", "shift", "photo"] = Field(
        default="auto",
        description="Random changes to training images so the model generalizes. shift: small "
        "moves, zooms and turns (digits, symbols, documents); photo: crops, mirror flips and "
        "colour changes; auto: photo for colour images, shift for grey ones.",
    )
    dropout: float | None = Field(default=None, ge=0, lt=1, description="Dropout rate; preset.")
    label_smoothing: float = Field(
        default=0.1, ge=0, lt=0.5, description="Soften the targets a little: steadier models."
    )
    class_weight: Literal["auto", "balanced", "none"] = Field(
        default="auto",
        description="auto: weights 1/sqrt(class share); balanced: 1/share; none: equal.",
    )
    test_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=0.5,
        description="Share held out for the test (when there is no test folder or test ZIP).",
    )
    val_fraction: float = Field(
        default=0.15, gt=0, lt=0.5, description="Share of the training images for early stopping."
    )


class ImageClassificationSpec(RunSpecBase):
    """Sort images into classes (defect / ok, product types) from a ZIP of class folders."""

    task: Literal["image_classification"] = Field(
        default="image_classification", description="The task template to run."
    )
    options: ImageClassificationOptions = Field(
        default_factory=ImageClassificationOptions, description="The template's own options."
    )


SPEC = ImageClassificationSpec  # registered in dlstudio/tasks/registry.py
