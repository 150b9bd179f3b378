"""Local accounts: names, roles and argon2id password hashes in the project database.

Passwords are hashed by argon2-cffi (argon2id, its default parameters), never by hand. Five wrong
passwords in a row lock an account for LOCK_MINUTES. Every change and every sign-in, failed or
not, is written to the audit trail in the same transaction as the change itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update

from dlstudio.auth.audit import REFUSED, add_entry
from dlstudio.auth.roles import Action, Role, User
from dlstudio.auth.tables import metadata, users
from dlstudio.database import create_tables
from dlstudio.errors import SignInError, UsageError
from dlstudio.jobs.records import as_utc
from dlstudio.jobs.store import JobStore
from dlstudio.settings import Settings

MAX_FAILURES = 5  # wrong passwords in a row before the account is locked
LOCK_MINUTES = 15
MIN_PASSWORD = 10
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
_HASHER = PasswordHasher()
_DECOY = _HASHER.hash("decoy password, never anyone's")  # unknown names cost a verify too
WRONG = "Unknown user name or wrong password."


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    has_password: bool
    created_by: str
    created_at: datetime
    last_sign_in: datetime | None
    locked_until: datetime | None


class Accounts:
    """The users of a studio with sign-in on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, metadata)  # once, under a lock on PostgreSQL

    @classmethod
    def from_settings(cls, settings: Settings) -> Accounts:
        return cls(JobStore.from_settings(settings).engine)

    def add(
        self, name: str, role: str, password: str | None, *, by: User, now: datetime
    ) -> Account:
        """A new user; ``password`` None for someone who signs in through SSO only."""
        role = parse_role(role)
        _check_name(name)
        if password is not None:
            check_password(password)
        with self.engine.begin() as connection:
            if _row(connection, name) is not None:
                raise UsageError(
                    f"A user named {name!r} exists already.",
                    fix=f"choose another name, or change the role: dlstudio users set-role "
                    f"{name} {role.value}",
                )
            connection.execute(
                insert(users).values(
                    name=name,
                    role=role.value,
                    created_by=by.name,
                    created_at=now,
                    password_hash=None if password is None else _HASHER.hash(password),
                    failed_sign_ins=0,
                )
            )
            add_entry(connection, by, Action.USERS, f"user {name}", f"added as {role.value}",
                      now=now)  # fmt: skip
        return self.get(name)

    def get(self, name: str) -> Account:
        with self.engine.connect() as connection:
            row = _row(connection, name)
        if row is None:
            raise UsageError(f"No user is named {name!r}.", fix=self._known())
        return _account(row)

    def find(self, name: str) -> Account | None:
        with self.engine.connect() as connection:
            row = _row(connection, name)
        return None if row is None else _account(row)

    def list(self) -> list[Account]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(users).order_by(users.c.name)).mappings().all()
        return [_account(row) for row in rows]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(users)).scalar_one()

    def set_role(self, name: str, role: str, *, by: User, now: datetime) -> Account:
        """Change a role (and lift a lock); the last admin cannot stop being one."""
        role = parse_role(role)
        with self.engine.begin() as connection:
            before = self._existing(connection, name)
            if before["role"] == Role.ADMIN and role != Role.ADMIN:
                _keep_an_admin(connection, name, "take the admin role from")
            connection.execute(
                update(users).where(users.c.name == name)
                .values(role=role.value, failed_sign_ins=0, locked_until=None)
            )  # fmt: skip
            add_entry(connection, by, Action.USERS, f"user {name}",
                      f"role {before['role']} -> {role.value}", now=now)  # fmt: skip
        return self.get(name)

    def remove(self, name: str, *, by: User, now: datetime) -> None:
        with self.engine.begin() as connection:
            before = self._existing(connection, name)
            if before["role"] == Role.ADMIN:
                _keep_an_admin(connection, name, "remove")
            connection.execute(delete(users).where(users.c.name == name))
            add_entry(connection, by, Action.USERS, f"user {name}",
                      f"removed (was {before['role']})", now=now)  # fmt: skip

    def set_password(self, name: str, password: str, *, by: User, now: datetime) -> None:
        check_password(password)
        with self.engine.begin() as connection:
            self._existing(connection, name)
            connection.execute(
                update(users).where(users.c.name == name).values(
                    password_hash=_HASHER.hash(password), failed_sign_ins=0, locked_until=None
                )
            )  # fmt: skip
            add_entry(connection, by, Action.USERS, f"user {name}", "password set", now=now)

    def sign_in(self, name: str, password: str, *, now: datetime) -> User:
        """The user whose name and password these are, or :class:`SignInError`; each attempt is
        audited, and the MAX_FAILURES-th wrong password in a row locks the account."""
        with self.engine.begin() as connection:
            row = _row(connection, name)
            stored = row["password_hash"] if row is not None else None
            matches = _verify(stored or _DECOY, password) and stored is not None
            locked = row is not None and row["locked_until"] is not None and (
                as_utc(row["locked_until"]) > now
            )  # fmt: skip
            if row is not None and matches and not locked:
                connection.execute(
                    update(users).where(users.c.name == name)
                    .values(failed_sign_ins=0, locked_until=None, last_sign_in=now)
                )  # fmt: skip
                user = User(name, Role(row["role"]))
                add_entry(connection, user, Action.SIGN_IN, f"user {name}", "password", now=now)
                return user
            anyone = User(name[:128] or "(empty)", Role.VIEWER)
            if locked:
                until = as_utc(row["locked_until"])
                add_entry(connection, anyone, Action.SIGN_IN_FAILED, f"user {name}",
                          "account locked", outcome=REFUSED, now=now)  # fmt: skip
                error = _locked(name, until)
            else:
                detail = "unknown user" if row is None else "wrong password"
                if row is not None:
                    failures = row["failed_sign_ins"] + 1
                    values = {"failed_sign_ins": failures}
                    if failures >= MAX_FAILURES:
                        values = {"failed_sign_ins": 0,
                                  "locked_until": now + timedelta(minutes=LOCK_MINUTES)}  # fmt: skip
                        detail += f"; locked for {LOCK_MINUTES} minutes"
                    connection.execute(update(users).where(users.c.name == name).values(**values))
                add_entry(connection, anyone, Action.SIGN_IN_FAILED, f"user {name}", detail,
                          outcome=REFUSED, now=now)  # fmt: skip
                error = SignInError(WRONG, fix="check the spelling and Caps Lock; after "
                                    f"{MAX_FAILURES} wrong passwords the account is locked for "
                                    f"{LOCK_MINUTES} minutes")  # fmt: skip
        raise error

    def sso_user(self, email: str, *, default_role: str, now: datetime) -> User:
        """The user an SSO sign-in names: known users keep their role, a first sign-in gets
        ``default_role`` (audited as a user change by the sign-in itself)."""
        with self.engine.begin() as connection:
            row = _row(connection, email)
            if row is None:
                role = parse_role(default_role)
                connection.execute(
                    insert(users).values(name=email, role=role.value, created_by="sso",
                                         created_at=now, failed_sign_ins=0, last_sign_in=now)
                )  # fmt: skip
                user = User(email, role)
                add_entry(connection, user, Action.USERS, f"user {email}",
                          f"first SSO sign-in, added as {role.value}", now=now)  # fmt: skip
            else:
                user = User(email, Role(row["role"]))
                connection.execute(update(users).where(users.c.name == email)
                                   .values(last_sign_in=now))  # fmt: skip
            add_entry(connection, user, Action.SIGN_IN, f"user {email}", "sso", now=now)
        return user

    def _existing(self, connection, name: str):
        row = _row(connection, name)
        if row is None:
            raise UsageError(f"No user is named {name!r}.", fix=self._known())
        return row

    def _known(self) -> str:
        names = [account.name for account in self.list()]
        if not names:
            return "no users exist yet: add one with dlstudio users add NAME --role admin"
        return "users: " + ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")


def parse_role(role: str) -> Role:
    try:
        return Role(str(role).strip().lower())
    except ValueError:
        raise UsageError(
            f"{role!r} is not a role.", fix="use one of " + ", ".join(r.value for r in Role)
        ) from None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(
            f"The password is {len(password)} characters long; at least {MIN_PASSWORD} are needed.",
            fix="choose a longer one (a few unrelated words make a good password)",
        )


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} cannot be a user name.",
            fix="use 1-128 letters, digits and . _ @ + - (starting with a letter or digit), "
            "e.g. ann or ann@example.com",
        )


def _keep_an_admin(connection, name: str, verb: str) -> None:
    admins = connection.execute(
        select(func.count()).select_from(users).where(users.c.role == Role.ADMIN.value)
    ).scalar_one()
    if admins <= 1:
        raise UsageError(
            f"Cannot {verb} {name}: it is the last admin, and nobody could manage users after.",
            fix="make someone else an admin first (dlstudio users set-role OTHER admin)",
        )


def _locked(name: str, until: datetime) -> SignInError:
    return SignInError(
        f"The account {name!r} is locked after {MAX_FAILURES} wrong passwords, until "
        f"{until.astimezone(UTC):%H:%M} UTC.",
        fix=f"try again after that, or ask an admin to unlock it (dlstudio users set-role "
        f"{name} ROLE lifts the lock)",
    )


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _row(connection, name: str):
    return connection.execute(select(users).where(users.c.name == name)).mappings().first()


def _account(row) -> Account:
    locked = row["locked_until"]
    return Account(
        name=row["name"], role=Role(row["role"]), has_password=row["password_hash"] is not None,
        created_by=row["created_by"], created_at=as_utc(row["created_at"]),
        last_sign_in=as_utc(row["last_sign_in"]) if row["last_sign_in"] else None,
        locked_until=as_utc(locked) if locked else None,
    )  # fmt: skip
