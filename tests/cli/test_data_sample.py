"""``dlstudio data sample``: every built-in sample can be written to a file and read back."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from dlstudio.cli import main
from dlstudio.tasks.registry import get_template, task_names


@pytest.fixture(autouse=True)
def in_tmp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_a_name_every_template_sample_is_listed_with_its_template(capsys) -> None:
    assert main(["data", "sample"]) == 0

    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line.split()[1] for line in lines}
    expected = {get_template(task).sample().name: f"({task})" for task in task_names()}
    assert listed == expected
    assert main(["data", "sample", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_a_table_sample_is_written_as_csv_named_after_it(tmp_path: Path, capsys) -> None:
    sample = get_template("tabular_classification").sample()

    assert main(["data", "sample", sample.name]) == 0

    written = pd.read_csv(tmp_path / f"{sample.name}.csv")
    assert list(written.columns) == list(sample.frame.columns)
    assert len(written) == len(sample.frame)
    target = sample.roles["target"]
    assert f"dlstudio data profile {sample.name}.csv --target {target}" in capsys.readouterr().err


def test_the_image_sample_is_written_as_its_zip(tmp_path: Path) -> None:
    sample = get_template("image_classification").sample()
    out = tmp_path / "pictures" / "shapes.zip"
    out.parent.mkdir()

    assert main(["data", "sample", sample.name, "--out", str(out)]) == 0

    assert out.read_bytes() == sample.archive
    with zipfile.ZipFile(out) as archive:
        assert len(archive.namelist()) >= len(sample.frame)


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path, capsys) -> None:
    sample = get_template("forecasting").sample()
    out = tmp_path / "sales.csv"
    out.write_text("mine\n")

    assert main(["data", "sample", sample.name, "--out", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
    assert main(["data", "sample", sample.name, "--out", str(out), "--force"]) == 0
    assert len(pd.read_csv(out)) == len(sample.frame)


def test_an_unknown_name_lists_the_names(capsys) -> None:
    assert main(["data", "sample", "sample-churm"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: no sample is called 'sample-churm'")
    assert get_template("text_sentiment").sample().name in err
    assert not list(Path.cwd().glob("*.csv"))  # nothing written


def test_a_file_name_of_the_wrong_kind_is_refused(capsys) -> None:
    sample = get_template("tabular_regression").sample()

    assert main(["data", "sample", sample.name, "--out", "houses.parquet"]) == 2

    assert "--out houses.csv" in capsys.readouterr().err
    assert not Path("houses.parquet").exists()
