"""Text classifiers. Three learn from scratch and map ids (B, M) to logits, from fastest to most
expressive:

* ``ngram_bag``: fastText (Joulin et al. 2016): the mean of word, bigram and character n-gram
  embeddings, then a linear layer. Trains in seconds and is a strong baseline on short texts.
* ``bigru``: a bidirectional GRU with attention pooling (Yang et al. 2016, without the sentence
  level): word order and negation ("not good") matter.
* ``transformer``: a small pre-norm transformer encoder with masked mean pooling.

Id 0 is PAD everywhere. A text with no tokens (a row of PAD only) pools to zeros, never NaN.

Two are heads over a frozen pretrained encoder (all-MiniLM-L6-v2, ``dlstudio.nn.minilm``), whose
outputs are computed once per text and cached for every epoch:

* ``sentence_linear``: a linear layer on the sentence embedding (B, width).
* ``tuned_top``: the encoder's top layers, fine-tuned over the cached states (B, T, width) of the
  layer below them, then the same mean pooling and a linear layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlstudio.nn.minilm import BertLayer

PAD = 0


@dataclass(frozen=True)
class TextModelConfig:
    """Shapes and sizes; saved as JSON with the weights."""

    kind: str  # a key of TEXT_MODELS
    n_ids: int  # embedding rows: TextEncoder.n_ids for ngram_bag, .n_token_ids for bigru and
    # transformer; 0 for the heads over a pretrained encoder (it has its own vocabulary)
    n_classes: int
    embedding_dim: int = 64  # the heads: the encoder's width
    hidden_size: int = 64  # per direction (bigru); tuned_top: the feed-forward width
    layers: int = 1
    heads: int = 4  # transformer and tuned_top; must divide embedding_dim
    dropout: float = 0.2
    max_length: int = 128  # transformer: rows of the positional embedding

    def __post_init__(self) -> None:
        if self.kind not in TEXT_MODELS:
            raise ValueError(f"unknown text model kind {self.kind!r}; valid: {sorted(TEXT_MODELS)}")
        if self.kind in ("transformer", "tuned_top") and self.embedding_dim % self.heads:
            raise ValueError(
                f"embedding_dim {self.embedding_dim!r} must be a multiple of heads {self.heads!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TextModelConfig:
        return cls(**raw)


def build_text_model(config: TextModelConfig) -> nn.Module:
    """A network that returns logits (batch, n_classes): from one LongTensor (batch, M) of ids
    with PAD=0 (from scratch), a sentence embedding, or token states and their mask (heads)."""
    return TEXT_MODELS[config.kind](config)


class NgramBag(nn.Module):
    """fastText: mean of the ids' embeddings (PAD excluded) -> dropout -> linear."""

    def __init__(self, config: TextModelConfig) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(
            config.n_ids, config.embedding_dim, mode="mean", padding_idx=PAD
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.embedding_dim, config.n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embedding(ids)))


class BiGRUAttention(nn.Module):
    """Embedding -> bidirectional GRU -> attention pooling over the tokens -> linear."""

    def __init__(self, config: TextModelConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(config.n_ids, config.embedding_dim, padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.gru = nn.GRU(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.attention = nn.Linear(2 * config.hidden_size, 1, bias=False)  # scores each step
        self.head = nn.Linear(2 * config.hidden_size, config.n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = _trim_padding(ids)
        mask = ids != PAD
        # Packing lets the backward direction start at each text's last token, not at padding;
        # it rejects length 0, so an empty text runs over one PAD and is zeroed below.
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(
            self.dropout(self.embedding(ids)), lengths, batch_first=True, enforce_sorted=False
        )
        states, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True)
        mask = mask[:, : states.shape[1]]
        weights = _masked_softmax(self.attention(states).squeeze(-1), mask)
        pooled = (weights.unsqueeze(-1) * states).sum(dim=1)
        return self.head(self.dropout(pooled))


class SmallTransformer(nn.Module):
    """Token + learned position embeddings -> pre-norm transformer -> masked mean -> linear."""

    def __init__(self, config: TextModelConfig) -> None:
        super().__init__()
        d = config.embedding_dim
        self.max_length = config.max_length
        self.embedding = nn.Embedding(config.n_ids, d, padding_idx=PAD)
        self.position = nn.Embedding(config.max_length, d)
        self.dropout = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(
            d,
            config.heads,
            dim_feedforward=2 * d,
            dropout=config.dropout,
            batch_first=True,
            norm_first=True,  # pre-norm trains stably without a learning-rate warm-up
        )
        self.encoder = nn.TransformerEncoder(
            layer, config.layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
        )
        self.head = nn.Linear(d, config.n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[1] > self.max_length:
            raise ValueError(f"{ids.shape[1]} ids per text, more than max_length {self.max_length}")
        ids = _trim_padding(ids)
        mask = ids != PAD
        has_tokens = mask.any(dim=1, keepdim=True)
        # An all-PAD row would give attention nothing to attend to (NaN): let it see its padding.
        attend = mask | ~has_tokens
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.dropout(self.embedding(ids) + self.position(positions))
        x = self.encoder(x, src_key_padding_mask=~attend)
        weights = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
        return self.head(pooled)


class SentenceLinear(nn.Module):
    """Sentence embedding -> dropout -> linear."""

    def __init__(self, config: TextModelConfig) -> None:
        super().__init__()
        # An L2-normalised embedding's entries are ~1/sqrt(width); scaled to ~1, one learning
        # rate suits them (0.906 vs 0.904 unscaled on uci-sentences, and steadier across seeds).
        self.scale = config.embedding_dim**0.5
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.embedding_dim, config.n_classes)

    def forward(self, sentences: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(sentences * self.scale))


class TunedTop(nn.Module):
    """BERT layers (the template loads the encoder's top layers into them) over the states of
    the layer below -> mean over the tokens -> dropout -> linear."""

    def __init__(self, config: TextModelConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            BertLayer(
                config.embedding_dim, config.heads, config.hidden_size, dropout=config.dropout
            )
            for _ in range(config.layers)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.embedding_dim, config.n_classes)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """states (batch, steps, width), mask (batch, steps): True where a token is."""
        for layer in self.layers:
            states = layer(states, mask)
        weights = mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
        return self.head(self.dropout(pooled))


def _trim_padding(ids: torch.Tensor) -> torch.Tensor:
    """Drop the trailing columns that are PAD in every row: short texts padded to max_length
    would otherwise cost the GRU and the attention up to 10x more steps (same result)."""
    used = (ids != PAD).any(dim=0).nonzero()
    width = int(used.max()) + 1 if len(used) else 1
    return ids[:, :width]


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the unmasked steps; an all-masked row gets all-zero weights, not NaN."""
    has_tokens = mask.any(dim=1, keepdim=True)
    scores = scores.masked_fill(~mask & has_tokens, float("-inf"))
    return scores.softmax(dim=1) * has_tokens


TEXT_MODELS: dict[str, type[nn.Module]] = {
    "ngram_bag": NgramBag,
    "bigru": BiGRUAttention,
    "transformer": SmallTransformer,
    "sentence_linear": SentenceLinear,
    "tuned_top": TunedTop,
}
