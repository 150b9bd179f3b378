"""`dlstudio ui` keeps the dashboard on this machine unless told otherwise, and says so."""

from __future__ import annotations

import subprocess

import pytest

from dlstudio.cli import main


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command lines `dlstudio ui` runs in the foreground (Streamlit), not run."""
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda argv, **_: calls.append(argv) or 0)
    return calls


def test_the_dashboard_listens_on_loopback_by_default(
    started: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ui", "--no-worker", "--no-mlflow"]) == 0

    (streamlit,) = started
    assert streamlit[streamlit.index("--server.address") + 1] == "127.0.0.1"
    assert streamlit[1] == "-P"  # never imports modules from the folder it was started in
    assert "WARNING" not in capsys.readouterr().err


def test_opening_the_dashboard_to_the_network_warns_that_it_has_no_sign_in(
    started: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ui", "--no-worker", "--no-mlflow", "--host", "0.0.0.0"]) == 0

    (streamlit,) = started
    assert streamlit[streamlit.index("--server.address") + 1] == "0.0.0.0"
    warning = capsys.readouterr().err
    assert "listens on 0.0.0.0:8501" in warning
    assert "no sign-in" in warning
