"""Sign the files of each model this studio trains; check the signature before one is loaded.

Anyone who can write to the MLflow store (its UI and REST API have no login by default) can
register a model and move an alias to it. dlstudio therefore uses only models whose files carry
an HMAC-SHA256 made with a key that never leaves this studio's home folder (or
``DLSTUDIO_MODEL_SIGNING_KEY`` on every machine of a team): a model someone else logged, or
whose files were changed afterwards, fails the check. Written with the standard library's
``hmac`` and ``hashlib``: no kept library does less.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from dlstudio.settings import Settings

SIGNATURE_TAG = "dlstudio.model_signature"  # a run tag: the signature of its model's files
KEY_FILE = "model-signing.key"
_VERSION = "v1"


def sign_model(folder: Path, settings: Settings) -> str:
    """The signature of every file under ``folder`` (names and contents)."""
    digest = hmac.new(signing_key(settings), _files_digest(folder), hashlib.sha256)
    return f"{_VERSION}:{digest.hexdigest()}"


def signature_matches(folder: Path, signature: str | None, settings: Settings) -> bool:
    """Whether ``signature`` is this studio's signature of the files under ``folder``."""
    if not signature or not folder.is_dir():
        return False
    return hmac.compare_digest(sign_model(folder, settings), signature)


def signing_key(settings: Settings) -> bytes:
    """``DLSTUDIO_MODEL_SIGNING_KEY``, else the key file in the home folder (made on first use,
    readable by its owner only)."""
    if settings.model_signing_key is not None:
        return settings.model_signing_key.get_secret_value().encode()
    path = settings.home_dir / KEY_FILE
    if not path.exists():
        _create_key(path)
    return path.read_bytes().strip()


def _create_key(path: Path) -> None:
    """Write a random key atomically: a process starting at the same moment either sees no
    file or the whole key, and the first one written wins."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    handle = os.open(draft, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(handle, "w") as key_file:
        key_file.write(secrets.token_hex(32))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process won; its key is the key
    finally:
        draft.unlink()


def _files_digest(folder: Path) -> bytes:
    """SHA-256 over each file's relative path and content digest, in name order."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        lines.append(f"{path.relative_to(folder).as_posix()}\0{content.hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).digest()
