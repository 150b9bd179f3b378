"""Use another decision threshold for a registered two-class table model (issue 20): "use this
threshold" on the Results page's cost tool, or ``dlstudio models threshold``.

The threshold lives in the model's own files, so the change is a new version of the model: the
chosen version's files with the threshold replaced, signed, logged as a run of its own (its test
scores recounted at the new threshold from the run's ``calibration.json``, the baseline's copied:
the same test rows), registered, and made the champion with the change recorded like any
promotion (who, when, from which version and threshold, why). Predict, retraining and
``mlflow models serve models:/NAME@champion`` then all answer at the new threshold, and
``dlstudio models rollback NAME`` gives the champion back to the version before.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

from dlstudio.errors import DLStudioError, UsageError
from dlstudio.evaluation.calibration import CALIBRATION_FILE, THRESHOLDS
from dlstudio.evaluation.metrics import classification_metrics
from dlstudio.nn.persist import MODEL_FILE
from dlstudio.settings import Settings
from dlstudio.tracking.loading import download_model, load_studio_model, pin_version
from dlstudio.tracking.promotion import promote
from dlstudio.tracking.runlog import log_model_dir
from dlstudio.tracking.setup import configure_tracking, register_model
from dlstudio.tracking.signing import SIGNATURE_TAG, sign_model

THRESHOLD_OF_TAG = "dlstudio.threshold_of"  # on the new run: NAME/VERSION whose threshold moved
COPIED_ARTIFACTS = ("importance.json", "spec.yaml")  # threshold-free, shown on Results


@dataclass(frozen=True)
class ThresholdChange:
    """A new champion version that answers the positive class from another threshold."""

    model: str
    source_version: str
    version: str
    previous: float
    threshold: float
    run_id: str


def use_threshold(
    name: str, version: str, threshold: float, *, reason: str, by: str, now: datetime,
    settings: Settings,
) -> ThresholdChange:  # fmt: skip
    """A new version of ``name`` that is version ``version`` deciding at ``threshold``, made
    the champion (see the module's docstring).

    Raises:
        UsageError: ``threshold`` is not one of 0.01, 0.02, ..., 0.99 (the thresholds the
            validation and test rows were counted at).
        DLStudioError: no such model or version, or it is not a two-class table model trained
            with its counts (``calibration.json``); nothing is written then.
    """
    threshold = _checked(threshold)
    configure_tracking(settings)
    client = MlflowClient()
    pinned, run_id = pin_version(f"models:/{name}/{version}", client)
    source_version = pinned.rsplit("/", 1)[-1]
    model = load_studio_model(pinned, settings)  # its signature is checked here
    decision = getattr(model.predictor, "decision", None)
    calibration = _calibration(run_id) if decision is not None else None
    if decision is None or decision.positive is None or calibration is None:
        raise DLStudioError(
            f"{name} version {source_version} does not answer from a threshold: only two-class "
            "table models trained by this version of dlstudio or later can change it.",
            fix="choose a two-class tabular classification model (`dlstudio models list`)",
        )
    source = client.get_run(run_id)
    with tempfile.TemporaryDirectory(prefix="dlstudio-threshold-") as scratch:
        metadata, model_dir = download_model(pinned, Path(scratch))
        _set_threshold(model_dir / MODEL_FILE, threshold)
        with mlflow.start_run(
            experiment_id=source.info.experiment_id,
            run_name=f"{name} v{source_version} at threshold {threshold:.2f}",
        ) as run:
            _log_run(source, calibration, threshold, name, source_version, by, reason)
            mlflow.set_tag(SIGNATURE_TAG, sign_model(model_dir, settings))
            model_uri = log_model_dir(
                model_dir, signature=metadata.signature,
                input_example=metadata.load_input_example(str(model_dir.parents[1])),
                metadata=metadata.metadata or {},
            )  # fmt: skip
            new_version = register_model(model_uri, name)
    said = f"decision threshold {decision.threshold:.2f} -> {threshold:.2f} (from version " \
           f"{source_version})" + (f": {reason}" if reason else "")  # fmt: skip
    promote(name, new_version, reason=said, by=by, now=now, client=client)
    return ThresholdChange(name, source_version, new_version, decision.threshold, threshold,
                           run.info.run_id)  # fmt: skip


def scores_at(counts: dict[str, list[int]], threshold: float) -> dict[str, float]:
    """The threshold-dependent scores (accuracy, F1, precision, recall) at ``threshold`` from
    the true and false positives and negatives counted at each of ``THRESHOLDS``."""
    k = THRESHOLDS.index(threshold)
    tp, fp, fn, tn = (int(counts[key][k]) for key in ("tp", "fp", "fn", "tn"))
    truth = np.repeat([1, 1, 0, 0], [tp, fn, fp, tn])
    answered = np.repeat([1, 0, 1, 0], [tp, fn, fp, tn])
    scores = classification_metrics(truth, np.zeros((len(truth), 2)), n_classes=2,
                                    predicted=answered)  # fmt: skip
    scores.pop("roc_auc", None)  # threshold-free: the source run's stands
    return scores


def _checked(threshold: float) -> float:
    rounded = round(float(threshold), 2)
    if abs(rounded - float(threshold)) > 1e-9 or rounded not in THRESHOLDS:
        raise UsageError(
            f"The threshold must be one of 0.01, 0.02, ..., 0.99; {threshold} is not.",
            fix="give a threshold with two decimals between 0.01 and 0.99, such as 0.35",
        )
    return rounded


def _calibration(run_id: str | None) -> dict | None:
    from mlflow.exceptions import MlflowException

    try:
        report = mlflow.artifacts.load_dict(f"runs:/{run_id}/{CALIBRATION_FILE}")
    except (MlflowException, OSError):
        return None
    return report if "counts" in report else None


def _set_threshold(path: Path, threshold: float) -> None:
    description = json.loads(path.read_text(encoding="utf-8"))
    description["decision"]["threshold"] = threshold
    path.write_text(json.dumps(description, indent=1), encoding="utf-8")


def _log_run(source, calibration: dict, threshold: float, name: str, version: str, by: str,
             reason: str) -> None:  # fmt: skip
    """The new run's tags (the source's, minus its signature), its test scores at the new
    threshold beside the unchanged baseline's, and the artifacts Results reads."""
    tags = {k: v for k, v in source.data.tags.items()
            if k.startswith("dlstudio.") and k != SIGNATURE_TAG}  # fmt: skip
    tags.pop("dlstudio.decision", None), tags.pop("dlstudio.decision_reason", None)
    mlflow.set_tags({**tags, THRESHOLD_OF_TAG: f"{name}/{version}", "dlstudio.user": by})
    mlflow.log_params({"threshold_from": calibration["threshold"], "threshold": threshold,
                       "source_version": version, "reason": reason[:500]})  # fmt: skip
    logged = source.data.metrics
    recounted = scores_at(calibration["counts"]["test"], threshold)
    mlflow.log_metrics({
        **{k: v for k, v in logged.items() if k.startswith("baseline_")},
        **{k: v for k, v in logged.items() if k in ("test_roc_auc", "test_brier")},
        **{f"test_{k}": v for k, v in recounted.items()},
    })  # fmt: skip
    mlflow.log_dict({**calibration, "threshold": threshold}, CALIBRATION_FILE)
    for artifact in COPIED_ARTIFACTS:
        try:
            local = mlflow.artifacts.download_artifacts(f"runs:/{source.info.run_id}/{artifact}")
        except Exception:  # noqa: BLE001 - an older run without it: Results shows less
            continue
        mlflow.log_artifact(local)
