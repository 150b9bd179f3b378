"""The image networks: shapes, augmentation only while training, and that they can learn."""

from __future__ import annotations

import pytest
import torch

from dlstudio.nn.cnn import AUGMENTATIONS, ImageModelConfig, augment_batch, build_image_model


def config(kind: str = "small_cnn", channels: int = 3, **changes) -> ImageModelConfig:
    stats = {"mean": (0.5,) * channels, "std": (0.25,) * channels}
    return ImageModelConfig(kind, channels, n_classes=4, width=8, **stats, **changes)


def images(n: int = 6, side: int = 32, channels: int = 3, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, side, side, channels), dtype=torch.uint8, generator=generator)


@pytest.mark.parametrize("kind", ["small_cnn", "resnet"])
@pytest.mark.parametrize("stem_stride", [1, 2])
def test_uint8_images_give_one_row_of_logits_each(kind: str, stem_stride: int) -> None:
    model = build_image_model(config(kind, stem_stride=stem_stride)).eval()
    out = model(images(side=64))
    assert out.shape == (6, 4)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("augment", AUGMENTATIONS[1:])
def test_augmentation_runs_in_training_only(augment: str) -> None:
    torch.manual_seed(0)
    model = build_image_model(config(augment=augment, dropout=0.0))
    batch = images()
    model.eval()
    assert torch.equal(model(batch), model(batch))  # evaluation: no randomness
    model.train()
    assert not torch.allclose(model(batch), model(batch))  # a new random transform each call


def test_augmented_pixels_stay_in_range_and_shape() -> None:
    torch.manual_seed(0)
    x = images(n=16).permute(0, 3, 1, 2).float() / 255
    for photo in (False, True):
        out = augment_batch(x.clone(), photo=photo)
        assert out.shape == x.shape
        assert out.min() >= 0 and out.max() <= 1
        assert (out - x).abs().mean() > 0.01


def test_grayscale_and_colour_inputs_match_their_config() -> None:
    gray = build_image_model(config(channels=1)).eval()
    assert gray(images(channels=1)).shape == (6, 4)
    with pytest.raises(RuntimeError):
        gray(images(channels=3))


def test_config_survives_json() -> None:
    original = config("resnet", augment="photo", stem_stride=2)
    assert ImageModelConfig.from_dict(original.to_dict()) == original


def test_bad_config_values_are_named() -> None:
    with pytest.raises(ValueError, match="unknown image model 'vgg'"):
        config("vgg")
    with pytest.raises(ValueError, match="mean and std need 3 values"):
        ImageModelConfig("small_cnn", 3, 2, mean=(0.5,), std=(0.2,))


@pytest.mark.parametrize("kind", ["small_cnn", "resnet"])
def test_network_fits_a_tiny_set(kind: str) -> None:
    torch.manual_seed(0)
    x, y = images(n=16, side=16), torch.arange(16) % 4
    model = build_image_model(config(kind, dropout=0.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() == 1.0
