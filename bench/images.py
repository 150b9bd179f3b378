"""Image quality and speed: the image template vs. logistic regression on pixels, and our fit loop
vs. a bare PyTorch loop on the same CNN.

Quality (default): for each dataset, preset and seed, the template trains on a stratified 80/20
split of the ZIP (``options.test_fraction=0.2``, ``random_state=seed``; 15% of the training part
for early stopping) and is scored on the 20%. Two baselines on the same split: the template's own
(logistic regression on pixels averaged down to at most 16x16) and the datasets README's
(logistic regression on the raw pixels at their native size). Prints mean +- sample std over the
seeds, epochs run, the fit loop's time and training images/s (validation included), and
prediction images/s. MLflow is left out: this measures the model, not the logging.

    .venv/bin/python bench/images.py [--datasets digits,mnist,photos] [--presets fast,balanced,best]
                                     [--seeds 0,1,2] [--device auto] [--zip NAME=PATH ...]

``photos`` is made here, for want of a real photo set that installs offline: 125 crops per
class of scikit-learn's two sample photos (a temple, a flower), 120-300 px squares resized to 256
px. It is easy; it measures time (250 photos, the issue's target) more than accuracy. ``--zip``
adds any ZIP of class folders (a held-out photo set). "run s" is the whole ``train`` (decoding
cached, both fine-tuning phases, test, baseline); "1 image ms" the predictor on one PNG.

Speed (``--speed``): our ``fit()`` (early stopping, checkpoint, progress, validation each epoch)
vs. a bare loop (randperm, slicing, AdamW) on the same network and the same uint8 tensors, both
on the device; interleaved repeats, median images/s. On CUDA the bare loop runs twice: in fp32,
and with the bf16 autocast and channels-last layout that ours uses.

    .venv/bin/python bench/images.py --speed [--model small_cnn] [--epochs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from dlstudio.data.image_source import ImageSource
from dlstudio.data.images import read_image_zip
from dlstudio.nn.cnn import ImageModelConfig, build_image_model
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.images.data import channel_stats, read_images, split_images
from dlstudio.tasks.images.presets import PRESETS
from dlstudio.training.callbacks import Checkpoint, ConsoleProgress, EarlyStopping
from dlstudio.training.device import choose_device, configure_threads, seed_everything
from dlstudio.training.loop import Callback, FitConfig, TensorData, fit

ROOT = Path(__file__).resolve().parent.parent
DATASETS = {
    "digits": ROOT.parent / "shared" / "datasets" / "images" / "digits-8x8.zip",
    "mnist": ROOT.parent / "shared" / "datasets" / "images" / "mnist-test10k.zip",
}  # and "photos", made by photo_crops


def photo_crops(path: Path, *, per_class: int = 125, seed: int = 0) -> Path:
    """Crops of scikit-learn's two sample photos, one class each, as a ZIP of JPEGs."""
    import zipfile

    from PIL import Image
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as archive:
        for name, photo in zip(("temple", "flower"), load_sample_images().images, strict=True):
            height, width, _ = photo.shape
            for n in range(per_class):
                side = int(rng.integers(120, 300))
                top, left = int(rng.integers(0, height - side)), int(rng.integers(0, width - side))
                crop = Image.fromarray(photo[top : top + side, left : left + side])
                buffer = io.BytesIO()
                crop.resize((256, 256)).save(buffer, "JPEG", quality=85)
                archive.writestr(f"photos/{name}/{n:03d}.jpg", buffer.getvalue())
    return path


class Timer(Callback):
    def on_train_begin(self, state) -> None:
        self.started = time.perf_counter()

    def on_train_end(self, state) -> None:
        self.seconds, self.epochs = time.perf_counter() - self.started, state.epoch


def quality(args: argparse.Namespace, cache: Path) -> None:
    template = get_template("image_classification")
    device = choose_device(args.device)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"device {device.label}, seeds {seeds}, load average {os.getloadavg()[0]:.1f}\n")
    print("| dataset | preset | model, size | accuracy | macro-F1 | LR 16px macro-F1 "
          "| LR native macro-F1 | epochs | run s | train img/s | predict img/s "
          "| 1 image ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    paths = dict(DATASETS, photos=cache / "photos.zip")
    paths |= dict(item.split("=", 1) for item in args.zip)
    if "photos" in args.datasets.split(","):
        photo_crops(paths["photos"])
    for dataset in args.datasets.split(",") + [item.split("=", 1)[0] for item in args.zip]:
        path = Path(paths[dataset])
        if args.data_dir and dataset in DATASETS:
            path = Path(args.data_dir) / DATASETS[dataset].name
        data = TrainingData(pd.DataFrame(), images=ImageSource(path, dataset, cache))
        for preset in args.presets.split(","):
            rows = []
            for seed in seeds:
                spec = parse_spec({"task": "image_classification", "data": {"path": str(path)},
                                   "training": {"preset": preset, "seed": seed}})  # fmt: skip
                timer = Timer()
                read_images(data, spec)  # decoded once per size, as the check before a run does
                with tempfile.TemporaryDirectory() as work:
                    started = time.perf_counter()
                    outcome = template.train(data, spec, device=device, callbacks=[timer],
                                             work_dir=Path(work) / "model")  # fmt: skip
                    run_seconds = time.perf_counter() - started
                    predict_rate, one_ms = prediction_rate(template, Path(work) / "model", data,
                                                           spec)  # fmt: skip
                n_train = train_images(data, spec)
                rows.append({
                    "accuracy": outcome.metrics["accuracy"], "f1": outcome.metrics["f1_macro"],
                    "lr16": outcome.baselines[0].metrics["f1_macro"],
                    "native": native_baseline(path, data, spec), "epochs": timer.epochs,
                    "seconds": run_seconds, "rate": n_train * timer.epochs / timer.seconds,
                    "predict": predict_rate, "one": one_ms, "model": outcome.notes[0].split(",")[0][7:],
                    "size": outcome.notes[0].split(",")[1].strip().split(" ")[0],
                })  # fmt: skip
            print(f"| {dataset} | {preset} | {rows[0]['model']}, {rows[0]['size']} | "
                  f"{_mean_std(rows, 'accuracy')} | {_mean_std(rows, 'f1')} | "
                  f"{_mean_std(rows, 'lr16')} | {_mean_std(rows, 'native')} | "
                  f"{statistics.mean(r['epochs'] for r in rows):.0f} | "
                  f"{statistics.mean(r['seconds'] for r in rows):.0f} | "
                  f"{statistics.mean(r['rate'] for r in rows):,.0f} | "
                  f"{statistics.mean(r['predict'] for r in rows):,.0f} | "
                  f"{statistics.mean(r['one'] for r in rows):.0f} |", flush=True)  # fmt: skip


def train_images(data: TrainingData, spec) -> int:
    folder = read_images(data, spec)
    return len(split_images(folder, None, spec)[1].train)


def native_baseline(path: Path, data: TrainingData, spec) -> float:
    """The README's baseline: logistic regression on raw pixels at their native size, fitted on
    train + val and scored on test of the template's own split."""
    from sklearn.metrics import f1_score

    if data.images.native_side() > 64:  # photos: 200k pixel features; the 16 px one stands
        return float("nan")
    folder = read_images(data, spec)
    _, splits = split_images(folder, None, spec)
    native = read_image_zip(path, size=data.images.native_side(), channels=folder.channels)
    pixels = native.images.reshape(len(native.images), -1).astype(np.float32) / 255
    fit_rows = np.concatenate([splits.train.index, splits.val.index])
    y = np.concatenate([splits.y_train, splits.y_val])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    model.fit(pixels[fit_rows], y)
    return f1_score(splits.y_test, model.predict(pixels[splits.test.index]), average="macro")


def prediction_rate(template, model_dir: Path, data: TrainingData, spec) -> tuple[float, float]:
    """Images/s through the predictor (PNG bytes in, as the pyfunc receives them; on CPU), and
    the median milliseconds for one image alone (what a served request costs)."""
    from PIL import Image

    folder = read_images(data, spec)
    encoded = []
    for image in folder.images[:1000]:
        buffer = io.BytesIO()
        Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    predictor = template.load_predictor(model_dir)
    started = time.perf_counter()
    predictor.predict(pd.DataFrame({"image": encoded}))
    rate = len(encoded) / (time.perf_counter() - started)
    single = []
    for image in encoded[:20]:
        started = time.perf_counter()
        predictor.predict(pd.DataFrame({"image": [image]}))
        single.append(1000 * (time.perf_counter() - started))
    return rate, statistics.median(single)


def _mean_std(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if r[key] == r[key]]  # NaN: not measured
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


# --- speed: our loop vs a bare loop --------------------------------------------------------------


def speed(args: argparse.Namespace) -> None:
    threads = configure_threads()
    device = choose_device(args.device)
    path = DATASETS["mnist"] if not args.data_dir else Path(args.data_dir) / DATASETS["mnist"].name
    folder = read_image_zip(path, size=args.size)
    x = torch.from_numpy(folder.images)
    y = torch.tensor([folder.classes.index(label) for label in folder.labels])
    config = ImageModelConfig(args.model, 1, 10, width=args.width or PRESETS[args.preset].width,
                              stem_stride=2 if args.size >= 64 else 1, augment="shift",
                              **channel_stats(folder.images))  # fmt: skip
    train = TensorData((x[:8000],), y[:8000]).to(device.device)
    val = TensorData((x[8000:],), y[8000:]).to(device.device)
    cuda = device.device.type == "cuda"
    loops = {"ours": lambda: our_loop(config, train, val, args, device)}
    loops["bare fp32"] = lambda: bare_loop(config, train, args, device.device, amp=False)
    if cuda:
        loops["bare bf16+channels_last"] = lambda: bare_loop(config, train, args, device.device,
                                                             amp=True)  # fmt: skip
    for measure in loops.values():  # warm-up: cuDNN autotuning, allocator, kernels
        measure()
    times: dict[str, list[float]] = {name: [] for name in loops}
    for repeat in range(args.repeats):
        order = list(loops) if repeat % 2 == 0 else list(loops)[::-1]
        for name in order:
            times[name].append(loops[name]())
    images = len(train) * args.epochs
    print(f"device={device.label} threads={threads} model={args.model} width={config.width} "
          f"{args.size}x{args.size}x1 train={len(train)} epochs={args.epochs} batch={args.batch_size} "
          f"repeats={args.repeats}")  # fmt: skip
    ours = images / statistics.median(times["ours"])
    for name, seconds in times.items():
        rate = images / statistics.median(seconds)
        print(f"{name}: {rate:,.0f} images/s   ours/this: {ours / rate:.3f}")


def our_loop(config, train: TensorData, val: TensorData, args, device) -> float:
    """What the template runs: fit() with its callbacks, validation each epoch, AMP on CUDA."""
    from dlstudio.tasks.classification import validation_scores

    seed_everything(0)
    model = build_image_model(config).to(device.device)
    if device.device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    with tempfile.TemporaryDirectory() as folder:
        callbacks = [EarlyStopping("val_f1_macro", patience=100),
                     Checkpoint(Path(folder) / "last.pt"), ConsoleProgress(io.StringIO())]  # fmt: skip
        _sync(device.device)
        started = time.perf_counter()
        fit(model, train, loss_fn=loss_fn,
            validate=lambda m: validation_scores(m, val, loss_fn, 10, device, batch_size=256),
            config=FitConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=3e-3),
            device=device, generator=seed_everything(0), callbacks=callbacks)  # fmt: skip
        _sync(device.device)
        return time.perf_counter() - started


def bare_loop(config, train: TensorData, args, device: torch.device, *, amp: bool) -> float:
    """The loop anyone would write by hand (no validation, no callbacks)."""
    torch.manual_seed(0)
    model = build_image_model(config).to(device)
    if amp:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    (x,), y = train.inputs, train.target
    _sync(device)
    started = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(y), device=device)
        for start in range(0, len(y), args.batch_size):
            index = order[start : start + args.batch_size]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = loss_fn(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    _sync(device)
    return time.perf_counter() - started


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,mnist")
    parser.add_argument("--presets", default="fast,balanced,best")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=None, help="folder holding the two ZIPs")
    parser.add_argument("--zip", action="append", default=[], help="NAME=PATH: another ZIP")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--preset", default="balanced", help="--speed: the width of this preset")
    parser.add_argument("--size", type=int, default=32, help="--speed: image side (enlarged)")
    parser.add_argument("--width", type=int, default=None, help="--speed: first-layer channels")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.speed:
        speed(args)
    else:
        configure_threads()
        with tempfile.TemporaryDirectory(prefix="dlstudio-bench-images-") as cache:
            quality(args, Path(cache))


if __name__ == "__main__":
    main()
