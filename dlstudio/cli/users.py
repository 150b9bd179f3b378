"""``dlstudio users add|list|remove|set-role|password`` and ``dlstudio audit``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from dlstudio.cli.common import add_command
from dlstudio.errors import UsageError


def add_user_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``users`` and ``audit`` under the top-level parser."""
    group = commands.add_parser("users", help="who may sign in to the dashboard, with which role")
    sub = group.add_subparsers(title="users commands", required=True)
    add = add_command(sub, "add", "add a user (viewer, analyst or admin)", _add)
    add.add_argument("name", help="login name, or the email an SSO sign-in gives")
    add.add_argument("--role", required=True, help="viewer, analyst or admin")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input (else: SSO sign-in only)")  # fmt: skip
    listing = add_command(sub, "list", "users, roles, last sign-in", _list)
    listing.add_argument("--json", action="store_true")
    remove = add_command(sub, "remove", "remove a user", _remove)
    remove.add_argument("name")
    role = add_command(sub, "set-role", "change a user's role (also lifts a lock)", _set_role)
    role.add_argument("name")
    role.add_argument("role", help="viewer, analyst or admin")
    password = add_command(sub, "password", "set a user's password (from stdin)", _password)
    password.add_argument("name")
    audit = add_command(commands, "audit", "who did what, when (admins)", _audit)
    audit.add_argument("--since", help="e.g. 2026-12-01, 2026-12-01T09:00, or 7d / 12h / 30m ago")
    audit.add_argument("--user", help="only this user's entries")
    audit.add_argument("--action", help="only this action, e.g. promote, train, 'sign in failed'")
    audit.add_argument("--limit", type=int, default=1000)
    audit.add_argument("--json", action="store_true")


def _accounts():
    from dlstudio.auth import Accounts
    from dlstudio.settings import get_settings

    return Accounts.from_settings(get_settings())


def _admin():
    """The acting user, who must be an admin; the first user may be added by anyone who can
    reach the database (there is nobody to ask yet)."""
    from dlstudio.auth import Action, AuditTrail, acting_user, refusal
    from dlstudio.auth.audit import REFUSED
    from dlstudio.auth.roles import local_user
    from dlstudio.errors import NotAllowed
    from dlstudio.settings import get_settings

    settings = get_settings()
    if _accounts().count() == 0:
        return local_user()
    user = acting_user(settings)
    reason = refusal(user, Action.USERS)
    if reason:
        AuditTrail.from_settings(settings).record(user, Action.USERS, "users", reason,
                                                  outcome=REFUSED)  # fmt: skip
        raise NotAllowed(reason, fix="ask an admin to change users")
    return user


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password: ")
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UsageError("No password on standard input.",
                         fix="pipe it in: printf '%s\\n' \"$PASSWORD\" | dlstudio users add ...")  # fmt: skip
    return line


def _add(args: argparse.Namespace) -> int:
    from dlstudio.auth.accounts import parse_role
    from dlstudio.jobs.store import utc_now

    parse_role(args.role)  # a bad role is refused before a password is asked for
    by = _admin()
    first = _accounts().count() == 0
    if first and args.role.strip().lower() != "admin":
        raise UsageError("The first user must be an admin (someone has to manage the others).",
                         fix=f"dlstudio users add {args.name} --role admin --password-stdin")  # fmt: skip
    password = _read_password() if args.password_stdin else None
    account = _accounts().add(args.name, args.role, password, by=by, now=utc_now())
    how = "password" if account.has_password else "SSO sign-in only"
    print(f"added {account.name} as {account.role.value} ({how})")
    return 0


def _list(args: argparse.Namespace) -> int:
    accounts = _accounts().list()
    if args.json:
        print(json.dumps([{
            "name": a.name, "role": a.role.value, "password": a.has_password,
            "created_by": a.created_by, "created_at": a.created_at.isoformat(),
            "last_sign_in": a.last_sign_in.isoformat() if a.last_sign_in else None,
            "locked_until": a.locked_until.isoformat() if a.locked_until else None,
        } for a in accounts], indent=2))  # fmt: skip
        return 0
    if not accounts:
        print("No users yet: dlstudio users add NAME --role admin --password-stdin")
    for a in accounts:
        seen = f"{a.last_sign_in:%Y-%m-%d %H:%M} UTC" if a.last_sign_in else "never"
        lock = f", locked until {a.locked_until:%H:%M} UTC" if a.locked_until else ""
        print(f"{a.name:<24} {a.role.value:<8} last sign-in {seen}{lock}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from dlstudio.jobs.store import utc_now

    _accounts().remove(args.name, by=_admin(), now=utc_now())
    print(f"removed {args.name}")
    return 0


def _set_role(args: argparse.Namespace) -> int:
    from dlstudio.jobs.store import utc_now

    account = _accounts().set_role(args.name, args.role, by=_admin(), now=utc_now())
    print(f"{account.name} is now {account.role.value}")
    return 0


def _password(args: argparse.Namespace) -> int:
    from dlstudio.jobs.store import utc_now

    by = _admin()
    _accounts().get(args.name)
    _accounts().set_password(args.name, _read_password(), by=by, now=utc_now())
    print(f"password of {args.name} set")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from dlstudio.auth import Action, AuditTrail, acting_user, audited
    from dlstudio.auth.audit import as_csv
    from dlstudio.settings import get_settings

    settings = get_settings()
    trail = AuditTrail.from_settings(settings)
    with audited(settings, acting_user(settings), Action.READ_AUDIT, "audit trail", trail=trail):
        pass  # reading is recorded too: who looked at the trail
    if args.action and args.action not in {a.value for a in Action}:
        raise UsageError(f"{args.action!r} is not an action.",
                         fix="one of: " + ", ".join(a.value for a in Action))  # fmt: skip
    entries = trail.entries(
        since=parse_since(args.since) if args.since else None, who=args.user,
        action=args.action, limit=args.limit,
    )  # fmt: skip
    if args.json:
        print(json.dumps([{**e.__dict__, "at": e.at.isoformat()} for e in entries], indent=2))
    elif not entries:
        print("No audit entries match.")
    else:
        print(as_csv(entries), end="")
    return 0


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``30m`` ago, or an ISO date/time (UTC unless it says otherwise)."""
    text = text.strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text[-1:] in units and text[:-1].isdigit():
        return (now or datetime.now(UTC)) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r} is not a time.",
                         fix="e.g. --since 2026-12-01, --since 2026-12-01T09:00 or --since 7d") from None  # fmt: skip
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
