"""Data errors a newcomer makes first (a wrong path, a misspelled target) are reported before
torch and MLflow are imported, with the message the template's checks give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_customers

# runs the command in a fresh interpreter, then says which heavy libraries it imported
PROBE = """
import json, sys
from dlstudio.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "mlflow", "sklearn") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def run_probe(args: list[str], folder: Path) -> tuple[dict, str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=folder, capture_output=True,
                          text=True, env=os.environ.copy(), timeout=120)  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


@pytest.fixture
def customers_csv(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    make_customers(60).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["train", "submit"])
def test_a_misspelled_target_is_told_before_the_heavy_imports(
    command: str, customers_csv: Path, tmp_path: Path
) -> None:
    outcome, err = run_probe([command, "--data", "customers.csv", "--target", "Churn"], tmp_path)

    assert outcome == {"code": 2, "heavy": []}
    assert err == (
        "error: The target column 'Churn' is not in the data.\n"
        "How to fix: Did you mean 'churn'? The columns are: customer_id, tenure, plan, monthly, "
        "paperless, signup, region, churn.\n"
    )


def test_a_missing_file_is_told_before_the_heavy_imports(tmp_path: Path) -> None:
    outcome, err = run_probe(["train", "--data", "churn.csv", "--target", "churn"], tmp_path)

    assert outcome == {"code": 2, "heavy": []}
    assert err.startswith(f"error: The data file {str(tmp_path / 'churn.csv')!r} (data.path) ")


def test_a_file_that_is_not_a_table_is_told_before_the_heavy_imports(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")

    outcome, err = run_probe(["train", "--data", "notes.txt", "--target", "churn"], tmp_path)

    assert outcome == {"code": 2, "heavy": []}
    assert err.startswith("error: ") and "Traceback" not in err
