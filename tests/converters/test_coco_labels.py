"""What COCO categories keep of the labels, and what the export counts as lost.

A category keeps a label's id, name, keypoint names and skeleton, and its parent as the
``supercategory`` (read back when it names another category of the file). Colors,
attribute specs and tag labels are counted: COCO instances has no image-level labels, so a
tag label that no shape uses is not written, and one that shapes use comes back as a shape
label.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from annotate.converters import ConversionLossError, export_dataset, import_dataset
from annotate.converters.geometry import HUMAN


def dataset_with(labels: list[dict[str, Any]], shapes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item = {"id": "a", "name": "a.jpg", "path": "a.jpg", "media": "image", "width": 10, "height": 10}
    annotation = {"version": 1, "tags": [], "shapes": shapes or []}
    return {"version": 1, "labels": labels, "items": [{**item, "annotation": annotation}]}


def box(label: str, number: int = 1) -> dict[str, Any]:
    return {"id": str(number), "type": "bbox", "label": label, "bbox": [1.0, 1.0, 2.0, 2.0], "source": HUMAN}


# A colored label with an attribute spec, a skeleton label and a tag label.
COLR_LABELS = [
    {"id": 1, "name": "p", "kind": "shape", "color": "#ff0000", "attributes": [{"name": "kind", "type": "select", "values": ["a", "b"]}]},
    {"id": 2, "name": "pose", "kind": "shape", "keypoints": ["a", "b"], "skeleton": [[0, 1]]},
    {"id": 3, "name": "t", "kind": "tag"},
]


def test_label_metadata_coco_cannot_hold_is_counted(tmp_path):
    report = export_dataset("coco", dataset_with(COLR_LABELS, [box("p")]), tmp_path / "out")
    assert report.lines() == [
        "1 label dropped: COCO instances has no image-level labels: a tag label that no shape uses is not a category",
        "1 label attribute dropped: COCO declares no attributes per label",
    ]
    # Keypoint names and the skeleton are COCO's own, and the color goes in COCO Annotator's
    # category "color": kept, not counted.
    again, _ = import_dataset("coco", tmp_path / "out")
    assert again["labels"] == [
        {"id": 1, "name": "p", "kind": "shape", "color": "#ff0000"},
        {"id": 2, "name": "pose", "kind": "shape", "keypoints": ["a", "b"], "skeleton": [[0, 1]]},
    ]


def test_strict_export_refuses_and_writes_nothing(tmp_path):
    with pytest.raises(ConversionLossError, match="1 label dropped: COCO instances has no image-level labels"):
        export_dataset("coco", dataset_with(COLR_LABELS, [box("p")]), tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()


def test_a_tag_label_that_shapes_use_comes_back_as_a_shape_label(tmp_path):
    labels = [{"id": 4, "name": "t", "kind": "tag"}]
    report = export_dataset("coco", dataset_with(labels, [box("t")]), tmp_path / "out")
    assert report.lines() == [
        "1 label kind dropped: COCO instances has no image-level labels: a tag label that shapes use is a category,"
        " read back as a shape label"
    ]
    again, _ = import_dataset("coco", tmp_path / "out")
    assert again["labels"] == [{"id": 4, "name": "t", "kind": "shape"}]


def test_a_parent_is_the_supercategory_and_comes_back(tmp_path):
    labels = [
        {"id": 1, "name": "vehicle", "kind": "shape"},
        {"id": 2, "name": "car", "kind": "shape", "parent": "vehicle"},
        {"id": 3, "name": "dog", "kind": "shape", "parent": "animal"},  # no such label: not read back
    ]
    report = export_dataset("coco", dataset_with(labels, [box("car")]), tmp_path / "out")
    assert report.lines() == ["1 label parent dropped: a COCO supercategory is read back as a parent only when it names another category"]
    written = json.loads((tmp_path / "out/annotations/instances_default.json").read_text())
    assert [(c["name"], c["supercategory"]) for c in written["categories"]] == [("vehicle", ""), ("car", "vehicle"), ("dog", "animal")]
    again, _ = import_dataset("coco", tmp_path / "out")
    assert again["labels"] == [
        {"id": 1, "name": "vehicle", "kind": "shape"},
        {"id": 2, "name": "car", "kind": "shape", "parent": "vehicle"},
        {"id": 3, "name": "dog", "kind": "shape"},
    ]


def test_coco_supercategories_that_name_no_category_are_no_parents(tmp_path):
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "categories": [
            {"id": 1, "name": "person", "supercategory": "person"},
            {"id": 2, "name": "bicycle", "supercategory": "vehicle"},
        ],
        "annotations": [],
    }
    (tmp_path / "c.json").write_text(json.dumps(doc))
    dataset, report = import_dataset("coco", tmp_path / "c.json")
    assert dataset["labels"] == [{"id": 1, "name": "person", "kind": "shape"}, {"id": 2, "name": "bicycle", "kind": "shape"}]
    assert report.lines() == []


def test_labels_coco_holds_are_lossless(tmp_path):
    labels = [
        {"id": 0, "name": "cat", "kind": "shape"},
        {"id": 1000, "name": "pose", "kind": "shape", "keypoints": ["a", "b", "c"], "skeleton": [[0, 1], [1, 2]]},
    ]
    report = export_dataset("coco", dataset_with(labels, [box("cat")]), tmp_path / "out", strict=True)
    assert report.lossless and report.lines() == []
    again, _ = import_dataset("coco", tmp_path / "out")
    assert again["labels"] == labels
