"""Local accounts: argon2id hashes, sign-in, the lock after 5 wrong passwords, the last admin,
and the audit entry each change and each sign-in writes in its own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from dlstudio.auth import Accounts, AuditTrail, Role, User
from dlstudio.auth.accounts import LOCK_MINUTES, MAX_FAILURES, WRONG
from dlstudio.errors import SignInError, UsageError

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ROOT = User("root", Role.ADMIN, signed_in=False)
PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path):
    """The project database on SQLite and on a real PostgreSQL server."""
    if request.param == "postgresql":
        return create_engine(request.getfixturevalue("postgres_url"))
    return create_engine(f"sqlite:///{tmp_path / 'project.db'}")


@pytest.fixture
def accounts(engine) -> Accounts:
    accounts = Accounts(engine)
    accounts.add("boss", "admin", PASSWORD, by=ROOT, now=NOW)
    accounts.add("ann", "analyst", PASSWORD, by=ROOT, now=NOW)
    return accounts


def test_a_password_is_stored_as_an_argon2id_hash_and_signs_in(accounts: Accounts, engine) -> None:
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users WHERE name='ann'"))
        stored = stored.scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    user = accounts.sign_in("ann", PASSWORD, now=NOW)
    assert user == User("ann", Role.ANALYST)
    assert accounts.get("ann").last_sign_in == NOW


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(accounts: Accounts) -> None:
    with pytest.raises(SignInError) as wrong:
        accounts.sign_in("ann", "not the password", now=NOW)
    with pytest.raises(SignInError) as unknown:
        accounts.sign_in("nobody", PASSWORD, now=NOW)
    assert wrong.value.message == unknown.value.message == WRONG
    failed = AuditTrail(accounts.engine).entries(action="sign in failed")
    assert [(e.who, e.detail, e.outcome) for e in failed] == [
        ("nobody", "unknown user", "refused"),
        ("ann", "wrong password", "refused"),
    ]


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
    accounts: Accounts,
) -> None:
    for attempt in range(MAX_FAILURES):
        with pytest.raises(SignInError):
            accounts.sign_in("ann", f"wrong {attempt}", now=NOW)
    with pytest.raises(SignInError, match="locked after 5 wrong passwords"):
        accounts.sign_in("ann", PASSWORD, now=NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=LOCK_MINUTES, seconds=1)
    assert accounts.sign_in("ann", PASSWORD, now=later).name == "ann"  # the lock ran out


def test_an_admin_lifts_a_lock_by_setting_the_role(accounts: Accounts) -> None:
    for attempt in range(MAX_FAILURES):
        with pytest.raises(SignInError):
            accounts.sign_in("ann", f"wrong {attempt}", now=NOW)
    boss = User("boss", Role.ADMIN)
    accounts.set_role("ann", "analyst", by=boss, now=NOW)
    assert accounts.sign_in("ann", PASSWORD, now=NOW).role is Role.ANALYST


def test_the_last_admin_can_be_neither_removed_nor_demoted(accounts: Accounts) -> None:
    boss = User("boss", Role.ADMIN)
    with pytest.raises(UsageError, match="last admin"):
        accounts.remove("boss", by=boss, now=NOW)
    with pytest.raises(UsageError, match="last admin"):
        accounts.set_role("boss", "viewer", by=boss, now=NOW)
    assert accounts.get("boss").role is Role.ADMIN
    accounts.set_role("ann", "admin", by=boss, now=NOW)
    accounts.remove("boss", by=User("ann", Role.ADMIN), now=NOW)  # now there is another
    assert [a.name for a in accounts.list()] == ["ann"]


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("vic", "superuser", PASSWORD, "'superuser' is not a role"),
        ("vic", "viewer", "short", "at least 10"),
        ("ann", "viewer", PASSWORD, "exists already"),
        ("<script>", "viewer", PASSWORD, "cannot be a user name"),
        ("", "viewer", PASSWORD, "cannot be a user name"),
    ],
)
def test_bad_users_are_refused_and_nothing_is_stored(
    accounts: Accounts, name: str, role: str, password: str, message: str
) -> None:
    before = accounts.list()
    with pytest.raises(UsageError, match=message):
        accounts.add(name, role, password, by=ROOT, now=NOW)
    assert accounts.list() == before


def test_unknown_users_are_named_with_those_that_exist(accounts: Accounts) -> None:
    with pytest.raises(UsageError, match="No user is named 'eve'") as error:
        accounts.set_role("eve", "viewer", by=ROOT, now=NOW)
    assert "ann, boss" in error.value.fix


def test_a_first_sso_sign_in_gets_the_default_role_and_keeps_a_given_one(
    accounts: Accounts,
) -> None:
    first = accounts.sso_user("eve@example.com", default_role="viewer", now=NOW)
    assert first == User("eve@example.com", Role.VIEWER)
    accounts.set_role("eve@example.com", "analyst", by=User("boss", Role.ADMIN), now=NOW)
    again = accounts.sso_user("eve@example.com", default_role="viewer", now=NOW)
    assert again.role is Role.ANALYST
    with pytest.raises(SignInError):  # no password: SSO only
        accounts.sign_in("eve@example.com", "", now=NOW)


def test_every_user_change_is_in_the_audit_trail(accounts: Accounts) -> None:
    boss = User("boss", Role.ADMIN)
    accounts.set_role("ann", "viewer", by=boss, now=NOW)
    accounts.remove("ann", by=boss, now=NOW)
    entries = AuditTrail(accounts.engine).entries(action="users")
    assert [(e.who, e.target, e.detail) for e in entries] == [
        ("boss", "user ann", "removed (was viewer)"),
        ("boss", "user ann", "role analyst -> viewer"),
        ("root", "user ann", "added as analyst"),
        ("root", "user boss", "added as admin"),
    ]
