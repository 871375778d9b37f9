"""Import of real files from other tools, read in place from the corpus.

Expected values were read from the files by hand (see the comments).
"""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotate.converters import detect_format, get_format, import_dataset


def shapes_of(item):
    return item["annotation"]["shapes"]


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_datumaro_coco_instances(corpus):
    src = corpus / "datumaro/coco/coco_instances"
    assert detect_format(src) == "coco"
    dataset, report = import_dataset("coco", src)
    assert report.lines() == []
    # Non-contiguous category ids 1, 2, 4.
    assert [(label["id"], label["name"]) for label in dataset["labels"]] == [(1, "a"), (2, "b"), (4, "c")]
    a, b = dataset["items"]
    assert (a["path"], a["subset"], a["width"], a["height"]) == ("a.jpg", "train", 10, 5)
    assert (b["path"], b["subset"], b["width"], b["height"]) == ("b.jpg", "val", 5, 10)
    (box,) = shapes_of(a)
    assert (box["type"], box["label"], box["bbox"]) == ("bbox", "b", [2.0, 2.0, 3.0, 1.0])
    polygon, mask = shapes_of(b)
    assert polygon["rings"] == [[0.0, 0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 2.0]]
    assert polygon["attributes"] == {"x": 1, "y": "hello"}
    assert (mask["type"], mask["label"], mask["iscrowd"]) == ("mask", "b", True)
    # Uncompressed counts [0, 20, 30] on a 10x5 mask, column-major: columns 0 and 1 set.
    pixels = mask_utils.decode({"size": mask["rle"]["size"], "counts": mask["rle"]["counts"].encode()})
    expected = np.zeros((10, 5), dtype=np.uint8)
    expected[:, :2] = 1
    assert np.array_equal(pixels, expected)
    # The annotation's own box, not the mask's extent [0, 0, 2, 10]: it is written back unchanged.
    assert mask["bbox"] == [0.0, 0.0, 1.0, 9.0]
    fmt = get_format("coco")
    assert fmt.find_image(src, a) == src / "images/train/a.jpg"
    assert fmt.find_image(src, b) == src / "images/val/b.jpg"


def test_labelme_coco(corpus):
    src = corpus / "labelme/instance_segmentation/data_dataset_coco"
    dataset, report = import_dataset("coco", src)
    # labelme2coco's boxes are the rasterised mask's whole pixels, within a pixel of each polygon's extent.
    assert report.lines() == []
    assert len(dataset["labels"]) == 21
    assert dataset["labels"][0] == {"id": 0, "name": "_background_", "kind": "shape"}
    assert [item["path"] for item in dataset["items"]] == [
        "JPEGImages/2011_000003.jpg",
        "JPEGImages/2011_000025.jpg",
        "JPEGImages/2011_000006.jpg",
    ]
    assert [len(shapes_of(item)) for item in dataset["items"]] == [3, 3, 6]
    assert all(s["type"] == "polygon" for item in dataset["items"] for s in shapes_of(item))
    first = dataset["items"][0]
    assert (first["width"], first["height"]) == (500, 338)
    # Annotation 1: a person in two parts, rings of 82 and 8 numbers.
    assert [len(ring) for ring in shapes_of(first)[1]["rings"]] == [82, 8]
    assert shapes_of(first)[2]["label"] == "bottle"
    assert [len(ring) for ring in shapes_of(dataset["items"][2])[5]["rings"]] == [18, 6, 18, 8]
    assert get_format("coco").find_image(src, first) == src / "JPEGImages/2011_000003.jpg"


def test_label_studio_coco_annotator_quirks(corpus):
    src = corpus / "label-studio/coco/import_coco/coco_import_input.json"
    assert detect_format(src) == "coco"
    dataset, report = import_dataset("coco", src)
    # COCO Annotator's box of annotation 0 is a pixel wider than its polygon (kept as the polygon's extent);
    # annotation 1000's box [5040, 1686, 89, 89] lies away from its polygon's [4787, 1362, 341, 412].
    assert report.lines() == [
        "1 box dropped: a COCO polygon annotation's bbox that differs from its polygon's extent is not kept (a polygon shape has no box)"
    ]
    assert dataset["labels"] == [
        {"id": 1, "name": "Class_1", "kind": "shape", "color": "#594b6f"},
        {"id": 2, "name": "Class_2", "kind": "shape", "color": "#2827e5"},
    ]
    one, two = dataset["items"]
    assert (one["path"], one["width"], one["height"]) == ("image1.jpg", 4022, 6033)
    (first,) = shapes_of(one)
    (second,) = shapes_of(two)
    # Image id 0 and annotation id 0 are kept; iscrowd "false" is not a crowd.
    assert (first["id"], first["label"], "iscrowd" in first) == ("coco-0", "Class_1", False)
    assert first["rings"][0][:4] == [3699.0, 872.0, 3698.0, 873.0]
    assert (second["id"], len(second["rings"])) == ("coco-1000", 2)


def test_labelme_voc_detection(corpus):
    src = corpus / "labelme/bbox_detection/data_dataset_voc"
    assert detect_format(src) == "voc"
    dataset, report = import_dataset("voc", src)
    assert report.lines() == []
    # No ImageSets: every Annotations/*.xml is an item of the default subset.
    assert [item["id"] for item in dataset["items"]] == ["2011_000003", "2011_000006", "2011_000025"]
    assert {item["subset"] for item in dataset["items"]} == {"default"}
    assert sum(len(shapes_of(item)) for item in dataset["items"]) == 9
    item = dataset["items"][0]
    assert (item["path"], item["width"], item["height"]) == ("2011_000003.jpg", 500, 338)
    first, second = shapes_of(item)
    # xmin 191.0, ymin 107.369..., xmax 313.0, ymax 329.369... -> x = xmin - 1, w = xmax - xmin + 1
    assert first["bbox"] == pytest.approx([190.0, 106.36900369003689, 123.0, 223.0])
    assert second["bbox"] == [364.0, 82.0, 136.0, 251.0]  # xmax 500 = the right edge
    assert "truncated" not in first  # <truncated/> is empty, so unknown
    assert get_format("voc").find_image(src, item) == src / "JPEGImages/2011_000003.jpg"


def test_datumaro_voc_with_parts_and_actions(corpus):
    src = corpus / "datumaro/voc/voc_dataset1"
    dataset, report = import_dataset("voc", src)
    assert report.lines() == []
    items = {item["id"]: item for item in dataset["items"]}
    # train.txt lists 2007_000001, test.txt lists 2007_000002 (no XML: size from the JPEG).
    assert (items["2007_000001"]["subset"], items["2007_000002"]["subset"]) == ("train", "test")
    assert (items["2007_000002"]["width"], items["2007_000002"]["height"]) == (20, 10)
    assert shapes_of(items["2007_000002"]) == []
    cat, person, head, mask = shapes_of(items["2007_000001"])
    assert (mask["type"], mask["label"], mask["group"]) == ("mask", "bicycle", cat["group"])  # SegmentationObject instance 1
    assert (cat["label"], cat["bbox"], cat["truncated"], cat["difficult"]) == ("cat", [0.0, 1.0, 3.0, 3.0], True, False)
    assert "attributes" not in cat  # pose "Unspecified" is the default
    assert (person["label"], person["bbox"]) == ("person", [3.0, 4.0, 3.0, 3.0])
    assert person["attributes"]["jumping"] is False
    assert person["attributes"]["walking"] is True
    assert len(person["attributes"]) == 11
    # The part has fractional corners 5.5..7.5 (x) and 6..8 (y).
    assert (head["label"], head["bbox"]) == ("head", [4.5, 5.0, 3.0, 3.0])
    assert person["group"] == head["group"] == 2
