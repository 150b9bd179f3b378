"""Who may do what: three roles, the actions that change state, and the one check of both.

Pages and CLI commands call :func:`check` right before they act (not only when they draw a
button), so a request forced past a disabled button is refused all the same.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum

from dlstudio.errors import NotAllowed


class Role(StrEnum):
    VIEWER = "viewer"  # sees datasets, jobs, runs and results
    ANALYST = "analyst"  # also uploads, trains, searches, predicts, schedules, cancels own jobs
    ADMIN = "admin"  # also promotes, rolls back, deletes anything, manages users, reads the audit


RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.ADMIN: 2}
USER_TAG = "dlstudio.user"  # on MLflow runs and model versions: whom they were made for


class Action(StrEnum):
    """Everything recorded in the audit trail; the ones with a rule in RULES change state."""

    SIGN_IN = "sign in"
    SIGN_IN_FAILED = "sign in failed"
    SIGN_OUT = "sign out"
    UPLOAD = "upload"
    RENAME = "rename"
    DELETE = "delete"
    TRAIN = "train"
    CANCEL = "cancel"
    PREDICT = "predict"
    EXPORT = "export"
    SCHEDULE = "schedule"
    PROMOTE = "promote"
    ROLLBACK = "roll back"
    THRESHOLD = "threshold"
    TRUST = "trust model"
    USERS = "users"
    READ_AUDIT = "read audit"


@dataclass(frozen=True)
class Rule:
    role: Role  # the least role that may act
    own_only_below: Role | None = None  # roles under this one act only on what they own
    what: str = ""  # "train models": how a refusal names the action


RULES: dict[Action, Rule] = {
    Action.UPLOAD: Rule(Role.ANALYST, what="upload data"),
    Action.RENAME: Rule(Role.ANALYST, Role.ADMIN, "rename datasets"),
    Action.DELETE: Rule(Role.ANALYST, Role.ADMIN, "delete datasets"),
    Action.TRAIN: Rule(Role.ANALYST, what="train models"),
    Action.CANCEL: Rule(Role.ANALYST, Role.ADMIN, "cancel jobs"),
    Action.PREDICT: Rule(Role.ANALYST, what="predict"),
    Action.EXPORT: Rule(Role.ANALYST, what="export models"),
    Action.SCHEDULE: Rule(Role.ANALYST, Role.ADMIN, "change schedules"),
    Action.PROMOTE: Rule(Role.ADMIN, what="promote models"),
    Action.ROLLBACK: Rule(Role.ADMIN, what="roll back models"),
    Action.THRESHOLD: Rule(Role.ADMIN, what="change a model's threshold"),
    Action.TRUST: Rule(Role.ADMIN, what="vouch for models"),
    Action.USERS: Rule(Role.ADMIN, what="manage users"),
    Action.READ_AUDIT: Rule(Role.ADMIN, what="read the audit trail"),
}


@dataclass(frozen=True)
class User:
    """Who acts. ``signed_in`` is False when sign-in is off: the one local person, an admin."""

    name: str
    role: Role
    signed_in: bool = True


def local_user() -> User:
    """The person at this machine when sign-in is off: may do everything, recorded by login."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        name = "local"
    return User(name=name, role=Role.ADMIN, signed_in=False)


def refusal(user: User, action: Action, *, owner: str | None = None) -> str | None:
    """Why ``user`` may not do ``action`` (to something ``owner`` owns); None when allowed."""
    rule = RULES.get(action)
    if rule is None or RANK[user.role] >= RANK[rule.role]:
        if rule is None or rule.own_only_below is None or owner is None or owner == user.name:
            return None
        if RANK[user.role] >= RANK[rule.own_only_below]:
            return None
        return (
            f"{user.name} is {_a(user.role)}: {user.role.value}s may {rule.what} of their own "
            f"only, and this belongs to {owner}."
        )
    return f"{user.name} is {_a(user.role)}: {user.role.value}s cannot {rule.what}."


def check(user: User, action: Action, *, owner: str | None = None) -> None:
    """Raise :class:`NotAllowed` (with whom to ask) unless ``user`` may do ``action``."""
    reason = refusal(user, action, owner=owner)
    if reason is None:
        return
    rule = RULES[action]
    needed = rule.own_only_below if RANK[user.role] >= RANK[rule.role] else rule.role
    raise NotAllowed(
        reason,
        fix=f"ask an admin to do it, or to give you the {needed.value} role "
        f"(dlstudio users set-role {user.name} {needed.value})",
    )


def _a(role: Role) -> str:
    return f"an {role.value}" if role.value[0] in "aeiou" else f"a {role.value}"
