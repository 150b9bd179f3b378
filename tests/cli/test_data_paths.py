"""Paths in ``submit`` flags and YAML specs, and in ``schedule add``, are resolved when the job is
made: the worker runs in another folder and must find the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dlstudio.cli import main
from tests.conftest import make_customers


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder the user works in, holding train.csv and test.csv; the command runs there."""
    folder = tmp_path / "work"
    folder.mkdir()
    frame = make_customers(200)
    frame.iloc[:150].to_csv(folder / "train.csv", index=False)
    frame.iloc[150:].to_csv(folder / "test.csv", index=False)
    monkeypatch.chdir(folder)
    return folder


def queued_specs(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    assert main(["jobs", "list", "--json"]) == 0
    return [job["spec"] for job in json.loads(capsys.readouterr().out)]


def test_submit_stores_absolute_paths_for_relative_flags(workdir: Path, capsys) -> None:
    code = main(["submit", "--data", "train.csv", "--test-data", "./test.csv", "--target", "churn"])

    assert code == 0
    (spec,) = queued_specs(capsys)
    assert spec["data"]["path"] == str(workdir / "train.csv")
    assert spec["data"]["test_path"] == str(workdir / "test.csv")


def test_submit_resolves_a_yaml_specs_paths_like_train_does(workdir: Path, capsys) -> None:
    (workdir / "churn.yaml").write_text(
        yaml.safe_dump({"data": {"path": "train.csv", "target": "churn"}})
    )

    assert main(["submit", "churn.yaml", "--set", "data.test_path=test.csv"]) == 0

    (spec,) = queued_specs(capsys)
    assert spec["data"]["path"] == str(workdir / "train.csv")
    assert spec["data"]["test_path"] == str(workdir / "test.csv")


@pytest.mark.parametrize("flag", ["--data", "--test-data"])
def test_a_missing_file_is_refused_at_submit_and_nothing_is_queued(
    workdir: Path, flag: str, capsys
) -> None:
    extra = ["--data", "train.csv"] if flag == "--test-data" else []

    code = main(["submit", *extra, flag, "gone.csv", "--target", "churn"])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: The data file {str(workdir / 'gone.csv')!r}")
    assert "does not exist" in err and "Traceback" not in err
    assert queued_specs(capsys) == []


def test_schedule_add_stores_the_specs_absolute_path(workdir: Path, capsys) -> None:
    (workdir / "churn.yaml").write_text(
        yaml.safe_dump({"data": {"path": "train.csv", "target": "churn"}})
    )
    add = ["schedule", "add", "--name", "weekly", "--cron", "0 3 * * mon", "--spec", "churn.yaml"]

    assert main([*add, "--register", "churn"]) == 0

    capsys.readouterr()
    assert main(["schedule", "list", "--json"]) == 0
    (schedule,) = json.loads(capsys.readouterr().out)
    assert schedule["spec"]["data"]["path"] == str(workdir / "train.csv")


def test_schedule_add_refuses_a_spec_whose_file_is_missing(workdir: Path, capsys) -> None:
    (workdir / "churn.yaml").write_text(
        yaml.safe_dump({"data": {"path": "old.csv", "target": "churn"}})
    )
    add = ["schedule", "add", "--name", "weekly", "--cron", "0 3 * * mon", "--spec", "churn.yaml"]

    assert main([*add, "--register", "churn"]) == 2

    assert "old.csv" in capsys.readouterr().err
    assert main(["schedule", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
