"""Which model a tabular run registers: the network unless another wins clearly on validation."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.evaluation.ensemble import squared_error
from dlstudio.tasks.tabular.choice import Candidate, add_ensemble, choose


def _candidates(y: np.ndarray, noise: dict[str, float]) -> dict[str, Candidate]:
    rng = np.random.default_rng(0)
    return {
        key: Candidate(key, y + rng.normal(0, sd, len(y)), y + rng.normal(0, sd, len(y)))
        for key, sd in noise.items()
    }


def _choose(candidates: dict[str, Candidate], y: np.ndarray):
    mix = add_ensemble(candidates, squared_error(y))
    errors = {}
    for key, c in candidates.items():
        c.val_score = float(np.sqrt(np.mean((c.val - y) ** 2)))
        errors[key] = (c.val - y) ** 2

    def row_score(key: str):
        return lambda rows: -float(errors[key][rows].mean())

    return choose(candidates, mix, row_score, len(y), metric="rmse", higher_is_better=False), mix


def test_a_clearly_better_model_is_registered_and_the_ensemble_keeps_its_own_weights() -> None:
    y = np.random.default_rng(1).normal(size=400)
    choice, mix = _choose(_candidates(y, {"network": 1.0, "hgb": 0.3, "ridge": 2.0}), y)

    assert choice.chosen in ("hgb", "ensemble")
    report = choice.report()
    ensemble = next(c for c in report["candidates"] if c["key"] == "ensemble")
    assert ensemble["weights"] == mix  # not the registered model's weights
    assert report["higher_is_better"] is False


def test_a_near_tie_keeps_the_network() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    shared = rng.normal(0, 1.0, 200)  # both models make nearly the same mistakes
    network, hgb = (y + shared + rng.normal(0, 0.1, 200) for _ in range(2))
    candidates = {
        "network": Candidate("network", network, network),
        "hgb": Candidate("hgb", hgb, hgb),
    }
    choice, mix = _choose(candidates, y)

    assert choice.chosen == "network"
    assert choice.weights == {"network": 1.0}
    assert choice.members == {}
    assert sum(mix.values()) == pytest.approx(1.0)
    assert choice.summary().startswith("Registered network, chosen on the validation rows (rmse")
