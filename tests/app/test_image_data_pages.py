"""Image datasets on the Data, Train and Home pages under AppTest: a ZIP of class folders is
stored, looked at, checked and submitted for training (nothing is trained here)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStore
from dlstudio.settings import get_settings
from dlstudio.tasks import get_template
from dlstudio.tasks.images.sample import shapes_zip
from dlstudio.views.jobs import duration
from dlstudio.views.status import device_status
from tests.conftest import make_customers

ROOT = Path(__file__).resolve().parents[2]
DATA_PAGE, APP = str(ROOT / "pages" / "data.py"), str(ROOT / "app.py")
SHAPES = shapes_zip(per_class=12, seed=0)  # 36 images: 12 per class, the fewest a run accepts
IMAGES = "image_classification"


def with_files(archive: bytes, files: dict[str, bytes]) -> bytes:
    """``archive`` with ``files`` added."""
    buffer = io.BytesIO(archive)
    with zipfile.ZipFile(buffer, "a") as extended:
        for name, data in files.items():
            extended.writestr(name, data)
    return buffer.getvalue()


def only_circles() -> bytes:
    """The circles of SHAPES alone: one class."""
    source, buffer = zipfile.ZipFile(io.BytesIO(SHAPES)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as circles:
        for info in source.infolist():
            if "/circle/" in info.filename:
                circles.writestr(info, source.read(info))
    return buffer.getvalue()


@pytest.fixture
def store(isolated_home: Path) -> DatasetStore:
    return DatasetStore.default()


def data_page() -> AppTest:
    return AppTest.from_file(DATA_PAGE, default_timeout=60).run()


def upload(app: AppTest, filename: str, data: bytes) -> AppTest:
    app.file_uploader(key="data_upload").set_value((filename, data, "application/zip"))
    return app.run()


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def balance(app: AppTest) -> dict[str, int]:
    """class -> images, as the class balance chart draws them."""
    (dataset,) = app.get("vega_lite_chart")[0].proto.datasets
    data = pa.ipc.open_stream(dataset.data.data).read_pandas()
    return dict(zip(data["class"], data["images"], strict=True))


def test_uploaded_zip_is_stored_and_shown_as_images_per_class(store: DatasetStore) -> None:
    app = upload(data_page(), "shapes.zip", SHAPES)
    assert app.text_input[0].value == "shapes"  # the name comes from the file name

    app.button(key="data_save").click().run()

    assert not app.exception
    assert store.list_names() == ["shapes"]
    assert metrics(app) == {"Images": "36", "Classes": "3", "Files left out": "0"}
    assert balance(app) == {"circle": 12, "square": 12, "triangle": 12}
    headings = [m.value for m in app.markdown if m.value.startswith("**")]
    assert headings == [f"**{shape}** (12 images)" for shape in ("circle", "square", "triangle")]
    assert [len(image.proto.imgs) for image in app.get("image")] == [4, 4, 4]
    catalog = app.dataframe[0].value
    assert catalog[["kind", "rows", "columns"]].values.tolist() == [["images", 36, 3]]
    assert app.success[-1].value == (
        "Ready to train: sort images into 3 classes with 'shapes' on the Train page."
    )
    assert not app.error and not app.warning
    assert len(app.selectbox) == 2  # dataset and version: no target to pick


def test_corrupt_and_non_image_files_are_listed_as_left_out(store: DatasetStore) -> None:
    extra = {"shapes/circle/broken.png": b"not a png", "shapes/readme.txt": b"hello"}
    store.save("shapes", with_files(SHAPES, extra), filename="shapes.zip")

    app = data_page()

    assert not app.exception
    assert metrics(app) == {"Images": "36", "Classes": "3", "Files left out": "2"}
    assert balance(app)["circle"] == 12  # the broken circle is not counted
    (warning,) = app.warning
    assert warning.value.startswith("2 files were skipped (")
    assert "**How to fix:** Training goes on without them" in warning.value
    left_out = next(df.value for df in app.dataframe if "problem" in df.value.columns)
    reasons = dict(zip(left_out["file"], left_out["problem"], strict=True))
    assert set(reasons) == set(extra)
    assert reasons["shapes/circle/broken.png"].startswith("not a readable image")
    assert reasons["shapes/readme.txt"].startswith("not an image file")
    assert app.success[-1].value.startswith("Ready to train")  # a warning does not block


def test_a_zip_without_class_folders_is_refused_with_its_fix(store: DatasetStore) -> None:
    flat = io.BytesIO()
    with zipfile.ZipFile(flat, "w") as archive:
        for n, member in enumerate(zipfile.ZipFile(io.BytesIO(SHAPES)).infolist()[:5]):
            archive.writestr(f"{n}.png", zipfile.ZipFile(io.BytesIO(SHAPES)).read(member))
    app = upload(data_page(), "flat.zip", flat.getvalue())

    app.button(key="data_save").click().run()

    assert not app.exception
    (error,) = app.error
    assert error.value.startswith(
        "The images in the ZIP are not in class folders, so their classes are unknown."
    )
    assert "**How to fix:** Put each class's images in a folder named after the class" in (
        error.value
    )
    assert store.list_names() == []


def test_a_single_class_is_an_error_and_the_dataset_can_still_be_deleted(
    store: DatasetStore,
) -> None:
    store.save("circles", only_circles(), filename="circles.zip")

    app = data_page()

    assert not app.exception
    assert metrics(app) == {"Images": "12", "Classes": "1", "Files left out": "0"}
    (error,) = app.error
    assert error.value.startswith("Only one class was found ('circle')")
    assert "**How to fix:** Add a folder of images for each other class" in error.value
    assert not [s for s in app.success if s.value.startswith("Ready to train")]
    app.checkbox(key="data_confirm_circles").check().run()
    app.button(key="data_delete").click().run()
    assert store.list_names() == []


def store_shapes() -> str:
    return DatasetStore.default().save("shapes", SHAPES, filename="shapes.zip").ref


@pytest.fixture
def app(mlflow_home: Path) -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def open_train(app: AppTest) -> AppTest:
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    return app


def chosen_template(app: AppTest) -> str:
    (chosen,) = [b.key for b in app.button if b.key.startswith("train_pick_") and b.disabled]
    return chosen.removeprefix("train_pick_")


def test_train_preselects_the_image_template_and_submits_the_dataset(app: AppTest) -> None:
    ref = store_shapes()

    open_train(app)

    assert chosen_template(app) == IMAGES
    assert any("36 images in 3 classes" in c.value for c in app.caption)
    assert not [box for box in app.selectbox if box.key.startswith("train_role_")]
    seconds = get_template(IMAGES).estimate_seconds(36, "balanced", gpu=device_status().gpu)
    assert app.radio(key="train_preset").options[1] == f"balanced (up to ~{duration(seconds)})"
    assert not app.error
    assert "The data passed every check." in [s.value for s in app.success]
    app.button(key="train_submit").click().run()
    assert not app.exception
    (job,) = JobStore.from_settings(get_settings()).list_jobs()
    assert job.spec["task"] == IMAGES
    assert job.spec["data"]["dataset"] == ref and job.spec["data"]["target"] is None
    assert job.spec["tracking"]["register_as"] == "shapes"


def test_choosing_image_data_chooses_the_image_template_and_a_table_template_is_refused(
    app: AppTest,
) -> None:
    customers = make_customers().to_csv(index=False).encode()
    DatasetStore.default().save("customers", customers, filename="customers.csv")
    store_shapes()
    open_train(app)
    assert chosen_template(app) == "tabular_classification"  # customers comes first

    app.selectbox(key="train_dataset_choice").set_value("shapes").run()
    assert chosen_template(app) == IMAGES

    app.button(key="train_pick_tabular_classification").click().run()
    assert not app.exception
    assert app.error[0].value.startswith(
        "The data is a ZIP or folder of images, but tabular classification reads a table."
    )
    assert app.button(key="train_submit").disabled


def test_the_image_sample_goes_to_train_with_the_image_template(app: AppTest) -> None:
    app.run()
    app.button(key=f"home_sample_{IMAGES}").click().run()

    assert not app.exception
    assert DatasetStore.default().list_names() == ["sample-shapes"]
    assert app.selectbox(key="train_dataset_choice").value == "sample-shapes"
    assert chosen_template(app) == IMAGES
    assert any("120 images in 3 classes" in c.value for c in app.caption)
    assert not app.error
    assert not app.button(key="train_submit").disabled
