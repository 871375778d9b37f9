"""The plain-Python fast path of schema validation agrees with jsonschema.

``schemas._vouch_dataset`` / ``_vouch_annotation`` may only say "certainly valid"; every
error message still comes from jsonschema. So: valid documents of every shape type are
vouched for (else the fast path is useless), no invalid document is, and the errors of
``validate_dataset`` equal those of the jsonschema-only route.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

import schemas
from schemas import SchemaError, validate_annotation, validate_dataset

HUMAN = {"type": "human"}


def _shapes() -> list[dict[str, Any]]:
    return [
        {"id": "b", "type": "bbox", "label": "car", "source": HUMAN, "bbox": [1, 2.5, 3, 4], "occluded": True, "group": None},
        {"id": "r", "type": "rotated_bbox", "label": "car", "source": HUMAN, "bbox": [1, 2, 3, 4], "angle": 30.5, "z_order": -1},
        {"id": "p", "type": "polygon", "label": "car", "source": HUMAN, "rings": [[0, 0, 4, 0, 4, 4], [5, 5, 6, 5, 6, 6.5]], "group": 2},
        {"id": "l", "type": "polyline", "label": "car", "source": HUMAN, "points": [0, 0, 4, 4]},
        {"id": "pt", "type": "points", "label": "car", "source": HUMAN, "points": [1, 1]},
        {"id": "k", "type": "keypoints", "label": "person", "source": HUMAN, "keypoints": [1, 2, 2, 3, 4, 0], "bbox": [0, 0, 5, 5]},
        {"id": "e", "type": "ellipse", "label": "car", "source": HUMAN, "center": [5, 5], "radii": [2, 3.5], "angle": 0},
        {"id": "m", "type": "mask", "label": "car", "source": HUMAN, "rle": {"size": [10, 20], "counts": "abc"}, "bbox": [1, 1, 2, 2]},
        {"id": "m2", "type": "mask", "label": "car", "source": HUMAN, "rle": {"size": [10, 20], "counts": [0, 5, 195]}},
        {
            "id": "s",
            "type": "bbox",
            "label": "car",
            "bbox": [0, 0, 1, 1],
            "source": {"type": "model", "model_version": 3, "score": 0.5},
            "attributes": {"color": "red", "n": 2, "f": 0.5, "ok": False},
            "author": "ann",
            "updated_at": "2024-05-01T10:00:00Z",
            "truncated": False,
            "difficult": True,
            "iscrowd": False,
        },
        {"id": "a", "type": "bbox", "label": "car", "source": HUMAN, "bbox": [0, 0, 1, 1], "author": None},
    ]


def _dataset() -> dict[str, Any]:
    return {
        "version": 1,
        "labels": [
            {
                "id": 0,
                "name": "car",
                "kind": "shape",
                "color": "#00ff00",
                "attributes": [{"name": "color", "type": "select", "values": ["red"]}],
            },
            {"id": 7, "name": "person", "kind": "shape", "keypoints": ["a", "b"], "skeleton": [[0, 1]]},
            {"id": 9, "name": "day", "kind": "tag", "parent": None},
        ],
        "items": [
            {
                "id": "a",
                "name": "a.jpg",
                "path": "photos/a.jpg",
                "media": "image",
                "width": 20,
                "height": 10,
                "subset": "train",
                "checksum": "sha256:" + "0" * 64,
                "annotation": {
                    "version": 1,
                    "tags": [{"id": "t", "label": "day", "source": HUMAN, "attributes": {"x": 1}}],
                    "shapes": _shapes(),
                },
            },
            {
                "id": "empty",
                "name": "",
                "path": "b c/ü.png",
                "media": "image",
                "width": 1,
                "height": 1,
                "annotation": schemas.empty_annotation(),
            },
            {
                "id": "v",
                "name": "v.mp4",
                "path": "v.mp4",
                "media": "video",
                "video": "v.mp4",
                "width": 20,
                "height": 10,
                "frame_count": 5,
                "fps": 25,
                "annotation": schemas.empty_annotation(),
            },
            {
                "id": "v/3",
                "name": "3",
                "path": "v/3.jpg",
                "media": "video_frame",
                "video": "v.mp4",
                "frame": 3,
                "width": 20,
                "height": 10,
                "annotation": schemas.empty_annotation(),
            },
        ],
        "tracks": [
            {
                "id": "tr",
                "item": "v.mp4",
                "label": "car",
                "type": "bbox",
                "source": HUMAN,
                "shapes": [{"frame": 0, "keyframe": True, "outside": False, "bbox": [0, 0, 2, 2]}],
            }
        ],
    }


def _reference_errors(doc: Any, monkeypatch: pytest.MonkeyPatch, validate=validate_dataset) -> list[dict[str, str]] | None:
    """The errors of the jsonschema-only route (the fast path switched off)."""
    with monkeypatch.context() as patch:
        patch.setattr(schemas, "_vouch_dataset", lambda doc: False)
        patch.setattr(schemas, "_vouch_annotation", lambda doc: False)
        return _errors(doc, validate)


def _errors(doc: Any, validate=validate_dataset) -> list[dict[str, str]] | None:
    try:
        validate(doc)
    except SchemaError as exc:
        return exc.errors
    return None


def _schema_valid(doc: Any, definition: str = "dataset") -> bool:
    return schemas._validator(definition).is_valid(doc)


def test_valid_documents_of_every_shape_type_are_vouched_for() -> None:
    doc = _dataset()
    assert _schema_valid(doc)
    assert schemas._vouch_dataset(doc)
    for item in doc["items"]:
        assert schemas._vouch_item(item), item["id"]
        assert schemas._vouch_annotation(item["annotation"])
    validate_dataset(doc)


def _set(path: tuple[Any, ...], value: Any):
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]):
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


SHAPES = ("items", 0, "annotation", "shapes")
INVALID = {
    "version 2": _set(("version",), 2),
    "version true": _set(("version",), True),
    "extra top-level key": _set(("extra",), 1),
    "items not a list": _set(("items",), {}),
    "label kind": _set(("labels", 0, "kind"), "box"),
    "label color": _set(("labels", 0, "color"), "green"),
    "item path absolute": _set(("items", 0, "path"), "/etc/passwd"),
    "item path dotdot": _set(("items", 0, "path"), "a/../../b.jpg"),
    "item path backslash": _set(("items", 0, "path"), "a\\b.jpg"),
    "item width zero": _set(("items", 0, "width"), 0),
    "item width float": _set(("items", 0, "width"), 2.5),
    "item width bool": _set(("items", 0, "width"), True),
    "item media": _set(("items", 0, "media"), "audio"),
    "item checksum": _set(("items", 0, "checksum"), "md5:00"),
    "item subset empty": _set(("items", 0, "subset"), ""),
    "item extra key": _set(("items", 0, "extra"), 1),
    "item without annotation": _delete(("items", 0, "annotation")),
    "video without fps": _delete(("items", 2, "fps")),
    "frame negative": _set(("items", 3, "frame"), -1),
    "annotation version": _set(("items", 0, "annotation", "version"), 2),
    "annotation extra": _set(("items", 0, "annotation", "extra"), []),
    "tag without source": _delete(("items", 0, "annotation", "tags", 0, "source")),
    "shape type": _set((*SHAPES, 0, "type"), "box"),
    "shape id too long": _set((*SHAPES, 0, "id"), "x" * 65),
    "shape id empty": _set((*SHAPES, 0, "id"), ""),
    "shape label empty": _set((*SHAPES, 0, "label"), ""),
    "shape without source": _delete((*SHAPES, 0, "source")),
    "source type": _set((*SHAPES, 0, "source"), {"type": "robot"}),
    "human source with score": _set((*SHAPES, 0, "source"), {"type": "human", "score": 0.5}),
    "model source without score": _set((*SHAPES, 0, "source"), {"type": "model", "model_version": 1}),
    "model score above 1": _set((*SHAPES, 9, "source", "score"), 1.5),
    "model version 0": _set((*SHAPES, 9, "source", "model_version"), 0),
    "bbox zero width": _set((*SHAPES, 0, "bbox"), [0, 0, 0, 1]),
    "bbox three numbers": _set((*SHAPES, 0, "bbox"), [0, 0, 1]),
    "bbox string": _set((*SHAPES, 0, "bbox"), [0, "0", 1, 1]),
    "bbox with rings": _set((*SHAPES, 0, "rings"), [[0, 0, 1, 0, 1, 1]]),
    "bbox without bbox": _delete((*SHAPES, 0, "bbox")),
    "rotated without angle": _delete((*SHAPES, 1, "angle")),
    "polygon short ring": _set((*SHAPES, 2, "rings"), [[0, 0, 1, 1]]),
    "polygon no rings": _set((*SHAPES, 2, "rings"), []),
    "polygon odd ring": _set((*SHAPES, 2, "rings"), [[0, 0, 1, 0, 1, 1, 2]]),
    "polygon with bbox": _set((*SHAPES, 2, "bbox"), [0, 0, 1, 1]),
    "polyline one point": _set((*SHAPES, 3, "points"), [0, 0]),
    "points empty": _set((*SHAPES, 4, "points"), []),
    "points odd": _set((*SHAPES, 4, "points"), [1, 2, 3]),
    "keypoints visibility": _set((*SHAPES, 5, "keypoints"), [1, 2, 5]),
    "keypoints pair": _set((*SHAPES, 5, "keypoints"), [1, 2]),
    "ellipse radius zero": _set((*SHAPES, 6, "radii"), [0, 1]),
    "ellipse center three": _set((*SHAPES, 6, "center"), [1, 2, 3]),
    "ellipse with bbox": _set((*SHAPES, 6, "bbox"), [0, 0, 1, 1]),
    "mask size zero": _set((*SHAPES, 7, "rle", "size"), [0, 20]),
    "mask counts empty": _set((*SHAPES, 7, "rle", "counts"), ""),
    "mask counts negative": _set((*SHAPES, 8, "rle", "counts"), [0, -1]),
    "mask rle extra": _set((*SHAPES, 7, "rle", "x"), 1),
    "attribute null": _set((*SHAPES, 9, "attributes", "color"), None),
    "attribute list": _set((*SHAPES, 9, "attributes", "color"), ["red"]),
    "updated_at not a date": _set((*SHAPES, 9, "updated_at"), "yesterday"),
    "updated_at without zone": _set((*SHAPES, 9, "updated_at"), "2024-05-01T10:00:00"),
    "author number": _set((*SHAPES, 9, "author"), 3),
    "flag number": _set((*SHAPES, 9, "truncated"), 1),
    "group text": _set((*SHAPES, 0, "group"), "1"),
    "z_order float": _set((*SHAPES, 1, "z_order"), 1.5),
    "shape extra key": _set((*SHAPES, 0, "color"), "red"),
    "duplicate shape id": _set((*SHAPES, 1, "id"), "b"),
    "unknown label": _set((*SHAPES, 0, "label"), "truck"),
    "track type": _set(("tracks", 0, "type"), "box"),
    "track frame float": _set(("tracks", 0, "shapes", 0, "frame"), 0.5),
    # JSON has no NaN or infinity; Python's json reads them, so the schema must refuse them.
    "bbox x NaN": _set((*SHAPES, 0, "bbox", 0), float("nan")),
    "bbox width infinity": _set((*SHAPES, 0, "bbox", 2), float("inf")),
    "polygon NaN": _set((*SHAPES, 2, "rings", 0, 1), float("nan")),
    "keypoint x -infinity": _set((*SHAPES, 5, "keypoints", 0), float("-inf")),
    "ellipse center NaN": _set((*SHAPES, 6, "center", 1), float("nan")),
    "attribute NaN": _set((*SHAPES, 9, "attributes", "color"), float("nan")),
    "model score NaN": _set((*SHAPES, 9, "source", "score"), float("nan")),
    "video fps infinity": _set(("items", 2, "fps"), float("inf")),
    "track bbox NaN": _set(("tracks", 0, "shapes", 0, "bbox", 1), float("nan")),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_documents_report_the_errors_of_jsonschema(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _dataset()
    INVALID[name](doc)
    expected = _reference_errors(doc, monkeypatch)
    assert expected, f"{name}: the mutation should make the document invalid"
    if not _schema_valid(doc):
        assert not schemas._vouch_dataset(doc)
    assert _errors(doc) == expected


@pytest.mark.parametrize("shape_index", range(len(_shapes())))
def test_annotation_documents_agree(shape_index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    annotation = {"version": 1, "tags": [], "shapes": [_shapes()[shape_index]]}
    assert schemas._vouch_annotation(annotation)
    validate_annotation(annotation)
    broken = copy.deepcopy(annotation)
    broken["shapes"][0]["extra"] = True
    assert not schemas._vouch_annotation(broken)
    assert _errors(broken, validate_annotation) == _reference_errors(broken, monkeypatch, validate_annotation)


_POOL = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2.0,
    0.5,
    float("nan"),
    float("inf"),
    "",
    "x",
    "bbox",
    "human",
    "a" * 65,
    [],
    [1],
    [1, 2],
    [0, 0, 1, 1],
    {},
    {"type": "human"},
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def test_random_mutations_are_never_vouched_for_when_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20240501)
    base = _dataset()
    paths = _paths(base)
    for _ in range(150):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 2)):
            path = rng.choice(paths)
            try:
                parent = doc
                for part in path[:-1]:
                    parent = parent[part]
                action = rng.random()
                if action < 0.15 and isinstance(parent, dict):
                    del parent[path[-1]]
                elif action < 0.25 and isinstance(parent, dict):
                    parent[rng.choice(["extra", "bbox", "angle", "rings", "score", "frame_count"])] = rng.choice(_POOL)
                else:
                    parent[path[-1]] = copy.deepcopy(rng.choice(_POOL))
            except (KeyError, IndexError, TypeError):
                continue  # the path went away with an earlier mutation
        if schemas._vouch_dataset(doc):
            assert _schema_valid(doc), doc
        assert _errors(doc) == _reference_errors(doc, monkeypatch)
