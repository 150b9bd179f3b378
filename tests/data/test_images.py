"""Reading a ZIP of image class folders: layout, formats, skipped files and safety limits."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from dlstudio.data.image_decode import decode_image
from dlstudio.data.images import (
    ImageLimits,
    image_files,
    list_images,
    native_side,
    read_image_zip,
)
from dlstudio.errors import DataError


def _image_bytes(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _gray(value: int, side: int = 8) -> bytes:
    return _image_bytes(Image.new("L", (side, side), value))


def _rgb(colour: tuple[int, int, int], side: int = 8) -> bytes:
    return _image_bytes(Image.new("RGB", (side, side), colour))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _two_classes(prefix: str = "", image=_gray) -> dict[str, bytes]:
    return {
        f"{prefix}cats/1.png": image(10),
        f"{prefix}cats/2.png": image(20),
        f"{prefix}dogs/1.png": image(200),
        f"{prefix}dogs/2.png": image(210),
    }


def test_two_grayscale_classes_are_read_with_one_channel():
    folder = read_image_zip(_zip(_two_classes()), size=16)

    assert folder.images.shape == (4, 16, 16, 1)
    assert folder.images.dtype == np.uint8
    assert folder.labels == ["cats", "cats", "dogs", "dogs"]
    assert folder.classes == ["cats", "dogs"]
    assert folder.names == ["cats/1.png", "cats/2.png", "dogs/1.png", "dogs/2.png"]
    assert folder.channels == 1
    assert folder.splits is None
    assert folder.skipped == []
    assert folder.images[0, 5, 5, 0] == 10 and folder.images[3, 5, 5, 0] == 210


def test_colour_images_are_read_with_three_channels():
    members = _two_classes(image=lambda v: _rgb((v, 0, 255 - v)))

    folder = read_image_zip(_zip(members), size=8)

    assert folder.channels == 3
    assert folder.images.shape == (4, 8, 8, 3)
    assert folder.images[2, 0, 0].tolist() == [200, 0, 55]


def test_channels_can_be_forced():
    folder = read_image_zip(_zip(_two_classes()), size=8, channels=3)

    assert folder.images.shape == (4, 8, 8, 3)
    assert folder.images[0, 0, 0].tolist() == [10, 10, 10]


def test_a_wrapping_folder_and_macos_junk_are_ignored():
    members = _two_classes("digits/")
    members["__MACOSX/digits/cats/._1.png"] = b"junk"
    members["digits/.DS_Store"] = b"junk"
    members["digits/cats/._3.png"] = b"junk"

    folder = read_image_zip(_zip(members), size=8)

    assert folder.classes == ["cats", "dogs"]
    assert folder.names[0] == "digits/cats/1.png"
    assert folder.skipped == []


def test_train_and_test_folders_set_the_splits():
    members = {f"data/train/{k}": v for k, v in _two_classes().items()}
    members["data/test/cats/9.png"] = _gray(30)
    members["data/test/dogs/9.png"] = _gray(230)

    folder = read_image_zip(_zip(members), size=8)

    assert folder.classes == ["cats", "dogs"]
    assert folder.splits == ["test", "test", "train", "train", "train", "train"]
    assert folder.labels[:2] == ["cats", "dogs"]


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (20, 10), (255, 0, 0))
    wide.paste((0, 0, 255), (0, 0, 10, 10))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the viewer turns it 90° clockwise
    members = _two_classes(image=lambda v: _rgb((v, v, v)))
    members["cats/3.jpg"] = _image_bytes(wide, "JPEG", exif=exif, quality=95)

    folder = read_image_zip(_zip(members), size=20)

    rotated = folder.images[folder.names.index("cats/3.jpg")]
    assert rotated[2, 10, 2] > 200  # blue moved to the top half
    assert rotated[17, 10, 0] > 200  # red to the bottom half


def test_gif_first_frame_is_used():
    frames = [Image.new("P", (8, 8), 1), Image.new("P", (8, 8), 2)]
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9)
    for frame in frames:
        frame.putpalette(palette)
    gif = _image_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:])
    members = _two_classes(image=lambda v: _rgb((v, v, v)))
    members["cats/3.gif"] = gif

    folder = read_image_zip(_zip(members), size=8)

    assert folder.images[folder.names.index("cats/3.gif"), 4, 4].tolist() == [255, 0, 0]


def test_flat_images_ask_for_class_folders():
    with pytest.raises(DataError, match="not in class folders") as caught:
        read_image_zip(_zip({"1.png": _gray(1), "2.png": _gray(2)}), size=8)

    assert "cats/1.jpg, dogs/2.jpg" in str(caught.value)


def test_one_class_is_refused():
    with pytest.raises(DataError, match="Only one class"):
        read_image_zip(_zip({"cats/1.png": _gray(1), "cats/2.png": _gray(2)}), size=8)


def test_a_class_with_one_image_is_named():
    members = _two_classes()
    members["birds/1.png"] = _gray(5)

    with pytest.raises(DataError, match="single image: 'birds'"):
        read_image_zip(_zip(members), size=8)


def test_corrupt_images_and_text_files_are_skipped_and_listed():
    members = _two_classes()
    members["cats/broken.png"] = _gray(1)[:30]
    members["dogs/notes.txt"] = b"hello"

    folder = read_image_zip(_zip(members), size=8)

    assert len(folder.labels) == 4
    reasons = dict(folder.skipped)
    assert set(reasons) == {"cats/broken.png", "dogs/notes.txt"}
    assert "corrupt" in reasons["cats/broken.png"]
    assert "not an image" in reasons["dogs/notes.txt"]


def test_no_readable_image_is_refused():
    members = {"cats/a.png": b"not a png", "dogs/b.png": b"nor this"}

    with pytest.raises(DataError, match="No readable image"):
        read_image_zip(_zip(members), size=8)


def test_unsafe_paths_are_skipped_and_nothing_is_written(tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "cwd").mkdir(parents=True)
    monkeypatch.chdir(work / "cwd")  # so "../evil.png" would land in work/
    members = _two_classes()
    members["../evil.png"] = _gray(1)
    members["/abs.png"] = _gray(1)
    members["C:/drive.png"] = _gray(1)
    source = work / "upload.zip"
    source.write_bytes(_zip(members))

    folder = read_image_zip(source, size=8)

    assert {name for name, _ in folder.skipped} == {"../evil.png", "/abs.png", "C:/drive.png"}
    assert all(reason.startswith("unsafe path") for _, reason in folder.skipped)
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == ["cwd", "upload.zip"]


def test_a_zip_declaring_too_many_bytes_is_refused_before_reading():
    members = _two_classes()
    members["cats/big.bin"] = b"\0" * 50_000  # deflates to a few dozen bytes

    with pytest.raises(DataError, match="more than the limit") as caught:
        read_image_zip(_zip(members), size=8, limits=ImageLimits(max_total_bytes=10_000))

    assert "Split the archive" in str(caught.value)


def test_a_zip_with_too_many_files_is_refused():
    with pytest.raises(DataError, match="5 files, more than the limit of 4"):
        read_image_zip(
            _zip({**_two_classes(), "x.txt": b""}), size=8, limits=ImageLimits(max_files=4)
        )


def test_a_member_larger_than_declared_is_skipped():
    data = bytearray(_zip({**_two_classes(), "cats/3.png": _gray(7, side=64)}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        central_start = archive.start_dir
    # Lie in the central directory: declare 10 uncompressed bytes (the field at +24 of the record).
    record = data.find(b"cats/3.png", central_start) - 46
    data[record + 24 : record + 28] = (10).to_bytes(4, "little")

    folder = read_image_zip(bytes(data), size=8)

    reason = dict(folder.skipped)["cats/3.png"]
    assert reason.startswith(("holds more data", "could not be read from the ZIP"))
    assert len(folder.labels) == 4


def test_a_huge_image_is_downscaled_within_max_pixels():
    huge = _image_bytes(Image.new("RGB", (6000, 6000), (0, 128, 255)))
    members = _two_classes(image=lambda v: _rgb((v, v, v)))
    members["cats/huge.png"] = huge

    folder = read_image_zip(_zip(members), size=8, limits=ImageLimits(max_pixels=100_000))

    assert folder.skipped == []
    assert folder.images[folder.names.index("cats/huge.png"), 3, 3].tolist() == [0, 128, 255]


def test_not_a_zip_is_refused(tmp_path):
    source = tmp_path / "images.zip"
    source.write_bytes(b"this is not a zip")

    with pytest.raises(DataError, match="not a readable ZIP"):
        read_image_zip(source, size=8)
    with pytest.raises(DataError, match="not a readable ZIP"):
        read_image_zip(b"PK\x03\x04 truncated", size=8)


def test_a_folder_reads_like_the_same_zip(tmp_path):
    for name, data in _two_classes().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)

    folder = read_image_zip(tmp_path, size=8)

    assert folder.names == ["cats/1.png", "cats/2.png", "dogs/1.png", "dogs/2.png"]
    np.testing.assert_array_equal(
        folder.images, read_image_zip(_zip(_two_classes()), size=8).images
    )


def test_a_folder_never_follows_links_out_of_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_gray(99))
    root = tmp_path / "data"
    for name, data in _two_classes().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "cats" / "linked.png").symlink_to(outside / "secret.png")
    (root / "birds").symlink_to(outside, target_is_directory=True)

    folder = read_image_zip(root, size=8)

    assert folder.classes == ["cats", "dogs"]
    assert len(folder.names) == 4


def test_image_files_takes_any_layout_and_lists_what_it_skips():
    files, skipped = image_files(_zip({"a.png": _gray(1), "x/y/b.png": _gray(2),
                                       "notes.txt": b"hi", "../up.png": _gray(3)}))  # fmt: skip

    assert [name for name, _ in files] == ["a.png", "x/y/b.png"]
    assert dict(skipped).keys() == {"notes.txt", "../up.png"}


def test_image_files_without_images_is_refused():
    with pytest.raises(DataError, match="No image file was found"):
        image_files(_zip({"notes.txt": b"hi"}))


def test_list_images_reads_names_classes_and_splits_without_decoding():
    members = {"train/cats/1.png": b"not decoded", "train/dogs/1.png": b"", "test/cats/2.png": b""}
    assert list_images(_zip(members)) == [
        ("test/cats/2.png", "cats", "test"),
        ("train/cats/1.png", "cats", "train"),
        ("train/dogs/1.png", "dogs", "train"),
    ]


def test_decode_image_says_why_it_cannot_read():
    assert decode_image(_rgb((255, 0, 0)), size=4, channels=3).shape == (4, 4, 3)
    assert decode_image(_rgb((255, 0, 0)), size=4, channels=1).shape == (4, 4, 1)
    with pytest.raises(ValueError, match="not a readable image: corrupt, or not a JPEG"):
        decode_image(b"%PDF-1.4", size=4, channels=3)


def test_native_side_is_the_median_longest_side():
    members = {"a/1.png": _gray(0, side=8), "a/2.png": _gray(0, side=10), "b/1.png": _gray(0, 30)}
    assert native_side(_zip(members)) == 10
