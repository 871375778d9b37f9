"""The annotation JSON Schema and the checks that go with it.

``schemas/annotation/v1.json`` (JSON Schema 2020-12) describes two documents:

* the per-item annotation document ``{"version": 1, "tags": [...], "shapes": [...]}``
  stored for every item and exchanged with the browser tool (the schema's root), and
* the dataset document ``{"version": 1, "labels": [...], "items": [...], "tracks"?: [...]}``
  that the converters read and write (``$defs/dataset``).

JSON Schema cannot say everything: :func:`validate_annotation` and
:func:`validate_dataset` add the semantic checks (even-length coordinate lists, COCO
keypoint triplets, unique ids and names, shapes naming known labels, tracks naming known
videos with sorted frames) and report every
problem at once, sorted by path. ``schemas/README.md`` documents every field.

Exceptions::

    ValueError
     └── SchemaError    a document does not match the schema; ``.errors`` lists why
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource

__all__ = [
    "SchemaError",
    "empty_annotation",
    "load_schema",
    "validate_annotation",
    "validate_dataset",
]

SUPPORTED_VERSIONS = (1,)
_MAX_ERRORS_IN_MESSAGE = 3


class SchemaError(ValueError):
    """A document does not match the annotation schema.

    Attributes:
        errors: every problem found, sorted by path; each is
            ``{"path": "shapes/0/bbox", "message": "..."}``. The path is made of the keys
            and list indices from the document root, joined with ``/``; ``""`` is the root.
    """

    def __init__(self, errors: list[dict[str, str]], what: str = "annotation") -> None:
        self.errors = errors
        self.what = what
        super().__init__(self._summary())

    def _summary(self) -> str:
        shown = [f"{error['path'] or '(root)'}: {error['message']}" for error in self.errors[:_MAX_ERRORS_IN_MESSAGE]]
        more = len(self.errors) - len(shown)
        tail = f" (and {more} more)" if more > 0 else ""
        return f"invalid {self.what}: " + "; ".join(shown) + tail


def load_schema(version: int = 1) -> dict[str, Any]:
    """Return the annotation JSON Schema as a fresh dict.

    Args:
        version: the schema version; only 1 exists.

    Returns:
        The parsed schema; the caller may change it freely.

    Raises:
        ValueError: no schema exists for ``version``.
    """
    return copy.deepcopy(_schema(version))


def empty_annotation() -> dict[str, Any]:
    """Return a new, valid annotation document with no tags and no shapes.

    Returns:
        ``{"version": 1, "tags": [], "shapes": []}``
    """
    return {"version": 1, "tags": [], "shapes": []}


def validate_annotation(doc: dict[str, Any]) -> None:
    """Check one per-item annotation document against the schema and the semantic rules.

    Args:
        doc: the decoded JSON document.

    Raises:
        SchemaError: the document is invalid; ``errors`` holds every problem, by path.
    """
    errors = list(_schema_errors(_validator("annotation"), doc))
    errors.extend(_annotation_semantic_errors(doc, prefix=()))
    _raise_if_any(errors, "annotation")


def validate_dataset(doc: dict[str, Any]) -> None:
    """Check a dataset document (labels and items with their annotations).

    Beyond the schema it checks that label ids, label names and item ids are unique, that
    every shape and tag names a known label, and each item's annotation as
    :func:`validate_annotation` does. For tracks: ids are unique, ``item`` is the ``video``
    of at least one ``video`` or ``video_frame`` item, the label exists, the shapes' frames
    are strictly increasing (sorted, no repeats) and, when a ``video`` item gives the
    ``frame_count``, below it; geometry follows the same rules as shapes.

    Args:
        doc: the decoded JSON document.

    Raises:
        SchemaError: the document is invalid; ``errors`` holds every problem, by path.
    """
    errors = list(_schema_errors(_validator("dataset"), doc))
    errors.extend(_dataset_semantic_errors(doc))
    _raise_if_any(errors, "dataset")


# -- implementation -------------------------------------------------------------------


@cache
def _schema(version: int) -> dict[str, Any]:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"no annotation schema version {version!r}; known: {SUPPORTED_VERSIONS}")
    text = resources.files(__package__).joinpath(f"annotation/v{version}.json").read_text("utf-8")
    return json.loads(text)


_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # RFC 3339 date-time: a date, "T", a time and an offset. jsonschema only checks this
    # format when the optional rfc3339-validator package is present, so check it here.
    if not isinstance(value, str):
        return True
    if len(value) < 11 or value[10] not in "Tt":
        return False
    parsed = datetime.fromisoformat(value)
    return parsed.tzinfo is not None


@cache
def _validator(definition: str) -> Draft202012Validator:
    schema = _schema(1)
    registry: Registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    root = {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    return Draft202012Validator(root, registry=registry, format_checker=_format_checker)


def _format_path(parts: tuple[Any, ...] | list[Any]) -> str:
    return "/".join(str(part) for part in parts)


def _schema_errors(validator: Draft202012Validator, doc: Any) -> Iterator[dict[str, str]]:
    for error in validator.iter_errors(doc):
        yield from _flatten(error, doc)


def _flatten(error: ValidationError, doc: Any) -> Iterator[dict[str, str]]:
    path = list(error.absolute_path)
    if error.validator is None and list(error.relative_schema_path)[-1:] == ["properties"]:
        # A field that this shape type does not allow ("false" schema). jsonschema reports
        # it at the parent object, so find the field by identity to name it.
        parent = doc
        for part in path:
            parent = parent[part]
        names = [key for key, value in parent.items() if value is error.instance]
        if names:
            yield {
                "path": _format_path([*path, names[0]]),
                "message": "is not allowed for this type",
            }
            return
    if error.validator == "required" and isinstance(error.instance, dict):
        # Point at the missing field itself: "shapes/0/bbox" reads better than "shapes/0".
        missing = [name for name in error.validator_value if name not in error.instance and repr(name) in error.message]
        if missing:
            yield {"path": _format_path([*path, missing[0]]), "message": "is required"}
            return
    yield {"path": _format_path(path), "message": error.message}


def _error(parts: tuple[Any, ...], message: str) -> dict[str, str]:
    return {"path": _format_path(parts), "message": message}


def _raise_if_any(errors: list[dict[str, str]], what: str) -> None:
    if not errors:
        return
    unique = {(error["path"], error["message"]): error for error in errors}
    ordered = sorted(unique.values(), key=lambda error: (_sort_key(error["path"]), error["message"]))
    raise SchemaError(ordered, what)


def _sort_key(path: str) -> tuple[tuple[int, int | str], ...]:
    # Numeric parts sort as numbers so that shapes/10 comes after shapes/9.
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in path.split("/"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _entries(doc: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # Semantic checks also run on documents that failed the schema, so every access is
    # guarded: the aim is to report all problems at once without crashing on a bad shape.
    container = doc.get(key) if isinstance(doc, dict) else None
    for index, entry in enumerate(_as_list(container)):
        if isinstance(entry, dict):
            yield index, entry


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _annotation_semantic_errors(doc: Any, prefix: tuple[Any, ...]) -> Iterator[dict[str, str]]:
    for kind in ("tags", "shapes"):
        seen: dict[str, int] = {}
        for index, entry in _entries(doc, kind):
            entry_id = entry.get("id")
            if not isinstance(entry_id, str):
                continue
            if entry_id in seen:
                yield _error(
                    (*prefix, kind, index, "id"),
                    f"duplicate id {entry_id!r} (also {kind}/{seen[entry_id]})",
                )
            else:
                seen[entry_id] = index
    for index, shape in _entries(doc, "shapes"):
        yield from _shape_semantic_errors(shape, (*prefix, "shapes", index))


def _shape_semantic_errors(shape: dict[str, Any], at: tuple[Any, ...], kind: Any = None) -> Iterator[dict[str, str]]:
    # A track's shapes take their type from the track, so the caller passes it.
    kind = shape.get("type") if kind is None else kind
    if kind == "polygon":
        for ring_index, ring in enumerate(_as_list(shape.get("rings"))):
            if isinstance(ring, list) and len(ring) % 2:
                yield _error((*at, "rings", ring_index), f"odd number of coordinates ({len(ring)})")
    elif kind in ("polyline", "points"):
        points = shape.get("points")
        if isinstance(points, list) and len(points) % 2:
            yield _error((*at, "points"), f"odd number of coordinates ({len(points)})")
    elif kind == "keypoints":
        values = _as_list(shape.get("keypoints"))
        if len(values) % 3:
            yield _error((*at, "keypoints"), f"not a list of (x, y, v) triplets ({len(values)} numbers)")
        for offset in range(2, len(values), 3):
            if not _is_number(values[offset]) or values[offset] not in (0, 1, 2):
                yield _error((*at, "keypoints", offset), "visibility must be 0, 1 or 2")


def _dataset_semantic_errors(doc: Any) -> Iterator[dict[str, str]]:
    ids: dict[int, int] = {}
    names: dict[str, int] = {}
    for index, label in _entries(doc, "labels"):
        label_id, name = label.get("id"), label.get("name")
        if isinstance(label_id, int):
            if label_id in ids:
                yield _error(
                    ("labels", index, "id"),
                    f"duplicate label id {label_id} (also labels/{ids[label_id]})",
                )
            else:
                ids[label_id] = index
        if isinstance(name, str):
            if name in names:
                yield _error(
                    ("labels", index, "name"),
                    f"duplicate label name {name!r} (also labels/{names[name]})",
                )
            else:
                names[name] = index
        nodes = label.get("keypoints")
        node_count = len(nodes) if isinstance(nodes, list) else 0
        for edge_index, edge in enumerate(_as_list(label.get("skeleton"))):
            for end in _as_list(edge):
                if isinstance(end, int) and end >= node_count:
                    yield _error(("labels", index, "skeleton", edge_index), f"node index {end} is not below the {node_count} keypoints")
    item_ids: dict[str, int] = {}
    for index, item in _entries(doc, "items"):
        item_id = item.get("id")
        if isinstance(item_id, str):
            if item_id in item_ids:
                yield _error(
                    ("items", index, "id"),
                    f"duplicate item id {item_id!r} (also items/{item_ids[item_id]})",
                )
            else:
                item_ids[item_id] = index
        annotation = item.get("annotation")
        prefix = ("items", index, "annotation")
        yield from _annotation_semantic_errors(annotation, prefix)
        for kind in ("tags", "shapes"):
            for entry_index, entry in _entries(annotation, kind):
                label = entry.get("label")
                if isinstance(label, str) and label and label not in names:
                    yield _error((*prefix, kind, entry_index, "label"), f"unknown label {label!r}")
    yield from _track_semantic_errors(doc, names)


def _track_semantic_errors(doc: Any, names: dict[str, int]) -> Iterator[dict[str, str]]:
    # A track names its video by the "video" field of the items it is drawn on.
    videos: dict[str, int | None] = {}
    for _, item in _entries(doc, "items"):
        video = item.get("video")
        if isinstance(video, str) and item.get("media") in ("video", "video_frame"):
            count = item.get("frame_count") if item.get("media") == "video" else None
            videos[video] = count if isinstance(count, int) else videos.get(video)
    track_ids: dict[str, int] = {}
    for index, track in _entries(doc, "tracks"):
        at = ("tracks", index)
        track_id, video, label = track.get("id"), track.get("item"), track.get("label")
        if isinstance(track_id, str):
            if track_id in track_ids:
                yield _error((*at, "id"), f"duplicate track id {track_id!r} (also tracks/{track_ids[track_id]})")
            else:
                track_ids[track_id] = index
        if isinstance(video, str) and video and video not in videos:
            yield _error((*at, "item"), f"no video or video_frame item has video {video!r}")
        if isinstance(label, str) and label and label not in names:
            yield _error((*at, "label"), f"unknown label {label!r}")
        frame_count = videos.get(video) if isinstance(video, str) else None
        previous: int | None = None
        for shape_index, shape in _entries(track, "shapes"):
            frame = shape.get("frame")
            yield from _shape_semantic_errors(shape, (*at, "shapes", shape_index), kind=track.get("type"))
            if not isinstance(frame, int) or isinstance(frame, bool):
                continue
            if previous is not None and frame <= previous:
                yield _error((*at, "shapes", shape_index, "frame"), f"frame {frame} is not after the previous shape's frame {previous}")
            if frame_count is not None and frame >= frame_count:
                yield _error((*at, "shapes", shape_index, "frame"), f"frame {frame} is past the video's last frame {frame_count - 1}")
            previous = frame
