"""The fit loop and its callbacks, on a toy module and tiny seeded data."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from dlstudio.training.callbacks import (
    Checkpoint,
    ConsoleProgress,
    EarlyStopping,
    MemberEarlyStopping,
)
from dlstudio.training.device import choose_device, seed_everything
from dlstudio.training.loop import Callback, FitConfig, FitState, TensorData, fit


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def toy_data(n: int = 200) -> TensorData:
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
    return TensorData((x,), (x[:, 0] + x[:, 1] > 0).long())


def train_toy(epochs: int, callbacks: list[Callback], *, seed: int = 0) -> FitState:
    generator = seed_everything(seed)
    model = Toy()
    data = toy_data()
    config = FitConfig(epochs=epochs, batch_size=32, learning_rate=0.05)
    return fit(
        model,
        data,
        loss_fn=nn.CrossEntropyLoss(),
        validate=lambda m: {"val_score": float(-m.linear.bias.detach().abs().sum())},
        config=config,
        device=choose_device("cpu"),
        generator=generator,
        callbacks=callbacks,
    )


def test_batches_cover_every_row_once() -> None:
    data = toy_data(70)
    seen = torch.cat([target for _, target in data.batches(32, generator=torch.Generator())])
    assert len(seen) == 70
    assert sorted(seen.tolist()) == sorted(data.target.tolist())


def test_training_lowers_the_loss() -> None:
    state = train_toy(5, [])
    losses = [row["train_loss"] for row in state.history]
    assert losses[-1] < losses[0] * 0.7


def test_same_seed_gives_the_same_weights() -> None:
    first, second = train_toy(2, []), train_toy(2, [])
    assert torch.equal(first.model.linear.weight, second.model.linear.weight)


def test_early_stopping_stops_and_restores_the_best_epoch() -> None:
    class Scripted(Callback):  # validation scores 1, 3, 2, 2, 2 ...: best at epoch 2
        def on_epoch_end(self, state: FitState) -> None:
            state.metrics["val_f1"] = [1.0, 3.0][state.epoch - 1] if state.epoch <= 2 else 2.0
            if state.epoch == 2:
                self.best = {k: v.clone() for k, v in state.model.state_dict().items()}

    scripted = Scripted()
    stopper = EarlyStopping("val_f1", patience=2)
    state = train_toy(10, [scripted, stopper])
    assert state.epoch == 4
    assert "did not improve for 2 epochs" in state.stop_reason
    assert torch.equal(state.model.linear.weight, scripted.best["linear.weight"])


def test_checkpoint_holds_the_last_epoch(tmp_path) -> None:
    path = tmp_path / "ck" / "last.pt"
    train_toy(2, [Checkpoint(path)])
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == 2
    assert set(saved["model"]) == {"linear.weight", "linear.bias"}


def test_console_progress_prints_one_line_per_epoch() -> None:
    stream = io.StringIO()
    train_toy(3, [ConsoleProgress(stream)])
    finished = [line for line in stream.getvalue().split("\n") if "train_loss=" in line]
    assert len(finished) == 3
    assert finished[-1].split("\r")[-1].startswith("epoch 3/3")


def test_a_last_batch_of_one_row_is_skipped() -> None:
    # 65 rows in batches of 32: a final single row would break BatchNorm in training mode
    data = toy_data(65)
    sizes = [len(t) for _, t in data.batches(32, generator=torch.Generator().manual_seed(0))]
    assert sizes == [32, 32]
    assert data.training_steps(32) == 2
    assert [len(t) for _, t in data.batches(32)] == [32, 32, 1]  # in order (evaluation): all rows


def test_batchnorm_model_trains_when_rows_leave_one_over() -> None:
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    state = fit(
        model,
        toy_data(65),
        loss_fn=nn.CrossEntropyLoss(),
        validate=lambda m: {},
        config=FitConfig(epochs=1, batch_size=32, learning_rate=0.01),
        device=choose_device("cpu"),
        generator=seed_everything(0),
    )
    assert state.step == 2


class Pair(nn.Module):
    """Two independent members, averaged."""

    def __init__(self) -> None:
        super().__init__()
        self.members = nn.ModuleList([Toy(), Toy()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.members[0](x) + self.members[1](x)) / 2


def test_member_early_stopping_freezes_each_member_at_its_own_best() -> None:
    # member 0's loss is best at epoch 1, member 1's keeps falling until epoch 4
    script = {0: [1.0, 2.0, 2.0, 2.0, 2.0, 2.0], 1: [5.0, 4.0, 3.0, 2.0, 3.0, 3.0]}
    snapshots: dict[tuple[int, int], torch.Tensor] = {}

    class Snapshot(Callback):
        def on_epoch_end(self, state: FitState) -> None:
            for k, member in enumerate(state.model.members):
                snapshots[(k, state.epoch)] = member.linear.weight.detach().clone()

    generator = seed_everything(0)
    model = Pair()
    epoch = {"now": 0}

    def validate(m: nn.Module) -> dict[str, float]:
        epoch["now"] += 1
        return {"val_loss": 0.0}

    stopper = MemberEarlyStopping(
        model.members, lambda: [script[k][epoch["now"] - 1] for k in (0, 1)], patience=2
    )
    state = fit(model, toy_data(), loss_fn=nn.CrossEntropyLoss(), validate=validate,
                config=FitConfig(epochs=20, batch_size=32, learning_rate=0.05),
                device=choose_device("cpu"), generator=generator,
                callbacks=[Snapshot(), stopper])  # fmt: skip
    assert state.epoch == 6  # member 1 stalls after epoch 4: frozen at 6, the last one
    assert "best epochs: 1, 4" in state.stop_reason
    assert torch.equal(model.members[0].linear.weight, snapshots[(0, 1)])
    assert torch.equal(model.members[1].linear.weight, snapshots[(1, 4)])
    # member 0 was frozen after epoch 3: it did not learn in epochs 4-6
    assert torch.equal(snapshots[(0, 3)], snapshots[(0, 6)])
    assert all(p.requires_grad for p in model.parameters())  # unfrozen for later use


def test_a_time_budget_stops_after_the_epoch_that_uses_it_up() -> None:
    generator = seed_everything(0)
    config = FitConfig(epochs=50, batch_size=32, learning_rate=0.05, max_seconds=0.0)
    state = fit(
        Toy(), toy_data(), loss_fn=nn.CrossEntropyLoss(), validate=lambda m: {},
        config=config, device=choose_device("cpu"), generator=generator,
    )  # fmt: skip
    assert state.epoch == 1
    assert state.stop_reason == "time budget of 0 s used up at epoch 1"


def test_the_cosine_schedule_warms_up_then_decays_to_zero_at_the_last_epoch() -> None:
    rates: list[float] = []

    class Record(Callback):
        def on_batch_end(self, state: FitState) -> None:
            rates.append(state.optimizer.param_groups[0]["lr"])

    generator = seed_everything(0)
    config = FitConfig(epochs=10, batch_size=16, learning_rate=0.1, schedule="cosine")
    fit(
        Toy(), toy_data(), loss_fn=nn.CrossEntropyLoss(), validate=lambda m: {},
        config=config, device=choose_device("cpu"), generator=generator, callbacks=[Record()],
    )  # fmt: skip
    peak = rates.index(max(rates))
    assert 0 < peak < len(rates) // 4  # a short warm-up
    assert max(rates) == pytest.approx(0.1, rel=0.05)
    assert rates[-1] < 0.01
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1 :], strict=False))
