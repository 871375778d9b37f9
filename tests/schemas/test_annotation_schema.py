"""The annotation schema: valid documents pass, each mistake is reported at its path."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

import schemas
from schemas import SchemaError, empty_annotation, load_schema, validate_annotation, validate_dataset

HUMAN = {"type": "human"}
MODEL = {"type": "model", "model_version": 3, "score": 0.87}


def every_shape():
    return [
        {
            "id": "b",
            "type": "bbox",
            "label": "car",
            "bbox": [0, 0, 1, 1],
            "source": HUMAN,
            "attributes": {"color": "red", "doors": 4, "parked": True},
            "group": None,
            "z_order": 2,
            "occluded": False,
            "truncated": True,
            "difficult": False,
            "iscrowd": False,
            "author": "ana",
            "updated_at": "2024-05-01T10:00:00Z",
        },
        {"id": "r", "type": "rotated_bbox", "label": "car", "bbox": [5, 5, 10, 4], "angle": 30, "source": MODEL},
        {"id": "p", "type": "polygon", "label": "car", "rings": [[0, 0, 4, 0, 4, 4], [5, 5, 6, 5, 6, 6]], "source": HUMAN, "group": 1},
        {"id": "l", "type": "polyline", "label": "car", "points": [0, 0, 3.5, 4], "source": HUMAN},
        {"id": "pt", "type": "points", "label": "car", "points": [1, 2], "source": HUMAN},
        {"id": "k", "type": "keypoints", "label": "car", "keypoints": [1, 2, 2, 0, 0, 0], "bbox": [0, 0, 3, 3], "source": HUMAN},
        {"id": "e", "type": "ellipse", "label": "car", "center": [5, 5], "radii": [2, 1], "angle": 10, "source": HUMAN},
        {
            "id": "m",
            "type": "mask",
            "label": "car",
            "rle": {"size": [4, 4], "counts": "04L4"},
            "bbox": [0, 0, 1, 4],
            "source": HUMAN,
            "author": None,
        },
        {"id": "m2", "type": "mask", "label": "car", "rle": {"size": [2, 2], "counts": [0, 4]}, "source": HUMAN},
    ]


def valid_annotation():
    return {
        "version": 1,
        "tags": [
            {
                "id": "t",
                "label": "night",
                "source": MODEL,
                "attributes": {"sure": False},
                "author": None,
                "updated_at": "2024-05-01T10:00:00+02:00",
            }
        ],
        "shapes": every_shape(),
    }


def valid_dataset():
    return {
        "version": 1,
        "labels": [
            {
                "id": 0,
                "name": "car",
                "kind": "shape",
                "color": "#A0b0c0",
                "attributes": [{"name": "color", "type": "select", "values": ["red", "blue"], "mutable": True}],
                "parent": None,
            },
            {"id": 123456789, "name": "night", "kind": "tag"},
        ],
        "items": [
            {
                "id": "1",
                "name": "a.jpg",
                "path": "photos/a.jpg",
                "media": "image",
                "width": 640,
                "height": 480,
                "checksum": "sha256:" + "ab" * 32,
                "subset": "train",
                "annotation": valid_annotation(),
            },
            {
                "id": "2",
                "name": "f",
                "path": "clips/v.mp4#12",
                "media": "video_frame",
                "width": 2,
                "height": 2,
                "video": "clips/v.mp4",
                "frame": 0,
                "annotation": empty_annotation(),
            },
        ],
    }


def errors_of(call, doc):
    with pytest.raises(SchemaError) as caught:
        call(doc)
    return caught.value.errors


def test_schema_file_is_package_data_and_a_valid_2020_12_schema():
    text = resources.files("schemas").joinpath("annotation/v1.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema == load_schema(1)
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]) >= {"annotation", "shape", "tag", "source", "label", "item", "dataset"}


def test_load_schema_returns_a_copy_and_refuses_unknown_versions():
    load_schema()["$defs"].clear()
    assert "shape" in load_schema()["$defs"]
    with pytest.raises(ValueError, match="no annotation schema version 2"):
        load_schema(2)


def test_valid_documents_pass():
    validate_annotation(empty_annotation())
    validate_annotation(valid_annotation())
    validate_dataset(valid_dataset())
    assert empty_annotation() == {"version": 1, "tags": [], "shapes": []}


def shape_with(index, **changes):
    doc = valid_annotation()
    doc["shapes"][index].update(changes)
    return doc


def without(index, key):
    doc = valid_annotation()
    del doc["shapes"][index][key]
    return doc


INVALID_ANNOTATIONS = [
    ("missing bbox", without(0, "bbox"), "shapes/0/bbox", "is required"),
    ("missing angle", without(1, "angle"), "shapes/1/angle", "is required"),
    ("odd polygon", shape_with(2, rings=[[0, 0, 4, 0, 4, 4, 9]]), "shapes/2/rings/0", "odd number of coordinates (7)"),
    ("short ring", shape_with(2, rings=[[0, 0, 4, 0]]), "shapes/2/rings/0", "is too short"),
    ("negative width", shape_with(0, bbox=[0, 0, -5, 1]), "shapes/0/bbox/2", "-5 is less than or equal to the minimum of 0"),
    ("zero height", shape_with(0, bbox=[0, 0, 5, 0]), "shapes/0/bbox/3", "0 is less than or equal to the minimum of 0"),
    ("unknown type", shape_with(3, type="spline"), "shapes/3/type", "'spline' is not one of"),
    ("duplicate id", shape_with(1, id="b"), "shapes/1/id", "duplicate id 'b' (also shapes/0)"),
    (
        "score above 1",
        shape_with(1, source={"type": "model", "model_version": 1, "score": 1.2}),
        "shapes/1/source/score",
        "1.2 is greater than the maximum of 1",
    ),
    ("model without version", shape_with(1, source={"type": "model", "score": 0.5}), "shapes/1/source/model_version", "is required"),
    ("human with score", shape_with(0, source={"type": "human", "score": 0.5}), "shapes/0/source/score", "is not allowed for this type"),
    ("field of another type", shape_with(2, bbox=[0, 0, 1, 1]), "shapes/2/bbox", "is not allowed for this type"),
    ("typo", shape_with(0, ocluded=True), "shapes/0", "('ocluded' was unexpected)"),
    ("odd polyline", shape_with(3, points=[0, 0, 1, 1, 2]), "shapes/3/points", "odd number of coordinates (5)"),
    ("keypoints not triplets", shape_with(5, keypoints=[1, 2, 2, 3]), "shapes/5/keypoints", "not a list of (x, y, v) triplets"),
    ("bad visibility", shape_with(5, keypoints=[1, 2, 3]), "shapes/5/keypoints/2", "visibility must be 0, 1 or 2"),
    ("zero radius", shape_with(6, radii=[0, 1]), "shapes/6/radii/0", "less than or equal to the minimum of 0"),
    ("empty label", shape_with(0, label=""), "shapes/0/label", "should be non-empty"),
    ("long id", shape_with(0, id="x" * 65), "shapes/0/id", "is too long"),
    ("naive time", shape_with(0, updated_at="2024-05-01T10:00:00"), "shapes/0/updated_at", "is not a 'date-time'"),
    ("attribute list", shape_with(0, attributes={"a": [1]}), "shapes/0/attributes/a", "is not of type"),
    ("NaN x", shape_with(0, bbox=[float("nan"), 0, 5, 5]), "shapes/0/bbox/0", "NaN is not a finite number (JSON has no NaN or infinity)"),
    ("infinite height", shape_with(0, bbox=[0, 0, 5, float("inf")]), "shapes/0/bbox/3", "Infinity is not a finite number"),
    ("NaN ring point", shape_with(2, rings=[[0, 0, 4, float("nan"), 4, 4]]), "shapes/2/rings/0/3", "NaN is not a finite number"),
    ("-infinity attribute", shape_with(0, attributes={"a": float("-inf")}), "shapes/0/attributes/a", "-Infinity is not a finite number"),
]


@pytest.mark.parametrize(
    ("doc", "path", "message"), [case[1:] for case in INVALID_ANNOTATIONS], ids=[case[0] for case in INVALID_ANNOTATIONS]
)
def test_invalid_annotation_is_reported_at_its_path(doc, path, message):
    errors = errors_of(validate_annotation, doc)
    assert [error["path"] for error in errors] == [path]
    assert message in errors[0]["message"]


def test_every_error_is_reported_sorted_by_path():
    doc = valid_annotation()
    for index in (11, 10, 9):
        doc["shapes"].append({"id": "b", "type": "bbox", "label": "car", "bbox": [0, 0, 1, 1], "source": HUMAN})
        doc["shapes"][-1]["id"] = f"x{index}"
    doc["shapes"][10]["bbox"] = [0, 0, 0, 1]
    doc["shapes"][0]["id"] = "p"  # duplicate of shapes/2 -> reported at shapes/2
    doc["tags"][0]["label"] = 5
    doc["extra"] = True
    errors = errors_of(validate_annotation, doc)
    assert [error["path"] for error in errors] == ["", "shapes/2/id", "shapes/10/bbox/2", "tags/0/label"]
    text = str(SchemaError(errors))
    assert text.startswith("invalid annotation: (root): Additional properties are not allowed")
    assert text.endswith("(and 1 more)")


def test_dataset_semantic_errors():
    doc = valid_dataset()
    doc["labels"].append({"id": 0, "name": "car", "kind": "shape"})
    doc["items"][1]["id"] = "1"
    doc["items"][0]["annotation"]["shapes"][0]["label"] = "bus"
    errors = errors_of(validate_dataset, doc)
    assert [(error["path"], error["message"]) for error in errors] == [
        ("items/0/annotation/shapes/0/label", "unknown label 'bus'"),
        ("items/1/id", "duplicate item id '1' (also items/0)"),
        ("labels/2/id", "duplicate label id 0 (also labels/0)"),
        ("labels/2/name", "duplicate label name 'car' (also labels/0)"),
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["items"][0].update(path="/etc/passwd"), "items/0/path"),
        (lambda d: d["items"][0].update(path="a/../../b.jpg"), "items/0/path"),
        (lambda d: d["items"][0].update(path="a\\b.jpg"), "items/0/path"),
        (lambda d: d["items"][0].update(media="audio"), "items/0/media"),
        (lambda d: d["items"][0].update(width=0), "items/0/width"),
        (lambda d: d["items"][0].update(checksum="md5:00"), "items/0/checksum"),
        (lambda d: d["items"][0].update(frame=-1), "items/0/frame"),
        (lambda d: d["labels"][0].update(color="red"), "labels/0/color"),
        (lambda d: d["labels"][0].update(kind="both"), "labels/0/kind"),
        (lambda d: d["labels"][0]["attributes"][0].update(type="slider"), "labels/0/attributes/0/type"),
        (lambda d: d["items"][0]["annotation"]["shapes"][0]["bbox"].pop(), "items/0/annotation/shapes/0/bbox"),
        (lambda d: d["items"][0].pop("annotation"), "items/0/annotation"),
    ],
)
def test_invalid_dataset_is_reported_at_its_path(change, path):
    doc = valid_dataset()
    change(doc)
    errors = errors_of(validate_dataset, doc)
    assert [error["path"] for error in errors] == [path]


def test_validators_are_cached():
    assert schemas._validator("annotation") is schemas._validator("annotation")


def test_validation_does_not_change_the_document():
    doc = valid_dataset()
    before = copy.deepcopy(doc)
    validate_dataset(doc)
    assert doc == before


def test_keypoint_labels_video_items_and_tracks_are_additive():
    doc = valid_dataset()
    doc["labels"].append({"id": 9, "name": "body", "kind": "shape", "keypoints": ["head", "hand"], "skeleton": [[0, 1]]})
    doc["items"].append(
        {"id": "v", "name": "v.mp4", "path": "clips/v.mp4", "media": "video", "video": "clips/v.mp4", "width": 2, "height": 2,
         "frame_count": 3, "fps": 29.97, "annotation": empty_annotation()}
    )  # fmt: skip
    doc["tracks"] = [
        {"id": "t", "item": "clips/v.mp4", "label": "body", "type": "keypoints", "source": HUMAN, "group": 1, "z_order": 0,
         "attributes": {"kind": "adult"},
         "shapes": [{"frame": 0, "keyframe": True, "outside": False, "occluded": True, "keypoints": [1, 1, 2, 0, 0, 0],
                     "attributes": {"a": 1}},
                    {"frame": 2, "keyframe": True, "outside": True, "keypoints": [1, 1, 2, 0, 0, 0]}]}
    ]  # fmt: skip
    validate_dataset(doc)
    validate_dataset(valid_dataset())  # documents without the new fields stay valid


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["labels"][0].update(keypoints=["a"], skeleton=[[0, 1]]), "labels/0/skeleton/0"),
        (lambda d: d["labels"][0].update(skeleton=[[0]]), "labels/0/skeleton/0"),
        (lambda d: d["items"][1].update(media="video", fps=25), "items/1/frame_count"),
        (lambda d: d["items"][1].update(media="video", frame_count=2, fps=0), "items/1/fps"),
        (lambda d: d.update(tracks=[{"id": "t", "item": "clips/v.mp4", "label": "car", "type": "bbox", "source": HUMAN, "shapes": []}]),
         "tracks/0/shapes"),
        (lambda d: d.update(tracks=[{"id": "t", "item": "clips/v.mp4", "label": "car", "type": "polyline", "source": HUMAN,
                                     "shapes": [{"frame": 0, "keyframe": True, "outside": False, "points": [1, 2, 3]}]}]),
         "tracks/0/shapes/0/points"),
    ],
)  # fmt: skip
def test_invalid_keypoint_labels_video_items_and_tracks(change, path):
    doc = valid_dataset()
    change(doc)
    errors = errors_of(validate_dataset, doc)
    assert {error["path"] for error in errors} == {path}
