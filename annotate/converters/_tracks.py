"""Tracks: what a track looks like on any frame, and the frames on which it is visible.

A track (``$defs/track`` in ``schemas/annotation/v1.json``) holds shapes on some frames of
one video, sorted by frame. The rules are those of CVAT's interpolation mode
(https://docs.cvat.ai/docs/manual/basics/track-mode-basics/):

* before the first shape the object does not exist;
* on frame ``f`` the governing shape is the last shape at or before ``f``; when it is
  ``outside`` the object is not visible until the next shape;
* between a visible shape ``s0`` and the next shape ``s1`` the geometry is interpolated
  linearly (``s1`` may be outside: CVAT interpolates towards its geometry too):
  ``value = v0 + (v1 - v0) * (f - f0) / (f1 - f0)`` for every coordinate of bbox, polygon,
  polyline, points and ellipse; ``rotated_bbox`` and ``ellipse`` angles take the shorter way
  round. Polygons, polylines and points need the same number of vertices (and polygons the
  same number of rings) at both ends; otherwise ``s0`` is held unchanged until ``s1``.
  Keypoints and masks are never interpolated: ``s0`` is held until ``s1``. Flags and
  per-frame attributes always come from ``s0``;
* after its last shape a visible track goes on, unchanged, to the end of the video; a
  track that should end has an ``outside`` shape on the frame after its last visible one.

Formats without tracks get each track as one shape per visible frame
(:func:`tracks_as_frame_shapes`), as CVAT's own COCO export of a video task does.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from typing import Any

from annotate.converters.report import ConversionReport, _noun
from schemas import validate_dataset

#: The shape attribute that keeps the id of the track a per-frame shape was made from.
TRACK_ID_ATTRIBUTE = "track_id"
#: The longest shape id the schema allows.
_MAX_SHAPE_ID = 64

GEOMETRY_KEYS = ("bbox", "angle", "rings", "points", "keypoints", "center", "radii", "rle")
INTERPOLATED_TYPES = frozenset({"bbox", "rotated_bbox", "polygon", "polyline", "points", "ellipse"})


def interpolate_track(track: dict[str, Any], frame: int) -> dict[str, Any] | None:
    """Return the track's shape on ``frame``, or None when the object is not visible there.

    Args:
        track: a track of the dataset document (shapes sorted by frame).
        frame: a 0-based video frame number.

    Returns:
        A new track shape (``frame``, ``keyframe``, ``outside`` False, ``occluded``,
        ``attributes`` and the geometry fields): the stored shape itself (a copy) on a stored
        frame, an interpolated or held one with ``keyframe`` False in between; None before
        the first shape and while an ``outside`` shape governs.
    """
    shapes = track["shapes"]
    before = None
    after = None
    for shape in shapes:
        if shape["frame"] <= frame:
            before = shape
        else:
            after = shape
            break
    if before is None or before["outside"]:
        return None
    result = copy.deepcopy(before)
    if before["frame"] == frame:
        return result
    result["frame"] = frame
    result["keyframe"] = False
    if after is not None and track["type"] in INTERPOLATED_TYPES:
        t = (frame - before["frame"]) / (after["frame"] - before["frame"])
        mixed = _mix(before, after, t)
        if mixed is not None:
            result.update(mixed)
    return result


def track_frames(track: dict[str, Any], frame_count: int) -> list[int]:
    """Return the frames, below ``frame_count``, on which the track is visible.

    Args:
        track: a track of the dataset document.
        frame_count: the number of frames of the video.

    Returns:
        The sorted 0-based frame numbers where :func:`interpolate_track` gives a shape.
    """
    frames: list[int] = []
    shapes = track["shapes"]
    for index, shape in enumerate(shapes):
        if shape["outside"]:
            continue
        end = shapes[index + 1]["frame"] if index + 1 < len(shapes) else frame_count
        frames.extend(range(shape["frame"], min(end, frame_count)))
    return frames


def visible_shapes(track: dict[str, Any], frame_count: int) -> Iterator[dict[str, Any]]:
    """Yield the track's shape on every frame where it is visible, in frame order.

    Args:
        track: a track of the dataset document.
        frame_count: the number of frames of the video.

    Yields:
        The shapes :func:`interpolate_track` gives for :func:`track_frames`.
    """
    for frame in track_frames(track, frame_count):
        shape = interpolate_track(track, frame)
        if shape is not None:
            yield shape


def tracks_as_frame_shapes(
    dataset: dict[str, Any], report: ConversionReport, format_label: str, *, checked: bool = False
) -> dict[str, Any]:
    """Return ``dataset`` with every track turned into shapes on its ``video_frame`` items.

    For formats that hold no tracks. On every frame where a track is visible
    (:func:`track_frames`) and the dataset has a ``video_frame`` item of the track's video
    (same ``video`` and ``frame``), the item gets the track's state there
    (:func:`interpolate_track`: the keyframe itself, or the interpolated or held shape in
    between) as a shape with the track's ``type``, ``label``, ``source``, ``group`` and
    ``z_order``, the frame's ``occluded`` flag, and as attributes the track's attributes,
    the frame's own ones, and :data:`TRACK_ID_ATTRIBUTE` (``"track_id"``) holding the
    track's id, so the object stays identifiable (it replaces an attribute of that name):
    an int when the id is a canonical decimal (``"7"``, not ``"07"``), as formats that keep
    attribute values as text (VOC) read it back, else the id's text. Frames past the last
    shape run to the video's ``frame_count`` when a ``video`` item gives it, else to the
    last frame item or shape of the video. The shape's id is ``track-<track id>``, made
    unique within the item.

    The report gets a note per shape type ("8 tracks written as 359 per-frame boxes: COCO
    has no tracks (...)") and counts as lost the visible frames that the video has but no
    frame item shows ("2 boxes dropped: no frame item for them"). A video has every frame
    below a ``video`` item's ``frame_count``; without one, the frames on the grid of its
    frame items (the first one's frame plus a multiple of the gcd of the gaps between
    them: a task that took every third frame has no others). What the target format
    cannot hold of the new shapes is counted by the format as for any shape.

    The input is not changed: the result is a new document (without ``tracks``) that
    shares every item that gets no shape. A dataset without tracks is returned as it is.

    Args:
        dataset: the dataset document being exported.
        report: the export's report.
        format_label: the format's display name, such as ``"COCO"``.
        checked: ``dataset`` is known to be valid (see
            :func:`annotate.converters.export_dataset`); otherwise it is checked first.

    Returns:
        The dataset document to write.

    Raises:
        schemas.SchemaError: ``dataset`` has tracks and is not a valid dataset document.
        ConversionLossError: the report is strict and a visible frame has no item.
    """
    tracks = dataset.get("tracks")
    if not tracks:
        return dataset
    if not checked:
        validate_dataset(dataset)
    items = dataset["items"]
    frame_items = _frame_items(items)
    whole = _whole_video_frame_counts(items)
    frame_counts = _frame_counts(dataset, whole)
    grids = _frame_grids(items, whole)
    added: dict[int, list[dict[str, Any]]] = {}
    taken: dict[int, set[str]] = {}
    tracks_written: dict[str, int] = {}
    shapes_written: dict[str, int] = {}
    missing: dict[str, int] = {}
    for track in tracks:
        kind = track["type"]
        written = 0
        for state in visible_shapes(track, frame_counts[track["item"]]):
            index = frame_items.get((track["item"], state["frame"]))
            if index is None:
                if _frame_exists(state["frame"], grids.get(track["item"])):
                    missing[kind] = missing.get(kind, 0) + 1
                continue
            if index not in taken:
                taken[index] = {shape["id"] for shape in items[index]["annotation"]["shapes"]}
            added.setdefault(index, []).append(_frame_shape(track, state, taken[index]))
            written += 1
        if written:
            tracks_written[kind] = tracks_written.get(kind, 0) + 1
            shapes_written[kind] = shapes_written.get(kind, 0) + written
    _report_expansion(report, format_label, tracks_written, shapes_written, missing)
    return _with_shapes(dataset, added)


def same_state(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Tell whether two track shapes have the same flags, attributes and geometry.

    Args:
        a: a track shape.
        b: another one.

    Returns:
        True when everything but ``frame`` and ``keyframe`` is equal.
    """
    ignore = ("frame", "keyframe")
    return {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}


def on_the_way(start: dict[str, Any], middle: dict[str, Any], end: dict[str, Any], kind: str, tolerance: float = 1e-6) -> bool:
    """Tell whether ``middle`` is what interpolating from ``start`` to ``end`` gives on its frame.

    Used to find keyframes again in formats that store every frame (MOT).

    Args:
        start: a visible track shape.
        middle: a shape on a frame between the two.
        end: a later shape.
        kind: the track's type.
        tolerance: the largest coordinate difference, in pixels, taken as equal.

    Returns:
        True when flags and attributes equal ``start``'s and the geometry matches.
    """
    flags = ("occluded", "attributes")
    if any(start.get(key) != middle.get(key) for key in flags):
        return False
    track = {"type": kind, "shapes": [start, end]}
    expected = interpolate_track(track, middle["frame"])
    if expected is None:
        return False
    return _close(_geometry(expected), _geometry(middle), tolerance)


# -- implementation -------------------------------------------------------------------


def _geometry(shape: dict[str, Any]) -> dict[str, Any]:
    return {key: shape[key] for key in GEOMETRY_KEYS if key in shape}


def _close(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= tolerance
    return a == b


def _lerp_list(a: list[float], b: list[float], t: float) -> list[float]:
    return [x + (y - x) * t for x, y in zip(a, b, strict=True)]


def _lerp_angle(a: float, b: float, t: float) -> float:
    # The shorter way round: from 350 to 10 degrees goes through 0, not through 180.
    delta = (b - a + 180.0) % 360.0 - 180.0
    return (a + delta * t) % 360.0 if delta else a


def _mix(a: dict[str, Any], b: dict[str, Any], t: float) -> dict[str, Any] | None:
    mixed: dict[str, Any] = {}
    for key in ("bbox", "points", "center", "radii"):
        if key in a and key in b:
            if len(a[key]) != len(b[key]):
                return None
            mixed[key] = _lerp_list(a[key], b[key], t)
    if "rings" in a and "rings" in b:
        if len(a["rings"]) != len(b["rings"]) or any(len(x) != len(y) for x, y in zip(a["rings"], b["rings"], strict=True)):
            return None
        mixed["rings"] = [_lerp_list(x, y, t) for x, y in zip(a["rings"], b["rings"], strict=True)]
    if "angle" in a or "angle" in b:
        mixed["angle"] = _lerp_angle(float(a.get("angle", 0.0)), float(b.get("angle", 0.0)), t)
    return mixed


def _frame_items(items: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    """Map ``(video, frame)`` to the index of the first ``video_frame`` item showing it."""
    found: dict[tuple[str, int], int] = {}
    for index, item in enumerate(items):
        if item["media"] == "video_frame" and "video" in item and "frame" in item:
            found.setdefault((item["video"], item["frame"]), index)
    return found


def _whole_video_frame_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    """Return the ``frame_count`` of each video that a ``video`` item gives (the first such item's)."""
    whole: dict[str, int] = {}
    for item in items:
        if item["media"] == "video" and "video" in item and "frame_count" in item:
            whole.setdefault(item["video"], item["frame_count"])
    return whole


def _frame_counts(dataset: dict[str, Any], whole: dict[str, int]) -> dict[str, int]:
    """Return the number of frames of each track's video.

    A ``video`` item's ``frame_count`` (``whole``) when there is one; otherwise one past the
    last frame that a frame item or a track shape of that video names.
    """
    counts: dict[str, int] = {}
    for item in dataset["items"]:
        if "video" in item and "frame" in item and not (item["media"] == "video" and "frame_count" in item):
            counts[item["video"]] = max(counts.get(item["video"], 0), item["frame"] + 1)
    for track in dataset["tracks"]:
        counts[track["item"]] = max(counts.get(track["item"], 0), track["shapes"][-1]["frame"] + 1)
    return {**counts, **whole}


def _frame_grids(items: list[dict[str, Any]], whole: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Return ``(first frame, step)`` of the frame items of each video not in ``whole`` (no ``frame_count`` given).

    The step is the gcd of the gaps between the frame numbers (0 when there is one frame
    item): a video's dataset that holds frames 10, 13, 16 and 19 took every third frame from
    10 on, and frame 11 never was one of its frames.
    """
    frames: dict[str, set[int]] = {}
    for item in items:
        if item["media"] == "video_frame" and "video" in item and "frame" in item:
            frames.setdefault(item["video"], set()).add(item["frame"])
    grids: dict[str, tuple[int, int]] = {}
    for video, numbers in frames.items():
        if video not in whole:
            ordered = sorted(numbers)
            grids[video] = (ordered[0], math.gcd(*(b - a for a, b in itertools.pairwise(ordered))))
    return grids


def _frame_exists(frame: int, grid: tuple[int, int] | None) -> bool:
    """Tell whether ``frame`` is on the video's grid of frames; every frame is, without a grid."""
    if grid is None:
        return True
    first, step = grid
    if frame < first:
        return False
    return frame == first if step == 0 else (frame - first) % step == 0


def _track_id_value(track_id: str) -> int | str:
    """Return the track id as an int when it is a canonical decimal (``"7"``, not ``"07"`` or ``"+7"``), else as it is."""
    try:
        number = int(track_id)
    except ValueError:
        return track_id
    return number if str(number) == track_id else track_id


def _frame_shape(track: dict[str, Any], state: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    """Build the item shape for a track's state on one frame, with an id not in ``taken`` (which gets it)."""
    shape: dict[str, Any] = {
        "id": _free_id(f"track-{track['id']}", taken),
        "type": track["type"],
        "label": track["label"],
        "source": track["source"],
    }
    for key in ("group", "z_order"):
        if key in track:
            shape[key] = track[key]
    if "occluded" in state:
        shape["occluded"] = state["occluded"]
    shape["attributes"] = {**track.get("attributes", {}), **state.get("attributes", {}), TRACK_ID_ATTRIBUTE: _track_id_value(track["id"])}
    shape.update(_geometry(state))
    return shape


def _free_id(wanted: str, taken: set[str]) -> str:
    """Return ``wanted`` (cut to the schema's 64 characters), or it with a ``-<n>`` suffix when taken; record it."""
    candidate = wanted[:_MAX_SHAPE_ID]
    number = 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = wanted[: _MAX_SHAPE_ID - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


def _report_expansion(
    report: ConversionReport, format_label: str, tracks: dict[str, int], shapes: dict[str, int], missing: dict[str, int]
) -> None:
    for kind, count in sorted(tracks.items()):
        track_word = "track" if count == 1 else "tracks"
        report.note(
            f"{count} {track_word} written as {shapes[kind]} per-frame {_noun(kind, shapes[kind])}: {format_label} has no tracks"
            f" (the track id is kept as the attribute {TRACK_ID_ATTRIBUTE})"
        )
    for kind, count in sorted(missing.items()):
        report.lose(kind, "no frame item for them", count)


def _with_shapes(dataset: dict[str, Any], added: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """Return a new document without tracks whose items at the keys of ``added`` get those shapes."""
    items = list(dataset["items"])
    for index, shapes in added.items():
        item = items[index]
        annotation = item["annotation"]
        items[index] = {**item, "annotation": {**annotation, "shapes": [*annotation["shapes"], *shapes]}}
    result = {key: value for key, value in dataset.items() if key != "tracks"}
    result["items"] = items
    return result
