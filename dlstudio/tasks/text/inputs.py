"""Texts -> the tensors a text network reads; the same code prepares training and prediction.

* ``ScratchInputs``: word and n-gram ids from the template's own vocabulary (ngram_bag, bigru,
  transformer).
* ``SentenceInputs``: MiniLM's sentence embedding of each text (sentence_linear).
* ``StateInputs``: MiniLM's token states below the tuned layers, packed in fp16 (tuned_top).

MiniLM runs once per text, before the first epoch: every epoch reuses its outputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dlstudio.nn.minilm import FrozenEncoder, TokenStates
from dlstudio.tasks.text.encoding import TextEncoder
from dlstudio.training.loop import Batch, TensorData


@dataclass(frozen=True)
class ScratchInputs:
    """Texts -> the id matrix the chosen network reads (n-gram bag or token sequence)."""

    encoder: TextEncoder
    kind: str
    batch_size: int = 8192  # texts per prediction batch

    def ids(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        if self.kind == "ngram_bag":  # capped width: a few very long texts cannot blow up memory
            return self.encoder.encode_bag(texts, max_features=4 * self.encoder.max_length), 0
        return self.encoder.encode_tokens(texts)

    def tensors(self, texts: Sequence[str], y: np.ndarray) -> tuple[TensorData, int]:
        """The inputs and targets, and how many texts were cut."""
        ids, truncated = self.ids(texts)
        return TensorData((torch.from_numpy(ids),), torch.from_numpy(y)), truncated


@dataclass(frozen=True)
class SentenceInputs:
    """Texts -> MiniLM's sentence embeddings (texts, width)."""

    encoder: FrozenEncoder
    max_tokens: int
    batch_size: int = 8192

    def tensors(self, texts: Sequence[str], y: np.ndarray) -> tuple[TensorData, int]:
        sentences, truncated = self.encoder.embed(texts, max_tokens=self.max_tokens)
        return TensorData((sentences,), torch.from_numpy(y)), truncated


@dataclass(frozen=True)
class StateInputs:
    """Texts -> MiniLM's token states after layer ``layer``, for the layers tuned above it."""

    encoder: FrozenEncoder
    max_tokens: int
    layer: int
    # a batch's states and the tuned layer's activations are (texts, tokens, 1536) floats
    batch_size: int = 256

    def tensors(self, texts: Sequence[str], y: np.ndarray) -> tuple[StateData, int]:
        states, truncated = self.encoder.token_states(
            texts, max_tokens=self.max_tokens, layer=self.layer
        )
        return StateData(states, torch.from_numpy(y)), truncated


@dataclass
class StateData:
    """Packed token states with their targets, in batches of (states, mask) padded to the
    batch's longest text.

    Training batches hold texts of similar length: the shuffled rows are cut into windows of
    ``SORT_WINDOW`` batches, each window is sorted by length and cut into batches, and the
    batches are shuffled (bucketing, as in fairseq or AllenNLP). Random batches of uci-sentences
    were padded to ~1.8x their tokens; the tuned layer's cost is per token, padding included.
    """

    states: TokenStates
    target: torch.Tensor

    def __len__(self) -> int:
        return len(self.target)

    def to(self, device: torch.device) -> StateData:
        return StateData(self.states.to(device), self.target.to(device))

    def training_steps(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def batches(
        self, batch_size: int, *, generator: torch.Generator | None = None
    ) -> Iterator[Batch]:
        """In order without a generator (prediction); shuffled, by similar length, with one."""
        rows = torch.arange(len(self), device=self.target.device)
        groups = (
            rows.split(batch_size) if generator is None else self._buckets(batch_size, generator)
        )
        for group in groups:
            yield self.states.padded(group), self.target[group]

    def _buckets(self, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
        order = torch.randperm(len(self), generator=generator).to(self.target.device)
        lengths = self.states.offsets[1:] - self.states.offsets[:-1]
        window = SORT_WINDOW * batch_size
        groups: list[torch.Tensor] = []
        for chunk in order.split(window):
            groups += chunk[lengths[chunk].argsort(stable=True)].split(batch_size)
        return [groups[i] for i in torch.randperm(len(groups), generator=generator)]


SORT_WINDOW = 50  # batches sorted together: similar lengths, yet each epoch mixes them anew
