"""Keypoint names and skeletons: COCO categories <-> labels, with the 1-based / 0-based shift.

COCO (https://cocodataset.org/#format-data) numbers a skeleton's ends from 1; our labels'
``skeleton`` indexes ``keypoints`` from 0 (schemas/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate.converters import export_dataset, import_dataset
from schemas import validate_dataset

# COCO's person category, as in person_keypoints_val2017.json.
PERSON_KEYPOINTS = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]
PERSON_SKELETON = [
    [16, 14],
    [14, 12],
    [17, 15],
    [15, 13],
    [12, 13],
    [6, 12],
    [7, 13],
    [6, 7],
    [6, 8],
    [7, 9],
    [8, 10],
    [9, 11],
    [2, 3],
    [1, 2],
    [1, 3],
    [2, 4],
    [3, 5],
    [4, 6],
    [5, 7],
]


def person_keypoints_file(corpus: Path, root: Path) -> Path:
    """A person_keypoints ground-truth file from the corpus' cocoapi keypoint results.

    The corpus has no COCO keypoints file with names (cocoapi's are results: a list of
    detections without categories), so the results become the annotations of a ground-truth
    file with COCO's person category. Every other annotation also gets a polygon, as COCO's
    own persons have: one object, read as a polygon and a keypoints shape in one group.
    """
    results = json.loads((corpus / "cocoapi/coco_results/person_keypoints_val2014_fakekeypoints100_results.json").read_text())
    image_ids = sorted({result["image_id"] for result in results})
    annotations = []
    for annotation_id, result in enumerate(results, start=1):
        keypoints = result["keypoints"]
        visible = [(keypoints[i], keypoints[i + 1]) for i in range(0, len(keypoints), 3) if keypoints[i + 2] > 0]
        xs, ys = [x for x, _ in visible], [y for _, y in visible]
        left, top = min(xs), min(ys)
        width, height = max(max(xs) - left, 1), max(max(ys) - top, 1)
        polygon = [[left, top, left + width, top, left + width, top + height, left, top + height]] if annotation_id % 2 else []
        annotations.append(
            {
                "id": annotation_id,
                "image_id": result["image_id"],
                "category_id": 1,
                "segmentation": polygon,
                "area": float(width * height),
                "bbox": [float(left), float(top), float(width), float(height)],
                "iscrowd": 0,
                "keypoints": keypoints,
                "num_keypoints": len(visible),
            }
        )
    document = {
        "images": [
            {"id": image_id, "file_name": f"COCO_val2014_{image_id:012d}.jpg", "width": 640, "height": 640} for image_id in image_ids
        ],
        "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": PERSON_KEYPOINTS, "skeleton": PERSON_SKELETON}],
        "annotations": annotations,
    }
    (root / "annotations").mkdir(parents=True)
    file = root / "annotations" / "person_keypoints_val2014.json"
    file.write_text(json.dumps(document))
    return file


def test_person_names_and_skeleton_survive_coco_to_coco(tmp_path, corpus):
    source = person_keypoints_file(corpus, tmp_path / "in")
    dataset, report = import_dataset("coco", tmp_path / "in")
    assert report.lines() == []
    (person,) = dataset["labels"]
    assert person["keypoints"] == PERSON_KEYPOINTS
    # Ours count from 0: COCO's [16, 14] is [15, 13].
    assert person["skeleton"][0] == [15, 13]
    assert person["skeleton"] == [[start - 1, end - 1] for start, end in PERSON_SKELETON]
    assert {item["subset"] for item in dataset["items"]} == {"val2014"}

    report = export_dataset("coco", dataset, tmp_path / "out", checked=True)
    assert report.lines() == []
    written = json.loads((tmp_path / "out/annotations/instances_val2014.json").read_text())
    original = json.loads(source.read_text())
    (category,) = written["categories"]
    assert category["keypoints"] == PERSON_KEYPOINTS
    assert len(category["keypoints"]) == 17
    assert category["skeleton"] == PERSON_SKELETON
    assert len(category["skeleton"]) == 19
    # One annotation per source annotation, keypoints value for value.
    assert len(written["annotations"]) == len(original["annotations"]) == 125
    assert [a["keypoints"] for a in written["annotations"]] == [a["keypoints"] for a in original["annotations"]]
    assert [a["num_keypoints"] for a in written["annotations"]] == [a["num_keypoints"] for a in original["annotations"]]


def test_cvat_skeleton_to_coco(tmp_path, corpus):
    # The CVAT fork's skeleton: nodes "1".."4", edges 3->2 and 1->4 drawn in its <svg>.
    dataset, _ = import_dataset("cvat", corpus / "datumaro-cvat-fork/cvat/for_images")
    skeleton_label = next(label for label in dataset["labels"] if label["name"] == "skeleton")
    assert (skeleton_label["keypoints"], skeleton_label["skeleton"]) == (["1", "2", "3", "4"], [[2, 1], [0, 3]])
    export_dataset("coco", dataset, tmp_path / "out", checked=True)
    written = json.loads((tmp_path / "out/annotations/instances_train.json").read_text())
    category = next(category for category in written["categories"] if category["name"] == "skeleton")
    assert (category["keypoints"], category["skeleton"]) == (["1", "2", "3", "4"], [[3, 2], [1, 4]])
    skeletons = [a for a in written["annotations"] if a["category_id"] == category["id"]]
    assert [len(a["keypoints"]) for a in skeletons] == [12, 12]
    assert [a["num_keypoints"] for a in skeletons] == [3, 3]
    # Categories without names carry no keypoints keys.
    assert all("keypoints" not in c for c in written["categories"] if c["name"] != "skeleton")

    again, _ = import_dataset("coco", tmp_path / "out")
    label = next(label for label in again["labels"] if label["name"] == "skeleton")
    assert (label["keypoints"], label["skeleton"]) == (["1", "2", "3", "4"], [[2, 1], [0, 3]])


def test_cvat_docs_skeleton_to_coco(tmp_path, corpus):
    dataset, _ = import_dataset("cvat", corpus / "cvat-docs/cvat_xml_images")
    label = next(label for label in dataset["labels"] if "keypoints" in label)
    export_dataset("coco", dataset, tmp_path / "out", checked=True)
    written = json.loads((tmp_path / "out/annotations/instances_default.json").read_text())
    category = next(category for category in written["categories"] if category["name"] == label["name"])
    assert category["keypoints"] == label["keypoints"]
    assert category["skeleton"] == [[start + 1, end + 1] for start, end in label["skeleton"]]


def _category_file(root: Path, category: dict[str, Any]) -> Path:
    document = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "categories": [category],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "keypoints": [1, 1, 2, 2, 2, 2, 3, 3, 1]}],
    }
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "person_keypoints_train.json").write_text(json.dumps(document))
    return root


@pytest.mark.parametrize(
    ("category", "label_fields", "lines"),
    [
        # Datumaro's fixtures: no names, a skeleton counted from 0. Nothing to number it by.
        (
            {"keypoints": [], "skeleton": [[0, 1], [1, 2]]},
            {},
            ["2 skeleton edges dropped: category 1 'p': a skeleton needs keypoint names to number its ends by"],
        ),
        # 0 and 4 are no keypoint numbers of a 3-node category; [3, 1] is kept as [2, 0].
        (
            {"keypoints": ["a", "b", "c"], "skeleton": [[0, 1], [3, 1], [1, 4], [1], "x"]},
            {"keypoints": ["a", "b", "c"], "skeleton": [[2, 0]]},
            ["4 skeleton edges dropped: category 1 'p': the edge is not a pair of keypoint numbers from 1 to 3"],
        ),
        (
            {"keypoints": ["a", "", 3]},
            {},
            ["1 keypoint name list dropped: category 1 'p': the keypoint names are not all non-empty text"],
        ),
        ({"keypoints": ["a", "b", "c"], "skeleton": []}, {"keypoints": ["a", "b", "c"]}, []),
    ],
)
def test_import_keeps_what_a_label_can_hold(tmp_path, category, label_fields, lines):
    root = _category_file(tmp_path / "in", {"id": 1, "name": "p", **category})
    dataset, report = import_dataset("coco", root)
    validate_dataset(dataset)
    assert dataset["labels"] == [{"id": 1, "name": "p", "kind": "shape", **label_fields}]
    assert report.lines() == lines


def test_a_category_declared_again_in_another_file_is_read_once(tmp_path):
    category = {"id": 1, "name": "p", "keypoints": ["a"], "skeleton": [[1, 1], [0, 0]]}
    root = _category_file(tmp_path / "in", category)
    text = (root / "annotations/person_keypoints_train.json").read_text()
    (root / "annotations/person_keypoints_val.json").write_text(text.replace('"file_name": "a.jpg"', '"file_name": "b.jpg"'))
    dataset, report = import_dataset("coco", root)
    assert dataset["labels"] == [{"id": 1, "name": "p", "kind": "shape", "keypoints": ["a"], "skeleton": [[0, 0]]}]
    assert report.lines() == ["1 skeleton edge dropped: category 1 'p': the edge is not a pair of keypoint numbers from 1 to 1"]


def test_annotations_of_a_keypoints_category_all_have_keypoints(tmp_path):
    # COCOeval reads num_keypoints of every annotation of a keypoints category: a person with no
    # keypoints shape (here a plain box and a polygon) is written with zeros, as COCO does.
    dataset = {
        "version": 1,
        "labels": [
            {"id": 1, "name": "person", "kind": "shape", "keypoints": ["a", "b"], "skeleton": [[0, 1]]},
            {"id": 2, "name": "car", "kind": "shape"},
        ],
        "items": [
            {
                "id": "a",
                "name": "a.jpg",
                "path": "a.jpg",
                "media": "image",
                "width": 10,
                "height": 10,
                "annotation": {
                    "version": 1,
                    "tags": [],
                    "shapes": [
                        {"id": "1", "type": "bbox", "label": "person", "bbox": [1.0, 1.0, 2.0, 2.0], "source": {"type": "human"}},
                        {"id": "2", "type": "polygon", "label": "person", "rings": [[1, 1, 5, 1, 5, 5]], "source": {"type": "human"}},
                        {"id": "3", "type": "keypoints", "label": "person", "keypoints": [1, 1, 2, 3, 3, 1], "source": {"type": "human"}},
                        {"id": "4", "type": "bbox", "label": "car", "bbox": [1.0, 1.0, 2.0, 2.0], "source": {"type": "human"}},
                    ],
                },
            }
        ],
    }
    export_dataset("coco", dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out/annotations/instances_default.json").read_text())
    assert written["categories"][0]["skeleton"] == [[1, 2]]
    assert [(a.get("keypoints"), a.get("num_keypoints")) for a in written["annotations"]] == [
        ([0, 0, 0, 0, 0, 0], 0),
        ([0, 0, 0, 0, 0, 0], 0),
        ([1.0, 1.0, 2, 3.0, 3.0, 1], 2),
        (None, None),
    ]
    again, _ = import_dataset("coco", tmp_path / "out")
    assert [shape["type"] for shape in again["items"][0]["annotation"]["shapes"]] == ["bbox", "polygon", "keypoints", "bbox"]
