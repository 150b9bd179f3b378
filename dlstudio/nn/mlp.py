"""An MLP for tables: one embedding per categorical column, concatenated with the numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class TabularMLPConfig:
    """Shapes of the network; saved as JSON beside the weights so the model can be rebuilt."""

    n_numeric: int
    cardinalities: tuple[int, ...]  # levels per categorical column, incl. "missing" and "other"
    embedding_dims: tuple[int, ...]
    hidden_sizes: tuple[int, ...]
    n_classes: int
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TabularMLPConfig:
        tuples = ("cardinalities", "embedding_dims", "hidden_sizes")
        return cls(**{k: tuple(v) if k in tuples else v for k, v in raw.items()})


def embedding_dim(cardinality: int, *, cap: int) -> int:
    """fastai's rule of thumb: grows slowly with the number of levels, capped."""
    return max(2, min(cap, round(1.6 * cardinality**0.56)))


class TabularMLP(nn.Module):
    """[embeddings | numbers] -> (Linear -> BatchNorm -> SiLU -> Dropout) x L -> class logits."""

    def __init__(self, config: TabularMLPConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = nn.ModuleList(
            nn.Embedding(n, d)
            for n, d in zip(config.cardinalities, config.embedding_dims, strict=True)
        )
        width = config.n_numeric + sum(config.embedding_dims)
        layers: list[nn.Module] = []
        for hidden in config.hidden_sizes:
            layers += [
                nn.Linear(width, hidden),
                nn.BatchNorm1d(hidden),  # keeps training stable across very different scales
                nn.SiLU(),
                nn.Dropout(config.dropout),
            ]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, config.n_classes)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        parts = [numeric] + [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.head(self.body(torch.cat(parts, dim=1)))
