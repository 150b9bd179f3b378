"""An RNN forecaster: an LSTM/GRU encoder over the past window, a direct multi-step head.

The head sees the encoder's last state and the known future inputs (calendar, covariates) of
every step to forecast, and adds a linear "highway" from the past values (as in LSTNet, Lai et
al. 2018): the network can represent "same as last season" exactly and learns the rest, which
matters on the short series business users have.

Several members (independent networks from different initial weights) train side by side in one
loop and their forecasts are averaged: on short series this cut the seed-to-seed spread of the
backtest error by 3-7x and lowered its mean (bench/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class RNNForecasterConfig:
    """Shapes and sizes; saved as JSON with the weights."""

    n_past_features: int  # per past step; the first is the (normalized) target
    n_future_features: int  # per future step: calendar and covariates
    lookback: int
    horizon: int
    n_quantiles: int
    cell: str = "lstm"
    hidden_size: int = 64
    layers: int = 1
    dropout: float = 0.1
    members: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> RNNForecasterConfig:
        return cls(**raw)


class RNNForecaster(nn.Module):
    """(past (B, lookback, F), future (B, horizon, G)) -> (B, members, horizon, quantiles)."""

    def __init__(self, config: RNNForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(_Member(config) for _ in range(config.members))

    def forward(self, past: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(past, future) for member in self.members], dim=1)


class _Member(nn.Module):
    """One network: (past, future) -> (B, horizon, quantiles)."""

    def __init__(self, config: RNNForecasterConfig) -> None:
        super().__init__()
        self.config = config
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[config.cell]
        self.encoder = rnn(
            config.n_past_features,
            config.hidden_size,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        outputs = config.horizon * config.n_quantiles
        self.head = nn.Sequential(
            nn.Linear(
                config.hidden_size + config.horizon * config.n_future_features, config.hidden_size
            ),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_size, outputs),
        )
        self.highway = nn.Linear(config.lookback, outputs)
        for last in (self.head[-1], self.highway):  # start at the base forecast, learn from there
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, past: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        encoded, _ = self.encoder(past)
        state = torch.cat([encoded[:, -1], future.flatten(1)], dim=1)
        out = self.head(state) + self.highway(past[:, :, 0])
        return out.view(len(past), self.config.horizon, self.config.n_quantiles)


class PinballLoss(nn.Module):
    """Quantile (pinball) loss averaged over quantiles and steps; 0.5 alone is half the MAE."""

    def __init__(self, quantiles: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("quantiles", torch.tensor(quantiles, dtype=torch.float32))

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``prediction`` (B, members, horizon, quantiles) against ``target`` (B, horizon)."""
        diff = target[:, None, :, None] - prediction.float()
        return torch.maximum(self.quantiles * diff, (self.quantiles - 1) * diff).mean()
