"""Side concerns of training as callbacks: early stopping, checkpoints, console progress."""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import torch
from torch import nn

from dlstudio.errors import DLStudioError
from dlstudio.training.loop import Callback, FitState


class TrainingCancelled(DLStudioError):
    """Raised by a callback to stop a run (a user's cancel, the worker shutting down)."""


class CancelledByUser(TrainingCancelled):
    """A user asked to stop the job (a search then ends, keeping its best trial; a worker's
    shutdown instead leaves the search to resume)."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights."""

    def __init__(self, monitor: str, *, patience: int, mode: str = "max") -> None:
        self.monitor, self.patience, self.sign = monitor, patience, 1.0 if mode == "max" else -1.0
        self.best_score = -math.inf
        self.best_epoch = 0
        self._best_weights: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, state: FitState) -> None:
        score = self.sign * state.metrics[self.monitor]
        if score > self.best_score:
            self.best_score, self.best_epoch = score, state.epoch
            self._best_weights = copy.deepcopy(state.model.state_dict())
        elif state.epoch - self.best_epoch >= self.patience:
            state.stop_training = True
            state.stop_reason = (
                f"{self.monitor} did not improve for {self.patience} epochs "
                f"(best {self.sign * self.best_score:.4f} at epoch {self.best_epoch})"
            )

    def on_train_end(self, state: FitState) -> None:
        if self._best_weights is not None:
            state.model.load_state_dict(self._best_weights)


class Checkpoint(Callback):
    """Save model and optimizer state after every epoch, so an interrupted job can resume."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, state: FitState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        torch.save(
            {
                "epoch": state.epoch,
                "model": state.model.state_dict(),
                "optimizer": state.optimizer.state_dict(),
                "history": state.history,
            },
            partial,
        )
        partial.replace(self.path)  # atomic: a crash never leaves a half-written checkpoint


class ConsoleProgress(Callback):
    """One progress bar per epoch on stderr (the CLI's human-readable output)."""

    def __init__(self, stream: TextIO = sys.stderr, *, width: int = 24) -> None:
        self.stream, self.width = stream, width
        self._last_draw = 0.0

    def on_batch_end(self, state: FitState) -> None:
        now = time.monotonic()
        if now - self._last_draw < 0.2:  # redraw at most 5 times a second
            return
        self._last_draw = now
        done = (state.step - 1) % state.steps_per_epoch + 1
        filled = self.width * done // state.steps_per_epoch
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(
            f"\repoch {state.epoch}/{state.total_epochs} [{bar}] {done}/{state.steps_per_epoch}"
        )
        self.stream.flush()

    def on_epoch_end(self, state: FitState) -> None:
        seconds = time.monotonic() - state.epoch_started_at
        # the first few metrics (losses, then the task's main scores) keep the line readable
        shown = "  ".join(f"{k}={v:.4f}" for k, v in list(state.metrics.items())[:5])
        bar = "#" * self.width
        self.stream.write(
            f"\repoch {state.epoch}/{state.total_epochs} [{bar}] {seconds:.1f}s  {shown}\n"
        )
        self.stream.flush()

    def on_train_end(self, state: FitState) -> None:
        if state.stop_reason:
            self.stream.write(f"early stop: {state.stop_reason}\n")
            self.stream.flush()


class MemberEarlyStopping(Callback):
    """Early stopping for an ensemble trained in one loop, member by member.

    Each member keeps the weights of its own best epoch (by ``member_losses``, lower is better)
    and is frozen once it has not improved for ``patience`` epochs; training ends when every
    member is frozen. So each member stops where it would have stopped trained alone, and a
    member that overfits early does not hold the others back (nor they it).
    """

    def __init__(
        self,
        members: Sequence[nn.Module],
        member_losses: Callable[[], Sequence[float]],
        *,
        patience: int,
    ) -> None:
        self.members, self.member_losses, self.patience = members, member_losses, patience
        self.best = [math.inf] * len(members)
        self.best_epoch = [0] * len(members)
        self._best_weights: list[dict[str, torch.Tensor] | None] = [None] * len(members)

    def on_epoch_end(self, state: FitState) -> None:
        for i, loss in enumerate(self.member_losses()):
            member = self.members[i]
            if not any(p.requires_grad for p in member.parameters()):
                continue  # frozen earlier
            if loss < self.best[i]:
                self.best[i], self.best_epoch[i] = loss, state.epoch
                self._best_weights[i] = copy.deepcopy(member.state_dict())
            elif state.epoch - self.best_epoch[i] >= self.patience:
                member.requires_grad_(False)  # AdamW skips parameters without gradients
        if all(not p.requires_grad for p in state.model.parameters()):
            state.stop_training = True
            epochs = ", ".join(map(str, self.best_epoch))
            state.stop_reason = (
                f"every member stopped improving for {self.patience} epochs (best epochs: {epochs})"
            )

    def on_train_end(self, state: FitState) -> None:
        for member, weights in zip(self.members, self._best_weights, strict=True):
            if weights is not None:
                member.load_state_dict(weights)
            member.requires_grad_(True)
