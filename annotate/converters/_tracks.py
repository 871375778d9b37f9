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
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from annotate.converters.report import ConversionReport

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


def report_dropped_tracks(dataset: dict[str, Any], report: ConversionReport, format_label: str) -> None:
    """Count the tracks of ``dataset`` as lost, for formats that hold no tracks.

    Image formats call it once per export: each track counts under its shape type
    ("2 boxes dropped: COCO has no tracks (video object tracks)").

    Args:
        dataset: the dataset document being exported.
        report: the export's report.
        format_label: the format's display name, such as ``"COCO"``.

    Raises:
        ConversionLossError: the report is strict and there is a track.
    """
    counts: dict[str, int] = {}
    for track in dataset.get("tracks", []):
        counts[track["type"]] = counts.get(track["type"], 0) + 1
    for kind, count in sorted(counts.items()):
        report.lose(kind, f"{format_label} has no tracks (video object tracks)", count)


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
