"""The text networks the template trains itself: from scratch on its own vocabulary and n-grams,
or a head over all-MiniLM-L6-v2 (frozen; or with its top layers tuned over the cached states of
the layer below them). Each family trains, saves a self-contained folder, and rebuilds its
inputs from that folder for the predictor.

A MiniLM model's folder carries a copy of MiniLM's files (``encoder/``, 87 MiB): predict and serve
need neither the pip package nor a network, and the copy is checked against its SHA-256 when it
loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.nn.minilm import (
    MINILM_NAME,
    FrozenEncoder,
    copy_minilm,
    load_minilm,
    word_pieces,
)
from dlstudio.nn.persist import save_network
from dlstudio.nn.text import TextModelConfig, build_text_model
from dlstudio.tasks.text.backbones import MINILM_BACKBONE, Plan
from dlstudio.tasks.text.encoding import TextEncoder
from dlstudio.tasks.text.fitting import Fitted, TextJob, fit_and_test, prepare_splits
from dlstudio.tasks.text.inputs import ScratchInputs, SentenceInputs, StateInputs

ENCODER_DIR = "encoder"  # MiniLM's files inside a saved model's folder


def train_scratch(job: TextJob, plan: Plan) -> Fitted:
    """A network that learns its word vectors from the training texts only: the preset's,
    unless ``options.model`` names one."""
    options, preset = job.spec.options, job.preset
    kind = preset.model if options.model == "auto" else options.model
    encoder = TextEncoder.fit(
        job.texts["train"],
        vocab_size=options.vocab_size,
        max_length=options.max_length,
        buckets=hash_buckets(len(job.texts["train"])),
    )
    inputs = ScratchInputs(encoder, kind)
    config = TextModelConfig(
        kind=kind,
        n_ids=encoder.n_ids if kind == "ngram_bag" else encoder.n_token_ids,
        n_classes=job.n_classes,
        embedding_dim=options.embedding_dim or preset.embedding_dim,
        hidden_size=options.hidden_size or preset.hidden_size,
        dropout=_dropout(job),
        max_length=options.max_length,
    )
    model = build_text_model(config).to(job.device.device)
    data, truncated = prepare_splits(inputs, job)
    state, proba = fit_and_test(model, data, job, grad_clip=1.0 if kind != "ngram_bag" else None)
    save_network(job.work_dir, model, job.described(
        family="scratch", kind=kind, network=config.to_dict(), encoder=encoder.to_json(),
    ))  # fmt: skip
    notes = [f"Model: {kind}, trained from scratch; {len(encoder.vocabulary):,} words in the "
             "vocabulary."]  # fmt: skip
    if truncated:
        notes.append(f"{truncated:,} training texts were longer than {options.max_length} words "
                     "and were cut (options.max_length).")  # fmt: skip
    return Fitted(proba, state.history, state.stop_reason, notes)


def train_minilm(job: TextJob, plan: Plan) -> Fitted:
    """A linear head on MiniLM's frozen sentence embeddings (``plan.tuned_layers`` 0), or
    MiniLM's top layers fine-tuned with a linear head over the states below them."""
    encoder = load_minilm(plan.folder)
    layer = encoder.n_layers - min(plan.tuned_layers, encoder.n_layers)  # its output is cached
    inputs, config = _minilm_network(encoder.on(job.device.device), layer, job)
    model = build_text_model(config)
    if config.kind == "tuned_top":  # starts from MiniLM's own top layers
        for ours, theirs in zip(model.layers, encoder.model.encoder.layer[layer:], strict=True):
            ours.load_bert(theirs)
    data, truncated = prepare_splits(inputs, job)
    state, proba = fit_and_test(
        model.to(job.device.device), data, job,
        grad_clip=1.0 if layer < encoder.n_layers else None, predict_batch=inputs.batch_size,
    )  # fmt: skip
    copy_minilm(plan.folder, job.work_dir / ENCODER_DIR)
    save_network(job.work_dir, model, job.described(
        family="minilm", kind=config.kind, network=config.to_dict(),
        max_tokens=inputs.max_tokens, layer=layer,
    ))  # fmt: skip
    notes = _minilm_notes(encoder.n_layers - layer, truncated, inputs.max_tokens)
    return Fitted(proba, state.history, state.stop_reason, notes, MINILM_BACKBONE)


def _minilm_network(
    encoder: FrozenEncoder, layer: int, job: TextJob
) -> tuple[SentenceInputs | StateInputs, TextModelConfig]:
    """The inputs and the head: a linear layer on the sentence embedding when no layer is
    tuned, else MiniLM's top layers over the states of ``layer``."""
    max_tokens, dropout = word_pieces(job.spec.options.max_length), _dropout(job)
    if layer == encoder.n_layers:
        network = TextModelConfig(kind="sentence_linear", n_ids=0, n_classes=job.n_classes,
                                  embedding_dim=encoder.width, dropout=dropout)  # fmt: skip
        return SentenceInputs(encoder, max_tokens), network
    config = encoder.model.config
    network = TextModelConfig(
        kind="tuned_top", n_ids=0, n_classes=job.n_classes, embedding_dim=encoder.width,
        hidden_size=config.intermediate_size, layers=encoder.n_layers - layer,
        heads=config.num_attention_heads, dropout=dropout,
    )  # fmt: skip
    return StateInputs(encoder, max_tokens, layer), network


def _minilm_notes(tuned: int, truncated: int, max_tokens: int) -> list[str]:
    what = (
        f"a linear layer on {MINILM_NAME} sentence embeddings (frozen)"
        if tuned == 0
        else f"{MINILM_NAME} with its top {'layer' if tuned == 1 else f'{tuned} layers'} "
        "fine-tuned, then a linear layer"
    )
    notes = [f"Model: {what}."]
    if truncated:
        notes.append(f"{truncated:,} training texts were longer than {max_tokens} word pieces "
                     "and were cut (options.max_length).")  # fmt: skip
    return notes


def load_scratch_inputs(description: dict[str, Any], model_dir: Path) -> ScratchInputs:
    """The inputs of a saved scratch model (models saved before backbones existed included)."""
    return ScratchInputs(TextEncoder.from_json(description["encoder"]), description["kind"])


def load_minilm_inputs(
    description: dict[str, Any], model_dir: Path
) -> SentenceInputs | StateInputs:
    """The inputs of a saved MiniLM model, from the copy of MiniLM in its folder."""
    encoder = load_minilm(model_dir / ENCODER_DIR)
    if description["kind"] == "sentence_linear":
        return SentenceInputs(encoder, description["max_tokens"])
    return StateInputs(encoder, description["max_tokens"], description["layer"])


def hash_buckets(n_texts: int) -> int:
    """Hashed n-gram slots: about 8 per training text, between 2**14 and 2**16. A larger table
    only slows training: AdamW updates every row each step (an epoch on 3,000 texts took 9.0 s
    with 2**18 buckets, 1.0 s with 2**14; on 10,200 texts, 79 s with 2**17, 37 s with 2**15)."""
    return int(min(2**16, max(2**14, 2 ** np.ceil(np.log2(8 * max(n_texts, 1))))))


def _dropout(job: TextJob) -> float:
    dropout = job.spec.options.dropout
    return job.schedule.dropout if dropout is None else dropout
