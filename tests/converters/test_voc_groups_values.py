"""VOC export of grouped masks and polygons (one instance per group and label) and of attribute values VOC cannot type.

Pixel values are worked out by hand: a rectangle polygon ``x0,y0 .. x1,y1`` (whole numbers)
covers pixel columns ``x0..x1-1`` and rows ``y0..y1-1``, as pycocotools rasterises it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from annotate.converters import export_dataset, import_dataset
from annotate.converters.errors import ConversionLossError
from tests.converters.test_voc_details import box, one_item
from tests.converters.test_voc_segmentation import pixels_of, rle_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LONE_GROUP_LOST = (
    "group membership",
    "VOC keeps a group as one object (a box, its parts and one instance of one label) or as the index of an instance "
    "without an object box, above the objects and below 255, where the import's numbering would not give it",
)


def rectangle(shape_id: str, label: str, x0: int, y0: int, x1: int, y1: int, **extra) -> dict:
    ring = [x0, y0, x1, y0, x1, y1, x0, y1]
    return {"id": shape_id, "type": "polygon", "label": label, "rings": [ring], "source": {"type": "human"}, **extra}


def mask(shape_id: str, label: str, pixels: np.ndarray, **extra) -> dict:
    return {"id": shape_id, "type": "mask", "label": label, "rle": rle_of(pixels), "source": {"type": "human"}, **extra}


def dataset_of(shapes: list[dict], labels: list[str], width: int = 20, height: int = 10) -> dict:
    entries = [{"id": index, "name": name, "kind": "shape"} for index, name in enumerate(labels)]
    return {"version": 1, "labels": entries, "items": [one_item(shapes, width, height)]}


def object_png(root, voc_id: str = "a") -> np.ndarray:
    return np.array(Image.open(root / "SegmentationObject" / f"{voc_id}.png"))


def lost_of(report) -> dict:
    return {kind: (count, reason) for (kind, reason), count in report.lost.items()}


# -- grouped masks and polygons ----------------------------------------------------------


def test_labelme_polygons_with_group_id_0_are_one_instance_and_the_group_is_counted(tmp_path):
    shapes = [
        {"label": "a", "points": [[1, 1], [4, 1], [4, 3], [1, 3]], "group_id": 0, "shape_type": "polygon", "flags": {}},
        {"label": "a", "points": [[6, 5], [8, 5], [8, 6], [6, 6]], "group_id": 0, "shape_type": "polygon", "flags": {}},
    ]
    doc = {"version": "5.0.1", "flags": {}, "shapes": shapes, "imagePath": "img.jpg", "imageData": None, "imageHeight": 8, "imageWidth": 10}
    (tmp_path / "in").mkdir()
    (tmp_path / "in/img.json").write_text(json.dumps(doc))
    dataset, _ = import_dataset("labelme", tmp_path / "in")
    with pytest.raises(ConversionLossError, match="2 group memberships dropped"):
        export_dataset("voc", dataset, tmp_path / "strict", strict=True)
    report = export_dataset("voc", dataset, tmp_path / "voc")
    # Instance 0 (background) cannot be the group: the union is instance 1 and comes back with no group.
    assert lost_of(report) == {"group membership": (2, LONE_GROUP_LOST[1])}
    assert "masks and polygons of one group and label written as one instance (their union): 2" in report.notes
    expected = np.zeros((8, 10), dtype=np.uint8)
    expected[1:3, 1:4] = 1  # columns 1..3, rows 1..2
    expected[5:6, 6:8] = 1  # columns 6..7, row 5
    assert np.array_equal(object_png(tmp_path / "voc", "img"), expected)
    again, _ = import_dataset("voc", tmp_path / "voc")
    (back,) = again["items"][0]["annotation"]["shapes"]
    assert (back["type"], back["label"], "group" in back) == ("mask", "a", False)
    assert np.array_equal(pixels_of(back), expected)


def test_a_group_whose_number_an_object_has_is_one_instance_after_the_objects(tmp_path):
    shapes = [
        box("b", "car", [15, 5, 3, 3]),
        rectangle("p1", "person", 1, 1, 3, 3, group=1),
        rectangle("p2", "person", 5, 1, 7, 2, group=1),
    ]
    report = export_dataset("voc", dataset_of(shapes, ["car", "person"]), tmp_path)
    # Instance 1 is the car's (it has no mask); the group of two polygons is instance 2.
    assert lost_of(report) == {"group membership": (2, LONE_GROUP_LOST[1])}
    expected = np.zeros((10, 20), dtype=np.uint8)
    expected[1:3, 1:3] = 2
    expected[1:2, 5:7] = 2
    assert np.array_equal(object_png(tmp_path), expected)
    again, _ = import_dataset("voc", tmp_path)
    car, person = again["items"][0]["annotation"]["shapes"]
    assert (car["label"], car["bbox"], "group" in car) == ("car", [15.0, 5.0, 3.0, 3.0], False)
    assert (person["type"], person["label"], "group" in person) == ("mask", "person", False)
    assert np.array_equal(pixels_of(person), expected == 2)


def test_masks_of_a_group_with_a_box_are_that_objects_instance(tmp_path):
    left, right, wheel = (np.zeros((10, 20), dtype=np.uint8) for _ in range(3))
    left[2:5, 1:3] = 1
    right[2:4, 6:9] = 1
    wheel[8:10, 15:17] = 1
    shapes = [
        box("p", "person", [1, 2, 8, 3], group=7),
        mask("m1", "person", left, group=7),
        mask("w", "car", wheel, group=7),  # another label in the group: an instance of its own
        mask("m2", "person", right, group=7),
    ]
    report = export_dataset("voc", dataset_of(shapes, ["person", "car"]), tmp_path)
    assert lost_of(report) == {"group membership": (1, LONE_GROUP_LOST[1])}
    assert xml_objects(tmp_path) == 1
    expected = left + right + 2 * wheel  # the person object is instance 1, the car mask instance 2
    assert np.array_equal(object_png(tmp_path), expected)
    again, _ = import_dataset("voc", tmp_path)
    person_box, person, car = again["items"][0]["annotation"]["shapes"]
    assert (person_box["label"], person_box["bbox"], person_box["group"]) == ("person", [1.0, 2.0, 8.0, 3.0], 1)
    assert (person["label"], person["group"]) == ("person", 1)
    assert np.array_equal(pixels_of(person), left | right)
    assert (car["label"], "group" in car) == ("car", False)
    assert np.array_equal(pixels_of(car), wheel)


def test_a_free_group_number_is_the_instance_index_and_comes_back(tmp_path):
    shapes = [rectangle("a1", "a", 0, 0, 2, 2, group=7), rectangle("a2", "a", 10, 5, 11, 7, group=7)]
    report = export_dataset("voc", dataset_of(shapes, ["a"]), tmp_path, strict=True)
    assert report.lost == {}
    expected = np.zeros((10, 20), dtype=np.uint8)
    expected[0:2, 0:2] = 7
    expected[5:7, 10:11] = 7
    assert np.array_equal(object_png(tmp_path), expected)
    again, _ = import_dataset("voc", tmp_path)
    (back,) = again["items"][0]["annotation"]["shapes"]
    assert (back["label"], back["group"]) == ("a", 7)
    assert np.array_equal(pixels_of(back), expected == 7)


def xml_objects(root, voc_id: str = "a") -> int:
    return (root / "Annotations" / f"{voc_id}.xml").read_text().count("<object>")


# -- attribute values ------------------------------------------------------------------


def test_text_values_that_read_back_as_another_type_are_counted(tmp_path):
    attributes = {"code": "0003", "flag": "true", "neg": "-0", "spaced": " x ", "color": "red", "count": 3, "ratio": 1.5, "on": True}
    dataset = dataset_of([box("b", "car", [1, 1, 5, 5], attributes=attributes)], ["car"])
    with pytest.raises(ConversionLossError, match="4 attribute values dropped"):
        export_dataset("voc", dataset, tmp_path / "strict", strict=True)
    report = export_dataset("voc", dataset, tmp_path / "voc")
    assert lost_of(report) == {
        "attribute value": (4, "VOC writes attribute values as text; this one would read back as another value or type")
    }
    again, _ = import_dataset("voc", tmp_path / "voc")
    (back,) = again["items"][0]["annotation"]["shapes"]
    # The four counted come back changed; the others as they were, type included.
    assert back["attributes"] == {"code": 3, "flag": True, "neg": 0, "spaced": "x", "color": "red", "count": 3, "ratio": 1.5, "on": True}
    assert [type(back["attributes"][name]) for name in ("count", "ratio", "on")] == [int, float, bool]


def test_a_pose_that_is_not_plain_text_is_counted(tmp_path):
    shapes = [box("b", "car", [1, 1, 5, 5], attributes={"pose": "Left"}), box("c", "car", [6, 1, 5, 5], attributes={"pose": 2})]
    dataset = dataset_of(shapes, ["car"])
    report = export_dataset("voc", dataset, tmp_path)
    assert lost_of(report)["attribute value"][0] == 1
    again, _ = import_dataset("voc", tmp_path)
    assert [shape["attributes"]["pose"] for shape in again["items"][0]["annotation"]["shapes"]] == ["Left", "2"]
