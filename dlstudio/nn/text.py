"""Three text classifiers, from fastest to most expressive; each maps ids (B, M) to logits.

* ``ngram_bag``: fastText (Joulin et al. 2016): the mean of word, bigram and character n-gram
  embeddings, then a linear layer. Trains in seconds and is a strong baseline on short texts.
* ``bigru``: a bidirectional GRU with attention pooling (Yang et al. 2016, without the sentence
  level): word order and negation ("not good") matter.
* ``transformer``: a small pre-norm transformer encoder with masked mean pooling.

Id 0 is PAD everywhere. A text with no tokens (a row of PAD only) pools to zeros, never NaN.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD = 0


@dataclass(frozen=True)
class TextModelConfig:
    """Shapes and sizes; saved as JSON with the weights."""

    kind: str  # "ngram_bag" | "bigru" | "transformer"
    n_ids: int  # embedding rows: TextEncoder.n_ids for ngram_bag, .n_token_ids for the others
    n_classes: int
    embedding_dim: int = 64
    hidden_size: int = 64  # per direction (bigru)
    layers: int = 1
    heads: int = 4  # transformer; must divide embedding_dim
    dropout: float = 0.2
    max_length: int = 128  # transformer: rows of the positional embedding

    def __post_init__(self) -> None:
        if self.kind not in TEXT_MODELS:
            raise ValueError(f"unknown text model kind {self.kind!r}; valid: {sorted(TEXT_MODELS)}")
        if self.kind == "transformer" and self.embedding_dim % self.heads:
            raise ValueError(
                f"embedding_dim {self.embedding_dim!r} must be a multiple of heads {self.heads!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TextModelConfig:
        return cls(**raw)


def build_text_model(config: TextModelConfig) -> nn.Module:
    """Every model takes one LongTensor (batch, M) of ids with PAD=0 and returns logits
    (batch, n_classes)."""
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
}
