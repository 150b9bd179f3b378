"""Training throughput: our fit loop (with its usual callbacks) vs. a bare PyTorch loop.

Same TabularMLP, same data, same batch size and optimizer; runs are interleaved and the median
samples/s of each is reported, with the ratio ours / bare.

    .venv/bin/python bench/throughput.py [--rows 200000] [--epochs 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from dlstudio.nn.mlp import TabularMLP, TabularMLPConfig
from dlstudio.training.callbacks import Checkpoint, ConsoleProgress, EarlyStopping
from dlstudio.training.device import choose_device, configure_threads, seed_everything
from dlstudio.training.loop import FitConfig, TensorData, fit

CONFIG = TabularMLPConfig(
    n_numeric=20,
    cardinalities=(12, 40, 7),
    embedding_dims=(6, 12, 4),
    hidden_sizes=(256, 128),
    n_classes=2,
    dropout=0.1,
)


def make_data(rows: int, device: torch.device) -> TensorData:
    generator = torch.Generator().manual_seed(0)
    numeric = torch.randn(rows, CONFIG.n_numeric, generator=generator)
    categorical = torch.stack(
        [torch.randint(0, n, (rows,), generator=generator) for n in CONFIG.cardinalities], dim=1
    )
    target = (numeric[:, 0] + 0.5 * numeric[:, 1] > 0).long()
    return TensorData((numeric, categorical), target).to(device)


def bare_loop(data: TensorData, epochs: int, batch_size: int, device: torch.device) -> float:
    """The loop anyone would write by hand; returns seconds."""
    model = TabularMLP(CONFIG).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    numeric, categorical = data.inputs
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(data), device=device)
        for start in range(0, len(data), batch_size):
            index = order[start : start + batch_size]
            loss = loss_fn(model(numeric[index], categorical[index]), data.target[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    _sync(device)
    return time.perf_counter() - started


def our_loop(
    data: TensorData, val: TensorData, epochs: int, batch_size: int, device_name: str
) -> float:
    """dlstudio's fit() with early stopping, checkpoints, console progress and validation."""
    device = choose_device(device_name)
    model = TabularMLP(CONFIG).to(device.device)
    loss_fn = nn.CrossEntropyLoss()

    def validate(m: nn.Module) -> dict[str, float]:
        m.eval()
        with torch.no_grad(), device.autocast():
            logits = m(*val.inputs).float()
        return {"val_accuracy": (logits.argmax(1) == val.target).float().mean().item()}

    with tempfile.TemporaryDirectory() as folder:
        callbacks = [
            EarlyStopping("val_accuracy", patience=100),
            Checkpoint(Path(folder) / "last.pt"),
            ConsoleProgress(io.StringIO()),
        ]
        started = time.perf_counter()
        fit(
            model,
            data,
            loss_fn=loss_fn,
            validate=validate,
            config=FitConfig(epochs=epochs, batch_size=batch_size, learning_rate=2e-3),
            device=device,
            generator=seed_everything(0),
            callbacks=callbacks,
        )
        _sync(device.device)
        return time.perf_counter() - started


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    threads = configure_threads()
    device = choose_device(args.device)
    data = make_data(args.rows, device.device)
    val = make_data(args.rows // 10, device.device)
    our_loop(data, val, 1, args.batch_size, args.device)  # warm-up (allocator, kernels), untimed
    bare_loop(data, 1, args.batch_size, device.device)
    ours, bare = [], []
    for repeat in range(args.repeats):  # interleaved, alternating order: noise hits both alike
        runs = [
            lambda: ours.append(our_loop(data, val, args.epochs, args.batch_size, args.device)),
            lambda: bare.append(bare_loop(data, args.epochs, args.batch_size, device.device)),
        ]
        for measure in runs if repeat % 2 == 0 else runs[::-1]:
            measure()
    samples = args.rows * args.epochs
    ours_rate, bare_rate = samples / statistics.median(ours), samples / statistics.median(bare)
    print(
        f"device={device.label} threads={threads} rows={args.rows} epochs={args.epochs} "
        f"batch={args.batch_size} repeats={args.repeats}"
    )
    print(
        f"ours: {ours_rate:,.0f} samples/s   bare: {bare_rate:,.0f} samples/s   "
        f"ratio ours/bare: {ours_rate / bare_rate:.3f}"
    )


if __name__ == "__main__":
    main()
