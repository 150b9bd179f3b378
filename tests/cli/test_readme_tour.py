"""The README's command-line tour, as a newcomer runs it: a fresh folder, a fresh home, the
commands copied from the README (only the dlstudio path differs)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
DLSTUDIO = [sys.executable, "-m", "dlstudio"]
QUICK = ["--set", "training.epochs=1"]  # the tour's commands, one epoch: the test stays short


def tour_commands() -> list[list[str]]:
    """The ``.venv/bin/dlstudio ...`` lines of the tour's bash blocks, in order."""
    section = README.read_text().split("## A short tour on the command line")[1].split("\n## ")[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [shlex.split(line)[1:] for line in lines if line.startswith(".venv/bin/dlstudio ")]


def dlstudio(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DLSTUDIO, *args], cwd=folder, capture_output=True, text=True,
                          env=os.environ.copy(), timeout=300)  # fmt: skip


@pytest.fixture
def fresh_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "fresh"
    folder.mkdir()
    return folder


def test_the_tour_starts_with_a_sample_then_profiles_and_trains_it(
    mlflow_home: Path, fresh_folder: Path
) -> None:
    sample, profile, _, train = tour_commands()[:4]
    assert sample[:2] == ["data", "sample"] and profile[:2] == ["data", "profile"]
    assert train[0] == "train" and "--preset" in train

    written = dlstudio(sample, fresh_folder)
    assert written.returncode == 0, written.stderr
    profiled = dlstudio(profile, fresh_folder)
    assert profiled.returncode == 0, profiled.stdout + profiled.stderr
    assert profiled.stdout.rstrip().endswith("ready to train")
    trained = dlstudio([*train, *QUICK, "--json"], fresh_folder)

    assert trained.returncode == 0, trained.stderr
    result = json.loads(trained.stdout)  # nothing but the JSON on stdout
    assert result["task"] == "tabular_classification"
    assert 0.5 < result["metrics"]["test_accuracy"] <= 1.0
    library_lines = [line for line in trained.stderr.splitlines()
                     if re.search(r"\b(INFO|WARNING) mlflow", line) or "Downloading artifacts" in line]  # fmt: skip
    assert library_lines == []


def test_verbose_shows_mlflows_own_log_lines(fresh_folder: Path) -> None:
    # a fresh home: MLflow creates its tables and says so at INFO level
    shown = dlstudio(["models", "list", "--verbose"], fresh_folder)

    assert shown.returncode == 0, shown.stderr
    assert "INFO mlflow" in shown.stderr
