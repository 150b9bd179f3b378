"""run(spec): the one function the CLI, the worker and the scheduler call to train."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from dlstudio.auth.roles import USER_TAG, local_user
from dlstudio.data.checks import Finding, raise_for_errors
from dlstudio.data.sources import DataSource, load_data
from dlstudio.evaluation.metrics import Verdict
from dlstudio.settings import Settings, get_settings
from dlstudio.spec import RunSpec, dump_spec, flatten_spec
from dlstudio.tasks import get_template
from dlstudio.tracking.promotion import challenge, champion_inputs
from dlstudio.tracking.reference import data_drift, log_reference
from dlstudio.tracking.registry import describe_model
from dlstudio.tracking.runlog import MLflowMetrics, log_model, log_outcome
from dlstudio.tracking.setup import configure_tracking, ensure_experiment, register_model
from dlstudio.training.callbacks import Checkpoint, TrainingCancelled
from dlstudio.training.device import choose_device, configure_threads
from dlstudio.training.loop import Callback


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports; ``to_json()`` is the CLI's ``--json`` contract."""

    run_id: str
    experiment_id: str
    task: str
    device: str
    metrics: dict[str, float]
    baseline: dict  # the strongest classical model: {"name", "metrics"}
    beats_baseline: bool
    verdict: str
    model_uri: str
    registered: dict[str, str] | None
    baselines: list[dict] = field(default_factory=list)  # every classical model tried
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # tabular: every model compared on the same rows (network, classical, ensemble), which one
    # was registered and why (``candidates.json``)
    candidates: dict | None = None

    def to_json(self) -> dict:
        raw = asdict(self)
        raw["findings"] = [asdict(f) for f in self.findings]
        return raw


def check_run(spec: RunSpec, settings: Settings) -> tuple[DataSource, list[Finding]]:
    """Read the spec's data and run its template's checks (what would stop or weaken the run)."""
    source = load_data(spec.data, settings)
    template = get_template(spec.task)
    if template.reads == "table" and source.data.images is not None:
        return source, [
            Finding(
                "error",
                f"The data is a ZIP or folder of images, but {template.title.lower()} reads a "
                "table.",
                "Choose the image classification template for images, or give a CSV, Excel or "
                "Parquet file.",
            )
        ]
    findings = template.check(source.data, spec)
    if spec.tracking.register_as and not any(f.level == "error" for f in findings):
        findings += champion_columns(spec.tracking.register_as, source, settings)
    return source, findings


def champion_columns(name: str, source: DataSource, settings: Settings) -> list[Finding]:
    """A retrain must give the champion the columns it reads: both are scored on the new data,
    and a changed schema is a change to look at, not to promote past."""
    configure_tracking(settings)
    needed = champion_inputs(name)
    missing = [c for c in needed if c not in source.data.frame.columns]
    if not missing:
        return []
    return [Finding(
        "error",
        f"The data lacks {len(missing)} column(s) the champion of {name!r} reads: "
        f"{', '.join(map(repr, missing))}.",
        "Bring the column(s) back, or register the new model under another name if the "
        "columns changed for good.",
    )]  # fmt: skip


@dataclass(frozen=True)
class Trained:
    """What registering a run's model needs after the run (a search registers its best trial
    when the search ends): the data, the outcome with its test rows, and the loaded model."""

    run_id: str
    source: DataSource
    outcome: object  # the template's TaskOutcome
    predictor: object
    model_uri: str


def run(
    spec: RunSpec,
    *,
    callbacks: Sequence[Callback] = (),
    job_id: str | None = None,
    settings: Settings | None = None,
    tags: dict[str, str] | None = None,
    keep: Callable[[Trained], None] | None = None,
    user: str | None = None,
) -> RunResult:
    """Check the data, train, evaluate against the baseline and log everything to MLflow.

    ``keep`` gets the trained model, its outcome and data once the model is logged (for
    :func:`register_trained` later). Raises DataError/SpecError before any run is created when
    the data or spec are unusable. A ``TrainingCancelled`` raised by a callback (or a
    KeyboardInterrupt) ends the MLflow run as KILLED.
    """
    settings = settings or get_settings()
    template = get_template(spec.task)
    source, findings = check_run(spec, settings)
    raise_for_errors(findings)
    device = choose_device(spec.training.device)
    configure_threads(settings.torch_threads)
    configure_tracking(settings)
    experiment_id = ensure_experiment(spec.tracking.experiment, settings)
    tags = {
        "dlstudio.task": spec.task,
        "dlstudio.dataset": source.name,
        "dlstudio.dataset_version": source.version,
        "dlstudio.dataset_rows": str(len(source.data.frame)),
        "dlstudio.device": device.label,
        **({"dlstudio.job_id": job_id} if job_id else {}),
        USER_TAG: user or local_user().name,  # whom the run is for: the job's submitter
        **(tags or {}),  # a search's trial: mlflow.parentRunId and its number
    }
    with mlflow.start_run(experiment_id=experiment_id, tags=tags) as active:
        run_id = active.info.run_id
        mlflow.log_params(flatten_spec(spec))
        mlflow.log_text(dump_spec(spec), "spec.yaml")
        checkpoint = settings.home_dir / "checkpoints" / run_id / "last.pt"
        work_dir = Path(tempfile.mkdtemp(prefix="dlstudio-"))
        try:
            outcome = template.train(
                source.data,
                spec,
                device=device,
                callbacks=[MLflowMetrics(run_id), Checkpoint(checkpoint), *callbacks],
                work_dir=work_dir / "model",
            )
            verdict = Verdict(
                outcome.primary_metric,
                outcome.metrics[outcome.primary_metric],
                outcome.baseline.metrics[outcome.primary_metric],
                outcome.baseline.name,
                outcome.higher_is_better,
            )
            mlflow.set_tags(
                {
                    "dlstudio.baseline": outcome.baseline.name,
                    "dlstudio.verdict": outcome.verdict or str(verdict),
                    "dlstudio.primary_metric": outcome.primary_metric,
                    "dlstudio.higher_is_better": str(outcome.higher_is_better).lower(),
                }
            )
            log_outcome(outcome, task=spec.task)
            predictor = template.load_predictor(outcome.model_dir)
            model_uri = log_model(outcome, predictor, task=spec.task, settings=settings)
        except (TrainingCancelled, KeyboardInterrupt):  # Ctrl-C and ray.cancel stop it too
            mlflow.end_run(status="KILLED")
            raise
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        if keep is not None:
            keep(Trained(run_id, source, outcome, predictor, model_uri))
        registered = (
            _register(spec, source, model_uri, outcome, predictor, settings)
            if spec.tracking.register_as
            else None
        )
        # imported here, after training: imported with this module, a cancelled Ray task left
        # its MLflow run RUNNING (tests/jobs/test_ray_executor.py; the cause is not found yet)
        from dlstudio.explain.model_report import log_report

        log_report(run_id, source, findings=[*findings, *outcome.findings], settings=settings)
    shutil.rmtree(checkpoint.parent, ignore_errors=True)  # the logged model supersedes it
    notes = [
        *source.data.notes,
        *outcome.notes,
        *([outcome.stop_reason] if outcome.stop_reason else []),
    ]
    return RunResult(
        run_id=run_id,
        experiment_id=experiment_id,
        task=spec.task,
        device=device.label,
        metrics={
            **{f"test_{k}": v for k, v in outcome.metrics.items()},
            # every baseline's scores as logged in MLflow (hgb_test_f1_macro, ets_test_mase...)
            **{f"{b.key}_test_{k}": v for b in outcome.baselines for k, v in b.metrics.items()},
        },
        baseline={
            "name": outcome.baseline.name,
            "metrics": {f"test_{k}": v for k, v in outcome.baseline.metrics.items()},
        },
        beats_baseline=verdict.beats_baseline,
        verdict=outcome.verdict or str(verdict),
        model_uri=model_uri,
        registered=registered,
        baselines=[
            {"name": b.name, "metrics": {f"test_{k}": v for k, v in b.metrics.items()}}
            for b in outcome.baselines
        ],
        findings=[f for f in findings if f.level != "error"],
        notes=notes,
        candidates=outcome.json_artifacts.get("candidates.json"),
    )


def register_trained(spec: RunSpec, trained: Trained, result: RunResult,
                     settings: Settings | None = None) -> RunResult:  # fmt: skip
    """Register a finished run's model under ``spec.tracking.register_as``, as if the run had
    been given that name (same promotion policy, decision recorded on the run); the run's
    result with ``registered`` filled in."""
    settings = settings or get_settings()
    configure_tracking(settings)
    with mlflow.start_run(run_id=trained.run_id):
        registered = _register(spec, trained.source, trained.model_uri, trained.outcome,
                               trained.predictor, settings)  # fmt: skip
    return replace(result, registered=registered)


def _register(
    spec: RunSpec, source: DataSource, model_uri: str, outcome, predictor, settings: Settings
) -> dict[str, str]:
    """Register the model; the first version becomes champion, a later one challenger, promoted
    only if it passes the policy (the decision is recorded on the version and the run, with the
    data shift since the champion's training data)."""
    name = spec.tracking.register_as
    log_reference(source.data.frame, seed=spec.training.seed)
    version = register_model(model_uri, name)
    client = MlflowClient()
    owner = mlflow.active_run().data.tags.get(USER_TAG) or local_user().name
    client.set_model_version_tag(name, version, USER_TAG, owner)
    champion = describe_model(name, client).champion
    drift = None
    if champion is not None and champion.version != version:
        target = "label" if source.data.images is not None else spec.data.target
        drift = data_drift(name, champion.version, source.data.frame, target, client)
    if drift is not None:
        mlflow.log_dict(drift.to_json(), "drift.json")
    decision = challenge(name, version, outcome, predictor, promote_if=spec.tracking.promote_if,
                         by=owner, now=datetime.now(UTC), drift=drift, client=client,
                         settings=settings)  # fmt: skip
    mlflow.set_tags({"dlstudio.decision": decision.decision,
                     "dlstudio.decision_reason": decision.reason[:5000]})  # fmt: skip
    mlflow.log_dict(asdict(decision), "promotion.json")
    registered = {"name": name, "version": version, "decision": decision.decision,
                  "reason": decision.reason}  # fmt: skip
    if drift is not None:
        registered["drift"] = drift.summary()
    return registered
