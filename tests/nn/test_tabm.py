"""TabM over piecewise-linear embeddings: shapes, the ensemble's prediction, the loss, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlstudio.nn.tabm import EnsembleLoss, TabMConfig, TabularTabM, quantile_bins


def _network(*, regression: bool = False, n_outputs: int = 3) -> TabularTabM:
    torch.manual_seed(0)
    numbers = np.random.default_rng(0).normal(size=(50, 2))
    config = TabMConfig(
        bins=quantile_bins(numbers, n_bins=8), cardinalities=(4,), embedding_dims=(3,),
        n_outputs=n_outputs, regression=regression, k=4, d_block=16,
    )  # fmt: skip
    return TabularTabM(config)


def _inputs(rows: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(rows, 2), torch.randint(0, 4, (rows, 1))


def test_training_returns_every_member_and_evaluation_their_mean_probabilities() -> None:
    network = _network()
    numeric, categorical = _inputs()

    network.train()
    members = network(numeric, categorical)
    network.eval()
    with torch.no_grad():
        combined = network(numeric, categorical)
        members_eval = network.output(
            network.backbone(network.ensemble_view(torch.cat(
                [network.numbers(numeric).flatten(1), network.embeddings[0](categorical[:, 0])],
                dim=1,
            )))
        )  # fmt: skip

    assert members.shape == (5, 4, 3)
    assert combined.shape == (5, 3)
    mean_proba = torch.softmax(members_eval, dim=-1).mean(dim=1)
    assert torch.allclose(torch.softmax(combined, dim=1), mean_proba, atol=1e-6)


def test_regression_outputs_the_members_mean() -> None:
    network = _network(regression=True, n_outputs=1).eval()
    with torch.no_grad():
        out = network(*_inputs())
    assert out.shape == (5, 1)


def test_ensemble_loss_averages_the_members_losses() -> None:
    prediction = torch.randn(6, 4, 3)
    target = torch.randint(0, 3, (6,))
    loss = EnsembleLoss(torch.nn.CrossEntropyLoss())(prediction, target)
    by_member = [torch.nn.functional.cross_entropy(prediction[:, i], target) for i in range(4)]
    assert loss.item() == pytest.approx(torch.stack(by_member).mean().item(), rel=1e-5)

    values = torch.randn(6, 4, 1)
    y = torch.randn(6)
    mse = EnsembleLoss(torch.nn.MSELoss())(values, y)
    assert mse.item() == pytest.approx(((values.squeeze(-1) - y[:, None]) ** 2).mean().item())


def test_config_round_trips_through_json_and_rebuilds_the_same_network() -> None:
    network = _network().eval()
    rebuilt = TabularTabM(TabMConfig.from_dict(network.config.to_dict())).eval()
    rebuilt.load_state_dict(network.state_dict())
    numeric, categorical = _inputs()
    with torch.no_grad():
        assert torch.equal(network(numeric, categorical), rebuilt(numeric, categorical))


def test_bins_cover_constant_and_two_valued_columns() -> None:
    numbers = np.column_stack([np.full(20, 3.0), np.tile([0.0, 1.0], 10), np.arange(20.0)])
    bins = quantile_bins(numbers, n_bins=4)
    assert bins[0] == (2.5, 3.5)  # one value: one unit-wide bin
    assert bins[1][0] == 0.0 and bins[1][-1] == 1.0
    assert len(bins[2]) == 5 and bins[2][0] == 0.0 and bins[2][-1] == 19.0
    TabularTabM(TabMConfig(bins, (), (), 2, k=2, d_block=8))  # every column gets an embedding
