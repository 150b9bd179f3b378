"""Passwords in database URLs: kept out of specs by reference, masked wherever a URL is shown.

A spec, a job row, a schedule, an MLflow param and ``spec.yaml`` are read by everyone who can
open the dashboard, so a URL stored there must not carry a password. Users write a reference
instead, ``postgresql+psycopg://analyst:${SALES_DB_PASSWORD}@db/sales``; the reference is
resolved only at the moment of connecting, from the environment or from a top-level key of
``.streamlit/secrets.toml`` (the app's folder, then ``~/.streamlit``), Streamlit's own place
for secrets.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from dlstudio.errors import SpecError

MASK = "***"
# ${NAME}: the whole password is one reference to a secret (letters, digits, underscores)
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# scheme://user:password@host... ; the password runs to the last '@' before the host part
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^\s]*)@")
APP_DIR = Path(__file__).resolve().parent.parent


def mask_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***`` (references to a
    secret, ``${NAME}``, are kept: they reveal nothing)."""

    def hide(match: re.Match[str]) -> str:
        password = match["password"]
        kept = password if REFERENCE.fullmatch(password) else MASK
        return f"{match['head']}{kept}@"

    return _USERINFO.sub(hide, text)


def literal_password(url: str) -> bool:
    """Whether ``url`` carries a password written out (not a ``${NAME}`` reference)."""
    match = _USERINFO.search(url)
    return bool(match and match["password"] and not REFERENCE.fullmatch(match["password"]))


def check_no_password(url: str, *, field: str) -> None:
    """Refuse a URL that would store a password with a spec.

    Raises:
        ValueError: for pydantic, whose message names ``field`` (without the password).
    """
    if literal_password(url):
        raise ValueError(
            f"{field} holds a password ({mask_url(url)}), which would be stored with the run, "
            "its job and schedules, where every dashboard user can read it. Put the password in "
            "an environment variable or a key of .streamlit/secrets.toml and write its name "
            "instead, e.g. postgresql+psycopg://user:${DB_PASSWORD}@host/db"
        )


def resolve_url(url: str, *, environ: Mapping[str, str] | None = None,
                secret_files: tuple[Path, ...] | None = None) -> str:  # fmt: skip
    """``url`` with each ``${NAME}`` replaced by its secret, URL-quoted; use the result only
    to connect, never to show or store.

    Raises:
        SpecError: a reference names no environment variable and no key of secrets.toml.
    """
    environ = os.environ if environ is None else environ
    names = REFERENCE.findall(url)
    if not names:
        return url
    secrets = _secrets_toml(secret_files if secret_files is not None else _secret_files())
    values = {}
    for name in names:
        value = environ.get(name, secrets.get(name))
        if value is None:
            raise SpecError(
                f"data.database_url refers to the secret ${{{name}}}, which is not set.",
                fix=f"set the environment variable {name} for the app and the worker, or add "
                f'{name} = "..." to .streamlit/secrets.toml',
            )
        values[name] = quote(str(value), safe="")
    return REFERENCE.sub(lambda match: values[match[1]], url)


def _secret_files() -> tuple[Path, ...]:
    return (APP_DIR / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml")


def _secrets_toml(paths: tuple[Path, ...]) -> dict[str, object]:
    """Top-level keys of the secrets files that exist, the first file winning."""
    found: dict[str, object] = {}
    for path in reversed(paths):
        try:
            found |= tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SpecError(
                f"{path} cannot be read ({type(exc).__name__}).",
                fix="fix the TOML syntax of the secrets file (key = \"value\" lines)",
            ) from None
    return found
