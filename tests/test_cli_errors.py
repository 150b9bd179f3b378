"""The CLI with bad input: exit code 2, one ``error:`` message with a fix, no traceback,
and nothing half-written in the MLflow store."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from dlstudio.cli import main
from tests.conftest import make_customers

FAST = ["--preset", "fast", "--set", "training.epochs=1"]


def train(capsys: pytest.CaptureFixture[str], data: Path, *extra: str) -> tuple[int, str, str]:
    """Train on ``data`` (target 'churn' unless ``extra`` says otherwise); code, stdout, stderr."""
    code = main(["train", "--data", str(data), "--target", "churn", *FAST, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def predict(
    capsys: pytest.CaptureFixture[str], model_uri: str, data: Path, output: Path
) -> tuple[int, str, str]:
    """Predict ``data`` with ``model_uri`` into ``output``; code, stdout, stderr."""
    code = main(["predict", "--model", model_uri, "--data", str(data), "--output", str(output)])
    out, err = capsys.readouterr()
    return code, out, err


def error_message(err: str) -> str:
    """The one ``error:`` message on stderr, after checking that no traceback came with it."""
    assert "Traceback" not in err
    assert err.startswith("error: "), err
    return err.removeprefix("error: ")


def stored_runs(home: Path) -> pd.DataFrame:
    """Every run in the home's MLflow store; MLflow stays pointed at that store."""
    mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # set_tracking_uri exports it; the CLI would obey
    return mlflow.search_runs(search_all_experiments=True)


def write_csv(folder: Path, frame: pd.DataFrame, name: str = "customers.csv") -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def customers() -> pd.DataFrame:
    return make_customers(200)


# --- files that cannot be read ---------------------------------------------------------------


def test_empty_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(b"")

    code, _, err = train(capsys, path)

    assert code == 2
    assert error_message(err) == (
        "customers.csv is empty.\nHow to fix: Upload a file with a header row and rows of data.\n"
    )


def test_header_only_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("tenure,plan,churn\n", encoding="utf-8")

    code, _, err = train(capsys, path)

    assert code == 2
    assert error_message(err) == (
        "customers.csv has column names ('tenure', 'plan', 'churn') but no rows of data.\n"
        "How to fix: Add at least one row below the header, or upload the file that has "
        "the data.\n"
    )


def test_binary_file_renamed_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(bytes(range(256)) * 8)

    code, _, err = train(capsys, path)

    assert code == 2
    assert error_message(err) == (
        "customers.csv does not look like a text table (it contains binary data).\n"
        "How to fix: Export the data as CSV (comma-separated text) or Excel .xlsx and "
        "upload that.\n"
    )


def test_real_process_prints_only_the_error(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(b"")

    done = subprocess.run(
        [sys.executable, "-m", "dlstudio", "train", "--data", str(path), "--target", "churn"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert done.returncode == 2
    assert done.stderr == (
        "error: customers.csv is empty.\n"
        "How to fix: Upload a file with a header row and rows of data.\n"
    )


def test_rows_with_another_delimiter_than_the_header(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("tenure;plan;churn\n1,basic,yes\n2,plus,no\n", encoding="utf-8")

    code, _, err = train(capsys, path)

    assert code == 2
    message = error_message(err)
    assert message.startswith("Only one column was found in customers.csv using ',' ")
    assert "the file seems to use ';'" in message
    assert "How to fix: Make every row use ';' between values" in message


def test_duplicate_column_names(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("plan,tenure,plan,churn\nbasic,1,plus,yes\n", encoding="utf-8")

    code, _, err = train(capsys, path)

    assert code == 2
    assert error_message(err) == (
        "Column name 'plan' appears 2 times in customers.csv (columns 1 and 3).\n"
        "How to fix: Rename one of them in the first row so every column has its own name.\n"
    )


def test_file_over_the_size_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLSTUDIO_MAX_UPLOAD_MB", "1")
    path = tmp_path / "customers.csv"
    path.write_bytes(b"tenure,churn\n" + b"12,yes\n" * 225_000)  # ~1.5 MB

    code, _, err = train(capsys, path)

    assert code == 2
    assert error_message(err) == (
        "customers.csv is 1.5 MB, larger than the limit of 1 MB.\n"
        "How to fix: Upload a smaller file (fewer rows or columns), or raise the limit with "
        "the environment variable DLSTUDIO_MAX_UPLOAD_MB.\n"
    )


# --- tables that cannot be trained on --------------------------------------------------------


def test_target_missing_suggests_the_closest_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, customers: pd.DataFrame
) -> None:
    path = write_csv(tmp_path, customers.rename(columns={"churn": "Churn"}))

    code, _, err = train(capsys, path)

    assert code == 2
    assert error_message(err) == (
        "The target column 'churn' is not in the data.\n"
        "How to fix: Did you mean 'Churn'? The columns are: customer_id, tenure, plan, "
        "monthly, paperless, signup, region, Churn.\n"
    )


def test_target_with_one_class(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, customers: pd.DataFrame
) -> None:
    path = write_csv(tmp_path, customers.assign(churn="no"))

    code, _, err = train(capsys, path)

    assert code == 2
    assert error_message(err).startswith(
        "The target column 'churn' has only one class ('no'); a classifier needs at least two."
        "\nHow to fix: Choose another target column"
    )


def test_class_too_rare_to_test(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, customers: pd.DataFrame
) -> None:
    frame = customers.copy()
    frame.loc[:2, "churn"] = "maybe"
    path = write_csv(tmp_path, frame)

    code, _, err = train(capsys, path)

    assert code == 2
    message = error_message(err)
    assert message.startswith("Some classes are too rare to test: 'maybe' (3 rows).")
    assert "How to fix: Add rows of these classes" in message


def test_numeric_target_says_it_looks_like_regression(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, customers: pd.DataFrame
) -> None:
    path = write_csv(tmp_path, customers.assign(churn=np.arange(len(customers)) * 1.5))

    code, _, err = train(capsys, path)

    assert code == 2
    message = error_message(err)
    assert "holds 200 different numbers" in message
    assert "(regression)" in message
    assert "How to fix: To predict the number, use the Tabular regression template" in message
    assert "pick a target with a few categories" in message


# --- bad specs -------------------------------------------------------------------------------


def test_unknown_key_in_spec_file_is_named_with_valid_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, customers_csv: Path
) -> None:
    spec = tmp_path / "run.yaml"
    spec.write_text(f"data:\n  path: {customers_csv}\n  target: churn\ntraining:\n  epoch: 1\n")

    code = main(["train", str(spec)])

    assert code == 2
    assert error_message(capsys.readouterr().err) == (
        "invalid spec:\n"
        "  - training.epoch: unknown key; did you mean 'epochs'? Valid keys here: preset, "
        "epochs, batch_size, learning_rate, seed, early_stopping_patience, device.\n"
    )


def test_bad_value_in_spec_file_lists_the_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, customers_csv: Path
) -> None:
    spec = tmp_path / "run.yaml"
    spec.write_text(
        f"data:\n  path: {customers_csv}\n  target: churn\noptions:\n  class_weight: equal\n"
    )

    code = main(["train", str(spec)])

    assert code == 2
    assert error_message(capsys.readouterr().err) == (
        "invalid spec:\n"
        "  - options.class_weight: 'equal' is not allowed; choose one of 'auto', 'balanced' "
        "or 'none'.\n"
    )


def test_unknown_key_in_set_is_named_with_a_suggestion(
    capsys: pytest.CaptureFixture[str], customers_csv: Path
) -> None:
    code, _, err = train(capsys, customers_csv, "--set", "options.dropuot=0.2")

    assert code == 2
    message = error_message(err)
    assert message.startswith("invalid spec:\n  - options.dropuot: unknown key; did you mean")
    assert "'dropout'" in message


def test_bad_value_in_set_lists_the_options(
    capsys: pytest.CaptureFixture[str], customers_csv: Path
) -> None:
    code, _, err = train(capsys, customers_csv, "--set", "training.device=gpu")

    assert code == 2
    assert error_message(err) == (
        "invalid spec:\n"
        "  - training.device: 'gpu' is not allowed; choose one of 'auto', 'cpu', 'cuda' "
        "or 'mps'.\n"
    )


def test_spec_file_that_does_not_exist_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yaml"

    code = main(["train", str(missing)])

    assert code == 2
    assert error_message(capsys.readouterr().err).startswith(
        f"spec file {str(missing)!r} does not exist"
    )


def test_spec_file_that_does_not_exist_says_how_to_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["train", str(tmp_path / "nope.yaml")])

    assert code == 2
    assert "\nHow to fix: " in error_message(capsys.readouterr().err)


def test_image_task_given_a_table_asks_for_images(
    capsys: pytest.CaptureFixture[str], customers_csv: Path
) -> None:
    code, _, err = train(capsys, customers_csv, "--task", "image_classification")

    assert code == 2
    assert "Image classification needs images, not a table." in error_message(err)
    assert "one folder of images per class" in error_message(err)


def test_table_task_given_images_asks_for_a_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from dlstudio.tasks.images.sample import shapes_zip

    archive = tmp_path / "shapes.zip"
    archive.write_bytes(shapes_zip(per_class=4))
    code, _, err = train(capsys, archive, "--task", "tabular_classification", "--target", "label")

    assert code == 2
    assert "is a ZIP or folder of images, but tabular classification reads a table" in (
        error_message(err)
    )


# --- predict ---------------------------------------------------------------------------------


def test_predict_with_a_model_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], mlflow_home: Path, customers_csv: Path, tmp_path: Path
) -> None:
    output = tmp_path / "predictions.csv"

    code, _, err = predict(capsys, "models:/churn@champion", customers_csv, output)

    assert code != 0
    message = error_message(err)
    assert message.startswith("could not load model 'models:/churn@champion'")
    assert "How to fix: copy the model URI" in message
    assert not output.exists()


def test_predict_to_an_unsupported_extension(
    capsys: pytest.CaptureFixture[str], customers_csv: Path, tmp_path: Path
) -> None:
    output = tmp_path / "predictions.txt"

    code, _, err = predict(capsys, "models:/churn@champion", customers_csv, output)

    assert code == 2
    assert error_message(err) == (
        "cannot write predictions to 'predictions.txt'\n"
        "How to fix: use an output file ending in .csv, .parquet, .pq\n"
    )


# --- warnings that do not stop training (one run shared by the tests below) ------------------


@dataclass(frozen=True)
class WarnedRun:
    """A run that trained despite warnings: its home, its data file and its --json output."""

    home: Path
    data: Path
    payload: dict


@pytest.fixture(scope="module")
def warned_run(
    tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path
) -> Iterator[WarnedRun]:
    """One --json train on a cp1252 file with accents, 6 unlabelled rows and an empty column."""
    home = tmp_path_factory.mktemp("home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    frame = make_customers(200).assign(
        city=np.resize(["Zürich", "München", "Genève"], 200), notes=np.nan
    )
    frame.loc[:5, "churn"] = np.nan
    path = home / "customers.csv"
    frame.to_csv(path, index=False, encoding="cp1252")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["train", "--data", str(path), "--target", "churn", *FAST, "--json"])
    assert code == 0, err.getvalue()
    yield WarnedRun(home, path, json.loads(out.getvalue()))


def test_cp1252_file_trains_and_keeps_its_accents(warned_run: WarnedRun) -> None:
    payload = warned_run.payload

    stored_runs(warned_run.home)  # points MLflow at the run's store
    sample = mlflow.artifacts.load_dict(f"runs:/{payload['run_id']}/sample_predictions.json")

    assert "Read as cp1252 text." in payload["notes"]
    assert {row["city"] for row in sample} == {"Zürich", "München", "Genève"}


def test_unlabelled_rows_are_a_warning_in_the_json_findings(warned_run: WarnedRun) -> None:
    payload = warned_run.payload

    assert {
        "level": "warning",
        "message": "6 row(s) have no value in the target column 'churn'; they will be dropped.",
        "fix": "Fill in the target for those rows if you want them used.",
        "column": "churn",
    } in payload["findings"]


def test_empty_column_is_warned_and_left_out_of_the_model(warned_run: WarnedRun) -> None:
    payload = warned_run.payload

    stored_runs(warned_run.home)
    inputs = mlflow.models.get_model_info(payload["model_uri"]).signature.inputs.input_names()

    assert {
        "level": "warning",
        "message": "Column 'notes' is left out: no values at all.",
        "fix": None,
        "column": "notes",
    } in payload["findings"]
    assert "notes" not in inputs
    assert "city" in inputs


def test_predict_on_the_training_file_writes_every_row(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    warned_run: WarnedRun,
) -> None:
    monkeypatch.setenv("DLSTUDIO_HOME", str(warned_run.home))
    output = tmp_path / "predictions.csv"

    code, _, err = predict(capsys, warned_run.payload["model_uri"], warned_run.data, output)

    predictions = pd.read_csv(output)
    assert code == 0, err
    assert len(predictions) == 200
    assert set(predictions["prediction"]) <= {"yes", "no"}


def test_excel_with_several_sheets_trains_on_the_first_and_names_the_others(
    capsys: pytest.CaptureFixture[str], mlflow_home: Path, tmp_path: Path, customers: pd.DataFrame
) -> None:
    path = tmp_path / "customers.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        customers.to_excel(writer, sheet_name="customers", index=False)
        pd.DataFrame({"total": [200]}).to_excel(writer, sheet_name="summary", index=False)
        pd.DataFrame({"text": ["draft"]}).to_excel(writer, sheet_name="notes", index=False)

    code, out, _ = train(capsys, path, "--json")

    assert code == 0
    assert (
        "Used sheet 'customers'; the file also has sheets 'summary', 'notes' "
        "(choose one with data.sheet)."
    ) in json.loads(out)["notes"]


# --- nothing stored is corrupted -------------------------------------------------------------


def test_failed_train_stores_no_run(
    capsys: pytest.CaptureFixture[str], mlflow_home: Path, tmp_path: Path, customers: pd.DataFrame
) -> None:
    path = write_csv(tmp_path, customers.assign(churn="no"))

    code, _, _ = train(capsys, path)

    assert code == 2
    assert stored_runs(mlflow_home).empty


def test_test_file_without_an_input_column_stores_no_run(
    capsys: pytest.CaptureFixture[str], mlflow_home: Path, tmp_path: Path, customers: pd.DataFrame
) -> None:
    train_path = write_csv(tmp_path, customers.iloc[:150], "train.csv")
    test_path = write_csv(tmp_path, customers.iloc[150:].drop(columns=["tenure"]), "test.csv")

    code, _, _ = train(capsys, train_path, "--test-data", str(test_path))

    assert code == 2
    assert stored_runs(mlflow_home).empty


def test_failed_train_leaves_an_earlier_run_intact(
    capsys: pytest.CaptureFixture[str], mlflow_home: Path, tmp_path: Path, customers: pd.DataFrame
) -> None:
    good = write_csv(tmp_path, customers, "good.csv")
    code, out, _ = train(capsys, good, "--json")
    assert code == 0
    first = json.loads(out)
    bad = write_csv(tmp_path, customers.drop(columns=["churn"]), "bad.csv")

    code, _, _ = train(capsys, bad)

    runs = stored_runs(mlflow_home)
    assert code == 2
    assert runs["run_id"].tolist() == [first["run_id"]]
    assert runs["status"].tolist() == ["FINISHED"]
    assert runs["metrics.test_f1_macro"].tolist() == [first["metrics"]["test_f1_macro"]]
    assert mlflow.models.get_model_info(first["model_uri"]).run_id == first["run_id"]
