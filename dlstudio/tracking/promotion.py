"""Who is champion, decided: a new version of a registered model becomes the ``challenger``; it
is promoted to ``champion`` only when it beats the champion on the same fresh test rows, by the
policy's metric and margin. By hand, a version is promoted or the champion rolled back. Every
decision, promoted or not, is recorded with its numbers by :mod:`dlstudio.tracking.registry`
(this module decides, the registry records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlstudio.errors import DLStudioError
from dlstudio.evaluation.drift import DriftReport
from dlstudio.evaluation.metrics import classification_metrics, regression_metrics
from dlstudio.settings import Settings, get_settings
from dlstudio.spec import parse_promote_if
from dlstudio.tasks.base import TaskOutcome
from dlstudio.tracking.loading import load_studio_model
from dlstudio.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    Decision,
    ModelInfo,
    describe_model,
    record,
    remove_challenger,
    set_challenger,
    set_champion,
)


@dataclass(frozen=True)
class Policy:
    """Promote when ``challenger <op> champion + margin`` on ``metric`` (and, for the default
    policy, when the challenger is at least as good as the baseline)."""

    metric: str
    higher_is_better: bool
    margin: float
    against_baseline: bool

    @classmethod
    def from_spec(cls, promote_if: str | None, outcome: TaskOutcome) -> Policy:
        if promote_if is None:
            return cls(outcome.primary_metric, outcome.higher_is_better, 0.0, True)
        metric, op, margin = parse_promote_if(promote_if)
        return cls(metric, op == ">=", margin, False)

    def describe(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        rule = f"test_{self.metric} {op} champion's {self.margin:+g}"
        return rule + (" and >= the baseline's" if self.against_baseline else "")


def challenge(
    name: str,
    version: str,
    outcome: TaskOutcome,
    challenger,
    *,
    promote_if: str | None,
    by: str,
    now: datetime,
    drift: DriftReport | None = None,
    client: MlflowClient | None = None,
    settings: Settings | None = None,
) -> Decision:
    """Decide whether ``version`` (just registered, predicted by ``challenger``) replaces the
    champion. With no champion yet it becomes the champion. Otherwise it gets the
    ``challenger`` alias; both are scored on ``outcome.holdout`` (the new data's test rows)
    and the policy decides; a large ``drift`` (champion's training data -> new data) is named in
    the reason. The decision is recorded on ``version`` either way."""
    client = client or MlflowClient()
    model = describe_model(name, client)
    champion = model.champion
    if champion is None or champion.version == version:
        set_champion(name, version, client)
        decision = Decision(name, version, "promoted", "first version of the model", by,
                            now.isoformat(), None, outcome.metrics)  # fmt: skip
        record(decision, client)
        return decision
    set_challenger(name, version, client)
    policy = Policy.from_spec(promote_if, outcome)
    scores, basis = _scores(name, champion.version, outcome, challenger, policy, client,
                            settings or get_settings())  # fmt: skip
    promoted, reason = _verdict(policy, scores, champion.version, basis)
    if drift is not None and (drift.large_shift or drift.label_mix_changed):
        reason += f". Data shift since the champion's training data: {drift.summary()}"
    if promoted:
        set_champion(name, version, client)
        remove_challenger(name, client)
    decision = Decision(name, version, "promoted" if promoted else "not promoted", reason, by,
                        now.isoformat(), champion.version, scores)  # fmt: skip
    record(decision, client)
    return decision


def promote(
    name: str,
    version: str,
    *,
    reason: str,
    by: str,
    now: datetime,
    metrics: dict[str, float] | None = None,
    client: MlflowClient | None = None,
) -> Decision:
    """Make ``version`` the champion and record why; the previous champion is kept in the tags
    so a roll-back can return to it.

    Raises:
        DLStudioError: no such model or version (the message lists the versions there are).
    """
    client = client or MlflowClient()
    model = describe_model(name, client)
    _require_version(model, str(version))
    previous = model.champion.version if model.champion else None
    set_champion(name, str(version), client)
    if model.champion and CHALLENGER in _aliases(model, str(version)):
        remove_challenger(name, client)
    decision = Decision(name, str(version), "promoted", reason, by, now.isoformat(), previous,
                        metrics or {})  # fmt: skip
    record(decision, client)
    return decision


def rollback(name: str, *, by: str, now: datetime, client: MlflowClient | None = None) -> Decision:
    """Give the champion alias back to the version that held it before the current one (the
    one recorded at its promotion, else the newest older version).

    Raises:
        DLStudioError: no such model, no champion, or no earlier version to return to.
    """
    client = client or MlflowClient()
    model = describe_model(name, client)
    current = model.champion
    if current is None:
        raise DLStudioError(
            f"Model {name!r} has no champion to roll back.",
            fix=f"Promote a version first: dlstudio models promote {name} VERSION",
        )
    earlier = current.decision.get("previous_champion") or next(
        (v.version for v in model.versions if int(v.version) < int(current.version)), None
    )
    if not earlier or earlier == current.version or earlier not in _numbers(model):
        raise DLStudioError(
            f"Model {name!r} has no earlier version to roll back to (champion: version "
            f"{current.version}).",
            fix="Promote another version instead: dlstudio models promote NAME VERSION",
        )
    set_champion(name, earlier, client)
    decision = Decision(name, earlier, "rolled back",
                        f"rolled back from version {current.version}", by, now.isoformat(),
                        current.version)  # fmt: skip
    record(decision, client)
    return decision


def _scores(
    name: str, champion: str, outcome: TaskOutcome, challenger, policy: Policy, client,
    settings: Settings,
) -> tuple[dict[str, float], str]:
    """The policy metric of challenger, champion and baseline, and on what rows."""
    metric = policy.metric
    baseline = outcome.baseline.metrics.get(metric, float("nan"))
    if outcome.holdout is not None and outcome.holdout_target is not None:
        new = holdout_scores(challenger.predict, outcome.holdout, outcome.holdout_target)
        try:  # from its signed data: a champion someone planted never runs its code here
            reigning = load_studio_model(f"models:/{name}/{champion}", settings)
            old = holdout_scores(reigning.predict, outcome.holdout, outcome.holdout_target)
        except (MlflowException, DLStudioError, KeyError, ValueError) as exc:
            basis = f"the champion could not score the new test rows ({str(exc).splitlines()[0]})"
            return {"challenger": new.get(metric, float("nan")), "champion": float("nan"),
                    "baseline": baseline}, basis  # fmt: skip
        basis = f"both scored on the same {len(outcome.holdout):,} new test rows"
        return {"challenger": new.get(metric, float("nan")),
                "champion": old.get(metric, float("nan")), "baseline": baseline}, basis  # fmt: skip
    # forecasters have no row-wise holdout: each version is judged on its own backtest
    run_id = next(v.run_id for v in describe_model(name, client).versions if v.version == champion)
    logged = client.get_run(run_id).data.metrics if run_id else {}
    basis = "each on its own backtest (a forecaster is not re-scored on the new data)"
    return {"challenger": outcome.metrics.get(metric, float("nan")),
            "champion": logged.get(f"test_{metric}", float("nan")), "baseline": baseline}, basis  # fmt: skip


def champion_inputs(name: str) -> list[str]:
    """The input columns the champion of ``name`` reads; empty when there is no champion or it
    takes a single image column (images are checked by the template)."""
    try:
        info = mlflow.models.get_model_info(f"models:/{name}@{CHAMPION}")
    except (MlflowException, OSError):
        return []  # no such model or no champion yet
    schema = info.signature.inputs if info.signature else None
    if schema is None or not schema.has_input_names():
        return []
    return [column for column in schema.input_names() if column != "image"]


def holdout_scores(predict, holdout: pd.DataFrame, target: str) -> dict[str, float]:
    """The metrics of ``predict`` (a pyfunc's or a predictor's) on ``holdout``: regression
    metrics for a model that predicts a number; else classification metrics of its own
    decisions (its tuned threshold included), over the classes the truth and the model know."""
    out = predict(holdout.drop(columns=[target]))
    known = [c.removeprefix("probability_") for c in out.columns if c.startswith("probability_")]
    if not known:
        truth = pd.to_numeric(holdout[target], errors="coerce").to_numpy(dtype=np.float64)
        return regression_metrics(truth, out["prediction"].to_numpy(dtype=np.float64))
    truth = holdout[target].astype(str).to_numpy()
    classes = sorted(set(truth) | set(known))
    proba = np.zeros((len(holdout), len(classes)))
    for column, label in zip([f"probability_{k}" for k in known], known, strict=True):
        proba[:, classes.index(label)] = out[column].fillna(0).to_numpy()
    y_true = np.array([classes.index(label) for label in truth])
    y_pred = np.array([classes.index(str(label)) for label in out["prediction"]])
    return classification_metrics(y_true, proba, n_classes=len(classes), predicted=y_pred)


def _verdict(
    policy: Policy, scores: dict[str, float], champion: str, basis: str
) -> tuple[bool, str]:
    new, old, baseline = scores["challenger"], scores["champion"], scores["baseline"]
    metric = f"test_{policy.metric}"
    if np.isnan(new) or np.isnan(old):
        return False, f"{metric} is not available for both versions ({basis}); the champion stays"
    sign = 1 if policy.higher_is_better else -1
    beats = sign * (new - old) >= sign * policy.margin - 1e-12
    numbers = f"{metric} {new:.4f} vs champion (version {champion}) {old:.4f}, {basis}"
    if not beats:
        return False, f"not better by the rule ({policy.describe()}): {numbers}"
    if policy.against_baseline and not np.isnan(baseline) and sign * (new - baseline) < 0:
        return False, f"below the baseline ({baseline:.4f}): {numbers}"
    return True, f"passes {policy.describe()}: {numbers}"


def _require_version(model: ModelInfo, version: str) -> None:
    if version not in _numbers(model):
        raise DLStudioError(
            f"Model {model.name!r} has no version {version!r}.",
            fix=f"Its versions: {', '.join(_numbers(model)) or 'none'}.",
        )


def _numbers(model: ModelInfo) -> list[str]:
    return [v.version for v in model.versions]


def _aliases(model: ModelInfo, version: str) -> tuple[str, ...]:
    return next((v.aliases for v in model.versions if v.version == version), ())
