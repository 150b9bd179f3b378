"""A Hugging Face text model (``options.backbone``: a model id in the local cache, or a folder)
fine-tuned whole as a sequence classifier, by the template's own loop: few epochs, a small
learning rate with warm-up and cosine decay, early stopping on the validation split.

The fine-tuned network and its tokenizer are saved in the model's folder (``hub/``, safetensors
and JSON), so that predict and serve load them from there alone, never from a network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlstudio.nn.minilm import quiet_transformers, token_ids, word_pieces
from dlstudio.nn.persist import MODEL_FILE
from dlstudio.tasks.text.backbones import Plan, hub_backbone
from dlstudio.tasks.text.fitting import Fitted, TextJob, fit_and_test, prepare_splits
from dlstudio.training.loop import TensorData

HUB_DIR = "hub"  # the fine-tuned network and its tokenizer inside a saved model's folder


class HubClassifier(nn.Module):
    """(token ids, attention mask) -> logits of a transformers sequence classifier."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # each batch is cut to its longest text: the set is padded to its longest one
        width = int(mask.sum(dim=1).max().clamp(min=1))
        return self.network(input_ids=ids[:, :width], attention_mask=mask[:, :width]).logits


@dataclass(frozen=True)
class HubInputs:
    """Texts -> (token ids, attention mask), padded to the longest text."""

    tokenizer: Any
    max_tokens: int
    batch_size: int = 64

    def tensors(self, texts: list[str], y: np.ndarray) -> tuple[TensorData, int]:
        ids, truncated = token_ids(self.tokenizer, texts, self.max_tokens)
        width = max((len(row) for row in ids), default=1)
        pad = self.tokenizer.pad_token_id or 0
        padded = torch.tensor([row + [pad] * (width - len(row)) for row in ids]).reshape(-1, width)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids])
        return TensorData((padded, mask.reshape(-1, width)), torch.from_numpy(y)), truncated


def train_hub(job: TextJob, plan: Plan) -> Fitted:
    """Fine-tune the whole model at ``plan.folder`` and save it under ``job.work_dir``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(plan.folder, local_files_only=True)
        network = AutoModelForSequenceClassification.from_pretrained(
            plan.folder, num_labels=job.n_classes, local_files_only=True, use_safetensors=True
        )
    positions = getattr(network.config, "max_position_embeddings", 512)
    inputs = HubInputs(tokenizer, word_pieces(job.spec.options.max_length, min(positions, 512)))
    data, truncated = prepare_splits(inputs, job)
    model = HubClassifier(network).to(job.device.device)
    state, proba = fit_and_test(model, data, job, grad_clip=1.0, predict_batch=inputs.batch_size)
    labels = [str(label) for label in job.splits.classes]
    network.config.id2label = dict(enumerate(labels))
    network.config.label2id = {label: i for i, label in enumerate(labels)}
    network.save_pretrained(job.work_dir / HUB_DIR)
    tokenizer.save_pretrained(job.work_dir / HUB_DIR)
    description = job.described(family="hub", max_tokens=inputs.max_tokens, backbone=plan.name)
    (job.work_dir / MODEL_FILE).write_text(json.dumps(description, indent=1), encoding="utf-8")
    notes = [f"Model: {plan.name}, fine-tuned whole ({_size(network)} parameters)."]
    if truncated:
        notes.append(f"{truncated:,} training texts were longer than {inputs.max_tokens} word "
                     "pieces and were cut (options.max_length).")  # fmt: skip
    return Fitted(
        proba, state.history, state.stop_reason, notes, hub_backbone(plan.name, plan.folder)
    )


def load_hub(model_dir: Path, description: dict[str, Any]) -> tuple[nn.Module, HubInputs]:
    """The fine-tuned classifier and its inputs, from the model's folder only."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = model_dir / HUB_DIR
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        network = AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, use_safetensors=True
        )
    return HubClassifier(network).eval(), HubInputs(tokenizer, description["max_tokens"])


def _size(network: nn.Module) -> str:
    count = sum(p.numel() for p in network.parameters())
    return f"{count / 1e6:.1f} M" if count >= 1e6 else f"{count:,}"
