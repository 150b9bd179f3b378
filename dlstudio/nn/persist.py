"""Save and load a trained network: weights as a state_dict, everything else as JSON.

No pickles of user-influenced objects: ``torch.load(weights_only=True)`` reads tensors only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.pt"
M = TypeVar("M", bound=nn.Module)


def save_network(folder: Path, network: nn.Module, description: dict[str, Any]) -> None:
    """Write ``weights.pt`` and ``model.json`` (``description``: JSON-able, with the network's
    config under "network")."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in network.state_dict().items()}, folder / WEIGHTS_FILE)
    (folder / MODEL_FILE).write_text(json.dumps(description, indent=1), encoding="utf-8")


def load_network(folder: Path, build: Callable[[dict[str, Any]], M]) -> tuple[M, dict[str, Any]]:
    """The network rebuilt by ``build(description["network"])`` with its weights, and the
    whole description."""
    description = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    network = build(description["network"])
    network.load_state_dict(torch.load(folder / WEIGHTS_FILE, weights_only=True))
    return network, description
