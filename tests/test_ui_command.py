"""`dlstudio ui` keeps the dashboard on this machine unless told otherwise, and says so."""

from __future__ import annotations

import subprocess

import pytest

from dlstudio.cli import main


class Exited:
    """A process that has already exited (with code 0 unless a test sets ``code``)."""

    pid = -1
    code = 0

    def poll(self) -> int:
        return self.code

    def wait(self, timeout: float | None = None) -> int:
        return self.code


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command lines `dlstudio ui` starts (Streamlit), not run."""
    calls: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(argv, *args, **kwargs):  # libraries start their own little commands: run those
        if "streamlit" not in argv:
            return real_popen(argv, *args, **kwargs)
        calls.append(argv)
        return Exited()

    monkeypatch.setattr(subprocess, "Popen", popen)
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


def test_a_dashboard_that_stops_at_start_names_the_log_and_prints_no_banner(
    started: list[list[str]], isolated_home, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Exited, "code", 3)

    assert main(["ui", "--no-worker", "--no-mlflow"]) == 3

    out, err = capsys.readouterr()
    assert "dlstudio is running" not in out
    assert f"see {isolated_home / 'logs' / 'ui.log'}" in err
