"""The image template end to end: run(spec), the MLflow record, the pyfunc, `dlstudio predict`
on a ZIP, and bad input."""

from __future__ import annotations

import base64
import io
import json
import shutil
import zipfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlstudio.cli import main
from dlstudio.data.image_source import ImageSource
from dlstudio.errors import DataError
from dlstudio.predict import load_model, predict_file, predict_frame
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.images.data import choose_size, split_images
from dlstudio.tasks.images.sample import shapes_zip
from dlstudio.training import run
from dlstudio.training.runner import check_run

FAST = {"preset": "fast", "epochs": 2, "batch_size": 16, "seed": 0}


def spec(path: Path, test_path: Path | None = None, *, epochs: int = 2, **options):
    data = {"path": str(path), **({"test_path": str(test_path)} if test_path else {})}
    return parse_spec({"task": "image_classification", "data": data,
                       "training": {**FAST, "epochs": epochs}, "options": options})  # fmt: skip


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path):
    folder = tmp_path_factory.mktemp("images")
    home = folder / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    path = folder / "shapes.zip"
    path.write_bytes(shapes_zip(per_class=30, size=24))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec(path, epochs=8))
        client = mlflow.tracking.MlflowClient()
        artifacts = {a.path for a in client.list_artifacts(result.run_id)}
        mistakes = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/mistakes.json")
        yield result, artifacts, mistakes, load_model(result.model_uri), path, home


def test_run_reports_metrics_against_the_pixel_baseline(image_run) -> None:
    result, artifacts, *_ = image_run
    assert result.task == "image_classification"
    assert result.baseline["name"] == "Logistic regression on pixels"
    assert {"test_accuracy", "test_f1_macro", "pixels_test_f1_macro"} <= set(result.metrics)
    assert {"confusion_matrix.json", "classification_report.json", "mistakes.json",
            "mistakes.png", "learning_curves.png"} <= artifacts  # fmt: skip
    # 18 test images of 3 shapes: a chance-level model would score about 0.33
    assert result.metrics["test_accuracy"] > 0.6
    assert result.notes[0].startswith("Model: small_cnn, 32x32 pixels, colour, augmentation photo")


def test_mistakes_are_the_most_confident_wrong_answers(image_run) -> None:
    *_, mistakes, model, path, _ = image_run
    probabilities = [m["probability"] for m in mistakes]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(m["true"] != m["predicted"] for m in mistakes)
    if mistakes:  # each names an image of the ZIP, which the model still gets wrong
        files = members(path.read_bytes())
        first = mistakes[0]
        out = model.predict(pd.DataFrame({"image": [files[first["image"]]]}))
        assert out["prediction"].iloc[0] == first["predicted"]
        assert out[f"probability_{first['predicted']}"].iloc[0] == pytest.approx(
            first["probability"], abs=1e-3
        )


def test_pyfunc_reads_bytes_paths_and_base64_alike(image_run, tmp_path: Path) -> None:
    *_, model, path, _ = image_run
    data = members(path.read_bytes())["shapes/circle/000.png"]
    file = tmp_path / "one.png"
    file.write_bytes(data)
    frame = pd.DataFrame({"image": [data, str(file), base64.b64encode(data).decode()]})

    out = model.predict(frame)

    assert list(out.columns) == ["prediction", "probability_circle", "probability_square",
                                 "probability_triangle", "problem"]  # fmt: skip
    assert out["problem"].tolist() == ["", "", ""]
    assert out["prediction"].nunique() == 1
    np.testing.assert_allclose(out.iloc[:, 1:4].sum(axis=1), 1.0, atol=1e-5)


def test_pyfunc_names_unreadable_images_and_predicts_the_rest(image_run) -> None:
    *_, model, path, _ = image_run
    good = members(path.read_bytes())["shapes/square/000.png"]
    out = model.predict(pd.DataFrame({"image": [b"not an image", good, "no/such/file.png"]}))

    assert out["problem"].iloc[0].startswith("not a readable image")
    assert "neither an image file's path nor base64" in out["problem"].iloc[2]
    assert out["prediction"].isna().tolist() == [True, False, True]
    assert out["problem"].iloc[1] == ""


def test_pyfunc_without_an_image_column_says_what_it_needs(image_run) -> None:
    *_, model, _, _ = image_run
    with pytest.raises(DataError, match="the model needs: 'image'"):
        predict_frame(model, pd.DataFrame({"photo": [b"x"]}))


def test_predict_on_a_zip_writes_one_row_per_file(image_run, tmp_path: Path) -> None:
    result, *_, path, home = image_run
    files = members(path.read_bytes())
    archive = write_zip(tmp_path / "new.zip", {
        "a.png": files["shapes/circle/001.png"], "more/b.png": files["shapes/square/001.png"],
        "broken.jpg": b"\xff\xd8 truncated", "readme.txt": b"hello",
    })  # fmt: skip
    output = tmp_path / "out" / "predictions.csv"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        rows = predict_file(result.model_uri, archive, output)

    table = pd.read_csv(output, keep_default_na=False)
    assert rows == 4
    assert table["file"].tolist() == ["a.png", "broken.jpg", "more/b.png", "readme.txt"]
    assert table.loc[0, "prediction"] in ("circle", "square", "triangle")
    assert table.loc[1, "prediction"] == "" and "not a readable image" in table.loc[1, "problem"]
    assert "not an image file" in table.loc[3, "problem"]


def test_cli_train_json_returns_metrics_and_baseline(
    mlflow_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "shapes.zip"
    path.write_bytes(shapes_zip(per_class=12, size=16))
    code = main(["train", "--task", "image_classification", "--data", str(path),
                 "--preset", "fast", "--set", "training.epochs=1", "--json"])  # fmt: skip

    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["baseline"]["name"] == "Logistic regression on pixels"
    assert 0 <= out["metrics"]["test_f1_macro"] <= 1
    assert "pixels_test_accuracy" in out["metrics"]


def test_a_folder_on_the_server_trains_like_a_zip(mlflow_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for name, data in members(shapes_zip(per_class=12, size=16)).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)

    result = run(spec(root))

    assert 0 <= result.metrics["test_accuracy"] <= 1
    assert result.notes[0].startswith("Model: small_cnn")


# --- splits and sizes --------------------------------------------------------------------------


def test_split_folders_are_used_as_given(tmp_path: Path) -> None:
    files = members(shapes_zip(per_class=10, size=16))
    layout = {}
    for name, data in files.items():
        _, shape, number = name.split("/")
        part = "test" if number < "003" else "val" if number < "005" else "train"
        layout[f"{part}/{shape}/{number}"] = data
    path = write_zip(tmp_path / "split.zip", layout)
    the_spec = spec(path)
    data = TrainingData(pd.DataFrame(), images=ImageSource(path, "v", None))
    folder = data.images.read(size=16)

    images, splits = split_images(folder, None, the_spec)

    assert len(splits.test) == 9 and len(splits.val) == 6 and len(splits.train) == 15
    assert set(splits.test["split"]) == {"test"}
    assert images.shape == (30, 16, 16, 3)


def test_a_test_zip_is_the_test_set(tmp_path: Path) -> None:
    train = tmp_path / "train.zip"
    train.write_bytes(shapes_zip(per_class=10, size=16, seed=1))
    test = tmp_path / "test.zip"
    test.write_bytes(shapes_zip(per_class=3, size=16, seed=2))
    data = TrainingData(pd.DataFrame(), images=ImageSource(train, "a", None),
                        test_images=ImageSource(test, "b", None))  # fmt: skip
    folder, test_folder = data.images.read(size=16), data.test_images.read(size=16, channels=3)

    images, splits = split_images(folder, test_folder, spec(train, test))

    assert len(splits.test) == 9 and len(splits.train) + len(splits.val) == 30
    assert images.shape[0] == 39
    np.testing.assert_array_equal(images[splits.test.index[0]], test_folder.images[0])


@pytest.mark.parametrize(("native", "cap", "expected"), [(8, 64, 32), (28, 64, 32), (50, 64, 56),
                                                         (300, 64, 64), (300, 32, 32)])  # fmt: skip
def test_small_images_are_enlarged_to_32_and_large_ones_capped(native, cap, expected) -> None:
    assert choose_size(native, cap) == expected


def test_decoded_images_are_cached_per_version_size_and_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shapes.zip"
    path.write_bytes(shapes_zip(per_class=4, size=16))
    source = ImageSource(path, "v1", tmp_path / "cache")
    first = source.read(size=16)

    import dlstudio.data.image_source as module

    monkeypatch.setattr(module, "read_image_zip", lambda *a, **k: pytest.fail("decoded again"))
    again = source.read(size=16)

    np.testing.assert_array_equal(first.images, again.images)
    assert again.labels == first.labels and again.names == first.names
    with pytest.raises(pytest.fail.Exception):
        source.read(size=24)  # another size is another cache entry


# --- bad input ----------------------------------------------------------------------------------


def findings_for(path: Path, **options) -> list:
    _, found = check_run(spec(path, **options), get_settings())
    return found


def test_flat_files_without_class_folders_say_how_to_arrange_them(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "flat.zip", {"a.png": png(Image.new("L", (8, 8))),
                                             "b.png": png(Image.new("L", (8, 8)))})  # fmt: skip
    with pytest.raises(DataError) as caught:
        findings_for(path)
    assert "not in class folders" in caught.value.message
    assert "cats/1.jpg" in caught.value.fix


def test_one_class_is_an_error(tmp_path: Path) -> None:
    files = {k: v for k, v in members(shapes_zip(per_class=5, size=16)).items() if "circle" in k}
    found = findings_for(write_zip(tmp_path / "one.zip", files))
    assert [f.level for f in found] == ["error"]
    assert "Only one class was found ('circle')" in found[0].message


def test_a_class_with_few_images_is_named(tmp_path: Path) -> None:
    files = members(shapes_zip(per_class=12, size=16))
    files = {
        k: v for k, v in files.items() if "triangle" not in k or k.endswith(("000.png", "001.png"))
    }
    found = findings_for(write_zip(tmp_path / "rare.zip", files))
    assert found[0].level == "error"
    assert "'triangle' (2 images)" in found[0].message
    assert "at least 10" in found[0].message


def test_corrupt_and_foreign_files_are_skipped_and_training_goes_on(
    mlflow_home: Path, tmp_path: Path
) -> None:
    files = members(shapes_zip(per_class=12, size=16))
    files |= {"shapes/circle/broken.png": png(Image.new("RGB", (16, 16)))[:40],
              "shapes/square/notes.txt": b"not an image", "../escape.png": b"x"}  # fmt: skip
    path = write_zip(tmp_path / "mixed.zip", files)

    found = findings_for(path)
    result = run(spec(path))

    assert [f.level for f in found] == ["warning"]
    assert found[0].message.startswith("3 files were skipped")
    for name in ("broken.png", "notes.txt", "../escape.png"):
        assert name in found[0].message
    assert "files were skipped" in " ".join(result.notes)
    assert not (tmp_path / "escape.png").exists()


def test_test_images_of_an_unknown_class_are_an_error(tmp_path: Path) -> None:
    train = tmp_path / "train.zip"
    train.write_bytes(shapes_zip(per_class=8, size=16))
    other = {
        k.replace("triangle", "star"): v
        for k, v in members(shapes_zip(per_class=3, size=16)).items()
    }
    test = write_zip(tmp_path / "test.zip", other)

    _, found = check_run(spec(train, test), get_settings())

    assert found[0].level == "error"
    assert "no training images: 'star'" in found[0].message


def test_the_home_sample_has_mislabelled_pictures_in_its_test_split(tmp_path: Path) -> None:
    """So its Results page has mistakes to show (issue 22: samples that teach)."""
    from dlstudio.data.sources import load_data
    from dlstudio.tasks.images.template import SAMPLE_MISLABELLED, ImageClassification, read_images

    sample = ImageClassification().sample()
    clean = members(shapes_zip())
    wrong = {name for name, data in members(sample.archive).items() if data != clean[name]}
    assert len(wrong) == 3 * SAMPLE_MISLABELLED
    path = tmp_path / "sample.zip"
    path.write_bytes(sample.archive)
    run_spec = parse_spec({"task": "image_classification", "data": {"path": str(path)}})
    data = load_data(run_spec.data, get_settings()).data
    _, splits = split_images(read_images(data, run_spec), None, run_spec)
    assert splits.test["image"].isin(wrong).sum() >= 1
