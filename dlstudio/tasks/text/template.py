"""Text classification (sentiment or any labels): a network trained from scratch on one text
column, checked against TF-IDF word 1-2 grams + logistic regression on the same split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from torch import nn

from dlstudio.data.checks import Finding
from dlstudio.data.columns import infer_column_type
from dlstudio.evaluation.metrics import classification_metrics
from dlstudio.nn.persist import load_network, save_network
from dlstudio.nn.text import TextModelConfig, build_text_model
from dlstudio.tasks.base import (
    BaselineResult,
    Role,
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
    plain_value,
    predict_proba,
    prediction_table,
    split_rows,
    validation_scores,
)
from dlstudio.tasks.classification_checks import (
    check_label_rows,
    check_target_column,
    errors_first,
    guess_target,
)
from dlstudio.tasks.text.encoding import CHARS_PER_TOKEN, TextEncoder, clip_text, tokenize
from dlstudio.tasks.text.options import TextSentimentSpec
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, FitConfig, TensorData, fit


@dataclass(frozen=True)
class Preset:
    model: str
    epochs: int
    embedding_dim: int
    hidden_size: int
    dropout: float
    learning_rate: float
    patience: int


PRESETS = {
    "fast": Preset("ngram_bag", 20, 64, 64, 0.2, 5e-3, 4),
    "balanced": Preset("ngram_bag", 60, 100, 64, 0.3, 3e-3, 8),
    # bigru (0.825) and transformer scored below the n-gram bag on uci-sentences
    # (bench/RESULTS.md): on short texts the bag is the stronger model, so best trains it longer.
    "best": Preset("ngram_bag", 80, 100, 64, 0.3, 3e-3, 12),
}
MISTAKES_SHOWN = 20


class TextSentiment(TaskTemplate):
    name = "text_sentiment"
    title = "Text sentiment"
    description = "Label reviews, tickets or survey answers (positive/negative or any classes)."
    data_needs = "A table with a text column and a label column."
    roles = (
        Role("target", "Label column", "data.target", "The class each text belongs to."),
        Role("text", "Text column", "options.text_column", "The texts to learn from."),
    )

    def suggest_roles(self, frame: pd.DataFrame) -> dict[str, str | None]:
        text = guess_text_column(frame)
        rest = frame.drop(columns=[text]) if text is not None else frame
        return {"target": guess_target(rest), "text": text}

    def sample(self) -> Sample:
        from dlstudio.tasks.text.sample import reviews

        return Sample(
            name="sample-reviews",
            description="600 short product reviews labelled positive, negative or neutral.",
            frame=reviews(),
            roles={"target": "sentiment", "text": "review"},
        )

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float:
        """Start-up, baseline and logging (~20 s) plus the preset's maximum epochs at ~3,000
        texts/s: the n-gram bag trained at 3,400-4,600 texts/s on 2 CPU cores (~1,000 when
        other work loaded them; bench/RESULTS.md)."""
        return 20 + PRESETS[preset].epochs * rows / (30_000 if gpu else 3_000)

    def check(self, data: TrainingData, spec: TextSentimentSpec) -> list[Finding]:
        frame, target = data.frame, spec.data.target
        found = check_target_column(frame, target, "the data")
        column = spec.options.text_column or guess_text_column(
            frame.drop(columns=[target], errors="ignore")
        )
        found += _check_text_column(frame, column, target)
        if found:
            return found
        found += check_label_rows(data, target, [column], spec.options.test_fraction, found)
        found += _check_lengths(frame[column], spec.options.max_length)
        return errors_first(found)

    def train(
        self,
        data: TrainingData,
        spec: TextSentimentSpec,
        *,
        device: DeviceChoice,
        callbacks: Sequence[Callback],
        work_dir: Path,
    ) -> TaskOutcome:
        generator = seed_everything(spec.training.seed)
        options, preset = spec.options, PRESETS[spec.training.preset]
        column = options.text_column or guess_text_column(
            data.frame.drop(columns=[spec.data.target])
        )
        splits = split_rows(data, spec)
        texts = {
            part: _texts(getattr(splits, part), column, options.max_length)
            for part in ("train", "val", "test")
        }  # cut as the encoder cuts them: the baseline and the mistakes see the same texts
        encoder = TextEncoder.fit(
            texts["train"],
            vocab_size=options.vocab_size,
            max_length=options.max_length,
            buckets=hash_buckets(len(texts["train"])),
        )
        kind = preset.model if options.model == "auto" else options.model
        inputs = TextInputs(encoder, kind)
        config = TextModelConfig(
            kind=kind,
            n_ids=encoder.n_ids if kind == "ngram_bag" else encoder.n_token_ids,
            n_classes=len(splits.classes),
            embedding_dim=options.embedding_dim or preset.embedding_dim,
            hidden_size=options.hidden_size or preset.hidden_size,
            dropout=preset.dropout if options.dropout is None else options.dropout,
            max_length=options.max_length,
        )
        model = build_text_model(config).to(device.device)
        train_set, truncated = inputs.tensors(texts["train"], splits.y_train)
        val_set, _ = inputs.tensors(texts["val"], splits.y_val)
        loss_fn = nn.CrossEntropyLoss(weight=class_weights(splits, spec).to(device.device))
        n_classes = len(splits.classes)
        state = fit(
            model,
            train_set.to(device.device),
            loss_fn=loss_fn,
            validate=lambda m: validation_scores(m, val_set, loss_fn, n_classes, device),
            config=FitConfig(
                epochs=spec.training.epochs or preset.epochs,
                batch_size=spec.training.batch_size or 64,
                learning_rate=spec.training.learning_rate or preset.learning_rate,
                grad_clip=1.0 if kind != "ngram_bag" else None,
            ),
            device=device,
            generator=generator,
            callbacks=[
                EarlyStopping(
                    "val_f1_macro",
                    patience=spec.training.early_stopping_patience or preset.patience,
                ),
                *callbacks,
            ],
        )
        test_set, _ = inputs.tensors(texts["test"], splits.y_test)
        proba = predict_proba(model, test_set, device)
        save_network(work_dir, model, {
            "task": TextSentiment.name, "network": config.to_dict(), "kind": kind,
            "encoder": encoder.to_json(), "text_column": column,
            "classes": [plain_value(c) for c in splits.classes],
        })  # fmt: skip
        reports = classification_reports(splits, proba)
        reports["mistakes.json"] = mistakes(texts["test"], splits, proba)
        notes = [f"Model: {kind}; {len(encoder.vocabulary):,} words in the vocabulary."]
        if truncated:
            notes.append(
                f"{truncated:,} training texts were longer than {options.max_length} words and were cut (options.max_length)."
            )
        return TaskOutcome(
            metrics=classification_metrics(splits.y_test, proba, n_classes=n_classes),
            baselines=[tfidf_baseline(texts, splits, seed=spec.training.seed)],
            primary_metric="f1_macro",
            higher_is_better=True,
            model_dir=work_dir,
            input_example=splits.test[[column]].head(5).fillna(""),
            history=state.history,
            json_artifacts=reports,
            stop_reason=state.stop_reason,
            notes=notes,
            holdout=splits.test[[column, spec.data.target]],
            holdout_target=spec.data.target,
        )

    def load_predictor(self, model_dir: Path) -> TextPredictor:
        return TextPredictor.load(model_dir)


@dataclass(frozen=True)
class TextInputs:
    """Texts -> the id matrix the chosen network reads (n-gram bag or token sequence)."""

    encoder: TextEncoder
    kind: str

    def ids(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        if self.kind == "ngram_bag":  # capped width: a few very long texts cannot blow up memory
            return self.encoder.encode_bag(texts, max_features=4 * self.encoder.max_length), 0
        return self.encoder.encode_tokens(texts)

    def tensors(self, texts: Sequence[str], y: np.ndarray) -> tuple[TensorData, int]:
        ids, truncated = self.ids(texts)
        return TensorData((torch.from_numpy(ids),), torch.from_numpy(y)), truncated


class TextPredictor:
    """A text column in; ``prediction`` and ``probability_<class>`` out."""

    def __init__(self, model: nn.Module, inputs: TextInputs, column: str, classes: list) -> None:
        self.model, self.inputs, self.column, self.classes = model.eval(), inputs, column, classes
        self.device = DeviceChoice(torch.device("cpu"), None)

    @classmethod
    def load(cls, model_dir: Path) -> TextPredictor:
        model, raw = load_network(
            model_dir, lambda c: build_text_model(TextModelConfig.from_dict(c))
        )
        inputs = TextInputs(TextEncoder.from_json(raw["encoder"]), raw["kind"])
        return cls(model, inputs, raw["text_column"], raw["classes"])

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return prediction_table(None, self.classes, frame.index)
        ids, _ = self.inputs.ids(_texts(frame, self.column, self.inputs.encoder.max_length))
        data = TensorData((torch.from_numpy(ids),), torch.zeros(len(frame)))
        proba = predict_proba(self.model, data, self.device)
        return prediction_table(proba, self.classes, frame.index)


def tfidf_baseline(texts: dict[str, list[str]], splits: Splits, *, seed: int) -> BaselineResult:
    """TF-IDF of word 1-2 grams + logistic regression, fitted on train+val, scored on test."""
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, random_state=seed),
    )
    y = np.concatenate([splits.y_train, splits.y_val])
    model.fit(texts["train"] + texts["val"], y)
    proba = full_proba(model.predict_proba(texts["test"]), model.classes_, len(splits.classes))
    metrics = classification_metrics(splits.y_test, proba, n_classes=len(splits.classes))
    return BaselineResult("TF-IDF + logistic regression", "tfidf", metrics)


def mistakes(texts: list[str], splits: Splits, proba: np.ndarray) -> list[dict]:
    """The test texts the model got wrong with the most confidence: text, true, predicted, p."""
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != splits.y_test)
    order = wrong[np.argsort(-proba[wrong, predicted[wrong]], kind="stable")][:MISTAKES_SHOWN]
    names = [str(label) for label in splits.classes]
    return [
        {"text": texts[i], "true": names[splits.y_test[i]], "predicted": names[predicted[i]],
         "probability": round(float(proba[i, predicted[i]]), 4)}
        for i in order
    ]  # fmt: skip


def hash_buckets(n_texts: int) -> int:
    """Hashed n-gram slots: about 8 per training text, between 2**14 and 2**18. A larger table
    only slows training: AdamW updates every row each step (an epoch on 3,000 texts took 9.0 s
    with 2**18 buckets, 1.0 s with 2**14)."""
    return int(min(2**18, max(2**14, 2 ** np.ceil(np.log2(8 * max(n_texts, 1))))))


def guess_text_column(frame: pd.DataFrame) -> str | None:
    """The free-text column with the longest texts (None when no column holds words)."""
    best, best_length = None, 0.0
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty or pd.api.types.is_numeric_dtype(values):
            continue
        if infer_column_type(frame[column].head(2000)).kind not in ("text", "categorical", "id"):
            continue
        length = values.astype(str).str.len().mean()
        if values.astype(str).str.contains(" ").mean() > 0.3 and length > best_length:
            best, best_length = column, length
    return best


def _texts(frame: pd.DataFrame, column: str, max_length: int) -> list[str]:
    """The column's texts, each cut to the part the model reads (a cell may hold megabytes)."""
    return [clip_text(text, max_length) for text in frame[column].fillna("").astype(str)]


def _check_text_column(
    frame: pd.DataFrame, column: str | None, target: str | None
) -> list[Finding]:
    if column is None:
        return [Finding("error", "No column holds free text (words separated by spaces).",
                        "Name the text column with options.text_column.")]  # fmt: skip
    if column not in frame.columns:
        return [Finding("error", f"The text column {column!r} is not in the data.",
                        f"The columns are: {', '.join(map(str, frame.columns))}.")]  # fmt: skip
    if column == target:
        return [Finding("error", "The text column and the label column are the same column.",
                        "Choose the column with the texts, and the one with their labels.")]  # fmt: skip
    texts = frame[column].dropna().astype(str).str.strip()
    texts = texts[texts != ""]
    if texts.empty:
        return [Finding("error", f"The text column {column!r} is empty.",
                        "Choose the column that holds the texts.", column)]  # fmt: skip
    numbers = pd.to_numeric(texts, errors="coerce").notna().mean()
    if numbers > 0.9:
        return [Finding("error", f"The text column {column!r} holds numbers, not text.",
                        "Choose the column with the written texts (reviews, messages).", column)]  # fmt: skip
    return []


def _check_lengths(column: pd.Series, max_length: int) -> list[Finding]:
    texts = column.fillna("").astype(str)
    # counted on the part that is read: tokenising a cell of megabytes whole takes seconds
    lengths = texts.map(lambda text: len(tokenize(clip_text(text, max_length))))
    clipped = texts.str.len() > CHARS_PER_TOKEN * max_length
    long = int(((lengths > max_length) | clipped).sum())
    if not long:
        return []
    longest = f"{int(lengths.max()):,}" + (" or more" if clipped.any() else "")
    return [Finding(
        "info", f"{long:,} texts have more than {max_length} words; only their first "
        f"{max_length} are read (the longest has {longest}).",
        "Raise options.max_length to read more of each text (training gets slower).",
        str(column.name),
    )]  # fmt: skip


TEMPLATE = TextSentiment  # registered in dlstudio/tasks/registry.py
