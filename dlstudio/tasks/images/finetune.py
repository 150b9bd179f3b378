"""Fine-tuning a pretrained backbone on a few hundred photos, in two phases.

1. The head: the classifier alone learns from the backbone's pooled features, computed once
   (a linear probe: seconds, and already a strong model).
2. The top of the network learns with the classifier at a lower rate, stopped early on the
   validation loss. On a GPU the whole network learns from augmented photos. On a CPU only the
   blocks from ``train_from`` up learn: the maps below them are computed once, and each epoch
   augments those maps (mirror, crop and zoom) instead of the photos. A forward pass through
   EfficientNet-Lite0 costs ~50-100 ms per 224 px photo on a CPU core, so recomputing the frozen
   blocks every epoch would take most of the time budget for nothing.

The model phase 2 leaves is kept only when it beats phase 1's on the validation loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.nn.cnn import ImageClassifier
from dlstudio.tasks.classification import validation_scores
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import Callback, FitConfig, FitState, TensorData, fit

HEAD_EPOCHS, HEAD_RATE, HEAD_PATIENCE = 100, 3e-3, 10


@dataclass(frozen=True)
class FineTune:
    """Phase 2 of a preset; the training spec's epochs, rate and patience override it."""

    epochs: int
    learning_rate: float
    train_from: int  # first block that learns on a CPU (EfficientNet-Lite0 has 16)
    patience: int


@dataclass(frozen=True)
class FineTuned:
    state: FitState  # phase 2's
    head_val_loss: float  # phase 1's validation loss
    kept: str  # "fine-tuned" or "head only" (phase 2 did not lower the validation loss)


def fine_tune(
    model: ImageClassifier,
    train: TensorData,
    val: TensorData,
    *,
    loss_fn: nn.Module,
    recipe: FineTune,
    fit_config: FitConfig,
    device: DeviceChoice,
    generator: torch.Generator,
    callbacks: Sequence[Callback],
    batch_size: int,
    whole_network: bool,
) -> FineTuned:
    """Train ``model`` (an ``ImageClassifier`` over a pretrained backbone) in place."""
    backbone = model.backbone
    backbone.freeze_below(recipe.train_from)
    train_maps, val_maps = (_lower_maps(model, part, device, batch_size) for part in (train, val))
    top = OnMaps(backbone)
    head_loss = _fit_head(top, TensorData((train_maps,), train.target),
                          TensorData((val_maps,), val.target), loss_fn=loss_fn, device=device,
                          generator=generator, batch_size=batch_size)  # fmt: skip
    head_weights = copy.deepcopy(model.state_dict())
    if whole_network:
        backbone.freeze_below(0)
        learner, train_set, val_set = model, train, val
    else:
        learner = top
        train_set = TensorData((train_maps,), train.target)
        val_set = TensorData((val_maps,), val.target)
    state = fit(
        learner,
        train_set,
        loss_fn=loss_fn,
        validate=_scores(val_set, loss_fn, _classes(backbone), device, batch_size),
        config=fit_config,
        device=device,
        generator=generator,
        callbacks=[EarlyStopping("val_loss", patience=recipe.patience, mode="min"), *callbacks],
    )
    best = min((row["val_loss"] for row in state.history), default=float("inf"))
    if best < head_loss:
        return FineTuned(state, head_loss, "fine-tuned")
    model.load_state_dict(head_weights)
    return FineTuned(state, head_loss, "head only")


class OnMaps(nn.Module):
    """The backbone from the frozen blocks' maps to logits; maps are jittered in training."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        maps = maps.float()
        if self.training:
            maps = jitter(maps)
        return self.backbone.classify(self.backbone.upper(maps))

    def train(self, mode: bool = True) -> OnMaps:
        self.training = mode
        self.backbone.train(mode)  # keeps its batch-norm statistics fixed
        return self


def jitter(maps: torch.Tensor) -> torch.Tensor:
    """A random mirror, zoom (75-100% of the map) and shift per map, in one ``grid_sample``."""
    n = maps.shape[0]
    scale = torch.empty(n, device=maps.device).uniform_(0.75, 1.0)
    flip = torch.where(torch.rand(n, device=maps.device) < 0.5, -1.0, 1.0)
    shift_x = (1 - scale) * torch.empty(n, device=maps.device).uniform_(-1, 1)
    shift_y = (1 - scale) * torch.empty(n, device=maps.device).uniform_(-1, 1)
    zero = torch.zeros_like(scale)
    theta = torch.stack([torch.stack([scale * flip, zero, shift_x], 1),
                         torch.stack([zero, scale, shift_y], 1)], 1)  # fmt: skip
    grid = F.affine_grid(theta.to(maps.dtype), list(maps.shape), align_corners=False)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _fit_head(
    top: OnMaps,
    train_maps: TensorData,
    val_maps: TensorData,
    *,
    loss_fn: nn.Module,
    device: DeviceChoice,
    generator: torch.Generator,
    batch_size: int,
) -> float:
    """Phase 1: the classifier on fixed pooled features; returns its best validation loss."""
    backbone = top.backbone
    head = nn.Sequential(copy.deepcopy(backbone.net._dropout), backbone.net._fc)
    train_features = TensorData((_pooled(top, train_maps, batch_size),), train_maps.target)
    val_features = TensorData((_pooled(top, val_maps, batch_size),), val_maps.target)
    state = fit(
        head,
        train_features,
        loss_fn=loss_fn,
        validate=_loss_only(val_features, loss_fn),
        config=FitConfig(
            epochs=HEAD_EPOCHS,
            batch_size=64,
            learning_rate=HEAD_RATE,
            weight_decay=1e-2,
            schedule="cosine",
        ),
        device=device,
        generator=generator,
        callbacks=[EarlyStopping("val_loss", patience=HEAD_PATIENCE, mode="min")],
    )
    return min(row["val_loss"] for row in state.history)


def _scores(
    val: TensorData, loss_fn: nn.Module, n_classes: int, device: DeviceChoice, batch_size: int
) -> Callable[[nn.Module], dict[str, float]]:
    def scores(model: nn.Module) -> dict[str, float]:
        return validation_scores(model, val, loss_fn, n_classes, device, batch_size=batch_size)

    return scores


def _loss_only(val: TensorData, loss_fn: nn.Module) -> Callable[[nn.Module], dict[str, float]]:
    """``val_loss`` alone: the head trains for up to 100 epochs of a few milliseconds each, and
    the full set of validation metrics would cost more than the training."""

    @torch.no_grad()
    def scores(model: nn.Module) -> dict[str, float]:
        model.eval()
        (features,) = val.inputs
        log_proba = torch.log_softmax(model(features).float(), dim=1)
        weight = None if loss_fn.weight is None else loss_fn.weight.to(log_proba.device)
        loss = nn.functional.nll_loss(log_proba, val.target.to(log_proba.device), weight=weight)
        return {"val_loss": loss.item()}

    return scores


def _classes(backbone: nn.Module) -> int:
    return int(backbone.net._fc.out_features)


@torch.no_grad()
def _lower_maps(
    model: ImageClassifier, data: TensorData, device: DeviceChoice, batch_size: int
) -> torch.Tensor:
    """The frozen blocks' output for un-augmented images, kept in half precision."""
    model.eval()
    chunks = []
    with device.autocast():
        for (images,), _ in data.batches(batch_size):
            x = model.standardize(images.to(device.device))
            chunks.append(model.backbone.lower(x).half())
    return torch.cat(chunks)


@torch.no_grad()
def _pooled(top: OnMaps, maps: TensorData, batch_size: int) -> torch.Tensor:
    top.eval()
    chunks = [top.backbone.upper(m.float()) for (m,), _ in maps.batches(batch_size)]
    return torch.cat(chunks)
