"""Sign-in, roles and the audit trail (no streamlit here: pages and CLI commands call this).

Every state-changing action goes through :func:`audited`: it checks the role (recording a
refusal), lets the action run, and records it as done or failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from dlstudio.auth.accounts import Accounts
from dlstudio.auth.audit import DONE, FAILED, REFUSED, AuditTrail
from dlstudio.auth.roles import Action, Role, User, check, local_user, refusal
from dlstudio.errors import DLStudioError, NotAllowed
from dlstudio.settings import Settings

__all__ = [
    "Accounts", "Action", "AuditTrail", "Role", "User", "acting_user", "audited", "refusal",
]  # fmt: skip


def acting_user(settings: Settings) -> User:
    """Whom a CLI command acts as: with sign-in off the shell account (an admin); with it on,
    the account named by ``DLSTUDIO_USER`` or else the shell's login name, which must exist.

    The CLI runs where the studio's database and files are reachable, so it trusts the shell
    account to say who it is; the dashboard is where people prove it with a password or SSO.
    """
    if settings.sign_in == "off":
        return local_user()
    name = settings.user or local_user().name
    account = Accounts.from_settings(settings).find(name)
    if account is None:
        raise NotAllowed(
            f"Sign-in is on and no user is named {name!r}, so this command cannot say who runs it.",
            fix="set DLSTUDIO_USER to your dlstudio user name, or ask an admin to add you "
            f"(dlstudio users add {name} --role analyst --password-stdin)",
        )
    return User(account.name, account.role)


@dataclass
class Pending:
    """What an audited action did, filled in while it runs (the job id it got, say)."""

    target: str
    detail: str = ""


@contextmanager
def audited(
    settings: Settings, user: User, action: Action, target: str, *,
    owner: str | None = None, detail: str = "", trail: AuditTrail | None = None,
) -> Iterator[Pending]:  # fmt: skip
    """Check that ``user`` may do ``action`` to ``target`` (owned by ``owner``), run the body,
    and record the action: refused (NotAllowed raised), done, or failed (the error re-raised)."""
    trail = trail or AuditTrail.from_settings(settings)
    pending = Pending(target, detail)
    try:
        check(user, action, owner=owner)
    except NotAllowed as exc:
        trail.record(user, action, target, exc.message, outcome=REFUSED, now=_now())
        raise
    try:
        yield pending
    except DLStudioError as exc:
        trail.record(user, action, pending.target, _join(pending.detail, exc.message),
                     outcome=FAILED, now=_now())  # fmt: skip
        raise
    trail.record(user, action, pending.target, pending.detail, outcome=DONE, now=_now())


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def _now() -> datetime:
    return datetime.now(UTC)
