"""The audit trail: who did what, when, to what, and whether it was done or refused.

Every state-changing action of the dashboard and the CLI records one entry, whether sign-in is
on or off (off, the entry names the shell account). Entries are only ever added (the table's
triggers refuse changes); the Audit page and ``dlstudio audit`` read them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from dlstudio.auth.roles import Action, User
from dlstudio.auth.tables import audit, metadata
from dlstudio.database import create_tables
from dlstudio.jobs.records import as_utc
from dlstudio.jobs.store import JobStore
from dlstudio.settings import Settings

DONE, REFUSED, FAILED = "done", "refused", "failed"
_TEXT_LIMIT = 2000  # a detail is a sentence, not a file


@dataclass(frozen=True)
class Entry:
    at: datetime
    who: str
    role: str
    action: str
    target: str
    detail: str
    outcome: str


class AuditTrail:
    """Append and read audit entries in the project database (the job store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, metadata)  # once, under a lock on PostgreSQL

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditTrail:
        return cls(JobStore.from_settings(settings).engine)

    def record(
        self,
        user: User,
        action: Action,
        target: str,
        detail: str = "",
        *,
        outcome: str = DONE,
        now: datetime | None = None,
    ) -> None:
        """Add one entry (one short transaction)."""
        with self.engine.begin() as connection:
            add_entry(connection, user, action, target, detail, outcome=outcome, now=now)

    def entries(
        self,
        *,
        since: datetime | None = None,
        who: str | None = None,
        action: str | None = None,
        limit: int = 10_000,
    ) -> list[Entry]:
        """Entries newest first, filtered by time, user and action."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(audit.c.at >= since)
        if who:
            query = query.where(audit.c.who == who)
        if action:
            query = query.where(audit.c.action == action)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            Entry(
                at=as_utc(row["at"]),
                who=row["who"],
                role=row["role"],
                action=row["action"],
                target=row["target"],
                detail=row["detail"],
                outcome=row["outcome"],
            )
            for row in rows
        ]


def add_entry(
    connection, user: User, action: Action, target: str, detail: str = "", *,
    outcome: str = DONE, now: datetime | None = None,
) -> None:  # fmt: skip
    """Add one entry inside the caller's transaction (a user change and its entry commit
    together, or neither)."""
    connection.execute(
        insert(audit).values(
            at=now or datetime.now(UTC),
            who=user.name,
            role=user.role.value,
            action=Action(action).value,
            target=target[:_TEXT_LIMIT],
            detail=detail[:_TEXT_LIMIT],
            outcome=outcome,
        )
    )


def as_csv(entries: list[Entry]) -> str:
    """The entries as CSV, one row each, times in UTC ISO 8601. Cells that a spreadsheet would
    read as a formula are quoted with a leading apostrophe (CSV injection)."""
    buffer = io.StringIO()
    fields = list(Entry.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for entry in entries:
        row = asdict(entry)
        row["at"] = entry.at.isoformat()
        writer.writerow({key: _cell(str(value)) for key, value in row.items()})
    return buffer.getvalue()


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
