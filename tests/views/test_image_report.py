"""The report the Data page shows for a stored ZIP of image class folders."""

from __future__ import annotations

import io
import zipfile

from dlstudio.data.report import report_images
from dlstudio.data.store import DatasetStore
from dlstudio.settings import get_settings
from dlstudio.tasks.images.sample import shapes_zip


def with_split_folders(archive: bytes) -> bytes:
    """The same images under train/ (the first 8 of each class) and test/ (the rest)."""
    source, buffer = zipfile.ZipFile(io.BytesIO(archive)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as split:
        for info in source.infolist():
            _, shape, name = info.filename.split("/")
            folder = "train" if int(name.removesuffix(".png")) < 8 else "test"
            split.writestr(f"{folder}/{shape}/{name}", source.read(info))
    return buffer.getvalue()


def test_counts_split_folders_and_shows_thumbnails_of_the_first_classes_only() -> None:
    archive = with_split_folders(shapes_zip(per_class=12, size=24, seed=1))
    ref = DatasetStore.default().save("shapes", archive, filename="shapes.zip").ref

    report = report_images(
        ref, task="image_classification", settings=get_settings(), per_class=3, max_classes=2
    )

    assert report.class_counts == {"circle": 12, "square": 12, "triangle": 12}
    assert (report.n_images, report.n_classes) == (36, 3)
    assert report.split_counts == {"train": 24, "test": 12}
    assert list(report.thumbnails) == ["circle", "square"]
    assert [image.shape for image in report.thumbnails["circle"]] == [(96, 96, 3)] * 3
    assert report.skipped == () and report.ready
    assert report.skipped_table().empty
