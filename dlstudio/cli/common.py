"""What every ``dlstudio`` command shares: its sub-parser with ``--debug`` and ``--verbose``, its
handler, and the libraries' log lines kept out of its output."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator

Handler = Callable[[argparse.Namespace], int]

# Environment defaults that keep MLflow (and the Hugging Face stack, for text) from printing INFO
# and WARNING lines and progress bars into a command's output; a value the user set wins.
QUIET_LIBRARIES = {
    "MLFLOW_LOGGING_LEVEL": "ERROR",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "TRANSFORMERS_VERBOSITY": "error",
}


def add_command(
    commands: argparse._SubParsersAction, name: str, help_text: str, handler: Handler
) -> argparse.ArgumentParser:
    """A sub-command ``name`` that runs ``handler``; returns its parser for the arguments."""
    command = commands.add_parser(name, help=help_text, description=help_text)
    command.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    command.add_argument(
        "--verbose", action="store_true", help="show the libraries' log lines (MLflow INFO ...)"
    )
    # servers (ui, worker, mlflow-ui) set library_logs: their log is the libraries' lines
    command.set_defaults(handler=handler, library_logs=False)
    return command


@contextlib.contextmanager
def quiet_libraries(enabled: bool) -> Iterator[None]:
    """While the command runs (when ``enabled``): library log lines below ERROR stay out.

    Set in the environment, read by MLflow when it is imported (MLflow installs its own stderr
    handler then); a logger imported earlier (tests calling ``main`` in-process) is quietened
    directly. Both are put back afterwards.
    """
    if not enabled:
        yield
        return
    added = {key: value for key, value in QUIET_LIBRARIES.items() if key not in os.environ}
    mlflow_logger = logging.getLogger("mlflow") if "mlflow" in sys.modules else None
    level = mlflow_logger.level if mlflow_logger else logging.NOTSET
    os.environ.update(added)
    if mlflow_logger:
        mlflow_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)
        if mlflow_logger:
            mlflow_logger.setLevel(level)


def acting_name() -> str:
    """Who a command acts as (recorded as its "by"): see :func:`dlstudio.auth.acting_user`."""
    from dlstudio.auth import acting_user
    from dlstudio.settings import get_settings

    return acting_user(get_settings()).name


def audited_command(
    action: str, target: str, *, owner: str | None = None, detail: str = ""
) -> contextlib.AbstractContextManager:
    """The command's change, checked against the acting user's role (with sign-in on) and
    recorded in the audit trail: done, refused or failed."""
    from dlstudio.auth import Action, acting_user, audited
    from dlstudio.settings import get_settings

    settings = get_settings()
    return audited(
        settings, acting_user(settings), Action(action), target, owner=owner, detail=detail
    )
