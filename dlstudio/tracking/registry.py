"""The model registry as users see it, and the record of what was decided: models, their
versions with test scores, which version is the champion (and the challenger), and the decisions
written on the versions. It records; :mod:`dlstudio.tracking.promotion` decides (and this module
never imports it).

Aliases, not stages (DESIGN §5). Every decision is written as tags on the version it concerns:
``dlstudio.decision`` (promoted, rolled back, kept champion, not promoted), who, when, why, and
the metrics it was based on, so the MLflow UI shows the history too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlstudio.errors import DLStudioError

CHAMPION, CHALLENGER = "champion", "challenger"
DECISION_TAGS = ("decision", "decided_by", "decided_at", "reason", "metrics", "previous_champion")


@dataclass(frozen=True)
class VersionInfo:
    """One registered version: where it came from, its scores and its aliases."""

    version: str
    run_id: str | None
    created_at: str
    aliases: tuple[str, ...]
    metrics: dict[str, float]  # the run's test_* and baseline_test_* metrics
    primary_metric: str | None
    decision: dict[str, str] = field(default_factory=dict)  # the last decision about it


@dataclass(frozen=True)
class ModelInfo:
    """A registered model and its versions, newest first."""

    name: str
    versions: tuple[VersionInfo, ...]

    @property
    def champion(self) -> VersionInfo | None:
        return next((v for v in self.versions if CHAMPION in v.aliases), None)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "champion": self.champion.version if self.champion else None,
            "versions": [asdict(v) for v in self.versions],
        }


@dataclass(frozen=True)
class Decision:
    """A change (or a deliberate non-change) of the champion, as recorded."""

    model: str
    version: str
    decision: str  # "promoted" | "rolled back" | "not promoted" | "kept champion"
    reason: str
    decided_by: str
    decided_at: str
    previous_champion: str | None
    metrics: dict[str, float] = field(default_factory=dict)


def list_models(client: MlflowClient | None = None) -> list[ModelInfo]:
    """Every registered model by name, with its versions (newest first) and their scores."""
    client = client or MlflowClient()
    return [
        describe_model(m.name, client)
        for m in client.search_registered_models(order_by=["name ASC"])
    ]


def describe_model(name: str, client: MlflowClient | None = None) -> ModelInfo:
    """One registered model with its versions (newest first)."""
    client = client or MlflowClient()
    model = _registered(name, client)
    aliases_of: dict[str, list[str]] = {}
    for alias, version in model.aliases.items():
        aliases_of.setdefault(str(version), []).append(alias)
    quoted = name.replace("'", "\\'")
    versions = sorted(
        client.search_model_versions(f"name = '{quoted}'"), key=lambda v: -int(v.version)
    )
    return ModelInfo(name, tuple(_version_info(v, aliases_of, client) for v in versions))


def record(decision: Decision, client: MlflowClient | None = None) -> None:
    """Write a decision as tags on the version it concerns (the latest decision wins)."""
    client = client or MlflowClient()
    values = {
        "decision": decision.decision, "decided_by": decision.decided_by,
        "decided_at": decision.decided_at, "reason": decision.reason,
        "metrics": json.dumps(decision.metrics),
        "previous_champion": decision.previous_champion or "",
    }  # fmt: skip
    for key, value in values.items():
        client.set_model_version_tag(decision.model, decision.version, f"dlstudio.{key}", value)


def set_champion(name: str, version: str, client: MlflowClient | None = None) -> None:
    """Give ``version`` the champion alias (the version that held it loses it)."""
    (client or MlflowClient()).set_registered_model_alias(name, CHAMPION, str(version))


def set_challenger(name: str, version: str, client: MlflowClient | None = None) -> None:
    """Give ``version`` the challenger alias: registered, waiting for the decision."""
    (client or MlflowClient()).set_registered_model_alias(name, CHALLENGER, str(version))


def remove_challenger(name: str, client: MlflowClient | None = None) -> None:
    """Take the challenger alias away (its version was promoted)."""
    (client or MlflowClient()).delete_registered_model_alias(name, CHALLENGER)


def _version_info(version, aliases_of: dict[str, list[str]], client: MlflowClient) -> VersionInfo:
    metrics, primary = {}, None
    if version.run_id:
        try:
            run = client.get_run(version.run_id)
        except MlflowException:
            run = None  # the run was deleted; the version still loads from its own copy
        if run is not None:
            metrics = {k: v for k, v in run.data.metrics.items() if "test_" in k}
            primary = run.data.tags.get("dlstudio.primary_metric")
    tags = version.tags or {}
    decision = {k: tags[f"dlstudio.{k}"] for k in DECISION_TAGS if tags.get(f"dlstudio.{k}")}
    created = datetime.fromtimestamp(version.creation_timestamp / 1000).isoformat(
        timespec="seconds"
    )
    return VersionInfo(str(version.version), version.run_id, created,
                       tuple(sorted(aliases_of.get(str(version.version), []))), metrics, primary,
                       decision)  # fmt: skip


def _registered(name: str, client: MlflowClient):
    try:
        return client.get_registered_model(name)
    except MlflowException:
        names = [m.name for m in client.search_registered_models()]
        listed = ", ".join(map(repr, names)) if names else "none yet"
        raise DLStudioError(
            f"No registered model named {name!r}.",
            fix=f"Registered models: {listed}. Train with --register NAME to register one.",
        ) from None
