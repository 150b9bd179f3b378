"""``dlstudio data``: store, list, profile and remove datasets; train data from the store."""

from __future__ import annotations

import json
from pathlib import Path

from dlstudio.cli import main
from dlstudio.data.sources import load_data
from dlstudio.settings import get_settings
from dlstudio.spec import DataSpec


def test_add_then_list_shows_the_version(customers_csv: Path, capsys) -> None:
    assert main(["data", "add", "customers", str(customers_csv)]) == 0
    stored = capsys.readouterr().out
    assert stored.startswith("stored customers@")
    assert main(["data", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["file"]) for r in rows] == [("customers", "customers.csv")]
    assert stored.split()[1] == f"customers@{rows[0]['version']}"


def test_profile_with_target_reports_balance_and_readiness(customers_csv: Path, capsys) -> None:
    assert main(["data", "profile", str(customers_csv), "--target", "churn"]) == 0
    out = capsys.readouterr().out
    assert "240 rows x 8 columns" in out
    assert "target 'churn':" in out
    assert "'customer_id' is left out" in out
    assert out.rstrip().endswith("ready to train")


def test_profile_with_a_misspelled_target_fails_with_the_suggestion(customers_csv, capsys) -> None:
    assert main(["data", "profile", str(customers_csv), "--target", "Churn", "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    errors = [f for f in report["findings"] if f["level"] == "error"]
    assert "Did you mean 'churn'?" in errors[0]["fix"]


def test_unknown_dataset_names_the_stored_ones(customers_csv: Path, capsys) -> None:
    main(["data", "add", "customers", str(customers_csv)])
    capsys.readouterr()
    assert main(["data", "profile", "custmers"]) == 2
    assert "customers" in capsys.readouterr().err


def test_stored_dataset_feeds_a_run_with_its_version(customers_csv: Path, capsys) -> None:
    main(["data", "add", "customers", str(customers_csv)])
    version = capsys.readouterr().out.split()[1].split("@")[1]
    source = load_data(DataSpec(dataset="customers", target="churn"), get_settings())
    assert (source.name, source.version) == ("customers", version)
    assert len(source.data.frame) == 240


def test_remove_deletes_every_version(customers_csv: Path, capsys) -> None:
    main(["data", "add", "customers", str(customers_csv)])
    assert main(["data", "remove", "customers"]) == 0
    capsys.readouterr()
    main(["data", "list", "--json"])
    assert json.loads(capsys.readouterr().out) == []


def test_profile_of_a_missing_file_says_the_file_is_missing(tmp_path: Path, capsys) -> None:
    assert main(["data", "profile", str(tmp_path / "churn.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_profile_of_a_zip_of_images_counts_classes_and_lists_what_is_left_out(
    tmp_path: Path, capsys
) -> None:
    import io
    import zipfile

    from dlstudio.tasks.images.sample import shapes_zip

    buffer = io.BytesIO(shapes_zip(per_class=12, size=16))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("shapes/circle/notes.txt", b"hello")
    path = tmp_path / "shapes.zip"
    path.write_bytes(buffer.getvalue())

    assert main(["data", "profile", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: 36 images in 3 classes\n  circle: 12\n")
    assert "shapes/circle/notes.txt: not an image file" in out
    assert main(["data", "add", "shapes", str(path)]) == 0
    capsys.readouterr()
    assert main(["data", "profile", "shapes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == {"circle": 12, "square": 12,
                                                              "triangle": 12}  # fmt: skip
