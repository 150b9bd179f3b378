"""The CLI with sign-in on: whom a command acts as (DLSTUDIO_USER, else the shell login), its
role checked before it changes anything, each change in the audit trail; `dlstudio users` and
`dlstudio audit` with good and bad input."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlstudio.auth import Accounts, AuditTrail, Role, User
from dlstudio.auth.roles import local_user
from dlstudio.cli.entry import main
from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStore
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings

PASSWORD = "correct horse battery"


def users_cli(argv: list[str], password: str | None = None, *, monkeypatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{password}\n" if password else ""))
    return main(["users", *argv])


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign-in on, with boss (admin), ann (analyst) and vic (viewer)."""
    for name, role in (("boss", "admin"), ("ann", "analyst"), ("vic", "viewer")):
        assert users_cli(["add", name, "--role", role, "--password-stdin"], PASSWORD,
                         monkeypatch=monkeypatch) == 0  # fmt: skip
    monkeypatch.setenv("DLSTUDIO_SIGN_IN", "accounts")


def entries() -> list[tuple[str, str, str, str]]:
    return [(e.who, e.action, e.target, e.outcome)
            for e in AuditTrail.from_settings(get_settings()).entries()]  # fmt: skip


def test_a_viewer_cannot_add_data_and_nothing_is_stored(
    team, customers_csv: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DLSTUDIO_USER", "vic")
    assert main(["data", "add", "customers", str(customers_csv)]) == 3
    assert "vic is a viewer: viewers cannot upload data." in capsys.readouterr().err
    assert DatasetStore.default().list_names() == []
    assert entries()[0] == ("vic", "upload", "dataset customers", "refused")


def test_an_analyst_adds_data_as_themselves_and_cancels_only_their_own_jobs(
    team, customers_csv: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DLSTUDIO_USER", "ann")
    assert main(["data", "add", "customers", str(customers_csv)]) == 0
    (version,) = DatasetStore.default().versions("customers")
    assert version.uploaded_by == "ann"
    assert entries()[0] == ("ann", "upload", f"dataset {version.ref}", "done")

    store = JobStore.from_settings(get_settings())
    spec = {"task": "tabular_classification", "data": {"dataset": "customers"}}
    theirs = store.submit(spec, submitted_by="boss", now=utc_now())
    mine = store.submit(spec, submitted_by="ann", now=utc_now())
    assert main(["jobs", "cancel", theirs.id]) == 3
    assert "belongs to boss" in capsys.readouterr().err
    assert store.get(theirs.id).state.value == "queued"
    assert main(["jobs", "cancel", mine.id]) == 0
    assert store.get(mine.id).state.value == "cancelled"
    assert [e[1:] for e in entries()[:2]] == [
        ("cancel", f"job {mine.id}", "done"),
        ("cancel", f"job {theirs.id}", "refused"),
    ]


def test_an_unknown_shell_user_is_told_how_to_say_who_they_are(
    team, customers_csv: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DLSTUDIO_USER", "mallory")
    assert main(["data", "add", "customers", str(customers_csv)]) == 3
    assert DatasetStore.default().list_names() == []
    err = capsys.readouterr().err
    assert "no user is named 'mallory'" in err and "DLSTUDIO_USER" in err


def test_with_sign_in_off_changes_are_recorded_under_the_shell_login(
    customers_csv: Path,
) -> None:
    assert main(["data", "add", "customers", str(customers_csv)]) == 0
    assert main(["data", "remove", "customers"]) == 0
    login = local_user().name
    assert [e[:2] for e in entries()] == [(login, "delete"), (login, "upload")]


def test_users_commands_and_their_refusals(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    run = lambda argv, password=None: users_cli(argv, password, monkeypatch=monkeypatch)  # noqa: E731
    assert run(["add", "ann", "--role", "analyst", "--password-stdin"], PASSWORD) == 2
    assert "The first user must be an admin" in capsys.readouterr().err
    assert run(["add", "boss", "--role", "admin", "--password-stdin"], PASSWORD) == 0
    assert run(["add", "ann", "--role", "boss", "--password-stdin"], PASSWORD) == 2
    assert "'boss' is not a role" in capsys.readouterr().err
    assert run(["add", "ann", "--role", "analyst", "--password-stdin"]) == 2
    assert "No password on standard input" in capsys.readouterr().err
    assert run(["add", "ann", "--role", "analyst", "--password-stdin"], "short") == 2
    assert run(["add", "ann", "--role", "analyst", "--password-stdin"], PASSWORD) == 0
    assert run(["remove", "boss"]) == 2
    assert "last admin" in capsys.readouterr().err
    assert run(["set-role", "ann", "admin"]) == 0
    capsys.readouterr()
    assert run(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["role"], u["password"]) for u in listed] == [
        ("ann", "admin", True), ("boss", "admin", True),
    ]  # fmt: skip
    assert PASSWORD not in json.dumps(listed)

    monkeypatch.setenv("DLSTUDIO_SIGN_IN", "accounts")
    Accounts.from_settings(get_settings()).set_role(
        "ann", "analyst", by=User("boss", Role.ADMIN), now=datetime.now(UTC)
    )
    monkeypatch.setenv("DLSTUDIO_USER", "ann")
    assert run(["add", "eve", "--role", "admin", "--password-stdin"], PASSWORD) == 3
    assert main(["audit"]) == 3
    monkeypatch.setenv("DLSTUDIO_USER", "boss")
    capsys.readouterr()
    assert main(["audit", "--json", "--user", "ann"]) == 0
    logged = json.loads(capsys.readouterr().out)
    assert [(e["action"], e["outcome"]) for e in logged] == [
        ("read audit", "refused"), ("users", "refused"),
    ]  # fmt: skip
    assert main(["audit", "--since", "yesterday"]) == 2
    assert main(["audit", "--action", "fly"]) == 2
