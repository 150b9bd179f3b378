"""Read runs back from MLflow for the dashboard (plain data, no streamlit here), one module per
concern: ``runs`` (search, label, list and filter runs; their promotion decisions),
``history`` (per-epoch metrics), ``details`` (one run for the Results page), ``comparison``
(runs side by side), ``model_choice`` (the models a tabular run compared, its decision
threshold) and ``links`` (pages of the MLflow UI). The names the pages use are
exported here.
"""

from dlstudio.tracking.queries.comparison import RunComparison, compare_runs
from dlstudio.tracking.queries.details import (
    ForecastArtifacts,
    MetricCard,
    RunDetails,
    metric_cards,
    per_class_table,
    run_details,
)
from dlstudio.tracking.queries.history import history_metrics, run_history, runs_history
from dlstudio.tracking.queries.links import compare_url, model_url, run_url
from dlstudio.tracking.queries.model_choice import Candidate, Decision, ModelCandidates
from dlstudio.tracking.queries.runs import (
    UnknownRun,
    comparable_runs,
    distinct,
    filter_runs,
    finished_run_choices,
    like_the_newest,
    recent_runs,
    run_choices,
    run_decisions,
    run_label,
    run_labels,
)

__all__ = [
    "Candidate",
    "Decision",
    "ForecastArtifacts",
    "MetricCard",
    "ModelCandidates",
    "RunComparison",
    "RunDetails",
    "UnknownRun",
    "comparable_runs",
    "compare_runs",
    "compare_url",
    "distinct",
    "filter_runs",
    "finished_run_choices",
    "history_metrics",
    "like_the_newest",
    "metric_cards",
    "model_url",
    "per_class_table",
    "recent_runs",
    "run_choices",
    "run_decisions",
    "run_details",
    "run_history",
    "run_label",
    "run_labels",
    "run_url",
    "runs_history",
]
