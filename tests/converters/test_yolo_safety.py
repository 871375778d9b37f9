"""Darknet YOLO 1.1: lists that name only written images, sizes per subset, paths and numbers read strictly.

Every expected value is worked out by hand in the comments: a box [x, y, w, h] in a W x H image
is written as (x + w/2)/W (y + h/2)/H w/W h/H.
"""

from __future__ import annotations

import os

import pytest

from annotate.converters import ConversionLossError, FormatError, export_dataset, import_dataset
from tests.converters.conftest import image_bytes
from tests.converters.test_yolo_format import box, boxes, jpeg, one_item_dataset, write_strict


def two_subsets_one_name():
    """``x.jpg`` in train (100 x 50) and in val (30 x 60), each with the box [10, 10, 20, 20]."""
    dataset = one_item_dataset(100, 50, [box([10, 10, 20, 20])], path="x.jpg", subset="train")
    dataset["items"].append(dict(dataset["items"][0], id="2", width=30, height=60, subset="val"))
    return dataset


def test_one_name_in_two_subsets_keeps_each_size_without_images(tmp_path):
    report = export_dataset("yolo", two_subsets_one_name(), tmp_path)
    assert report.lossless
    # Datumaro's key (the name in the subset) holds the first size; the other subset's is
    # keyed by its folder too. Lines are "<name> <height> <width>".
    assert (tmp_path / "images.meta").read_text() == "# <image name> <height> <width>\nx 50 100\nobj_val_data/x 60 30\n"
    again, report = import_dataset("yolo", tmp_path)
    assert report.lossless
    # 20 x 20 at (10, 10) in both: train 0.2 0.4 0.2 0.4 on 100 x 50, val 0.666667 0.333333 ... on 30 x 60.
    assert [(i["id"], i["width"], i["height"]) for i in again["items"]] == [("train/x.jpg", 100, 50), ("val/x.jpg", 30, 60)]
    assert boxes(again) == [("thing", [10.0, 10.0, 20.0, 20.0]), ("thing", [10.0, 10.0, 20.0, 20.0])]


def test_an_item_without_image_is_not_listed_and_is_counted(tmp_path):
    dataset = one_item_dataset(20, 10, [box([0, 0, 10, 10])], path="a.jpg")
    dataset["items"].append(dict(dataset["items"][0], id="2", path="b.jpg", name="b.jpg"))

    def only_a(item):
        return image_bytes(item) if item["path"] == "a.jpg" else None

    report = export_dataset("yolo", dataset, tmp_path, images=only_a)
    assert report.lost == {("item", "no image to write, and a YOLO list names image files only"): 1}
    assert (tmp_path / "train.txt").read_text() == "data/obj_train_data/a.jpg\n"
    assert sorted(p.name for p in (tmp_path / "obj_train_data").iterdir()) == ["a.jpg", "a.txt"]
    assert "b " not in (tmp_path / "images.meta").read_text()
    with pytest.raises(ConversionLossError):
        export_dataset("yolo", dataset, tmp_path / "strict", images=only_a, strict=True)
    # Without images every item is listed, as the paths its label files belong to.
    export_dataset("yolo", dataset, tmp_path / "none")
    assert (tmp_path / "none/train.txt").read_text() == "data/obj_train_data/a.jpg\ndata/obj_train_data/b.jpg\n"


def test_a_list_path_through_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "o.jpg").write_bytes(jpeg(15, 10))
    (outside / "o.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    root = write_strict(tmp_path / "set", ["a"], {"x": "0 0.5 0.5 0.2 0.2\n"})
    os.symlink(outside, root / "obj_train_data/link")
    (root / "train.txt").write_text("data/obj_train_data/x.jpg\ndata/obj_train_data/link/o.jpg\n")
    dataset, report = import_dataset("yolo", root)
    assert [i["id"] for i in dataset["items"]] == ["train/x.jpg"]
    assert report.lost == {("item", "its path in train.txt leaves the dataset folder"): 1}
    # A symlinked image file or label file leaves the folder just as well.
    (root / "train.txt").write_text("data/obj_train_data/x.jpg\ndata/obj_train_data/y.jpg\n")
    os.symlink(outside / "o.jpg", root / "obj_train_data/y.jpg")
    dataset, report = import_dataset("yolo", root)
    assert [i["id"] for i in dataset["items"]] == ["train/x.jpg"]
    assert report.lost == {("item", "its path in train.txt leaves the dataset folder"): 1}


def test_a_loose_layout_skips_files_that_link_out_of_the_folder(tmp_path):
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(jpeg(15, 10))
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "obj.names").write_text("a\n")
    (root / "images/x.jpg").write_bytes(jpeg(15, 10))
    (root / "labels/x.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    os.symlink(outside, root / "images/y.jpg")
    dataset, report = import_dataset("yolo", root)
    assert [i["path"] for i in dataset["items"]] == ["x.jpg"]
    assert report.lost == {("item", "the file links to a place outside the dataset folder"): 1}


def test_a_list_naming_an_image_twice_names_the_file_and_both_lines(tmp_path):
    write_strict(tmp_path, ["a"], {"1": "0 0.5 0.5 0.2 0.2\n"})
    (tmp_path / "train.txt").write_text("data/obj_train_data/1.jpg\n\n./data/obj_train_data/1.jpg\n")
    with pytest.raises(FormatError, match=r"train.txt, line 3: './data/obj_train_data/1.jpg' names item 'train/1.jpg' again \(line 1\)"):
        import_dataset("yolo", tmp_path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.2 0.2_0", r"line 1: '0.2_0' is not a decimal number"),
        # Arabic-Indic digits zero and two: float() reads 0.2.
        ("0 0.5 0.5 0.2 \u0660.\u0662", "line 1: '\u0660.\u0662' is not a decimal number"),
        ("0_0 0.5 0.5 0.2 0.2", r"line 1: class index '0_0' is not a decimal number"),
        ("0 0.5 0.5 -0.2 0.2", r"line 1: the box width -0.2 is negative"),
        ("0 0.5 0.5 0.2 -1e-3", r"line 1: the box height -0.001 is negative"),
        ("0 0.5 0.5 0.2 nan", r"line 1: 'nan' is not a finite number"),
    ],
)
def test_numbers_follow_the_decimal_grammar_and_sizes_are_not_negative(tmp_path, line, message):
    write_strict(tmp_path, ["a"], {"x": line + "\n"})
    with pytest.raises(FormatError, match=message) as caught:
        import_dataset("yolo", tmp_path)
    assert "obj_train_data/x.txt" in str(caught.value)


@pytest.mark.parametrize("text", ["0 .5 5e-1 2E-1 +0.2", "0 0.5 0.5 0.2 0.2"])
def test_decimal_forms_strtod_reads_are_accepted(tmp_path, text):
    # 15 x 10 image: center (7.5, 5), size 3 x 2.
    write_strict(tmp_path, ["a"], {"x": text + "\n"})
    dataset, _ = import_dataset("yolo", tmp_path)
    assert boxes(dataset) == [("a", [6.0, 4.0, 3.0, 2.0])]


def test_a_zero_width_box_is_still_dropped_and_counted(tmp_path):
    write_strict(tmp_path, ["a"], {"x": "0 0.5 0.5 0 0.2\n"})
    dataset, report = import_dataset("yolo", tmp_path)
    assert boxes(dataset) == []
    assert report.dropped_empty == {"bbox": 1}
