"""``export_dataset`` writes all or nothing, and never replaces a non-empty folder unasked."""

from __future__ import annotations

import pytest

from annotate.converters import ConversionLossError, FormatError, export_dataset, import_dataset
from schemas import SchemaError
from tests.converters.conftest import image_bytes


def raising_on_second_item():
    calls = {"n": 0}

    def images(item):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return image_bytes(item)

    return images


def listing(folder):
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


@pytest.mark.parametrize("format_name", ["native", "coco", "voc"])
def test_a_failure_halfway_leaves_nothing(tmp_path, dataset, format_name):
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_dataset(format_name, dataset, tmp_path / "out", images=raising_on_second_item())
    assert listing(tmp_path) == []  # no dest, no temporary folder


def test_parent_folders_created_for_a_failed_export_are_removed(tmp_path, dataset):
    with pytest.raises(RuntimeError):
        export_dataset("coco", dataset, tmp_path / "a" / "b" / "out", images=raising_on_second_item())
    assert listing(tmp_path) == []


def test_strict_loss_and_invalid_dataset_leave_nothing(tmp_path, dataset):
    with pytest.raises(ConversionLossError):
        export_dataset("voc", dataset, tmp_path / "out", images=image_bytes, strict=True)
    dataset["items"][0]["width"] = 0
    with pytest.raises(SchemaError):
        export_dataset("voc", dataset, tmp_path / "out")
    assert listing(tmp_path) == []


def test_a_non_empty_folder_is_refused_without_overwrite(tmp_path, dataset):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        export_dataset("coco", dataset, dest)
    assert listing(tmp_path) == ["out", "out/keep.txt"]


def test_overwrite_replaces_the_folder(tmp_path, dataset):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    export_dataset("coco", dataset, dest, overwrite=True)
    assert listing(tmp_path) == ["out", "out/annotations", "out/annotations/instances_train.json", "out/annotations/instances_val.json"]


def test_a_failed_overwrite_keeps_the_old_folder(tmp_path, dataset):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        export_dataset("coco", dataset, dest, images=raising_on_second_item(), overwrite=True)
    assert listing(tmp_path) == ["out", "out/old.txt"]


def test_an_empty_folder_is_used(tmp_path, dataset):
    dest = tmp_path / "out"
    dest.mkdir()
    export_dataset("native", dataset, dest)
    assert listing(tmp_path) == ["out", "out/dataset.json"]


def test_a_file_is_never_replaced(tmp_path, dataset):
    dest = tmp_path / "out"
    dest.write_text("a file")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="is not a folder"):
            export_dataset("native", dataset, dest, overwrite=overwrite)
    assert dest.read_text() == "a file"


def test_import_of_a_missing_source_names_it(tmp_path):
    with pytest.raises(FormatError, match="nowhere: no such file or folder"):
        import_dataset("coco", tmp_path / "nowhere")
