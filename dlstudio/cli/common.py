"""What every ``dlstudio`` command shares: its sub-parser with ``--debug`` and its handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]


def add_command(
    commands: argparse._SubParsersAction, name: str, help_text: str, handler: Handler
) -> argparse.ArgumentParser:
    """A sub-command ``name`` that runs ``handler``; returns its parser for the arguments."""
    command = commands.add_parser(name, help=help_text, description=help_text)
    command.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    command.set_defaults(handler=handler)
    return command
