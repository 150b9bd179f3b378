"""Results and Predict under AppTest for one real tiny image run (1 epoch on 36 shapes, trained
once per module and registered as 'shapes')."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from dlstudio.predict import load_model
from dlstudio.settings import Settings, get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks.images.sample import shapes_zip
from dlstudio.tracking.setup import configure_tracking
from dlstudio.training import RunResult, run
from pages._widgets.images import HEAT_LEGEND

ROOT = Path(__file__).resolve().parents[2]
RESULTS, APP = str(ROOT / "pages" / "results.py"), str(ROOT / "app.py")
SHAPES = shapes_zip(per_class=12, seed=0)
CLASSES = {"circle", "square", "triangle"}


def member(name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(SHAPES)).read(name)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> tuple:
    """A home with one finished 1-epoch image run registered as 'shapes' (about 20 s)."""
    home = tmp_path_factory.mktemp("images-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    archive = home / "shapes.zip"
    archive.write_bytes(SHAPES)
    spec = parse_spec(
        {
            "task": "image_classification",
            "data": {"path": str(archive)},
            "training": {"preset": "fast", "epochs": 1},
            "tracking": {"register_as": "shapes"},
        }
    )
    with pytest.MonkeyPatch.context() as env:  # never a user's shared MLflow server
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        env.setenv("DLSTUDIO_HOME", str(home))
        result = run(spec, settings=Settings(home=home, torch_threads=1))
    return home, result


@pytest.fixture
def image_run(trained: tuple, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    """Point this test's DLSTUDIO_HOME at the trained home; the run's result."""
    home, result = trained
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    configure_tracking(get_settings())
    return result


def predicted(run_id: str, image: bytes) -> str:
    """What the run's model itself says about one image."""
    model = load_model(f"runs:/{run_id}/model", get_settings())
    return str(model.predict(pd.DataFrame({"image": [image]}))["prediction"].iloc[0])


def results_page(run_id: str) -> AppTest:
    app = AppTest.from_file(RESULTS, default_timeout=60)
    app.query_params["run"] = run_id
    return app.run()


def test_an_image_run_shows_its_mistakes_as_thumbnails_and_a_table(image_run: RunResult) -> None:
    logged = MlflowClient().download_artifacts(image_run.run_id, "mistakes.json")
    mistakes = json.loads(Path(logged).read_text())
    assert mistakes  # one epoch on 36 images: it gets some wrong

    app = results_page(image_run.run_id)

    assert not app.exception
    headers = [header.value for header in app.subheader]
    assert "Mistakes" in headers and "Most confident mistakes" not in headers
    sheet = next(image for image in app.get("image") if image.proto.imgs[0].caption)
    assert sheet.proto.imgs[0].caption.startswith("Each image: true class -> predicted")
    table = next(df.value for df in app.dataframe if "image" in df.value.columns)
    assert table["image"].tolist() == [m["image"] for m in mistakes]
    assert table["probability"].tolist() == [m["probability"] for m in mistakes]
    assert (table["true"] != table["predicted"]).all()
    assert set(table["true"]) <= CLASSES


def test_an_uploaded_image_gets_its_class_and_each_class_probability(
    image_run: RunResult,
) -> None:
    image = member("shapes/square/003.png")
    app = results_page(image_run.run_id)
    assert "Classify an image" in [header.value for header in app.subheader]

    app.file_uploader(key="results_image").set_value(("square.png", image, "image/png")).run()

    assert not app.exception
    (label,) = [m for m in app.metric if m.label == "Predicted class"]
    probabilities = app.dataframe[-1].value  # the page's last table: this image's answer
    assert set(probabilities["class"]) == CLASSES
    assert probabilities["probability"].sum() == pytest.approx(1.0, abs=1e-5)
    assert label.value == probabilities["class"].iloc[0] == predicted(image_run.run_id, image)


def test_the_mistakes_show_where_the_model_looked_on_demand(image_run: RunResult) -> None:
    assert "mistakes_heatmaps.png" in {
        a.path for a in MlflowClient().list_artifacts(image_run.run_id)
    }
    app = results_page(image_run.run_id)
    captions = [i.proto.imgs[0].caption for i in app.get("image") if i.proto.imgs[0].caption]
    assert not any(HEAT_LEGEND in c for c in captions)  # the plain photos first

    app.toggle(key="results_mistake_heat").set_value(True).run()

    assert not app.exception
    captions = [i.proto.imgs[0].caption for i in app.get("image") if i.proto.imgs[0].caption]
    assert any(c.startswith("Each image: true class") and HEAT_LEGEND in c for c in captions)


def test_an_uploaded_image_shows_where_the_model_found_its_class(image_run: RunResult) -> None:
    image = member("shapes/circle/002.png")
    app = results_page(image_run.run_id)
    app.file_uploader(key="results_image").set_value(("circle.png", image, "image/png")).run()

    assert not app.exception
    (label,) = [m for m in app.metric if m.label == "Predicted class"]
    captions = [i.proto.imgs[0].caption for i in app.get("image") if i.proto.imgs[0].caption]
    (heat,) = [c for c in captions if c.startswith("Where the model found")]
    assert f"{label.value!r}" in heat and HEAT_LEGEND in heat


def test_an_unreadable_upload_says_why_instead_of_failing(image_run: RunResult) -> None:
    app = results_page(image_run.run_id)

    app.file_uploader(key="results_image").set_value(("photo.png", b"not a png", "image/png"))
    app.run()

    assert not app.exception
    assert app.warning[-1].value.startswith("'photo.png' could not be classified: not a readable")
    assert "**How to fix:** Upload a JPEG, PNG" in app.warning[-1].value
    assert "Predicted class" not in [m.label for m in app.metric]


def predict_page(uploads: list[tuple[str, bytes, str]]) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("pages/predict.py").run()
    assert app.selectbox(key="predict_version_shapes").value == "champion (version 1)"
    app.file_uploader(key="predict_images").set_value(uploads)
    return app.run()


def test_predict_classifies_every_image_of_a_zip_and_lists_other_files(
    image_run: RunResult,
) -> None:
    archive = io.BytesIO(SHAPES)
    with zipfile.ZipFile(archive, "a") as extended:
        extended.writestr("notes/readme.txt", b"hello")

    app = predict_page([("new.zip", archive.getvalue(), "application/zip")])

    assert not app.exception
    table = app.dataframe[0].value
    images = table[table["problem"] == ""]
    assert len(images) == 36
    assert set(images["prediction"]) <= CLASSES
    first = images["file"].iloc[0]
    assert images["prediction"].iloc[0] == predicted(image_run.run_id, member(first))
    unread = table[table["problem"] != ""]
    assert unread["file"].tolist() == ["notes/readme.txt"]
    assert unread["problem"].iloc[0].startswith("not an image file")
    assert app.caption[-1].value == "36 images classified with `models:/shapes/1`."
    assert app.warning[0].value.startswith("1 of the files could not be classified")
    assert app.get("download_button")[0].proto.label == "Download predictions (CSV)"


def test_predict_classifies_single_image_files(image_run: RunResult) -> None:
    circle, square = member("shapes/circle/000.png"), member("shapes/square/000.png")

    app = predict_page([("a.png", circle, "image/png"), ("b.png", square, "image/png")])

    assert not app.exception
    table = app.dataframe[0].value
    assert table["file"].tolist() == ["a.png", "b.png"]
    assert table["prediction"].tolist() == [
        predicted(image_run.run_id, circle),
        predicted(image_run.run_id, square),
    ]
    assert app.caption[-1].value == "2 images classified with `models:/shapes/1`."
    assert not app.warning
