"""Runs side by side: their test metrics (ours and the baselines') and their params."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import mlflow
import pandas as pd

from dlstudio.settings import Settings
from dlstudio.tracking.queries.runs import UnknownRun, search_labels
from dlstudio.tracking.setup import configure_tracking

RUN_ID = re.compile(r"[A-Za-z0-9][\w-]{0,255}")  # MLflow's own rule; ids go into filters


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: one column per run label in ``metrics`` and ``params``."""

    scores: pd.DataFrame  # one row per run: run, run_id, experiment_id, test_* metrics
    metrics: pd.DataFrame  # index metric, columns run labels
    params: pd.DataFrame  # index param, columns run labels, differing params first

    @property
    def score_names(self) -> list[str]:
        """The test metrics a bar chart can show (``test_accuracy``, ...)."""
        return [c for c in self.scores.columns if c.startswith("test_")]

    @property
    def run_ids(self) -> list[str]:
        return self.scores["run_id"].tolist()

    @property
    def experiment_ids(self) -> list[str]:
        """The experiments the runs belong to, each once, in the runs' order."""
        return list(dict.fromkeys(self.scores["experiment_id"]))


def compare_runs(settings: Settings, run_ids: Sequence[str]) -> RunComparison:
    """Test metrics (ours and the baseline's) and params of the given runs (one or more, each
    once), side by side.

    Raises:
        UnknownRun: one of the ids names no run.
    """
    configure_tracking(settings)
    found = _search_by_id(run_ids)
    wide = found.assign(run=search_labels(found)).set_index("run")
    metric_columns = sorted(
        c for c in wide.columns if c.startswith(("metrics.test_", "metrics.baseline_test_"))
    )
    params = _side_by_side(wide, sorted(c for c in wide.columns if c.startswith("params.")))
    differs = params.astype(str).nunique(axis=1) > 1
    scores = wide[[c for c in metric_columns if c.startswith("metrics.test_")]]
    scores = scores.rename(columns=lambda c: c.removeprefix("metrics.")).reset_index()
    scores.insert(1, "run_id", found["run_id"].to_numpy())
    scores.insert(2, "experiment_id", found["experiment_id"].to_numpy())
    return RunComparison(
        scores=scores,
        metrics=_side_by_side(wide, metric_columns).rename_axis("metric"),
        params=pd.concat([params[differs], params[~differs]]).rename_axis("param"),
    )


def _search_by_id(run_ids: Sequence[str]) -> pd.DataFrame:
    """``search_runs`` rows of exactly these runs, in this order."""
    unsafe = [i for i in run_ids if not RUN_ID.fullmatch(i)]
    if unsafe:
        raise UnknownRun(f"{unsafe[0]!r} is not a run id", fix="pick runs from the list")
    quoted = ", ".join(f"'{i}'" for i in run_ids)
    found = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"attributes.run_id IN ({quoted})"
    )
    missing = sorted(set(run_ids) - set(found["run_id"]))
    if missing:
        raise UnknownRun(f"no run has the id {missing[0]!r}", fix="pick runs from the list")
    return found.set_index("run_id").loc[list(run_ids)].reset_index()


def _side_by_side(wide: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Fields as rows (``metrics.``/``params.`` prefix dropped), one column per run."""
    return wide[columns].T.rename(index=lambda c: c.split(".", 1)[1])
