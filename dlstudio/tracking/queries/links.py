"""Links into the MLflow UI: a run, runs compared, a registered model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote


def run_url(ui_url: str, experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI."""
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def compare_url(ui_url: str, run_ids: Sequence[str], experiment_ids: Sequence[str]) -> str:
    """The MLflow UI's compare-runs page; it reads ``runs`` and ``experiments`` as JSON lists."""

    def listed(values: Sequence[str]) -> str:
        return quote(json.dumps(list(values), separators=(",", ":")), safe="")

    return (
        f"{ui_url.rstrip('/')}/#/compare-runs"
        f"?runs={listed(run_ids)}&experiments={listed(experiment_ids)}"
    )


def model_url(ui_url: str, name: str) -> str:
    """A registered model's page in the MLflow UI (its versions and aliases)."""
    return f"{ui_url.rstrip('/')}/#/models/{quote(name, safe='')}"
