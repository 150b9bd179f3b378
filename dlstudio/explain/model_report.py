"""The model report (issue 20): one self-contained HTML file per run, to hand to a reviewer. It
says who trained the model, when, on which data (name, version, rows) and device; what the
checks found; its test scores against the classical baseline; the charts of the Results page;
what it relies on; whether its probabilities can be trusted; what it is for and its limits; and
the spec that repeats it.

Every run logs it as ``report.html`` when it ends (:func:`log_report`). It reads the run back
from MLflow as the Results page does (``run_details``), so the report shows the figures that
were logged; the runner adds what MLflow does not keep: the data's profile and the checks.
Runs logged before the report get one rendered on demand (:func:`report_for_run`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from dlstudio import __version__
from dlstudio.data.checks import Finding
from dlstudio.data.profile import profile_table
from dlstudio.data.sources import DataSource
from dlstudio.errors import DLStudioError
from dlstudio.evaluation.forecast import coverage_verdict
from dlstudio.explain import report_html as h
from dlstudio.settings import Settings
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.registry import get_template
from dlstudio.tracking.queries import RunDetails, metric_cards, run_details, run_history
from dlstudio.tracking.queries.details import MetricCard
from dlstudio.tracking.queries.runs import get_run
from dlstudio.tracking.setup import configure_tracking
from dlstudio.views.model_choice import metric_name

REPORT_FILE = "report.html"
PROFILE_ROWS = 50_000  # the column profile of a bigger table reads a sample (kinds, gaps)
FEW_TEST_ROWS = 30  # a class with fewer test rows has rough scores
REPEAT = "Train it again with: dlstudio train --spec spec.yaml (this spec, saved as a file)."
NOT_RECORDED = (
    "Runs logged before the model report do not record the {} of their data; see them with "
    "dlstudio data profile DATA --target COLUMN."
)
CORRELATION = (
    "The column importance says what the model relies on, not what causes the outcome: changing "
    "a column in the world need not change the result."
)
FAIRNESS = (
    "It has not been checked for fairness between groups of people. Do not use it alone for "
    "decisions about individuals without such a review."
)
HELD_OUT = (
    "Its scores come from test rows held out from the same data; on data that differ (a new "
    "period, another region or customer group) they may not hold. Compare new data with the "
    "training data before trusting it there, and retrain when it drifts."
)
_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]+")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataSummary:
    """The training data as the report describes it (MLflow keeps only its name and version)."""

    rows: int
    columns: pd.DataFrame  # column, kind, missing %, distinct, examples
    target: str | None
    balance: dict[str, int] | None  # rows per class of the target; None for a quantity
    profiled_rows: int  # fewer than ``rows`` when the profile read a sample
    test_rows: int | None = None  # a separate test file's rows
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportInputs:
    """Everything one report shows."""

    details: RunDetails
    history: pd.DataFrame  # epoch, metric, value
    started: datetime | None
    made: datetime
    data: DataSummary | None = None  # None: not recorded with the run
    findings: tuple[Finding, ...] | None = None  # None: not recorded with the run
    logged: dict[str, bytes] | None = None  # the PNG figures the run logged (not drawn twice)


def summarize_data(data: TrainingData, *, target: str | None) -> DataSummary:
    """Profile the training table (a sample of ``PROFILE_ROWS`` rows when it is bigger); image
    data is profiled as its listing (image, label, split)."""
    frame = data.frame
    if target not in frame.columns:
        target = "label" if data.images is not None else None
    sample = frame.sample(PROFILE_ROWS, random_state=0) if len(frame) > PROFILE_ROWS else frame
    profile = profile_table(sample, target=target)
    columns = profile.to_frame()[["column", "kind", "missing_pct", "distinct", "examples"]]
    return DataSummary(
        rows=len(frame),
        columns=columns.rename(columns={"missing_pct": "missing %"}),
        target=target,
        balance=profile.target_balance,
        profiled_rows=len(sample),
        test_rows=None if data.test_frame is None else len(data.test_frame),
        notes=tuple(data.notes),
    )


def read_inputs(settings: Settings, run_id: str, *, now: datetime) -> ReportInputs:
    """The run as MLflow holds it (without the data profile and checks, which it does not keep).

    Raises:
        UnknownRun: no run has this id.
    """
    details = run_details(settings, run_id)
    start_ms = get_run(MlflowClient(), run_id).info.start_time
    started = datetime.fromtimestamp(start_ms / 1000, UTC) if start_ms else None
    logged = {name: png for name in h.LOGGED_FIGURES if (png := _logged_png(run_id, name))}
    return ReportInputs(details, run_history(settings, run_id), started, now, logged=logged)


def _logged_png(run_id: str, name: str) -> bytes | None:
    """A figure the run logged, or None (an older run, or one that draws no such figure)."""
    from mlflow.exceptions import MlflowException

    try:
        return Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/{name}")).read_bytes()
    except (MlflowException, OSError):
        return None


def log_report(run_id: str, source: DataSource, *, findings: list[Finding],
               settings: Settings) -> None:  # fmt: skip
    """Log ``report.html`` to the active run. A report that fails to render must not fail the
    training it describes: the failure is logged as a warning and the run goes on."""
    try:
        inputs = read_inputs(settings, run_id, now=datetime.now(UTC))
        target = inputs.details.params.get("data.target")
        summary = summarize_data(source.data, target=target)
        report = render_report(replace(inputs, data=summary, findings=tuple(findings)))
        mlflow.log_text(report, REPORT_FILE)
    except Exception:  # the model is logged: a missing report must not undo the run
        log.warning("Could not make the model report of run %s.", run_id, exc_info=True)


def report_for_run(settings: Settings, run_id: str, *, now: datetime | None = None) -> bytes:
    """The run's logged ``report.html``; for a run logged before reports existed, one rendered
    now from what MLflow holds (without the data profile and checks, which it does not keep).

    Raises:
        UnknownRun: no run has this id.
    """
    configure_tracking(settings)
    get_run(MlflowClient(), run_id)  # an unknown run says so
    if REPORT_FILE in {item.path for item in MlflowClient().list_artifacts(run_id)}:
        return mlflow.artifacts.load_text(f"runs:/{run_id}/{REPORT_FILE}").encode("utf-8")
    return render_report(read_inputs(settings, run_id, now=now or datetime.now(UTC))).encode()


def report_file_name(details: RunDetails) -> str:
    """``<run name>-report.html``, with only letters, digits, ``.``, ``_`` and ``-`` kept."""
    name = _UNSAFE_IN_FILE_NAMES.sub("-", details.name or details.run_id).strip(".-")
    return f"{name or details.run_id}-report.html"


def render_report(inputs: ReportInputs) -> str:
    """The whole report as one HTML document."""
    details = inputs.details
    title = f"Model report: {details.name or details.run_id}"
    subtitle = f"{_title(details.task)} on {details.dataset} · run {details.run_id}"
    footer = (
        f"Made by dlstudio {__version__} on {_when(inputs.made)}. This file holds everything it "
        "shows and loads nothing from the network."
    )
    spec = details.spec_yaml or "(not logged)"
    body = [
        f"<h1>{h.esc(title)}</h1>",
        h.paragraph(subtitle, kind="muted"),
        _verdict(details),
        h.section("About this model", h.facts(_about(inputs))),
        _data_section(inputs.data),
        _checks_section(inputs.findings),
        _scores_section(details),
        *h.result_sections(details, inputs.logged or {}),
        h.curves_section(inputs.history, (inputs.logged or {}).get(h.CURVES_PNG)),
        h.section("Intended use and limits", h.bullets(_use_and_limits(inputs))),
        h.section("Spec", h.paragraph(REPEAT, kind="muted"), h.preformatted(spec)),
        h.paragraph(footer, kind="muted"),
    ]
    return h.page(title, [part for part in body if part])


def _title(task: str | None) -> str:
    try:
        return get_template(task or "").title
    except DLStudioError:  # a task of a later version, or an untagged run
        return task or "unknown task"


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _verdict(details: RunDetails) -> str:
    if not details.verdict:
        return ""
    return h.paragraph(
        details.verdict, kind="verdict good" if details.beats_baseline else "verdict bad"
    )


def _about(inputs: ReportInputs) -> list[tuple[str, object]]:
    details, tags = inputs.details, inputs.details.tags
    return [
        ("Task", _title(details.task)),
        ("Dataset", details.dataset),
        ("Data version (fingerprint)", tags.get("dlstudio.dataset_version")),
        ("Rows", _rows(inputs)),
        ("Trained by", tags.get("dlstudio.user") or tags.get("mlflow.user")),  # the job's owner
        ("Job", tags.get("dlstudio.job_id")),
        ("Started", _when(inputs.started)),
        ("Device", tags.get("dlstudio.device")),
        ("Pretrained network", details.backbone),
        ("Decision threshold", _threshold(details)),
        ("Run", details.run_id),
        ("Model", details.model_uri),
        ("Registered as", ", ".join(details.registered) or None),
        ("Registry decision", tags.get("dlstudio.decision_reason")),
    ]


def _threshold(details: RunDetails) -> str | None:
    decision = details.decision
    if decision is None:
        return None
    return (
        f"answers {decision.positive_class} from a probability of {decision.threshold:.3g}, "
        f"tuned for {metric_name(decision.optimize)} on the validation rows"
    )


def _rows(inputs: ReportInputs) -> str | None:
    rows = inputs.data.rows if inputs.data else inputs.details.tags.get("dlstudio.dataset_rows")
    return None if rows is None else f"{int(rows):,}"


def _data_section(data: DataSummary | None) -> str:
    if data is None:
        return h.section("Data", h.paragraph(NOT_RECORDED.format("column profile"), kind="muted"))
    sampled = data.profiled_rows < data.rows
    lines = [
        f"{data.rows:,} rows and {len(data.columns)} columns"
        + (f", profiled on a random sample of {data.profiled_rows:,} rows." if sampled else "."),
        *([f"A separate test file of {data.test_rows:,} rows."] if data.test_rows else []),
        *data.notes,
    ]
    balance = ""
    if data.balance:
        counts = pd.DataFrame(list(data.balance.items()), columns=[data.target, "rows"])
        shares = [f"{share:.1%}" for share in counts["rows"] / counts["rows"].sum()]
        heading = h.paragraph(f"Rows per value of the target {data.target}:")
        balance = heading + h.table(counts.assign(share=shares))
    columns = h.table(data.columns, digits=1, max_rows=200)
    return h.section("Data", h.bullets(lines), columns, balance)


def _checks_section(findings: tuple[Finding, ...] | None) -> str:
    if findings is None:
        return h.section("Data checks", h.paragraph(NOT_RECORDED.format("checks"), kind="muted"))
    if not findings:
        return h.section("Data checks", h.paragraph("The checks before training found nothing."))
    items = "".join(
        f'<li><span class="{h.esc(f.level)}">{h.esc(f.level)}</span>: {h.esc(f)}</li>\n'
        for f in findings
    )
    return h.section("Data checks", f"<ul>\n{items}</ul>")


def _scores_section(details: RunDetails) -> str:
    """Every test score beside the baseline's on the same rows, and which is better."""
    cards = {card.metric: card for card in metric_cards(details)}
    theirs = f"baseline ({details.baseline_name or 'classical model'})"
    rows = [
        {
            "metric": metric_name(metric)
            + (" · primary" if metric == details.primary_metric else ""),
            "ours": ours,
            theirs: details.baseline.get(metric),
            "better": _better(cards.get(metric)),
        }
        for metric, ours in details.metrics.items()
    ]
    direction = "higher" if details.higher_is_better else "lower"
    note = (
        "On the test rows, which played no part in training or choosing. Primary metric: "
        f"{metric_name(details.primary_metric)} ({direction} is better)."
    )
    scores = h.table(pd.DataFrame(rows))
    return h.section(
        "Scores against the classical baseline", h.paragraph(note, kind="muted"), scores
    )


def _better(card: MetricCard | None) -> str:
    if card is None or card.delta is None:
        return ""
    if card.tie:
        return "tie"
    return "ours" if (card.delta > 0) == card.higher_is_better else "baseline"


def _use_and_limits(inputs: ReportInputs) -> list[str]:
    """What the model is for and where its scores stop meaning something."""
    details = inputs.details
    lines = [_intended_use(inputs), HELD_OUT, _baseline_line(details)]
    if details.per_class is not None and len(details.per_class):
        rare = details.per_class.sort_values("support").iloc[0]
        if rare["support"] < FEW_TEST_ROWS:
            lines.append(
                f"The class {rare['class']} has only {rare['support']} test rows: its precision "
                "and recall are rough estimates."
            )
    calibration = details.calibration
    if calibration and calibration["brier"] >= calibration["base_rate"] * (
        1 - calibration["base_rate"]
    ):
        lines.append(
            "Its probabilities are no better than always answering the base rate: do not read "
            "them as chances."
        )
    if "coverage80" in details.metrics:
        lines.append(coverage_verdict(details.metrics["coverage80"])[1])
    if details.backbone:
        lines.append(
            f"It starts from a pretrained network ({details.backbone}): check that its "
            "licence allows your use."
        )
    if details.importance is not None:
        lines.append(CORRELATION)
    lines.append(FAIRNESS)
    return [line for line in lines if line]


def _intended_use(inputs: ReportInputs) -> str:
    details = inputs.details
    try:
        purpose = get_template(details.task or "").description + " "
    except DLStudioError:
        purpose = ""
    rows, version = _rows(inputs), details.tags.get("dlstudio.dataset_version")
    learned = f"{rows} rows of {details.dataset}" if rows else str(details.dataset)
    learned += f" (version {version})" if version else ""
    return (
        f"{purpose}It learned from {learned}; use it on data like that: of the same kind and "
        "meaning, from the same kind of source and period."
    )


def _baseline_line(details: RunDetails) -> str:
    result = details.baseline_result
    if result is None:
        return ""
    metric, baseline = metric_name(details.primary_metric), details.baseline_name
    if result == "wins":
        return f"It beats the classical baseline ({baseline}) on {metric} on the same test rows."
    return (
        f"The classical baseline ({baseline}) does as well or better on {metric}: prefer the "
        "simpler model unless there is another reason for this one."
    )
