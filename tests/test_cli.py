"""The dlstudio command as users start it: a real process, stdout reserved for the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dlstudio.cli import main


def test_train_json_prints_exactly_one_object(
    mlflow_home: Path, customers_csv: Path, tmp_path
) -> None:
    test_csv = tmp_path / "test.csv"
    train_csv = tmp_path / "train.csv"
    rows = customers_csv.read_text().splitlines()
    train_csv.write_text("\n".join(rows[:181]) + "\n")
    test_csv.write_text("\n".join([rows[0], *rows[181:]]) + "\n")
    command = [sys.executable, "-m", "dlstudio", "train", "--task", "tabular_classification",
               "--data", str(train_csv), "--test-data", str(test_csv), "--target", "churn",
               "--preset", "fast", "--set", "training.epochs=2", "--register", "churn", "--json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=300)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # fails if anything but the JSON reached stdout
    assert set(payload) >= {"run_id", "experiment_id", "task", "device", "metrics", "baseline",
                            "beats_baseline", "model_uri", "registered"}  # fmt: skip
    assert payload["registered"] == {"name": "churn", "version": "1", "decision": "promoted",
                                     "reason": "first version of the model"}  # fmt: skip
    assert payload["baseline"] in payload["baselines"]
    assert "test_f1_macro" in payload["baseline"]["metrics"]
    assert "epoch 2/2" in done.stderr  # human progress goes to stderr


def test_schema_prints_the_json_schema(capsys) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "TabularClassificationOptions" in json.dumps(schema)


def test_no_command_prints_help_and_fails(capsys) -> None:
    assert main([]) == 2
    assert "train" in capsys.readouterr().err


def test_mlflow_ui_with_a_team_server_points_there(monkeypatch, capsys) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example.internal:5000")
    assert main(["mlflow-ui"]) == 0
    assert "http://mlflow.example.internal:5000" in capsys.readouterr().err
