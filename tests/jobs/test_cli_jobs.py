"""`dlstudio submit` and `dlstudio jobs ...` against the real SQLite job store."""

from __future__ import annotations

import json
from pathlib import Path

from dlstudio.cli import main


def submit(capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["submit", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_submit_json_prints_the_job_id_and_queues_it(customers_csv: Path, capsys) -> None:
    code, out, _ = submit(capsys, "--data", str(customers_csv), "--target", "churn", "--json")
    assert code == 0
    job_id = json.loads(out)["job_id"]
    assert main(["jobs", "show", job_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "queued"
    assert shown["spec"]["data"]["target"] == "churn"


def test_invalid_spec_is_refused_and_nothing_is_queued(customers_csv: Path, capsys) -> None:
    code, _, err = submit(capsys, "--data", str(customers_csv), "--set", "training.epoch=3")
    assert code == 2
    assert "did you mean 'epochs'?" in err
    assert main(["jobs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_missing_data_file_is_refused_at_submit(tmp_path: Path, capsys) -> None:
    code, _, err = submit(capsys, "--data", str(tmp_path / "gone.csv"), "--target", "y")
    assert code == 2
    assert "does not exist" in err


def test_cancel_then_wait_reports_the_cancelled_job(customers_csv: Path, capsys) -> None:
    _, out, _ = submit(capsys, "--data", str(customers_csv), "--target", "churn")
    job_id = out.strip()
    assert main(["jobs", "cancel", job_id]) == 0
    assert "cancelled" in capsys.readouterr().err
    assert main(["jobs", "wait", job_id, "--timeout", "5"]) == 1  # finished, but not succeeded


def test_wait_times_out_on_a_queued_job(customers_csv: Path, capsys) -> None:
    _, out, _ = submit(capsys, "--data", str(customers_csv), "--target", "churn")
    assert main(["jobs", "wait", out.strip(), "--timeout", "0.2"]) == 3
    assert "still queued" in capsys.readouterr().err


def test_unreadable_or_untrainable_data_is_refused_at_submit(tmp_path: Path, capsys) -> None:
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"a;b\n\x00\x01\xff garbage\n")
    code, _, err = submit(capsys, "--data", str(garbage), "--target", "b")
    assert code == 2 and "Traceback" not in err
    one_class = tmp_path / "one-class.csv"
    one_class.write_text("x,churn\n" + "".join(f"{i},yes\n" for i in range(50)))
    code, _, err = submit(capsys, "--data", str(one_class), "--target", "churn")
    assert code == 2 and "one" in err.lower()
    assert main(["jobs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing queued
