"""Errors users can act on: each message says what is wrong, where, and how to fix it."""

from __future__ import annotations


class DLStudioError(Exception):
    """Base of all expected dlstudio failures; the CLI prints them without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message if fix is None else f"{message}\nHow to fix: {fix}")


class SpecError(DLStudioError):
    """The RunSpec (YAML, flags or form) is invalid."""

    exit_code = 2


class DataError(DLStudioError):
    """The user's data cannot be read or cannot be trained on as it is."""

    exit_code = 2


class JobError(DLStudioError):
    """A background job could not be submitted, run or changed."""


class UnknownJob(JobError):
    """No job has the id the user gave."""

    exit_code = 2


class UsageError(DLStudioError):
    """A command was asked for something that cannot be done as asked (a name, a file)."""

    exit_code = 2


class SettingsError(DLStudioError):
    """A DLSTUDIO_* environment variable holds a value dlstudio cannot use."""

    exit_code = 2


class NotAllowed(DLStudioError):
    """The signed-in user's role does not allow the action (or the thing is someone else's)."""

    exit_code = 3


class SignInError(DLStudioError):
    """A sign-in failed: unknown user, wrong password, locked account, expired session."""

    exit_code = 3


class DatabaseUnavailable(DLStudioError):
    """A database dlstudio needs (the job store, MLflow's backend store) cannot be reached; the
    message names its host and port, never its password."""
