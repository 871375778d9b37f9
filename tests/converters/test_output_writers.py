"""Exports written straight into a zip hold the same files as exports into a folder (issue #3)."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from annotate.converters import FormatError, export_dataset, export_to_zip, get_format, import_dataset, list_formats
from annotate.converters._output import DatasetWriter, FolderWriter, ZipWriter, as_writer
from tests.converters.conftest import build_dataset, image_bytes
from tests.converters.contract import box_dataset
from tests.converters.test_cvat_format import rich_dataset
from tests.converters.test_cvat_video_format import rich_sample
from tests.converters.test_imagenet_format import classification_dataset
from tests.converters.test_mot_format import TestMotContract

#: Each format's own contract sample; the others hold the default box dataset.
SAMPLES = {
    "cvat": rich_dataset,
    "cvat-video": rich_sample,
    "imagenet": classification_dataset,
    "mot": lambda: TestMotContract().sample(),
}

UNSAFE = ["", "/abs.txt", "../up.txt", "a/../b.txt", "a\\b.txt", "C:/x.txt", "c:x.txt", "a//b.txt", "./a.txt", "a/", ".", ".."]


def folder_tree(root: Path) -> tuple[dict[str, bytes], set[str]]:
    """``({file: bytes}, {folder})`` under ``root``."""
    files = {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}
    folders = {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_dir()}
    return files, folders


def zip_tree(zip_path: Path) -> tuple[dict[str, bytes], set[str]]:
    """``({file: bytes}, {folder})`` of a zip, counting the folders its entries imply."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert len(names) == len(set(names)), "duplicate zip entries"
        files = {name: archive.read(name) for name in names if not name.endswith("/")}
    folders = {name.rstrip("/") for name in names if name.endswith("/")}
    folders |= {str(parent) for name in names for parent in PurePosixPath(name.rstrip("/")).parents if str(parent) != "."}
    return files, folders


def listing(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


def sample(format_name: str) -> dict[str, Any]:
    return SAMPLES.get(format_name, box_dataset)()


@pytest.mark.parametrize("with_images", [True, False], ids=["images", "no-images"])
@pytest.mark.parametrize("which", ["sample", "rich"])
@pytest.mark.parametrize("format_name", list_formats())
def test_zip_and_folder_hold_the_same_files(tmp_path, format_name, which, with_images):
    dataset = sample(format_name) if which == "sample" else build_dataset()
    images = image_bytes if with_images else None
    try:
        folder_report = export_dataset(format_name, dataset, tmp_path / "folder", images=images)
    except FormatError as error:  # e.g. ImageNet without images: the zip export must refuse alike
        with pytest.raises(FormatError, match=str(error)):
            export_to_zip(format_name, dataset, tmp_path / "out.zip", images=images)
        assert listing(tmp_path) == []
        return
    zip_report = export_to_zip(format_name, dataset, tmp_path / "out.zip", images=images)
    assert zip_report.lines() == folder_report.lines()
    files, folders = folder_tree(tmp_path / "folder")
    assert files, "the export wrote nothing"
    assert zip_tree(tmp_path / "out.zip") == (files, folders)
    assert listing(tmp_path) == ["folder", *sorted(f"folder/{name}" for name in [*files, *folders]), "out.zip"]


@pytest.mark.parametrize("format_name", ["coco", "cvat", "labelme", "labelstudio", "native", "ultralytics", "via", "voc", "yolo"])
def test_a_zip_of_the_box_dataset_imports_like_the_folder(tmp_path, format_name):
    export_dataset(format_name, box_dataset(), tmp_path / "folder", images=image_bytes)
    export_to_zip(format_name, box_dataset(), tmp_path / "out.zip", images=image_bytes)
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        archive.extractall(tmp_path / "unzipped")
    from_folder, folder_report = import_dataset(format_name, tmp_path / "folder")
    from_zip, zip_report = import_dataset(format_name, tmp_path / "unzipped")
    assert from_zip == from_folder
    assert zip_report.lines() == folder_report.lines()
    assert len(from_zip["items"]) == len(box_dataset()["items"])


@pytest.mark.parametrize("format_name", list_formats())
def test_every_format_writes_only_through_the_writer(tmp_path, monkeypatch, format_name):
    dataset = sample(format_name)
    monkeypatch.chdir(tmp_path)
    with zipfile.ZipFile(tmp_path / "out.zip", "w") as archive:
        get_format(format_name).export_dataset(dataset, ZipWriter(archive), images=image_bytes)
    assert listing(tmp_path) == ["out.zip"]  # no staging folder, nothing written beside the zip
    assert zip_tree(tmp_path / "out.zip")[0]


@pytest.mark.parametrize("format_name", ["coco", "voc", "yolo", "native"])
def test_an_empty_dataset_keeps_its_folders_in_the_zip(tmp_path, format_name):
    dataset = {"version": 1, "labels": [], "items": []}
    export_dataset(format_name, dataset, tmp_path / "folder")
    export_to_zip(format_name, dataset, tmp_path / "out.zip")
    assert zip_tree(tmp_path / "out.zip") == folder_tree(tmp_path / "folder")
    if format_name == "voc":
        assert "Annotations" in folder_tree(tmp_path / "folder")[1]  # empty, but VOC loaders expect it


@pytest.mark.parametrize("format_name", ["coco", "voc", "yolo", "native"])
def test_files_that_would_share_a_name_are_all_kept(tmp_path, format_name):
    # Subsets "a/b" and "a_b" give the same file-safe name; "x.png" and "x.jpg" both come back as JPEG.
    dataset = box_dataset()
    for item, subset, path in zip(dataset["items"], ["a/b", "a_b", "a_b"], ["x.jpg", "x.png", "x.jpg"], strict=False):
        item["subset"], item["path"], item["name"] = subset, path, path

    def jpeg(item):
        return image_bytes({**item, "path": "x.jpg"})

    folder_report = export_dataset(format_name, dataset, tmp_path / "folder", images=jpeg)
    zip_report = export_to_zip(format_name, dataset, tmp_path / "out.zip", images=jpeg)
    assert zip_report.lines() == folder_report.lines()
    files, folders = folder_tree(tmp_path / "folder")
    assert zip_tree(tmp_path / "out.zip") == (files, folders)
    assert sum(name.endswith(".jpg") for name in files) == len(dataset["items"])  # no image overwritten
    again, _ = import_dataset(format_name, tmp_path / "folder")
    assert len(again["items"]) == len(dataset["items"])
    assert sorted(len(item["annotation"]["shapes"]) for item in again["items"]) == sorted(
        len(item["annotation"]["shapes"]) for item in dataset["items"]
    )


def raising_on_second_item():
    calls = {"n": 0}

    def images(item):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return image_bytes(item)

    return images


@pytest.mark.parametrize("format_name", ["cvat", "ultralytics", "coco", "voc", "yolo", "native"])
def test_export_to_zip_is_all_or_nothing(tmp_path, format_name):
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_to_zip(format_name, box_dataset(), tmp_path / "a" / "b" / "out.zip", images=raising_on_second_item())
    assert listing(tmp_path) == []  # no zip, no temporary file or folder, no parents


def test_export_to_zip_keeps_an_existing_file_unless_told(tmp_path):
    dest = tmp_path / "out.zip"
    dest.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="exists"):
        export_to_zip("cvat", box_dataset(), dest)
    assert dest.read_bytes() == b"old"
    with pytest.raises(RuntimeError):
        export_to_zip("cvat", box_dataset(), dest, images=raising_on_second_item(), overwrite=True)
    assert listing(tmp_path) == ["out.zip"]
    assert dest.read_bytes() == b"old"
    export_to_zip("cvat", box_dataset(), dest, overwrite=True)
    assert zipfile.ZipFile(dest).namelist() == ["annotations.xml"]
    (tmp_path / "folder.zip").mkdir()
    with pytest.raises(FileExistsError, match="not a file"):
        export_to_zip("cvat", box_dataset(), tmp_path / "folder.zip", overwrite=True)


@pytest.fixture(params=["folder", "zip"])
def writer(request, tmp_path):
    if request.param == "folder":
        yield FolderWriter(tmp_path / "root")
        return
    with zipfile.ZipFile(tmp_path / "out.zip", "w") as archive:
        yield ZipWriter(archive)


@pytest.mark.parametrize("relpath", UNSAFE)
def test_unsafe_paths_are_refused(tmp_path, writer, relpath):
    with pytest.raises(ValueError, match="not a relative POSIX path"):
        writer.write_bytes(relpath, b"x")
    with pytest.raises(ValueError, match="not a relative POSIX path"):
        writer.write_text(relpath, "x")
    with pytest.raises(ValueError, match="not a relative POSIX path"), writer.open(relpath):
        pass
    with pytest.raises(ValueError, match="not a relative POSIX path"):
        writer.mkdir(relpath)
    with pytest.raises(ValueError, match="not a relative POSIX path"):
        writer.exists(relpath)
    assert [path for path in listing(tmp_path) if path not in ("root", "out.zip")] == []
    if isinstance(writer, ZipWriter):
        assert writer.archive.namelist() == []


def test_writers_write_text_bytes_streams_and_empty_folders(tmp_path, writer: DatasetWriter):
    writer.write_text("a/ü b.txt", "line\r\nüber\n")
    writer.write_bytes("img/x.jpg", b"\xff\xd8jpeg")
    with writer.open("big/data.json") as handle:
        handle.write(b"[")
        handle.write(b"1]")
    writer.mkdir("empty/inner")
    writer.mkdir("empty/inner")
    writer.mkdir("img")
    assert writer.exists("a/ü b.txt") and writer.exists("a") and writer.exists("empty") and writer.exists("empty/inner")
    assert not writer.exists("b.txt")
    expected_files = {"a/ü b.txt": "line\r\nüber\n".encode(), "img/x.jpg": b"\xff\xd8jpeg", "big/data.json": b"[1]"}
    expected_folders = {"a", "img", "big", "empty", "empty/inner"}
    if isinstance(writer, FolderWriter):
        assert folder_tree(tmp_path / "root") == (expected_files, expected_folders)
    else:
        writer.archive.close()
        assert zip_tree(tmp_path / "out.zip") == (expected_files, expected_folders)
        with zipfile.ZipFile(tmp_path / "out.zip") as archive:
            assert archive.namelist() == ["a/ü b.txt", "img/x.jpg", "big/data.json", "empty/inner/"]  # one entry per empty folder
            methods = {info.filename: info.compress_type for info in archive.infolist()}
        assert methods["img/x.jpg"] == zipfile.ZIP_STORED
        assert methods["a/ü b.txt"] == methods["big/data.json"] == zipfile.ZIP_DEFLATED


def test_a_zip_entry_cannot_be_written_twice(tmp_path):
    with zipfile.ZipFile(tmp_path / "out.zip", "w") as archive:
        writer = ZipWriter(archive)
        writer.write_text("a.txt", "one")
        with pytest.raises(ValueError, match="already written"):
            writer.write_text("a.txt", "two")
        with pytest.raises(ValueError, match="already written"), writer.open("a.txt"):
            pass
        with pytest.raises(ValueError, match="a file of that name"):
            writer.mkdir("a.txt")
    with zipfile.ZipFile(tmp_path / "out.zip", "r") as archive, pytest.raises(ValueError, match="not for writing"):
        ZipWriter(archive)


def test_as_writer(tmp_path):
    folder = as_writer(tmp_path / "new" / "out")
    assert isinstance(folder, FolderWriter) and (tmp_path / "new" / "out").is_dir()
    assert as_writer(folder) is folder


def test_images_that_end_up_with_the_same_name_are_both_kept(tmp_path):
    # "a.png" and "a.jpg" both come back as JPEG: a folder would overwrite, a zip could not hold both.
    dataset = box_dataset()
    dataset["items"][1]["path"], dataset["items"][1]["name"] = "a.png", "a.png"
    dataset["items"][2]["path"], dataset["items"][2]["name"] = "a.jpg", "a.jpg"
    dataset["items"][1]["subset"] = dataset["items"][2]["subset"]  # CVAT keeps subsets in separate image folders

    def jpeg(item):
        return image_bytes({**item, "path": "x.jpg"})

    for format_name in ("cvat", "labelme", "labelstudio", "via"):
        folder_report = export_dataset(format_name, dataset, tmp_path / format_name, images=jpeg)
        export_to_zip(format_name, dataset, tmp_path / f"{format_name}.zip", images=jpeg)
        files, _ = folder_tree(tmp_path / format_name)
        assert sum(name.endswith(".jpg") for name in files) == 3, format_name
        assert any("written as" in line for line in folder_report.lines()), format_name
        assert zip_tree(tmp_path / f"{format_name}.zip")[0] == files
        again, _ = import_dataset(format_name, tmp_path / format_name)
        assert len(again["items"]) == 3
        assert get_format(format_name).find_image(tmp_path / format_name, again["items"][2]) is not None
