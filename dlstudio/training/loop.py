"""A plain PyTorch fit loop. Everything that is not the maths of training is a callback.

Speed rules (DESIGN §4): in-memory tensors live on the device and are batched by index slicing;
the per-batch loss is accumulated on the device and read once per epoch (no host sync per batch).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from dlstudio.training.device import DeviceChoice

Batch = tuple[tuple[torch.Tensor, ...], torch.Tensor]


@dataclass
class TensorData:
    """Inputs and target held as tensors (on the training device), batched by index."""

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor

    def __len__(self) -> int:
        return len(self.target)

    def to(self, device: torch.device) -> TensorData:
        """A copy on ``device`` (pinned + non-blocking when going to CUDA)."""
        move = _mover(device)
        return TensorData(tuple(move(t) for t in self.inputs), move(self.target))

    def training_steps(self, batch_size: int) -> int:
        """Number of shuffled mini-batches per epoch."""
        return -(-self._shuffled_rows(batch_size) // batch_size)

    def _shuffled_rows(self, batch_size: int) -> int:
        # A last batch of one row would break BatchNorm: skip it (shuffling moves it elsewhere).
        n = len(self)
        return n - 1 if n % batch_size == 1 and n > 1 else n

    def batches(
        self, batch_size: int, *, generator: torch.Generator | None = None
    ) -> Iterator[Batch]:
        """Mini-batches in random order when a generator is given, else in order."""
        n = len(self)
        if generator is None:
            for start in range(0, n, batch_size):
                stop = start + batch_size
                yield tuple(t[start:stop] for t in self.inputs), self.target[start:stop]
            return
        order = torch.randperm(n, generator=generator).to(self.target.device)
        for start in range(0, self._shuffled_rows(batch_size), batch_size):
            index = order[start : start + batch_size]
            yield tuple(t[index] for t in self.inputs), self.target[index]


@dataclass
class FitState:
    """What callbacks see and may change (``stop_training``)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    total_epochs: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    stop_training: bool = False
    stop_reason: str | None = None
    epoch_started_at: float = 0.0


class Callback:
    """No-op hooks; subclasses override the ones they need."""

    def on_train_begin(self, state: FitState) -> None: ...

    def on_epoch_begin(self, state: FitState) -> None: ...

    def on_batch_end(self, state: FitState) -> None: ...

    def on_epoch_end(self, state: FitState) -> None: ...

    def on_train_end(self, state: FitState) -> None: ...


@dataclass(frozen=True)
class FitConfig:
    """The loop's knobs, resolved from the spec and preset before training."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 1e-4
    grad_clip: float | None = None
    # "constant", or "cosine": a linear warm-up over the first 5% of the steps, then a cosine
    # decay to 0 at the last epoch (early stopping may end training before it gets there)
    schedule: str = "constant"
    # stop after the epoch that uses up this many seconds; the cosine then ends with the epoch
    # the budget allows (measured on the first epoch), so the rate still decays on big tables
    max_seconds: float | None = None


def fit(
    model: nn.Module,
    train: TensorData,
    *,
    loss_fn: nn.Module,
    validate: Callable[[nn.Module], dict[str, float]],
    config: FitConfig,
    device: DeviceChoice,
    generator: torch.Generator,
    callbacks: Sequence[Callback] = (),
) -> FitState:
    """Train ``model`` on ``train``; after each epoch ``validate(model)`` adds ``val_*`` metrics."""
    parameters = list(model.parameters())
    optimizer = torch.optim.AdamW(
        parameters,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        # one kernel for all parameters: the step of a small network on the CPU is ~3x faster
        fused=all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in parameters),
    )
    # Loss scaling only matters for fp16; bf16 and fp32 train without it.
    scaler = torch.amp.GradScaler(enabled=device.amp_dtype == torch.float16)
    steps = train.training_steps(config.batch_size)
    horizon = [config.epochs * steps]  # the schedule's last step; shrunk to fit the budget
    scheduler = _scheduler(optimizer, config, horizon)
    state = FitState(model, optimizer, config.epochs, steps)
    started = time.monotonic()
    _each(callbacks, "on_train_begin", state)
    for epoch in range(1, config.epochs + 1):
        state.epoch, state.epoch_started_at = epoch, time.monotonic()
        _each(callbacks, "on_epoch_begin", state)
        model.train()
        loss_sum = torch.zeros((), device=train.target.device)
        rows = 0
        for inputs, target in train.batches(config.batch_size, generator=generator):
            with device.autocast():
                loss = loss_fn(model(*inputs), target)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            loss_sum += loss.detach().float() * len(target)
            rows += len(target)
            state.step += 1
            _each(callbacks, "on_batch_end", state)
        state.metrics = {"train_loss": loss_sum.item() / rows, **validate(model)}
        state.history.append({"epoch": epoch, **state.metrics})
        _each(callbacks, "on_epoch_end", state)
        if state.stop_training:
            break
        if config.max_seconds is not None:
            elapsed = time.monotonic() - started
            if epoch == 1:
                affordable = max(2, int(config.max_seconds / max(elapsed, 1e-6)))
                horizon[0] = min(config.epochs, affordable) * steps
            if elapsed >= config.max_seconds:
                state.stop_reason = (
                    f"time budget of {config.max_seconds:.0f} s used up at epoch {epoch}"
                )
                break
    _each(callbacks, "on_train_end", state)
    return state


def _scheduler(
    optimizer: torch.optim.Optimizer, config: FitConfig, horizon: list[int]
) -> torch.optim.lr_scheduler.LRScheduler | None:
    if config.schedule == "constant":
        return None
    warmup = max(1, horizon[0] // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        total = max(horizon[0], warmup + 1)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (total - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _each(callbacks: Sequence[Callback], hook: str, state: FitState) -> None:
    for callback in callbacks:
        getattr(callback, hook)(state)


def _mover(device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    def move(tensor: torch.Tensor) -> torch.Tensor:
        if device.type == "cuda" and tensor.device.type == "cpu":
            # pinned host memory lets the copy overlap with compute
            return tensor.pin_memory().to(device, non_blocking=True)
        return tensor.to(device)

    return move
