"""``dlstudio schedule add|list|pause|resume|remove|run|history``: retrain on a timetable."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dlstudio.cli.common import acting_name, add_command, audited_command


def add_schedule_commands(commands: argparse._SubParsersAction) -> None:
    """Register the ``schedule`` commands under the top-level parser."""
    schedule = commands.add_parser("schedule", help="retrain a registered model on a timetable")
    sub = schedule.add_subparsers(title="schedule commands", required=True)
    add = add_command(sub, "add", "retrain at cron times; promote only when better", _add)
    add.add_argument("--name", required=True, help="a name for the schedule")
    add.add_argument("--cron", required=True, help="e.g. '0 3 * * mon': Mondays at 03:00")
    add.add_argument("--spec", required=True, help="the run's YAML spec (its data is re-read)")
    add.add_argument("--register", help="model to retrain (tracking.register_as)")
    add.add_argument(
        "--promote-if", help="e.g. 'test_f1_macro>=+0.005'; default: no worse and >= baseline"
    )
    add.add_argument("--timezone", default="UTC", help="time zone of the cron times (UTC)")
    listing = add_command(sub, "list", "schedules, their next times and last jobs", _list)
    listing.add_argument("--json", action="store_true")
    for name, help_text, handler in (
        ("pause", "stop a schedule firing", _pause),
        ("resume", "fire again from the next time", _resume),
        ("remove", "delete a schedule and its history", _remove),
        ("run", "queue the schedule's job now", _run),
        ("history", "past firings, their jobs and decisions", _history),
    ):
        command = add_command(sub, name, help_text, handler)
        command.add_argument("name", help="schedule name")
        if name == "history":
            command.add_argument("--json", action="store_true")


def _store():
    from dlstudio.jobs import JobStore
    from dlstudio.settings import get_settings

    return JobStore.from_settings(get_settings())


def _changing(name: str, detail: str):
    """A change of schedule ``name``: analysts change their own, admins any (audited)."""
    from dlstudio.jobs import scheduling

    owner = scheduling.get_schedule(_store(), name).created_by  # an unknown name is told here
    return audited_command("schedule", f"schedule {name}", owner=owner, detail=detail)


def _add(args: argparse.Namespace) -> int:
    from dlstudio.cli.spec_args import resolve_data_paths
    from dlstudio.jobs import scheduling
    from dlstudio.jobs.store import utc_now
    from dlstudio.spec import parse_spec, read_spec_yaml

    # the worker that fires it runs elsewhere: its files are found from here, now
    raw = resolve_data_paths(read_spec_yaml(args.spec), base=Path.cwd())
    tracking = raw.setdefault("tracking", {})
    if args.register:
        tracking["register_as"] = args.register
    if args.promote_if:
        tracking["promote_if"] = args.promote_if
    spec = parse_spec(raw).model_dump(mode="json")
    with audited_command("schedule", f"schedule {args.name}",
                         detail=f"added: {args.cron} ({args.timezone})"):  # fmt: skip
        schedule = scheduling.add_schedule(_store(), name=args.name, cron=args.cron, spec=spec,
                                           timezone=args.timezone, created_by=acting_name(),
                                           now=utc_now())  # fmt: skip
    print(f"schedule {schedule.name!r} retrains {schedule.model!r}; next run "
          f"{_local(schedule.next_run_at, schedule.timezone)}")  # fmt: skip
    return 0


def _list(args: argparse.Namespace) -> int:
    from dlstudio.jobs import scheduling

    schedules = scheduling.list_schedules(_store())
    if args.json:
        print(json.dumps([s.to_json() for s in schedules], indent=2))
        return 0
    if not schedules:
        print("No schedules yet: dlstudio schedule add --name N --cron '0 3 * * mon' --spec F")
    for s in schedules:
        upcoming = _local(s.next_run_at, s.timezone) if s.next_run_at else "-"
        print(f"{s.name}  [{s.state}]  '{s.cron}' ({s.timezone})  model {s.model}  next {upcoming}")
    return 0


def _pause(args: argparse.Namespace) -> int:
    from dlstudio.jobs import scheduling

    with _changing(args.name, "paused"):
        scheduling.pause(_store(), args.name)
    print(f"schedule {args.name!r} paused")
    return 0


def _resume(args: argparse.Namespace) -> int:
    from dlstudio.jobs import scheduling
    from dlstudio.jobs.store import utc_now

    with _changing(args.name, "resumed"):
        schedule = scheduling.resume(_store(), args.name, now=utc_now())
    print(
        f"schedule {args.name!r} resumed; next run {_local(schedule.next_run_at, schedule.timezone)}"
    )
    return 0


def _remove(args: argparse.Namespace) -> int:
    from dlstudio.jobs import scheduling

    with _changing(args.name, "removed"):
        scheduling.remove(_store(), args.name)
    print(f"schedule {args.name!r} removed")
    return 0


def _run(args: argparse.Namespace) -> int:
    from dlstudio.jobs import scheduling
    from dlstudio.jobs.store import utc_now

    with _changing(args.name, "run now") as done:
        job = scheduling.run_now(_store(), args.name, now=utc_now())
        done.detail += f": job {job.id}"
    print(f"queued job {job.id} (a worker runs it; follow with: dlstudio jobs show {job.id})")
    return 0


def _history(args: argparse.Namespace) -> int:
    from dlstudio.jobs import scheduling
    from dlstudio.settings import get_settings
    from dlstudio.tracking.queries import run_decisions

    runs = scheduling.history(_store(), args.name)
    run_ids = [r.job.mlflow_run_id for r in runs if r.job.mlflow_run_id]
    decisions = run_decisions(get_settings(), run_ids)
    rows = [
        {"due_at": r.due_at.isoformat(), "reason": r.reason, "job": r.job.id,
         "state": r.job.state.value, "error": r.job.error_message,
         **decisions.get(r.job.mlflow_run_id or "", {})}
        for r in runs
    ]  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"schedule {args.name!r} has not fired yet")
    for row in rows:
        outcome = row.get("decision") or row["error"] or ""
        why = f": {row['decision_reason']}" if row.get("decision_reason") else ""
        print(f"{row['due_at']}  {row['reason']}  job {row['job']} {row['state']}  {outcome}{why}")
    return 0


def _local(moment, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(timezone)).strftime(f"%Y-%m-%d %H:%M ({timezone})")
