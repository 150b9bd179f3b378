"""Plain data for the Schedules page: timetables in words, the schedules and their history as
tables, the spec a new schedule submits, and the registered models' versions. No streamlit here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from mlflow.tracking import MlflowClient

from dlstudio.errors import SpecError
from dlstudio.jobs import Job, JobStatus, JobStore, scheduling
from dlstudio.jobs.scheduling import Schedule, ScheduleRun
from dlstudio.settings import Settings
from dlstudio.spec import TrackingSpec
from dlstudio.tasks import get_template
from dlstudio.tracking import registry
from dlstudio.tracking.registry import Decision, ModelInfo
from dlstudio.tracking.setup import configure_tracking
from dlstudio.views.forms import build_spec

COMMON_TIMEZONES = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Moscow",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Sao_Paulo", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Shanghai",
    "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
)  # fmt: skip
CRON_EXAMPLES = {
    "0 3 * * mon": "every Monday at 03:00",
    "30 2 * * *": "every day at 02:30",
    "0 6 * * 1-5": "weekdays at 06:00",
    "0 4 1 * *": "the 1st of each month at 04:00",
}
CRON_HELP = (
    "Five fields: minute, hour, day of the month, month, day of the week (`*` = any). "
    + "; ".join(f"`{cron}`: {words}" for cron, words in CRON_EXAMPLES.items())
    + ". Times are read in the schedule's time zone."
)
PROMOTE_IF_HELP = TrackingSpec.model_fields["promote_if"].description
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_NUMBERS = {name[:3].lower(): number for number, name in enumerate(DAY_NAMES)}
SCHEDULE_COLUMNS = ["schedule", "model", "when", "cron", "time zone", "next run", "state",
                    "last job"]  # fmt: skip
HISTORY_COLUMNS = ["due", "reason", "job", "state", "decision", "champion", "details"]
VERSION_COLUMNS = ["version", "created", "metric", "test score", "baseline", "aliases",
                   "decision", "reason", "decided by"]  # fmt: skip


def describe_cron(cron: str) -> str | None:
    """A simple timetable in words ("every Monday at 03:00"); None when it is not that simple."""
    fields = cron.split()
    if len(fields) != 5 or fields[3] != "*":
        return None
    minute, hour, day, _month, weekday = fields
    if minute.startswith("*/") and minute[2:].isdigit() and hour == day == weekday == "*":
        return f"every {int(minute[2:])} minutes"
    if minute.isdigit() and hour == day == weekday == "*":
        return f"every hour at minute {int(minute)}"
    if not (minute.isdigit() and hour.isdigit()):
        return None
    at = f"at {int(hour):02d}:{int(minute):02d}"
    if day == weekday == "*":
        return f"every day {at}"
    if day.isdigit() and weekday == "*":
        return f"the {_ordinal(int(day))} of each month {at}"
    days = _weekdays(weekday) if day == "*" else None
    return f"{days} {at}" if days else None


def local_time(moment: datetime | None, timezone: str) -> str:
    """A UTC time as the clock in ``timezone`` shows it, "2026-11-30 03:00"; "-" for none."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if moment else "-"


def upcoming_runs(cron: str, timezone: str, *, now: datetime, count: int = 3) -> list[datetime]:
    """The next ``count`` times of the timetable after ``now``, in its own time zone.

    Raises:
        SpecError: a bad cron expression or time zone (saying how to write one).
    """
    times, after = [], now
    for _ in range(count):
        after = scheduling.next_run(cron, timezone, after)
        times.append(after.astimezone(ZoneInfo(timezone)))
    return times


def schedule_spec(
    task: str,
    *,
    dataset: str,
    roles: dict[str, str | None],
    preset: str,
    model: str,
    promote_if: str = "",
) -> dict:
    """The spec a new schedule submits at each time: the dataset by name only, so every
    retrain reads its latest version, and the model it registers each new version under.

    Raises:
        SpecError: a required column not chosen, no model name, or an invalid option.
    """
    template = get_template(task)
    missing = [
        role.label for role in template.roles if not role.optional and not roles.get(role.key)
    ]
    if missing:
        raise SpecError(f"No column chosen for {missing[0]!r}.", fix="Choose it in the list.")
    if not model.strip():
        raise SpecError(
            "A schedule needs the name of the model it retrains.",
            fix="Give a model name, e.g. the dataset's; Predict finds the champion by it.",
        )
    spec = build_spec(
        task,
        dataset=dataset,
        roles=roles,
        role_paths={role.key: role.spec_path for role in template.roles},
        preset=preset,
        advanced={"tracking.register_as": model.strip(),
                  "tracking.promote_if": promote_if.strip() or None},
    )  # fmt: skip
    return spec.model_dump(mode="json")


def last_jobs(store: JobStore, schedules: Sequence[Schedule]) -> dict[str, Job | None]:
    """Per schedule name: the job of its latest firing, or None when it has not fired yet."""
    found = {}
    for schedule in schedules:
        runs = scheduling.history(store, schedule.name, limit=1)
        found[schedule.name] = runs[0].job if runs else None
    return found


def schedules_table(schedules: Sequence[Schedule], last: dict[str, Job | None]) -> pd.DataFrame:
    """One row per schedule: what it retrains, when (in its time zone), and how it last went."""
    rows = [
        {
            "schedule": s.name, "model": s.model, "when": describe_cron(s.cron) or s.cron,
            "cron": s.cron, "time zone": s.timezone,
            "next run": local_time(s.next_run_at, s.timezone), "state": s.state,
            "last job": job.state.value if (job := last.get(s.name)) else "-",
        }
        for s in schedules
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)


def history_table(
    runs: Sequence[ScheduleRun], decisions: dict[str, dict[str, str]], timezone: str
) -> pd.DataFrame:
    """One row per firing, newest first: when it was due, why it ran, its job, the promotion
    decision with its reason (or the job's error), and whether the champion stayed."""
    rows = []
    for firing in runs:
        job = firing.job
        decision, details, champion = (  # a skipped time ran nothing: its job is the one waited for
            ("skipped", "", "") if firing.skipped
            else _outcome(job, decisions.get(job.mlflow_run_id or ""))
        )  # fmt: skip
        rows.append({"due": local_time(firing.due_at, timezone), "reason": firing.reason,
                     "job": job.id, "state": job.state.value, "decision": decision,
                     "details": details, "champion": champion})  # fmt: skip
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def registered_models(settings: Settings) -> list[ModelInfo]:
    """Every registered model with its versions (newest first), scores and decisions."""
    configure_tracking(settings)
    return registry.list_models(MlflowClient())


def promote_version(
    settings: Settings, name: str, version: str, *, by: str, now: datetime
) -> Decision:
    """Make ``version`` the champion by hand, recorded as such.

    Raises:
        DLStudioError: no such model or version.
    """
    from dlstudio.tracking.promotion import promote  # late: it imports the model loaders

    configure_tracking(settings)
    return promote(name, version, reason="promoted by hand on the dashboard", by=by, now=now,
                   client=MlflowClient())  # fmt: skip


def roll_back(settings: Settings, name: str, *, by: str, now: datetime) -> Decision:
    """Give the champion alias back to the version that held it before.

    Raises:
        DLStudioError: no champion, or no earlier version to return to.
    """
    from dlstudio.tracking.promotion import rollback  # late: it imports the model loaders

    configure_tracking(settings)
    return rollback(name, by=by, now=now, client=MlflowClient())


def versions_table(model: ModelInfo) -> pd.DataFrame:
    """One row per version, newest first: its test score on its primary metric (and the
    baseline's), its aliases, and the last decision about it with the reason."""
    rows = []
    for version in model.versions:
        metric = version.primary_metric or _first_test_metric(version.metrics)
        rows.append({
            "version": version.version, "created": version.created_at.replace("T", " "),
            "metric": metric or "-",
            "test score": version.metrics.get(f"test_{metric}"),
            "baseline": version.metrics.get(f"baseline_test_{metric}"),
            "aliases": ", ".join(version.aliases),
            "decision": version.decision.get("decision", ""),
            "reason": version.decision.get("reason", ""),
            "decided by": version.decision.get("decided_by", ""),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def _outcome(job: Job, decision: dict[str, str] | None) -> tuple[str, str, str]:
    """(decision, details, what became of the champion) for one firing's job."""
    if job.state is JobStatus.FAILED:
        return "-", job.error_message or "failed without a message", "kept (retrain failed)"
    if job.state is JobStatus.CANCELLED:
        return "-", "cancelled", "kept (retrain cancelled)"
    if not job.state.finished:
        waiting = "waiting for a worker" if job.state is JobStatus.QUEUED else "training"
        return "-", waiting, "-"
    if decision is None:
        return "-", "finished; no promotion decision was recorded", "unchanged"
    promoted = decision["decision"] == "promoted"
    return decision["decision"], decision["decision_reason"], "new version" if promoted else "kept"


def _first_test_metric(metrics: dict[str, float]) -> str | None:
    names = sorted(name[5:] for name in metrics if name.startswith("test_"))
    return names[0] if names else None


def _weekdays(field: str) -> str | None:
    """ "mon" -> "every Monday"; "1-5" -> "weekdays"; "mon,thu" -> "every Monday and Thursday"."""
    if field.lower() in ("1-5", "mon-fri"):
        return "weekdays"
    names = []
    for part in field.lower().split(","):
        number = int(part) if part.isdigit() else _DAY_NUMBERS.get(part)
        if number is None or number > 7:
            return None
        names.append(DAY_NAMES[number % 7])  # cron reads 0 and 7 as Sunday
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return f"every {listed}"


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
