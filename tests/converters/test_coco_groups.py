"""Grouped shapes are one COCO annotation: one per (item, group, label), where COCO can hold it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotate.converters import export_dataset, import_dataset
from tests.converters.coco_files import load_coco

# pycocotools' decode (2.0.11) trips numpy 2's copy-keyword DeprecationWarning; it is theirs.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def labelme_instances(folder: Path) -> list[tuple[str, str, int]]:
    """``(image, label, rings)`` per instance, worked out from the LabelMe files as labelme2coco does.

    One instance per (label, group_id), plus one per shape without a group_id, in the order of
    each instance's first shape.
    """
    instances: list[tuple[str, str, int]] = []
    for file in sorted(folder.glob("*.json")):
        document = json.loads(file.read_text())
        image = Path(document["imagePath"]).name
        grouped: dict[tuple[str, int], int] = {}
        for shape in document["shapes"]:
            if shape.get("group_id") is None:
                instances.append((image, shape["label"], 1))
            elif (shape["label"], shape["group_id"]) in grouped:
                index = grouped[(shape["label"], shape["group_id"])]
                instances[index] = (image, shape["label"], instances[index][2] + 1)
            else:
                grouped[(shape["label"], shape["group_id"])] = len(instances)
                instances.append((image, shape["label"], 1))
    return instances


def test_labelme_instance_segmentation_gives_labelme2coco_instances(tmp_path, corpus):
    src = corpus / "labelme/instance_segmentation/data_annotated"
    expected = labelme_instances(src)
    # 18 polygons: person group 0 (2 polygons) in 2011_000003, sofa group 0 (4) in 2011_000006.
    assert (sum(rings for *_, rings in expected), len(expected)) == (18, 14)
    dataset, _ = import_dataset("labelme", src)
    report = export_dataset("coco", dataset, tmp_path / "out", checked=True)
    assert not [line for line in report.lines() if "group" in line]
    coco = load_coco(tmp_path / "out/annotations/instances_default.json")
    names = {category["id"]: category["name"] for category in coco.dataset["categories"]}
    files = {image["id"]: Path(image["file_name"]).name for image in coco.dataset["images"]}
    got = [(files[a["image_id"]], names[a["category_id"]], len(a["segmentation"])) for a in coco.dataset["annotations"]]
    assert sorted(got) == sorted(expected)

    # labelme2coco's own output (in the corpus) has the same instances, less the two of the
    # label __ignore__, which is not in its labels.txt and so never written.
    reference = json.loads((corpus / "labelme/instance_segmentation/data_dataset_coco/annotations.json").read_text())
    ref_names = {category["id"]: category["name"] for category in reference["categories"]}
    ref_files = {image["id"]: Path(image["file_name"]).name for image in reference["images"]}
    ref = [(ref_files[a["image_id"]], ref_names[a["category_id"]], len(a["segmentation"])) for a in reference["annotations"]]
    assert len(ref) == 12
    assert sorted(ref) == sorted(instance for instance in got if instance[1] != "__ignore__")

    for annotation in coco.dataset["annotations"]:
        # area is what pycocotools counts for the written rings together, bbox their extent
        # inside the image.
        assert annotation["area"] == float(mask_utils.area(coco.annToRLE(annotation)))
        image = coco.imgs[annotation["image_id"]]
        xs = [min(max(x, 0), image["width"]) for ring in annotation["segmentation"] for x in ring[0::2]]
        ys = [min(max(y, 0), image["height"]) for ring in annotation["segmentation"] for y in ring[1::2]]
        assert annotation["bbox"] == pytest.approx([min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)])


def test_coco_person_keypoints_round_trip_keeps_each_annotation(tmp_path, corpus):
    src = corpus / "datumaro/coco/coco_person_keypoints"
    dataset, _ = import_dataset("coco", src)
    # Polygon + keypoints and RLE + keypoints are read as two shapes in one group each.
    val = next(item for item in dataset["items"] if item["subset"] == "val")
    assert [(shape["type"], shape.get("group")) for shape in val["annotation"]["shapes"]] == [
        ("polygon", 1),
        ("keypoints", 1),
        ("mask", 2),
        ("keypoints", 2),
    ]
    report = export_dataset("coco", dataset, tmp_path / "out", checked=True)
    assert not [line for line in report.lines() if "group" in line]
    for subset in ("train", "val"):
        source = load_coco(src / f"annotations/person_keypoints_{subset}.json")
        written = load_coco(tmp_path / f"out/annotations/instances_{subset}.json")
        assert len(written.dataset["annotations"]) == len(source.dataset["annotations"])
        for before, after in zip(source.dataset["annotations"], written.dataset["annotations"], strict=True):
            assert after["keypoints"] == before["keypoints"]
            assert after["num_keypoints"] == before["num_keypoints"]
            assert after["iscrowd"] == before["iscrowd"]
            image = source.imgs[before["image_id"]]
            if before["segmentation"]:
                assert np.array_equal(written.annToMask(after), source.annToMask(before))
                assert after["area"] == float(written.annToMask(after).sum())
            else:
                assert after["segmentation"] == []
            assert (image["width"], image["height"]) == (
                written.imgs[after["image_id"]]["width"],
                written.imgs[after["image_id"]]["height"],
            )

    # And again: a second round trip changes nothing.
    again, _ = import_dataset("coco", tmp_path / "out")
    export_dataset("coco", again, tmp_path / "again", checked=True)
    for subset in ("train", "val"):
        first = json.loads((tmp_path / f"out/annotations/instances_{subset}.json").read_text())
        second = json.loads((tmp_path / f"again/annotations/instances_{subset}.json").read_text())
        assert second["annotations"] == first["annotations"]


def _shape(shape_id: str, kind: str, label: str = "person", group: int | None = 1, **fields: Any) -> dict[str, Any]:
    shape = {"id": shape_id, "type": kind, "label": label, "source": {"type": "human"}, **fields}
    if group is not None:
        shape["group"] = group
    return shape


SQUARE = [[1, 1, 4, 1, 4, 4, 1, 4]]
FAR_SQUARE = [[10, 10, 14, 10, 14, 14, 10, 14]]


def _export(tmp_path: Path, shapes: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    mask = np.zeros((20, 30), dtype=np.uint8)
    mask[2:5, 20:25] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    for shape in shapes:
        if shape["type"] == "mask":
            shape["rle"] = {"size": [20, 30], "counts": rle["counts"].decode()}
    dataset = {
        "version": 1,
        "labels": [{"id": 1, "name": "person", "kind": "shape"}, {"id": 2, "name": "head", "kind": "shape"}],
        "items": [
            {
                "id": "a",
                "name": "a.jpg",
                "path": "a.jpg",
                "media": "image",
                "width": 30,
                "height": 20,
                "annotation": {"version": 1, "tags": [], "shapes": shapes},
            }
        ],
    }
    report = export_dataset("coco", dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out/annotations/instances_default.json").read_text())
    return written["annotations"], report.lines()


def test_polygons_of_a_group_are_one_annotation_with_the_union_box(tmp_path):
    annotations, lines = _export(
        tmp_path,
        [
            _shape("a", "polygon", rings=SQUARE),
            _shape("alone", "bbox", group=None, bbox=[0, 0, 2, 2]),
            _shape("b", "polygon", rings=FAR_SQUARE),
            _shape("kp", "keypoints", keypoints=[2, 2, 2, 20, 3, 2, 0, 0, 0]),
        ],
    )
    assert lines == []
    merged, alone = annotations
    assert (merged["id"], alone["id"]) == (1, 2)  # written where the group's first shape is
    assert merged["segmentation"] == [[float(v) for v in SQUARE[0]], [float(v) for v in FAR_SQUARE[0]]]
    # The rings' pixels together, as pycocotools counts them; the box around rings and keypoints.
    rle = mask_utils.merge(mask_utils.frPyObjects(merged["segmentation"], 20, 30))
    assert merged["area"] == float(mask_utils.area(rle)) == 9.0 + 16.0
    assert merged["bbox"] == [1.0, 1.0, 19.0, 13.0]
    assert (merged["keypoints"], merged["num_keypoints"]) == ([2.0, 2.0, 2, 20.0, 3.0, 2, 0.0, 0.0, 0], 2)
    assert alone["bbox"] == [0.0, 0.0, 2.0, 2.0]


def test_a_box_and_keypoints_without_a_box_are_one_annotation(tmp_path):
    annotations, lines = _export(tmp_path, [_shape("box", "bbox", bbox=[1, 1, 10, 10]), _shape("kp", "keypoints", keypoints=[2, 2, 2])])
    assert lines == []
    (annotation,) = annotations
    assert (annotation["bbox"], annotation["area"], annotation["segmentation"]) == ([1.0, 1.0, 10.0, 10.0], 100.0, [])
    assert annotation["keypoints"] == [2.0, 2.0, 2]


@pytest.mark.parametrize(
    ("shapes", "count", "line"),
    [
        (
            [_shape("p", "polygon", rings=SQUARE), _shape("h", "polygon", label="head", rings=FAR_SQUARE)],
            2,
            "1 group dropped: its shapes have different labels and a COCO annotation has one category: one annotation per label",
        ),
        (
            [_shape("k1", "keypoints", keypoints=[2, 2, 2]), _shape("k2", "keypoints", keypoints=[3, 3, 2])],
            2,
            "1 group dropped: a COCO annotation has one set of keypoints: the group's other keypoints shapes are separate annotations",
        ),
        (
            [_shape("p", "polygon", rings=SQUARE), _shape("m", "mask")],
            2,
            "1 group dropped: a COCO annotation has one segmentation, polygons or a single mask:"
            " the group's other masks or polygons are separate annotations",
        ),
        (
            [_shape("p", "polygon", rings=SQUARE), _shape("b", "bbox", bbox=[0, 0, 5, 5]), _shape("q", "polygon", rings=FAR_SQUARE)],
            2,
            "1 group dropped: a COCO annotation has one box, that of its segmentation or keypoints:"
            " the group's boxes are separate annotations",
        ),
        (
            [_shape("p", "polygon", rings=SQUARE), _shape("q", "polygon", rings=FAR_SQUARE, occluded=True)],
            2,
            "1 group dropped: a COCO annotation has one set of attributes, flags and crowd mark:"
            " the group's shapes that differ from its first are separate annotations",
        ),
    ],
)
def test_what_one_annotation_cannot_hold_stays_apart_and_is_counted(tmp_path, shapes, count, line):
    annotations, lines = _export(tmp_path, shapes)
    assert len(annotations) == count
    assert lines == [line]


def test_different_labels_in_a_group_each_merge_their_own_shapes(tmp_path):
    annotations, lines = _export(
        tmp_path,
        [
            _shape("p1", "polygon", rings=SQUARE),
            _shape("h", "bbox", label="head", bbox=[0, 0, 1, 1]),
            _shape("p2", "polygon", rings=FAR_SQUARE),
            _shape("line", "polyline", points=[0, 0, 1, 1]),
        ],
    )
    assert [(a["category_id"], len(a["segmentation"])) for a in annotations] == [(1, 2), (2, 0)]
    assert lines == [
        "1 group dropped: its shapes have different labels and a COCO annotation has one category: one annotation per label",
        "1 polyline dropped: COCO instances has no polylines",
    ]
