"""The annotation JSON Schema and the checks that go with it.

``schemas/annotation/v1.json`` (JSON Schema 2020-12) describes two documents:

* the per-item annotation document ``{"version": 1, "tags": [...], "shapes": [...]}``
  stored for every item and exchanged with the browser tool (the schema's root), and
* the dataset document ``{"version": 1, "labels": [...], "items": [...], "tracks"?: [...]}``
  that the converters read and write (``$defs/dataset``).

jsonschema is the reference and the only source of schema error messages, but it needs about
a millisecond per shape. So a plain-Python check first vouches for documents that are
certainly valid (it is stricter than the schema: ``2.0`` is not an integer for it, for
example); an element it cannot vouch for is checked with jsonschema, and a document with any
invalid element is checked again, whole, by jsonschema to collect the errors.

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
import math
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Imported when a document first needs jsonschema: documents that the fast checks vouch
    # for (every plain import) never do, and jsonschema costs 6 MB and 60 ms to import.
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError

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
    errors = [] if _vouch_annotation(doc) else list(_schema_errors(_validator("annotation"), doc))
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
    vouched = _vouch_dataset(doc)
    if vouched and _vouch_dataset_semantics(doc):
        return
    errors = [] if vouched else list(_schema_errors(_validator("dataset"), doc))
    errors.extend(_dataset_semantic_errors(doc))
    _raise_if_any(errors, "dataset")


# -- implementation -------------------------------------------------------------------


@cache
def _schema(version: int) -> dict[str, Any]:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"no annotation schema version {version!r}; known: {SUPPORTED_VERSIONS}")
    text = resources.files(__package__).joinpath(f"annotation/v{version}.json").read_text("utf-8")
    return json.loads(text)


@cache
def _format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_is_date_time)
    return checker


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
    from referencing import Registry, Resource

    schema = _schema(1)
    registry: Registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    root = {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    return _finite_validator_class()(root, registry=registry, format_checker=_format_checker())


@cache
def _finite_validator_class() -> type[Draft202012Validator]:
    # JSON has no NaN or infinity, but Python's json module reads and writes them, so a
    # "number" here is a finite one: a NaN box would pass every comparison check, reach
    # the database and come back as text that JSON.parse refuses.
    from jsonschema import Draft202012Validator, validators

    base = Draft202012Validator.TYPE_CHECKER
    checker = base.redefine("number", lambda checker, value: base.is_type(value, "number") and _finite(value))
    return validators.extend(Draft202012Validator, type_checker=checker)


def _finite(number: Any) -> bool:
    # Integers are always finite (and math.isfinite would overflow on ones beyond a float).
    return isinstance(number, int) or math.isfinite(number)


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
    if error.validator == "type" and isinstance(error.instance, float) and not math.isfinite(error.instance):
        token = "NaN" if math.isnan(error.instance) else ("Infinity" if error.instance > 0 else "-Infinity")
        yield {"path": _format_path(path), "message": f"{token} is not a finite number (JSON has no NaN or infinity)"}
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


# -- fast path ------------------------------------------------------------------------
# These functions return True only for elements that the schema certainly accepts; False
# means "not sure", never "invalid". They follow $defs in v1.json one by one; where the
# schema is loose in ways real documents never use (2.0 as an integer, Decimal numbers,
# NaN), they are stricter and leave the element to jsonschema.

_ITEM_KEYS = frozenset(
    ("id", "name", "path", "media", "width", "height", "checksum", "subset", "video", "frame", "annotation", "frame_count", "fps")
)
_ITEM_REQUIRED = ("id", "name", "path", "media", "width", "height", "annotation")
_MEDIA = frozenset(("image", "video_frame", "video"))
_ANNOTATION_KEYS = frozenset(("version", "tags", "shapes"))
_TAG_KEYS = frozenset(("id", "label", "attributes", "source", "author", "updated_at"))
_SHAPE_KEYS = frozenset(
    (
        *("id", "type", "label", "source", "attributes", "group", "z_order"),
        *("occluded", "truncated", "difficult", "iscrowd", "author", "updated_at"),
        *("bbox", "angle", "rings", "points", "keypoints", "center", "radii", "rle"),
    )
)
_SHAPE_FLAGS = ("occluded", "truncated", "difficult", "iscrowd")
# Shape type -> (geometry fields it requires, geometry fields it allows): the allOf/if/then
# blocks of $defs/shape.
_SHAPE_GEOMETRY: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "bbox": (("bbox",), frozenset(("bbox",))),
    "rotated_bbox": (("bbox", "angle"), frozenset(("bbox", "angle"))),
    "polygon": (("rings",), frozenset(("rings",))),
    "polyline": (("points",), frozenset(("points",))),
    "points": (("points",), frozenset(("points",))),
    "keypoints": (("keypoints",), frozenset(("keypoints", "bbox"))),
    "ellipse": (("center", "radii"), frozenset(("center", "radii", "angle"))),
    "mask": (("rle",), frozenset(("rle", "bbox"))),
}
_GEOMETRY_KEYS = frozenset(("bbox", "angle", "rings", "points", "keypoints", "center", "radii", "rle"))
_MIN_POINTS = {"polyline": 4, "points": 2}
_SOURCE_KEYS = frozenset(("type", "model_version", "score"))
_HUMAN_SOURCE = {"type": "human"}
_NOT_BBOX_GEOMETRY = _GEOMETRY_KEYS - {"bbox"}
# Shape fields whose check is done by _vouch_common and the geometry checks.
_PLAIN_SHAPE_KEYS = _GEOMETRY_KEYS | {"id", "type", "label", "source", "attributes", "author", "updated_at"}
_HUMAN_SOURCE_KEYS = frozenset(("type",))


@cache
def _pattern(definition: str, field: str) -> re.Pattern[str]:
    # The same regex jsonschema applies (with re.search), taken from the schema itself.
    return re.compile(_schema(1)["$defs"][definition]["properties"][field]["pattern"])


def _plain_number(value: Any) -> bool:
    # A chained comparison is False for NaN and the infinities, and cheaper than a call.
    return (type(value) is float and -_INF < value < _INF) or type(value) is int


def _plain_int(value: Any) -> bool:
    return type(value) is int


def _numbers(values: Any, min_items: int = 0) -> bool:
    if type(values) is not list or len(values) < min_items:
        return False
    return all((type(value) is float and -_INF < value < _INF) or type(value) is int for value in values)


def _text(value: Any, min_length: int = 0) -> bool:
    return type(value) is str and len(value) >= min_length


def _vouch_attributes(attributes: Any) -> bool:
    if type(attributes) is not dict:
        return False
    for value in attributes.values():
        kind = type(value)
        if kind is not str and kind is not int and kind is not bool and not (kind is float and -_INF < value < _INF):
            return False
    return True


def _vouch_source(source: Any) -> bool:
    if type(source) is not dict:
        return False
    kind = source.get("type")
    if kind == "human" and type(kind) is str:
        return source.keys() <= _HUMAN_SOURCE_KEYS
    if kind == "model" and type(kind) is str and source.keys() <= _SOURCE_KEYS:
        version, score = source.get("model_version"), source.get("score")
        return _plain_int(version) and version >= 1 and _plain_number(score) and 0 <= score <= 1
    return False


def _vouch_common(entry: dict[str, Any]) -> bool:
    """Check the fields tags and shapes share: id, label, source, attributes, author, updated_at."""
    entry_id, label = entry.get("id"), entry.get("label")
    if type(entry_id) is not str or not 1 <= len(entry_id) <= 64 or type(label) is not str or not label:
        return False
    source = entry.get("source")
    # {"type": "human"} is by far the most common source: compare it first.
    if not (type(source) is dict and source == _HUMAN_SOURCE) and not _vouch_source(source):
        return False
    if "attributes" in entry and not _vouch_attributes(entry["attributes"]):
        return False
    if "author" in entry and entry["author"] is not None and type(entry["author"]) is not str:
        return False
    if "updated_at" in entry:
        updated = entry["updated_at"]
        if type(updated) is not str or not _format_checker().conforms(updated, "date-time"):
            return False
    return True


def _vouch_tag(tag: Any) -> bool:
    return type(tag) is dict and tag.keys() <= _TAG_KEYS and _vouch_common(tag)


def _vouch_shape(shape: Any) -> bool:
    if type(shape) is not dict:
        return False
    keys = shape.keys()
    if len(shape) == 5 and keys == _PLAIN_BOX_KEYS:
        # The most common shape by far (a box by a person, nothing else): checked inline, as
        # every function call costs as much as the checks themselves.
        bbox, entry_id, label = shape["bbox"], shape["id"], shape["label"]
        if (
            shape["type"] == "bbox"
            and type(shape["type"]) is str
            and shape["source"] == _HUMAN_SOURCE
            and type(shape["source"]) is dict
            and type(entry_id) is str
            and 1 <= len(entry_id) <= 64
            and type(label) is str
            and label
            and type(bbox) is list
            and len(bbox) == 4
        ):
            x, y, width, height = bbox
            return (
                type(x) in _NUMBER_TYPES
                and type(y) in _NUMBER_TYPES
                and type(width) in _NUMBER_TYPES
                and type(height) in _NUMBER_TYPES
                and width > 0
                and height > 0
                # NaN or an infinity in any of the four makes the sum NaN or infinite.
                and -_INF < x + y + width + height < _INF
            )
    if not keys <= _SHAPE_KEYS:
        return False
    kind = shape.get("type")
    if kind == "bbox" and type(kind) is str:
        # The common case, checked inline: only "bbox" among the geometry fields.
        bbox = shape.get("bbox")
        if (
            type(bbox) is not list
            or len(bbox) != 4
            or not _numbers(bbox)
            or not (bbox[2] > 0 and bbox[3] > 0)
            or not keys.isdisjoint(_NOT_BBOX_GEOMETRY)
        ):
            return False
    else:
        geometry = _SHAPE_GEOMETRY.get(kind) if type(kind) is str else None
        if geometry is None:
            return False
        required, allowed = geometry
        for field in required:
            if field not in shape:
                return False
        if not (keys & _GEOMETRY_KEYS) <= allowed or not _vouch_geometry(shape, kind):
            return False
    if not _vouch_common(shape):
        return False
    if keys <= _PLAIN_SHAPE_KEYS:
        return True
    if "group" in shape and shape["group"] is not None and not _plain_int(shape["group"]):
        return False
    if "z_order" in shape and not _plain_int(shape["z_order"]):
        return False
    return all(type(shape[flag]) is bool for flag in _SHAPE_FLAGS if flag in shape)


def _vouch_geometry(shape: dict[str, Any], kind: str) -> bool:
    """Check the geometry fields present; which ones may be present is checked before."""
    if "bbox" in shape:
        bbox = shape["bbox"]
        if not _numbers(bbox, 4) or len(bbox) != 4 or not (bbox[2] > 0 and bbox[3] > 0):
            return False
    if "angle" in shape and not _plain_number(shape["angle"]):
        return False
    if "rings" in shape:
        rings = shape["rings"]
        if type(rings) is not list or not rings:
            return False
        for ring in rings:
            if not _numbers(ring, 6):
                return False
    if "points" in shape and not _numbers(shape["points"], _MIN_POINTS.get(kind, 0)):
        return False
    if "keypoints" in shape and not _numbers(shape["keypoints"], 3):
        return False
    if "center" in shape:
        center = shape["center"]
        if not _numbers(center, 2) or len(center) != 2:
            return False
    if "radii" in shape:
        radii = shape["radii"]
        if not _numbers(radii, 2) or len(radii) != 2 or not (radii[0] > 0 and radii[1] > 0):
            return False
    if "rle" in shape:
        return _vouch_rle(shape["rle"])
    return True


def _vouch_rle(rle: Any) -> bool:
    if type(rle) is not dict or rle.keys() != {"size", "counts"}:
        return False
    size, counts = rle["size"], rle["counts"]
    if type(size) is not list or len(size) != 2 or not all(_plain_int(value) and value >= 1 for value in size):
        return False
    if type(counts) is str:
        return len(counts) >= 1
    return type(counts) is list and all(_plain_int(value) and value >= 0 for value in counts)


def _vouch_annotation(annotation: Any) -> bool:
    if type(annotation) is not dict or annotation.keys() != _ANNOTATION_KEYS:
        return False
    version, tags, shapes = annotation["version"], annotation["tags"], annotation["shapes"]
    if type(version) is not int or version != 1 or type(tags) is not list or type(shapes) is not list:
        return False
    for shape in shapes:
        if not _vouch_shape(shape):
            return False
    return all(_vouch_tag(tag) for tag in tags)


def _vouch_item(item: Any) -> bool:
    if type(item) is not dict or not item.keys() <= _ITEM_KEYS:
        return False
    for field in _ITEM_REQUIRED:
        if field not in item:
            return False
    media = item["media"]
    if type(media) is not str or media not in _MEDIA:
        return False
    if media == "video" and ("frame_count" not in item or "fps" not in item):
        return False
    path = item["path"]
    if not _text(item["id"], 1) or not _text(item["name"]) or not _text(path, 1) or not _pattern("item", "path").search(path):
        return False
    for field in ("width", "height", "frame_count"):
        if field in item and not (_plain_int(item[field]) and item[field] >= 1):
            return False
    if "frame" in item and not (_plain_int(item["frame"]) and item["frame"] >= 0):
        return False
    if "checksum" in item and not (type(item["checksum"]) is str and _pattern("item", "checksum").search(item["checksum"])):
        return False
    if "subset" in item and not _text(item["subset"], 1):
        return False
    if "video" in item and type(item["video"]) is not str:
        return False
    if "fps" in item and not (_plain_number(item["fps"]) and item["fps"] > 0):
        return False
    return _vouch_annotation(item["annotation"])


def _vouch_dataset(doc: Any) -> bool:
    """Tell whether ``doc`` certainly matches ``$defs/dataset`` (False: let jsonschema decide).

    Labels and tracks are few or rare, so they go to jsonschema one by one; so does any item
    the plain check cannot vouch for.
    """
    if type(doc) is not dict or not doc.keys() <= _DATASET_KEYS or not doc.keys() >= _DATASET_REQUIRED:
        return False
    version, labels, items = doc["version"], doc["labels"], doc["items"]
    if type(version) is not int or version != 1 or type(labels) is not list or type(items) is not list:
        return False
    tracks = doc.get("tracks", [])
    if type(tracks) is not list:
        return False
    label_validator, item_validator, track_validator = _validator("label"), _validator("item"), _validator("track")
    return (
        all(label_validator.is_valid(label) for label in labels)
        and all(_vouch_item(item) or item_validator.is_valid(item) for item in items)
        and all(track_validator.is_valid(track) for track in tracks)
    )


_DATASET_KEYS = frozenset(("version", "labels", "items", "tracks"))
_DATASET_REQUIRED = frozenset(("version", "labels", "items"))
_PLAIN_BOX_KEYS = frozenset(("id", "type", "label", "bbox", "source"))
_NUMBER_TYPES = frozenset((int, float))
_INF = math.inf
# Shape types that _shape_semantic_errors has rules for; the others never yield an error.
_SEMANTIC_SHAPE_TYPES = frozenset(("polygon", "polyline", "points", "keypoints"))


def _vouch_dataset_semantics(doc: dict[str, Any]) -> bool:
    """Tell whether :func:`_dataset_semantic_errors` certainly yields nothing for ``doc``.

    Only called for a document that :func:`_vouch_dataset` accepted, so every field has the
    schema's type. Uniqueness is checked with sets and known labels by membership, which is
    many times cheaper than the generators that word the errors; False sends the document
    to them.
    """
    names: set[str] = set()
    label_ids: set[int] = set()
    for label in doc["labels"]:
        names.add(label["name"])
        label_ids.add(label["id"])
        if "skeleton" in label or "keypoints" in label:
            return False  # rare: left to the generator, which checks node indices
    if len(names) != len(doc["labels"]) or len(label_ids) != len(doc["labels"]):
        return False
    items = doc["items"]
    if len({item["id"] for item in items}) != len(items):
        return False
    semantic_types = _SEMANTIC_SHAPE_TYPES
    for item in items:
        annotation = item["annotation"]
        shapes, tags = annotation["shapes"], annotation["tags"]
        if shapes:
            if len({shape["id"] for shape in shapes}) != len(shapes):
                return False
            for shape in shapes:
                if shape["label"] not in names or (shape["type"] in semantic_types and next(_shape_semantic_errors(shape, ()), None)):
                    return False
        if tags and (len({tag["id"] for tag in tags}) != len(tags) or not all(tag["label"] in names for tag in tags)):
            return False
    return not doc.get("tracks") or next(_track_semantic_errors(doc, dict.fromkeys(names, 0)), None) is None
