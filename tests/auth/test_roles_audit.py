"""The role rules, the audited() guard, and the audit table's refusal of any change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy
from sqlalchemy import create_engine, text

from dlstudio.auth import Action, AuditTrail, Role, User, audited, refusal
from dlstudio.auth.audit import as_csv
from dlstudio.errors import DataError, NotAllowed
from dlstudio.settings import get_settings
from tests.postgres import ON_BOTH_DATABASES

VIEWER, ANALYST, ADMIN = User("vic", Role.VIEWER), User("ann", Role.ANALYST), User("boss", Role.ADMIN)


@pytest.mark.parametrize(
    ("user", "action", "owner", "allowed"),
    [
        (VIEWER, Action.TRAIN, None, False),
        (VIEWER, Action.UPLOAD, None, False),
        (VIEWER, Action.PREDICT, None, False),
        (ANALYST, Action.TRAIN, None, True),
        (ANALYST, Action.PREDICT, None, True),
        (ANALYST, Action.SCHEDULE, None, True),
        (ANALYST, Action.CANCEL, "ann", True),
        (ANALYST, Action.CANCEL, "boss", False),
        (ANALYST, Action.DELETE, "boss", False),
        (ANALYST, Action.PROMOTE, None, False),
        (ANALYST, Action.ROLLBACK, None, False),
        (ANALYST, Action.THRESHOLD, None, False),
        (ANALYST, Action.USERS, None, False),
        (ANALYST, Action.READ_AUDIT, None, False),
        (ADMIN, Action.CANCEL, "ann", True),
        (ADMIN, Action.DELETE, "ann", True),
        (ADMIN, Action.PROMOTE, None, True),
        (ADMIN, Action.USERS, None, True),
        (ADMIN, Action.READ_AUDIT, None, True),
    ],
)
def test_roles_allow_what_the_issue_lists(user, action, owner, allowed) -> None:
    assert (refusal(user, action, owner=owner) is None) is allowed


def test_a_refusal_says_who_what_and_whom_to_ask() -> None:
    assert refusal(VIEWER, Action.TRAIN) == "vic is a viewer: viewers cannot train models."
    assert refusal(ANALYST, Action.CANCEL, owner="boss") == (
        "ann is an analyst: analysts may cancel jobs of their own only, and this belongs to boss."
    )


@ON_BOTH_DATABASES
def test_audited_records_refused_done_and_failed_actions(database: str) -> None:
    settings = get_settings()
    with (
        pytest.raises(NotAllowed) as refused,
        audited(settings, VIEWER, Action.TRAIN, "dataset churn"),
    ):
        raise AssertionError("a refused action must not run")
    assert "ask an admin" in refused.value.fix and "set-role vic analyst" in refused.value.fix
    with audited(settings, ANALYST, Action.TRAIN, "dataset churn") as pending:
        pending.target = "job 1234"
    with (
        pytest.raises(DataError),
        audited(settings, ANALYST, Action.UPLOAD, "dataset x", detail="x.csv"),
    ):
        raise DataError("The file is empty.")
    entries = AuditTrail.from_settings(settings).entries()
    assert [(e.who, e.action, e.target, e.outcome) for e in entries] == [
        ("ann", "upload", "dataset x", "failed"),
        ("ann", "train", "job 1234", "done"),
        ("vic", "train", "dataset churn", "refused"),
    ]
    assert entries[0].detail == "x.csv; The file is empty."


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_audit_table_refuses_updates_and_deletes(kind: str, request, tmp_path) -> None:
    url = (request.getfixturevalue("postgres_url") if kind == "postgresql"
           else f"sqlite:///{tmp_path / 'audit.db'}")  # fmt: skip
    engine = create_engine(url)
    trail = AuditTrail(engine)
    trail.record(ADMIN, Action.PROMOTE, "model churn version 2")
    for statement in ("UPDATE audit SET who = 'someone else'", "DELETE FROM audit"):
        with (
            pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"),
            engine.begin() as connection,
        ):
            connection.execute(text(statement))
    assert [e.who for e in trail.entries()] == ["boss"]


def test_filters_and_csv_that_a_spreadsheet_cannot_run(tmp_path) -> None:
    trail = AuditTrail(create_engine(f"sqlite:///{tmp_path / 'audit.db'}"))
    early = datetime(2026, 12, 1, tzinfo=UTC)
    trail.record(ANALYST, Action.UPLOAD, "dataset =HYPERLINK(\"http://x\")", now=early)
    trail.record(ADMIN, Action.PROMOTE, "model churn version 2")
    assert [e.who for e in trail.entries(who="ann")] == ["ann"]
    assert [e.action for e in trail.entries(since=datetime(2026, 12, 2, tzinfo=UTC))] == [
        "promote"
    ]
    table = as_csv(trail.entries(action="upload"))
    assert table.splitlines()[0] == "at,who,role,action,target,detail,outcome"
    assert "'dataset =HYPERLINK" not in table  # the cell starts with "dataset", not "="
    risky = as_csv([e.__class__(**{**e.__dict__, "target": "=1+1"}) for e in trail.entries()])
    assert ",'=1+1," in risky
