"""DatasetStore: content-hash versions, lookup by reference, rename/delete, atomic refusal."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlstudio.data import store as store_module
from dlstudio.data.store import DatasetStore
from dlstudio.errors import DataError
from tests.conftest import zip_bytes

SALES_V1 = b"region,amount\nnorth,1\nsouth,2\n"
SALES_V2 = b"region,amount\nnorth,1\nsouth,2\neast,3\n"
JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> DatasetStore:
    return DatasetStore(tmp_path / "datasets")


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_save_stores_file_and_meta_under_name_and_version(store: DatasetStore) -> None:
    saved = store.save("sales", SALES_V1, filename="sales.csv", now=JAN)

    digest = hashlib.sha256(SALES_V1).hexdigest()
    assert saved.version == digest[:12]
    assert saved.path == store.root / "sales" / digest[:12] / "sales.csv"
    assert saved.path.read_bytes() == SALES_V1
    meta = json.loads((saved.path.parent / "meta.json").read_text())
    assert meta == {
        "name": "sales",
        "version": digest[:12],
        "filename": "sales.csv",
        "size_bytes": len(SALES_V1),
        "created_at": "2024-01-01T00:00:00+00:00",
        "sha256": digest,
    }


def test_save_from_a_path(store: DatasetStore, tmp_path: Path) -> None:
    upload = tmp_path / "upload.csv"
    upload.write_bytes(SALES_V1)

    saved = store.save("sales", upload, filename="sales.csv")

    assert saved.path.read_bytes() == SALES_V1
    assert saved.size_bytes == len(SALES_V1)


def test_saving_identical_content_returns_the_existing_version(store: DatasetStore) -> None:
    first = store.save("sales", SALES_V1, filename="sales.csv", now=JAN)

    again = store.save("sales", SALES_V1, filename="sales.csv", now=FEB)

    assert again == first
    assert len(store.versions("sales")) == 1


def test_versions_are_newest_first(store: DatasetStore) -> None:
    old = store.save("sales", SALES_V1, filename="sales.csv", now=JAN)
    new = store.save("sales", SALES_V2, filename="sales.csv", now=FEB)

    assert [v.version for v in store.versions("sales")] == [new.version, old.version]


def test_list_names_is_sorted(store: DatasetStore) -> None:
    assert store.list_names() == []
    store.save("sales", SALES_V1, filename="sales.csv")
    store.save("churn", SALES_V1, filename="churn.csv")

    assert store.list_names() == ["churn", "sales"]


def test_resolve_name_gives_the_latest_version(store: DatasetStore) -> None:
    store.save("sales", SALES_V1, filename="sales.csv", now=JAN)
    new = store.save("sales", SALES_V2, filename="sales.csv", now=FEB)

    assert store.resolve("sales") == new


def test_resolve_name_at_version_gives_that_version(store: DatasetStore) -> None:
    old = store.save("sales", SALES_V1, filename="sales.csv", now=JAN)
    store.save("sales", SALES_V2, filename="sales.csv", now=FEB)

    assert store.resolve(old.ref) == old


def test_resolve_unknown_name_suggests_the_closest(store: DatasetStore) -> None:
    store.save("sales", SALES_V1, filename="sales.csv")
    store.save("churn", SALES_V1, filename="churn.csv")

    with pytest.raises(DataError) as caught:
        store.resolve("salse")

    assert caught.value.message == "No dataset named 'salse'."
    assert caught.value.fix == "Did you mean 'sales'? Stored datasets: 'churn', 'sales'."


def test_resolve_unknown_version_lists_versions(store: DatasetStore) -> None:
    saved = store.save("sales", SALES_V1, filename="sales.csv")

    with pytest.raises(DataError) as caught:
        store.resolve("sales@0123456789ab")

    assert caught.value.message == "Dataset 'sales' has no version '0123456789ab'."
    assert caught.value.fix is not None and saved.version in caught.value.fix


def test_rename_moves_all_versions(store: DatasetStore) -> None:
    store.save("sales", SALES_V1, filename="sales.csv", now=JAN)
    store.save("sales", SALES_V2, filename="sales.csv", now=FEB)

    store.rename("sales", "sales_2024")

    assert store.list_names() == ["sales_2024"]
    moved = store.versions("sales_2024")
    assert [v.name for v in moved] == ["sales_2024", "sales_2024"]
    assert json.loads((moved[0].path.parent / "meta.json").read_text())["name"] == "sales_2024"


def test_rename_onto_an_existing_name_is_refused(store: DatasetStore) -> None:
    store.save("sales", SALES_V1, filename="sales.csv")
    store.save("churn", SALES_V1, filename="churn.csv")

    with pytest.raises(DataError, match="A dataset named 'churn' already exists"):
        store.rename("sales", "churn")


def test_delete_removes_the_whole_dataset(store: DatasetStore) -> None:
    store.save("sales", SALES_V1, filename="sales.csv")
    store.save("churn", SALES_V1, filename="churn.csv")

    store.delete("sales")

    assert store.list_names() == ["churn"]
    assert [entry.name for entry in store.root.iterdir()] == ["churn"]  # nothing left behind


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "sales 2024", "x" * 65, "sales@v1"])
def test_bad_name_is_quoted_and_rules_given(store: DatasetStore, name: str) -> None:
    with pytest.raises(DataError) as caught:
        store.save(name, SALES_V1, filename="sales.csv")

    assert caught.value.message == f"Dataset name {name!r} is not allowed."
    assert caught.value.fix is not None and "1-64 letters, digits" in caught.value.fix


def test_filename_with_a_folder_is_refused(store: DatasetStore) -> None:
    with pytest.raises(DataError, match=re.escape("File name '../sales.csv' cannot be stored")):
        store.save("sales", SALES_V1, filename="../sales.csv")


def test_bad_file_is_refused_with_the_readers_message_and_nothing_stored(
    store: DatasetStore,
) -> None:
    store.save("sales", SALES_V1, filename="sales.csv")
    before = tree(store.root)

    with pytest.raises(DataError, match=re.escape("dupes.csv (columns 1 and 2)")):
        store.save("sales", b"a,a\n1,2\n", filename="dupes.csv")

    assert tree(store.root) == before


def test_file_over_the_limit_is_refused_before_anything_is_written(
    store: DatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLSTUDIO_MAX_UPLOAD_MB", "1")

    with pytest.raises(DataError) as caught:
        store.save("big", b"a\n" + b"1\n" * 600_000, filename="big.csv")

    assert caught.value.message == "big.csv is 1.14 MB, larger than the limit of 1 MB."
    assert tree(store.root) == []


def test_failure_while_committing_leaves_no_partial_version(
    store: DatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save("sales", SALES_V1, filename="sales.csv")
    before = tree(store.root)

    def crash(source: Path, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save("sales", SALES_V2, filename="sales.csv")

    assert tree(store.root) == before
    assert len(store.versions("sales")) == 1


def test_default_store_lives_in_the_home_folder(isolated_home: Path) -> None:
    assert DatasetStore.default().root == isolated_home.resolve() / "datasets"


def test_a_zip_of_image_folders_is_stored_with_images_and_classes(store: DatasetStore) -> None:
    from dlstudio.tasks.images.sample import shapes_zip

    stored = store.save("shapes", shapes_zip(per_class=4, size=8), filename="shapes.zip")

    assert stored.path.suffix == ".zip"
    assert (stored.n_rows, stored.n_columns) == (12, 3)


def test_a_zip_without_class_folders_is_not_stored(store: DatasetStore) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("flat.png", b"x")
    with pytest.raises(DataError, match="not in class folders"):
        store.save("flat", buffer.getvalue(), filename="flat.zip")
    assert store.list_names() == []


def test_data_no_template_could_train_on_is_refused_with_the_reason(store: DatasetStore) -> None:
    """Issue 22: a ZIP with no images was stored, and its page listed files left out beside
    "Files left out 0"."""
    texts = zip_bytes({"cats/notes.txt": b"x", "dogs/readme.md": b"y"})
    with pytest.raises(DataError, match="holds no images") as refused:
        store.save("pets", texts, filename="pets.zip")
    assert "one folder per class" in refused.value.fix
    with pytest.raises(DataError, match="1 column"):
        store.save("single", b"amount\n1\n2\n", filename="single.csv")
    with pytest.raises(DataError, match="no rows of data"):  # the reader says it first
        store.save("empty", b"region,amount\n", filename="empty.csv")
    assert store.list_names() == []  # nothing stored
    assert tree(store.root) == []  # and no staging left behind
