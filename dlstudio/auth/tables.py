"""The users and audit tables, in the project database beside the jobs (SQLAlchemy Core).

The audit table is append-only in the database itself: a trigger refuses every UPDATE and
DELETE on SQLite and on PostgreSQL, so no code path (ours or a mistaken script) rewrites it.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("name", String(128), primary_key=True),  # a login name, or an SSO email
    Column("role", String(16), nullable=False),
    Column("password_hash", Text),  # argon2id; None for people who sign in through SSO
    Column("failed_sign_ins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_sign_in", DateTime(timezone=True)),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("who", String(128), nullable=False),  # the user name
    Column("role", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", Text, nullable=False),  # what it was done to: "dataset churn", "job 4f..."
    Column("detail", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # "done" | "refused" | "failed"
    Index("ix_audit_at", "at"),
)

_REFUSE = "the audit trail is append-only"
for statement in ("UPDATE", "DELETE"):
    event.listen(
        audit,
        "after_create",
        DDL(
            f"CREATE TRIGGER audit_no_{statement.lower()} BEFORE {statement} ON audit "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
        ).execute_if(dialect="sqlite"),
    )
event.listen(
    audit,
    "after_create",
    DDL(
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    audit,
    "after_create",
    DDL(
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
    ).execute_if(dialect="postgresql"),
)
