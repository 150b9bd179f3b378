"""Classifying images with an image model: one image, or a batch of files and ZIPs."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.types import ColSpec, Schema

from dlstudio.errors import DataError, DLStudioError
from dlstudio.views.image_try import (
    accepts_images,
    image_column,
    predict_image,
    predict_image_files,
    reads_images,
)
from tests.conftest import zip_bytes

PNG = b"\x89PNG fake"  # the toy model below does not decode


class Metadata:
    def __init__(self, columns: list[str], task: str) -> None:
        self.schema = Schema([ColSpec("binary", name) for name in columns])
        self.metadata = {"dlstudio_task": task, "dlstudio_row_wise": True}

    def get_input_schema(self) -> Schema:
        return self.schema


class ToyImageModel:
    """Says "cat" (0.8) to bytes starting like a PNG; any other bytes are unreadable."""

    def __init__(self, columns: tuple[str, ...] = ("image",), task: str = "image_classification"):
        self.metadata = Metadata(list(columns), task)
        self.seen: list[pd.DataFrame] = []

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        self.seen.append(frame)
        readable = frame["image"].map(lambda data: data.startswith(b"\x89PNG"))
        return pd.DataFrame(
            {"prediction": readable.map({True: "cat", False: None}),
             "probability_cat": readable.map({True: 0.8, False: None}),
             "probability_dog": readable.map({True: 0.2, False: None}),
             "problem": readable.map({True: "", False: "not a readable image"})},
            index=frame.index,
        )  # fmt: skip


def test_only_templates_that_read_images_accept_them() -> None:
    assert accepts_images("image_classification")
    assert not accepts_images("text_sentiment")
    assert not accepts_images("no_such_task")
    assert not accepts_images(None)


def test_a_model_reads_images_when_its_task_does() -> None:
    assert reads_images(ToyImageModel())
    assert not reads_images(ToyImageModel(task="tabular_classification"))
    assert not reads_images(object())  # no metadata at all


def test_a_model_reading_several_columns_is_refused_by_name() -> None:
    assert image_column(ToyImageModel()) == "image"
    with pytest.raises(DLStudioError, match="reads 2 columns \\(a, b\\), not one image column"):
        image_column(ToyImageModel(("a", "b")))


def test_one_image_gets_its_class_and_probabilities_most_likely_first() -> None:
    model = ToyImageModel()
    answer = predict_image(model, PNG, filename="cat.png")
    assert [frame["image"].tolist() for frame in model.seen] == [[PNG]]
    assert (answer.label, answer.confidence) == ("cat", 0.8)
    assert answer.probabilities["class"].tolist() == ["cat", "dog"]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "'x.png' is empty."), (b"GIF?", "'x.png' could not be classified: not a readable")],
)
def test_an_empty_or_unreadable_image_is_a_data_error_with_a_fix(data: bytes, message: str) -> None:
    with pytest.raises(DataError) as raised:
        predict_image(ToyImageModel(), data, filename="x.png")
    assert raised.value.message.startswith(message)
    assert raised.value.fix == "Upload a JPEG, PNG, BMP, WebP or GIF image."


def test_a_batch_lists_single_images_first_then_each_zips_images_by_path() -> None:
    archive = zip_bytes({"cats/1.png": PNG, "notes.txt": b"hi"})
    batch = predict_image_files(
        ToyImageModel(), [("photos.zip", archive), ("a.png", PNG), ("b.png", b"junk")]
    )
    table = batch.table
    assert table["file"].tolist() == [
        "a.png",
        "b.png",
        "photos.zip/cats/1.png",
        "photos.zip/notes.txt",
    ]
    assert table["prediction"].tolist()[::2] == ["cat", "cat"]
    assert table["problem"].iloc[3].startswith("not an image file")
    assert (batch.classified, batch.unread) == (2, 2)


def test_a_single_zip_keeps_the_paths_inside_it() -> None:
    batch = predict_image_files(ToyImageModel(), [("photos.zip", zip_bytes({"cats/1.png": PNG}))])
    assert batch.table["file"].tolist() == ["cats/1.png"]
    assert list(batch.table.columns) == [
        "file", "prediction", "probability_cat", "probability_dog", "problem"
    ]  # fmt: skip


def test_nothing_to_classify_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no images to classify"):
        predict_image_files(ToyImageModel(), [])


def test_a_zip_is_predicted_in_batches_with_unreadable_files_listed() -> None:
    from dlstudio.predict import predict_images

    model = ToyImageModel()
    files = {f"photos/{i}.png": PNG for i in range(5)} | {"notes.txt": b"hello"}

    result = predict_images(model, zip_bytes(files), batch=2)

    sizes = [len(frame) for frame in model.seen]
    assert max(sizes) == 2 and sum(sizes) == 5  # never the whole archive at once
    assert sorted(result["file"]) == sorted(files)
    assert result.set_index("file").loc["notes.txt", "problem"] != ""
    assert (result.dropna(subset=["prediction"])["prediction"] == "cat").sum() == 5
