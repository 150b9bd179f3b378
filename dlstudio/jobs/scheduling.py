"""Scheduled retraining (DESIGN §7): cron schedules that queue a training job at their times.

The worker's loop calls ``tick(store, now)``. A due schedule is claimed with one conditional
UPDATE of its ``next_run_at`` and its job is queued in the same transaction, so two workers
ticking at once queue one job per due time. The next time is computed from ``now``: runs missed
while no worker was up collapse into one. A due time whose previous job is still queued or
running is skipped (and recorded as such), so a slow retrain never piles up jobs behind it.
Time is always passed in (``now``), never read here.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dlstudio.errors import DLStudioError, SpecError
from dlstudio.jobs.records import as_utc
from dlstudio.jobs.store import Job, JobStatus, JobStore, insert_job
from dlstudio.jobs.tables import jobs, schedule_runs, schedules

ACTIVE, PAUSED = "active", "paused"
SKIPPED = "skipped"  # the reason of a due time not run: "skipped: previous job running"
# a retrain takes minutes and a schedule is a timetable, not a loop: firings closer than this
# would only fill the queue (croniter's sixth field, seconds, would fire every second)
MIN_INTERVAL = timedelta(minutes=5)
CRON_FIX = (
    "Use five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * mon' (Mondays "
    "at 03:00) or '30 6 1 * *' (the 1st of each month, 06:30); at most every 5 minutes."
)


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    cron: str
    timezone: str
    spec: dict[str, Any]
    state: str
    next_run_at: datetime | None
    created_by: str
    created_at: datetime
    last_run_at: datetime | None

    @property
    def model(self) -> str | None:
        """The registered model it retrains."""
        return self.spec.get("tracking", {}).get("register_as")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "cron": self.cron, "timezone": self.timezone, "state": self.state,
            "next_run_at": _iso(self.next_run_at), "last_run_at": _iso(self.last_run_at),
            "model": self.model, "promote_if": self.spec.get("tracking", {}).get("promote_if"),
            "created_by": self.created_by, "spec": self.spec,
        }  # fmt: skip


@dataclass(frozen=True)
class ScheduleRun:
    """One firing of a schedule and what became of its job."""

    due_at: datetime
    submitted_at: datetime
    reason: str
    job: Job  # for a skipped time: the unfinished job it waited for

    @property
    def skipped(self) -> bool:
        """Whether this due time queued nothing because the previous job was unfinished."""
        return self.reason.startswith(SKIPPED)


def next_run(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``cron`` names in ``timezone``, in UTC.
    Weekdays read as cron reads them: 0 and 7 are Sunday, 1 (or mon) is Monday.

    Raises:
        SpecError: a bad time zone, or a cron expression ``check_cron`` refuses.
    """
    zone = _zone(timezone)
    check_cron(cron)
    try:
        local = croniter(cron, after.astimezone(zone)).get_next(datetime)
    except (CroniterBadCronError, CroniterBadDateError, ValueError, KeyError) as exc:
        raise SpecError(f"The cron expression {cron!r} is not valid: {exc}.", fix=CRON_FIX) from None
    return local.astimezone(UTC)


def check_cron(cron: str) -> None:
    """Refuse a cron expression that is not five valid fields, or that fires twice within
    ``MIN_INTERVAL``.

    Raises:
        SpecError: saying which, and how to write one.
    """
    fields = cron.split()
    if len(fields) != 5:
        raise SpecError(
            f"The cron expression {cron!r} is not valid: it has {len(fields)} field"
            f"{'s' * (len(fields) != 1)}, not five.",
            fix=CRON_FIX,
        )
    try:
        minutes, hours = croniter(cron).expanded[:2]
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise SpecError(f"The cron expression {cron!r} is not valid: {exc}.", fix=CRON_FIX) from None
    gap = _shortest_gap(_values(minutes, 60), _values(hours, 24))
    if gap < MIN_INTERVAL:
        raise SpecError(
            f"The cron expression {cron!r} is not valid: two of its times are only "
            f"{gap.seconds // 60} minute(s) apart, and a schedule fires at most every "
            f"{MIN_INTERVAL.seconds // 60} minutes.",
            fix=CRON_FIX,
        )


def _values(field: list[Any], size: int) -> list[int]:
    """The sorted values croniter expanded a field to ('*' is every value below ``size``)."""
    return list(range(size)) if "*" in field else sorted({int(value) for value in field})


def _shortest_gap(minutes: list[int], hours: list[int]) -> timedelta:
    """The shortest time between two firings at these minutes of these hours, as if every day
    fired (so it is never longer than the true one)."""
    gaps = [later - minute for minute, later in pairwise(minutes)]
    # from the last minute of a firing hour to the first of the next (after the last hour of
    # the day comes the first, the next day)
    gaps += [(later - hour) * 60 - minutes[-1] + minutes[0]
             for hour, later in pairwise([*hours, hours[0] + 24])]  # fmt: skip
    return timedelta(minutes=min(gaps))


def add_schedule(
    store: JobStore,
    *,
    name: str,
    cron: str,
    spec: dict[str, Any],
    timezone: str = "UTC",
    created_by: str,
    now: datetime,
) -> Schedule:
    """Create an active schedule for a validated spec (``RunSpec.model_dump(mode="json")``).

    Raises:
        SpecError: a bad cron expression or time zone, a spec that registers no model, or a
            name already taken.
    """
    if not name.strip():
        raise SpecError("A schedule needs a name.", fix="e.g. --name churn-weekly")
    if not spec.get("tracking", {}).get("register_as"):
        raise SpecError(
            "A schedule must register its model, so that each retrain can be compared with the "
            "champion.",
            fix="give --register MODEL (or tracking.register_as in the spec)",
        )
    first = next_run(cron, timezone, now)
    values = {"id": uuid.uuid4().hex[:12], "name": name.strip(), "cron": cron, "timezone": timezone,
              "spec_json": json.dumps(spec), "state": ACTIVE, "next_run_at": first,
              "created_by": created_by, "created_at": now}  # fmt: skip
    try:
        with store.engine.begin() as connection:
            connection.execute(insert(schedules).values(**values))
    except IntegrityError:
        raise SpecError(
            f"A schedule named {name!r} already exists.",
            fix="choose another name, or remove the old one: dlstudio schedule remove NAME",
        ) from None
    return get_schedule(store, name)


def get_schedule(store: JobStore, name: str) -> Schedule:
    """The schedule named ``name``.

    Raises:
        DLStudioError: no such schedule (the message lists the names there are).
    """
    with store.engine.connect() as connection:
        row = (
            connection.execute(select(schedules).where(schedules.c.name == name)).mappings().first()
        )
    if row is None:
        names = [s.name for s in list_schedules(store)]
        raise DLStudioError(
            f"No schedule named {name!r}.",
            fix=f"Schedules: {', '.join(map(repr, names)) if names else 'none yet'}.",
        )
    return _schedule(row)


def list_schedules(store: JobStore) -> list[Schedule]:
    with store.engine.connect() as connection:
        rows = connection.execute(select(schedules).order_by(schedules.c.name)).mappings().all()
    return [_schedule(row) for row in rows]


def pause(store: JobStore, name: str) -> Schedule:
    """Stop a schedule firing (its history stays)."""
    schedule = get_schedule(store, name)
    _set(store, schedule.id, state=PAUSED, next_run_at=None)
    return get_schedule(store, name)


def resume(store: JobStore, name: str, *, now: datetime) -> Schedule:
    """Fire again from the next time after ``now`` (nothing is made up for the pause)."""
    schedule = get_schedule(store, name)
    _set(
        store,
        schedule.id,
        state=ACTIVE,
        next_run_at=next_run(schedule.cron, schedule.timezone, now),
    )
    return get_schedule(store, name)


def remove(store: JobStore, name: str) -> None:
    """Delete a schedule and its history (the jobs and runs it made stay)."""
    schedule = get_schedule(store, name)
    with store.engine.begin() as connection:
        connection.execute(delete(schedule_runs).where(schedule_runs.c.schedule_id == schedule.id))
        connection.execute(delete(schedules).where(schedules.c.id == schedule.id))


def tick(store: JobStore, *, now: datetime) -> list[Job]:
    """Queue a job for every active schedule that is due at ``now``, unless its previous job is
    unfinished (that due time is recorded as skipped); the jobs queued."""
    now = now.astimezone(UTC)  # stored times are UTC
    with store.engine.connect() as connection:
        due = connection.execute(
            select(schedules).where(schedules.c.state == ACTIVE, schedules.c.next_run_at <= now)
        ).mappings().all()  # fmt: skip
    queued = []
    for row in due:
        schedule = _schedule(row)
        try:
            job = _fire(store, schedule, now=now, due_at=schedule.next_run_at, reason="scheduled")
        except SpecError:  # a timetable saved before today's checks: stop it (resume says why)
            _set(store, schedule.id, state=PAUSED, next_run_at=None)
            continue
        if job is not None:
            queued.append(job)
    return queued


def run_now(store: JobStore, name: str, *, now: datetime) -> Job:
    """Queue the schedule's job at once (its regular times stay as they are)."""
    schedule = get_schedule(store, name)
    with store.engine.begin() as connection:
        job_id = _queue(connection, schedule, now=now, due_at=now, reason="run now")
    return store.get(job_id)


def history(store: JobStore, name: str, *, limit: int = 50) -> list[ScheduleRun]:
    """The schedule's firings, newest first, with their jobs."""
    schedule = get_schedule(store, name)
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(schedule_runs).where(schedule_runs.c.schedule_id == schedule.id)
            .order_by(schedule_runs.c.id.desc()).limit(limit)
        ).mappings().all()  # fmt: skip
    return [ScheduleRun(as_utc(r["due_at"]), as_utc(r["submitted_at"]), r["reason"],
                        store.get(r["job_id"])) for r in rows]  # fmt: skip


def _fire(
    store: JobStore, schedule: Schedule, *, now: datetime, due_at: datetime | None, reason: str
) -> Job | None:
    """Claim this due time (only one caller's UPDATE matches it) and queue the job with it, or,
    while the previous job is unfinished, record the time as skipped."""
    following = next_run(schedule.cron, schedule.timezone, now)  # missed times collapse
    with store.engine.begin() as connection:
        claimed = connection.execute(
            update(schedules)
            .where(schedules.c.id == schedule.id, schedules.c.state == ACTIVE,
                   schedules.c.next_run_at == due_at)
            .values(next_run_at=following)
        )  # fmt: skip
        if claimed.rowcount != 1:
            return None  # another worker fired it, or it was paused meanwhile
        unfinished = _unfinished_job(connection, schedule.id)
        if unfinished is not None:
            job_id, state = unfinished
            _record_run(connection, schedule, job_id, due_at=due_at or now, now=now,
                        reason=f"{SKIPPED}: previous job {state}")  # fmt: skip
            return None
        _set_in(connection, schedule.id, last_run_at=now)
        job_id = _queue(connection, schedule, now=now, due_at=due_at or now, reason=reason)
    return store.get(job_id)


def _unfinished_job(connection: Any, schedule_id: str) -> tuple[str, str] | None:
    """The newest job the schedule queued that is still queued or running, and its state."""
    row = connection.execute(
        select(jobs.c.id, jobs.c.state)
        .join_from(schedule_runs, jobs, jobs.c.id == schedule_runs.c.job_id)
        .where(schedule_runs.c.schedule_id == schedule_id,
               jobs.c.state.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
        .order_by(schedule_runs.c.id.desc()).limit(1)
    ).first()  # fmt: skip
    return (row.id, row.state) if row is not None else None


def _queue(
    connection: Any, schedule: Schedule, *, now: datetime, due_at: datetime, reason: str
) -> str:
    job_id = insert_job(
        connection, schedule.spec, submitted_by=f"schedule {schedule.name}", now=now
    )
    _record_run(connection, schedule, job_id, due_at=due_at, now=now, reason=reason)
    return job_id


def _record_run(
    connection: Any, schedule: Schedule, job_id: str, *, due_at: datetime, now: datetime,
    reason: str,
) -> None:  # fmt: skip
    connection.execute(insert(schedule_runs).values(
        schedule_id=schedule.id, due_at=due_at, submitted_at=now, job_id=job_id, reason=reason
    ))  # fmt: skip


def _set(store: JobStore, schedule_id: str, **values: Any) -> None:
    with store.engine.begin() as connection:
        _set_in(connection, schedule_id, **values)


def _set_in(connection: Any, schedule_id: str, **values: Any) -> None:
    connection.execute(update(schedules).where(schedules.c.id == schedule_id).values(**values))


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(
            f"Unknown time zone {timezone!r}.",
            fix="Use a name from the tz database, e.g. UTC, Europe/Paris, America/New_York.",
        ) from None


def _schedule(row: Any) -> Schedule:
    return Schedule(
        id=row["id"], name=row["name"], cron=row["cron"], timezone=row["timezone"],
        spec=json.loads(row["spec_json"]), state=row["state"], next_run_at=as_utc(row["next_run_at"]),
        created_by=row["created_by"], created_at=as_utc(row["created_at"]),
        last_run_at=as_utc(row["last_run_at"]),
    )  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
