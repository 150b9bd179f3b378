"""The ``dlstudio`` command: parse, build a RunSpec, hand over. Errors print without traceback."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from dlstudio.cli.common import quiet_libraries
from dlstudio.cli.data import add_data_commands
from dlstudio.cli.jobs import add_job_commands
from dlstudio.cli.models import add_model_commands
from dlstudio.cli.schedules import add_schedule_commands
from dlstudio.cli.train import (
    add_predict_command,
    add_schema_command,
    add_submit_command,
    add_train_command,
)
from dlstudio.cli.ui import add_mlflow_ui_command, add_ui_command
from dlstudio.cli.users import add_user_commands
from dlstudio.errors import DLStudioError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    library_logs = args.verbose or args.debug or args.library_logs
    try:
        with quiet_libraries(not library_logs):
            return args.handler(args)
    except DLStudioError as exc:
        _print_error(str(exc), args)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` & co.: the reader left, nothing is wrong
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw traceback
        _print_error(f"internal error: {type(exc).__name__}: {exc}", args, internal=True)
        return 1


def _print_error(message: str, args: argparse.Namespace, *, internal: bool = False) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc()
    elif internal:
        message += "\n(run again with --debug to see the traceback)"
    print(f"error: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The ``dlstudio`` parser: every command group registers its commands (in help order)."""
    parser = argparse.ArgumentParser(
        prog="dlstudio", description="No-code deep learning: train, track and predict."
    )
    commands = parser.add_subparsers(title="commands")
    add_train_command(commands)
    add_predict_command(commands)
    add_schema_command(commands)
    add_ui_command(commands)
    add_data_commands(commands)
    add_submit_command(commands)
    add_job_commands(commands)
    add_model_commands(commands)
    add_schedule_commands(commands)
    add_mlflow_ui_command(commands)
    add_user_commands(commands)
    return parser
