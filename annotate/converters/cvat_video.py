"""CVAT for video 1.1 XML (interpolation mode), both ways.

Spec: https://docs.cvat.ai/docs/dataset_management/formats/format-xml/ ("Interpolation mode
(video)"). Layout::

    annotations.xml               <annotations><version>1.1</version><meta><task>...</task></meta><track>...
    images/frame_000010.png       the frames, when present (absolute frame numbers)

Frame rules. CVAT writes absolute video frame numbers. With ``<start_frame>10``,
``<stop_frame>19`` and ``<frame_filter>step=3`` the task's frames are 10, 13, 16 and 19;
these absolute numbers are kept unchanged as our 0-based video frame numbers (item
``frame`` and track shape ``frame``), so nothing is renumbered either way. Import makes one
``video_frame`` item per task frame (``video`` = ``<meta><source>``, else the task name;
path = the frame image when present, else ``images/frame_<frame:06d>.png``; size =
``<original_size>``). Export writes ``start_frame``/``stop_frame`` from the smallest and
largest frame item and ``step`` from their spacing.

Coordinate rules: CVAT's pixel coordinates have the same origin as ours (the top-left
corner of the top-left pixel), so ``<box xtl ytl xbr ybr>`` is ``[xtl, ytl, xbr - xtl,
ybr - ytl]`` and points are copied. ``rotation`` is degrees clockwise about the center, as
our ``angle``. Ellipses are ``cx cy rx ry``.

Tracks map one to one: ``<track id label source group_id>`` to a track (``id`` kept as
text, ``source="auto"`` to a model source with score 1 and model version 1, anything else
to human), each child element to a track shape with ``frame``, ``keyframe``, ``outside``,
``occluded`` and ``z_order`` (the track takes the first shape's). Attributes whose label
declares them ``mutable`` stay per frame; the others become track attributes. Export
writes the shapes stored in the track (the keyframes, plus any other stored frames with
``keyframe="0"``), never interpolated frames. Our tracks follow CVAT's rules
(:mod:`annotate.converters._tracks`): a track ends with an ``outside="1"`` shape on the frame
after its last visible one, and one without it runs to the task's last frame; both are
written and read unchanged, so nothing runs a frame too long and native -> CVAT -> native
keeps frames, keyframes and outside flags exactly. Track ids are kept when they are whole
numbers (others get new numbers, noted).

Checks on import (a :class:`FormatError` naming the file, the ``<track>`` and the frame):
a track id used twice, two shapes of a track on one frame, a visible shape before
``<start_frame>`` or after the last frame (an outside one there changes no frame and is
kept), a ``<stop_frame>`` beyond what ``<size>`` allows, and more than ``MAX_FRAMES``
frames (checked before the items are built, one per frame).

Shapes outside the frame follow CVAT for images' rule, both ways: a track box is clipped to
the frame (counted as clipped); a visible box or polygon with no area left inside the frame
is marked ``outside`` on its frame, its geometry kept so that the frames before it still
move towards it (counted as dropped for having no area, with a note); a shape that has no
size at all (a box side or ellipse radius <= 0) is dropped from the track (counted).
Rotated boxes, ellipses, polylines, points and skeletons are kept as drawn. Export also
counts and leaves out a visible shape on a frame beyond the first or last frame item, and
refuses a dataset with no video or video frame item (a FormatError: a task needs at least
one frame, and any frame written would come back as an item that was never there).

Skeleton tracks become ``keypoints`` tracks; the skeleton label gets ``keypoints`` (the node
names, by node id) and ``skeleton`` (edges from the label's ``<svg>``). Both ways CVAT
writes them are read: ``<skeleton frame>`` elements holding one ``<points label=node>`` per
node, and element ``<track>`` elements nested in the skeleton track (their ids repeat outer
ids; they are not tracks of their own). A node is v=0 when outside, 1 when occluded, 2
otherwise. Export writes the first form.

Rules every format follows: nothing is lost in silence (tags, image items, other videos,
shapes outside tracks become one-frame tracks with a note, masks and cuboids are counted);
exact coordinates; XML is parsed with defusedxml, and a malformed file raises
:class:`FormatError` naming the file and element.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from defusedxml import ElementTree as SafeET

from annotate.converters._common import frame_images, plural
from annotate.converters._cvat_common import format_attribute, input_type_of, polygon_has_area, read_attribute_value, reads_back
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN, clip_bbox, format_attribute_value, parse_bool
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

ANNOTATIONS_FILE = "annotations.xml"
IMAGES_DIR = "images"
#: The most frames a task may have (9 hours at 30 fps): one item each, so the count is checked first.
MAX_FRAMES = 1_000_000
_GEOMETRY_TAGS = ("box", "polygon", "polyline", "points", "ellipse", "skeleton", "mask", "cuboid")
_TYPE_OF_TAG = {
    "box": "bbox",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "ellipse": "ellipse",
    "skeleton": "keypoints",
}
_TAG_OF_TYPE = {
    "bbox": "box",
    "rotated_bbox": "box",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "ellipse": "ellipse",
}
_INPUT_TYPES = {"text", "number", "checkbox", "select", "radio"}
_STEP = re.compile(r"step\s*=\s*(\d+)")
_NODE = re.compile(r'<circle[^>]*data-node-id="(\d+)"[^>]*data-label-name="([^"]*)"')
_EDGE = re.compile(r'data-node-from="(\d+)"[^>]*data-node-to="(\d+)"')


@register_format("cvat-video")
class CvatVideoFormat(DatasetFormat):
    """CVAT for video 1.1: tracks of one video."""

    description = "CVAT for video 1.1 XML (annotations.xml with <track>s, images/frame_NNNNNN)"
    holds_group = True
    holds_z_order = True
    holds_tracks = True

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        file = _xml_file(Path(path))
        if not file.is_file():
            return False
        try:
            with file.open("rb") as handle:
                head = handle.read(65536).decode("utf-8", "replace")
        except OSError:
            return False
        return "<annotations" in head and ("<mode>interpolation</mode>" in head or "<track " in head) and "<image " not in head

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        file = _xml_file(Path(src))
        if not file.is_file():
            raise FormatError(f"{src}: no {ANNOTATIONS_FILE} (not CVAT for video)")
        return _Reader(file, report).read()

    def write(
        self,
        dataset: dict[str, Any],
        writer: DatasetWriter,
        *,
        images: ImageSource | None,
        report: ConversionReport,
    ) -> None:
        """See :meth:`DatasetFormat.write`."""
        _Writer(dataset, writer, images, report).write()

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        src = Path(src)
        root = src.parent if src.is_file() else src
        candidate = root / item["path"]
        return candidate if candidate.is_file() else None


def _xml_file(path: Path) -> Path:
    return path if path.suffix.lower() == ".xml" else path / ANNOTATIONS_FILE


# -- import ---------------------------------------------------------------------------


def _text(element: Element | None, tag: str, default: str = "") -> str:
    found = element.find(tag) if element is not None else None
    return (found.text or "").strip() if found is not None else default


class _Reader:
    def __init__(self, file: Path, report: ConversionReport) -> None:
        self.file = file
        self.report = report
        self.mutable: dict[str, set[str]] = {}

    def fail(self, where: str, message: str) -> FormatError:
        return FormatError(f"{self.file}: {where}: {message}")

    def read(self) -> dict[str, Any]:
        try:
            root = SafeET.parse(self.file).getroot()
        except (SafeET.ParseError, OSError) as exc:
            raise FormatError(f"{self.file}: not readable XML: {exc}") from exc
        except Exception as exc:  # defusedxml refuses entities and DTDs with its own errors
            raise FormatError(f"{self.file}: refused XML: {exc}") from exc
        if root.tag != "annotations":
            raise self.fail(f"<{root.tag}>", "the root element is not <annotations>")
        task = root.find("meta/task")
        if task is None:
            task = root.find("meta/job")
        labels = self._labels(task)
        frames, width, height, video = self._frames(root, task)
        self.frames, self.width, self.height = frames, width, height
        self.track_ids: dict[str, int] = {}
        self.hidden = 0
        items = []
        image_dir = self.file.parent / IMAGES_DIR
        existing = {p.stem: p.name for p in image_dir.iterdir()} if image_dir.is_dir() else {}
        for frame in frames:
            stem = f"frame_{frame:06d}"
            name = existing.get(stem, f"{stem}.png")
            items.append(
                {
                    "id": str(frame),
                    "name": name,
                    "path": f"{IMAGES_DIR}/{name}",
                    "media": "video_frame",
                    "width": width,
                    "height": height,
                    "video": video,
                    "frame": frame,
                    "annotation": {"version": 1, "tags": [], "shapes": []},
                }
            )
        tracks = []
        for index, element in enumerate(root.findall("track")):
            track = self._track(element, index, video, labels)
            if track is not None:
                tracks.append(track)
        if root.findall("image"):
            self.report.lose("item", "CVAT for images <image> elements in a video file are not read", len(root.findall("image")))
        if self.hidden:
            self.report.note(f"{plural(self.hidden, 'track shape')} with no area inside the frame marked outside on that frame")
        dataset: dict[str, Any] = {"version": 1, "labels": list(labels.values()), "items": items}
        if tracks:
            dataset["tracks"] = tracks
        validate_dataset(dataset)
        return dataset

    def _labels(self, task: Element | None) -> dict[str, dict[str, Any]]:
        labels: dict[str, dict[str, Any]] = {}
        elements = task.findall("labels/label") if task is not None else []
        children: dict[str, list[str]] = {}
        for element in elements:
            parent = _text(element, "parent")
            if parent:
                children.setdefault(parent, []).append(_text(element, "name"))
        for element in elements:
            name = _text(element, "name")
            if not name:
                raise self.fail("<labels>", "a label has no <name>")
            if _text(element, "parent"):
                continue  # skeleton nodes live in their skeleton's "keypoints"
            label: dict[str, Any] = {"id": len(labels), "name": name, "kind": "tag" if _text(element, "type") == "tag" else "shape"}
            color = _text(element, "color")
            if re.fullmatch(r"#[0-9a-fA-F]{6}", color):
                label["color"] = color
            attributes = []
            for attribute in element.findall("attributes/attribute"):
                attr_name = _text(attribute, "name")
                input_type = _text(attribute, "input_type", "text")
                spec: dict[str, Any] = {"name": attr_name, "type": input_type if input_type in _INPUT_TYPES else "text"}
                values = [value for value in _text(attribute, "values").split("\n") if value != ""]
                if values:
                    spec["values"] = values
                if parse_bool(_text(attribute, "mutable")):
                    spec["mutable"] = True
                    self.mutable.setdefault(name, set()).add(attr_name)
                attributes.append(spec)
            if attributes:
                label["attributes"] = attributes
            if _text(element, "type") == "skeleton":
                nodes, edges = _skeleton_spec(_text(element, "svg"), children.get(name, []))
                label["keypoints"] = nodes
                if edges:
                    label["skeleton"] = edges
            labels[name] = label
        return labels

    def _frames(self, root: Element, task: Element | None) -> tuple[range, int, int, str]:
        """Return the task's frame numbers, the frame size and the video name.

        The frame count is checked before anything proportional to it is built: at most
        ``MAX_FRAMES``, and ``<stop_frame>`` no further than ``<size>`` frames allow.
        """

        def number(tag: str) -> int | None:
            text = _text(task, tag)
            if text == "":
                return None
            try:
                return int(text)
            except ValueError:
                raise self.fail(f"<{tag}>", f"{text!r} is not a whole number") from None

        size, start, stop = number("size"), number("start_frame") or 0, number("stop_frame")
        match = _STEP.search(_text(task, "frame_filter"))
        step = int(match.group(1)) if match else 1
        if step < 1:
            raise self.fail("<frame_filter>", "step must be at least 1")
        if start < 0:
            raise self.fail("<start_frame>", f"{start} is negative")
        if size is not None and not 0 < size <= MAX_FRAMES:
            raise self.fail("<size>", f"{size} frames: expected 1 to {MAX_FRAMES}")
        if stop is None:
            field = "<size>"
            if size:
                stop = start + (size - 1) * step
            else:
                field = "the largest shape frame"
                stop = max(
                    (int(e.get("frame", "0")) for e in root.iter() if e.tag in _GEOMETRY_TAGS and e.get("frame", "").isdigit()),
                    default=start,
                )
        else:
            field = "<stop_frame>"
            if stop < start:
                raise self.fail("<stop_frame>", f"{stop} is before <start_frame> {start}")
            if size and stop > start + (size - 1) * step:
                last = start + (size - 1) * step
                raise self.fail("<stop_frame>", f"{stop} is beyond the last of the task's <size> {size} frames ({last})")
        frames = range(start, stop + 1, step)
        if len(frames) > MAX_FRAMES:
            raise self.fail(field, f"{len(frames)} frames from frame {start} to {stop}: more than {MAX_FRAMES}")
        width, height = number("original_size/width"), number("original_size/height")
        if not width or not height or width < 1 or height < 1:
            raise self.fail("<meta><task><original_size>", "the frame size is missing")
        video = _text(root, "meta/source") or _text(task, "name") or self.file.parent.name or "video"
        return frames, width, height, video

    def _track(self, element: Element, index: int, video: str, labels: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        track_id = element.get("id", str(index))
        where = f'<track> #{index + 1} id="{track_id}"'
        if track_id in self.track_ids:
            raise self.fail(where, f"track id {track_id!r} is already used by <track> #{self.track_ids[track_id] + 1}")
        self.track_ids[track_id] = index
        label = element.get("label", "")
        if label not in labels:
            raise self.fail(where, f"label {label!r} is not declared in <labels>")
        children = [child for child in element if child.tag in _GEOMETRY_TAGS]
        if not children:
            return None
        tag = children[0].tag
        if tag not in _TYPE_OF_TAG:
            self.report.lose(tag, f"CVAT {tag} tracks are not supported")
            return None
        kind = _TYPE_OF_TAG[tag]
        mutable = self.mutable.get(label, set())
        if kind == "keypoints":
            shapes = self._skeleton_shapes(element, children, labels[label], where)
        else:
            shapes = [
                self._shape(child, kind, f"{where} <{child.tag} frame={child.get('frame')}>") for child in children if child.tag == tag
            ]
            if len(shapes) != len(children):
                self.report.lose("shape", "a CVAT track mixes shape types (only the first type is read)", len(children) - len(shapes))
        shapes.sort(key=lambda shape: shape["frame"])
        for previous, shape in itertools.pairwise(shapes):
            if previous["frame"] == shape["frame"]:
                raise self.fail(where, f"two shapes on frame {shape['frame']}: a track has one shape a frame")
        for shape in shapes:
            self._check_frame(shape, where)
        shapes = self._fit_to_frame(shapes, kind)
        if not shapes:
            return None
        # Values are typed by the input_type their label declares (text stays text: "0003").
        types = {spec["name"]: spec["type"] for spec in labels[label].get("attributes", [])}
        track_attributes: dict[str, Any] = {}
        for shape in shapes:
            values = {name: read_attribute_value(text, types.get(name)) for name, text in shape.pop("all_attributes", {}).items()}
            fixed = {k: v for k, v in values.items() if k not in mutable}
            track_attributes = track_attributes or fixed
            per_frame = {k: v for k, v in values.items() if k in mutable}
            if per_frame:
                shape["attributes"] = per_frame
        z_orders = [shape.pop("z_order", 0) for shape in shapes]
        track: dict[str, Any] = {
            "id": track_id,
            "item": video,
            "label": label,
            "type": kind,
            "source": {"type": "model", "model_version": 1, "score": 1} if element.get("source") == "auto" else HUMAN,
            "shapes": shapes,
        }
        if track_attributes:
            track["attributes"] = track_attributes
        if element.get("group_id", "0") not in ("", "0"):
            track["group"] = int(element.get("group_id"))
        if z_orders and z_orders[0]:
            track["z_order"] = z_orders[0]
        return track

    def _fit_to_frame(self, shapes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
        """Drop shapes without a size, clip the rest to the frame, and hide those left with no area (all counted)."""
        kept = []
        for shape in shapes:
            if not has_size(shape, kind):
                self.report.drop_empty(kind)
                continue
            if not shape["outside"] and not fits_frame(shape, kind, self.width, self.height, self.report):
                shape["outside"] = True
                self.hidden += 1
            kept.append(shape)
        return kept

    def _check_frame(self, shape: dict[str, Any], where: str) -> None:
        """Refuse a visible shape on a frame outside the task; an outside one changes no frame and stays."""
        frames, frame = self.frames, shape["frame"]
        if shape["outside"] or frames.start <= frame <= frames[-1]:
            return
        if frame < frames.start:
            raise self.fail(f"{where} frame={frame}", f"the shape is before the task's first frame {frames.start} (<start_frame>)")
        raise self.fail(f"{where} frame={frame}", f"the shape is after the task's last frame {frames[-1]} (<stop_frame>)")

    def _shape(self, element: Element, kind: str, where: str) -> dict[str, Any]:
        def number(name: str) -> float:
            try:
                value = float(element.get(name, ""))
            except ValueError:
                raise self.fail(where, f"{name}={element.get(name)!r} is not a number") from None
            if not math.isfinite(value):
                raise self.fail(where, f"{name}={element.get(name)!r} is not finite")
            return _exact(value)

        frame = element.get("frame", "")
        if not frame.isdigit():
            raise self.fail(where, f"frame={frame!r} is not a whole number >= 0")
        shape: dict[str, Any] = {
            "frame": int(frame),
            "keyframe": bool(parse_bool(element.get("keyframe", "1"))),
            "outside": bool(parse_bool(element.get("outside", "0"))),
        }
        if parse_bool(element.get("occluded", "0")):
            shape["occluded"] = True
        if kind == "bbox":
            xtl, ytl, xbr, ybr = (number(name) for name in ("xtl", "ytl", "xbr", "ybr"))
            shape["bbox"] = [xtl, ytl, _exact(xbr - xtl), _exact(ybr - ytl)]
            if element.get("rotation") not in (None, "", "0", "0.0"):
                shape["angle"] = number("rotation")
        elif kind == "ellipse":
            shape["center"] = [number("cx"), number("cy")]
            shape["radii"] = [number("rx"), number("ry")]
            if element.get("rotation") not in (None, "", "0", "0.0"):
                shape["angle"] = number("rotation")
        else:
            points = self._points(element.get("points", ""), where)
            shape["rings" if kind == "polygon" else "points"] = [points] if kind == "polygon" else points
        z_order = element.get("z_order", "0")
        shape["z_order"] = int(z_order) if z_order.lstrip("-").isdigit() else 0
        shape["all_attributes"] = {a.get("name", ""): a.text or "" for a in element.findall("attribute")}
        return shape

    def _points(self, text: str, where: str) -> list[float]:
        values: list[float] = []
        try:
            for pair in text.split(";"):
                if pair.strip():
                    x, y = pair.split(",")
                    values += [_exact(float(x)), _exact(float(y))]
        except ValueError:
            raise self.fail(where, f"points={text!r} is not 'x,y;x,y;...'") from None
        if not values:
            raise self.fail(where, "points is empty")
        return values

    def _skeleton_shapes(self, element: Element, children: list[Element], label: dict[str, Any], where: str) -> list[dict[str, Any]]:
        nodes = label.get("keypoints", [])
        # frame -> node -> (x, y, v, keyframe)
        per_frame: dict[int, dict[str, tuple[float, float, int, bool]]] = {}
        flags: dict[int, dict[str, Any]] = {}
        for child in children:
            if child.tag != "skeleton":
                continue
            frame_text = child.get("frame", "")
            if not frame_text.isdigit():
                raise self.fail(where, f"<skeleton frame={frame_text!r}> is not a whole number")
            frame = int(frame_text)
            if frame in flags:
                raise self.fail(where, f"two <skeleton> shapes on frame {frame}: a track has one shape a frame")
            flags[frame] = {
                "keyframe": bool(parse_bool(child.get("keyframe", "1"))),
                "z_order": int(child.get("z_order", "0")) if child.get("z_order", "0").lstrip("-").isdigit() else 0,
                "all_attributes": {a.get("name", ""): a.text or "" for a in child.findall("attribute")},
            }
            for point in child.findall("points"):
                per_frame.setdefault(frame, {})[point.get("label", "")] = self._node(point, where)
        for inner in element.findall("track"):
            node = inner.get("label", "")
            for point in inner.findall("points"):
                frame_text = point.get("frame", "")
                if not frame_text.isdigit():
                    raise self.fail(where, f"element <points frame={frame_text!r}> is not a whole number")
                per_frame.setdefault(int(frame_text), {})[node] = self._node(point, where)
        if not nodes:
            nodes = sorted({node for frame in per_frame.values() for node in frame})
            label["keypoints"] = nodes
        shapes = []
        last: dict[str, tuple[float, float, int, bool]] = {}
        for frame in sorted(set(per_frame) | set(flags)):
            state = {**{node: (x, y, 0 if v == 0 else v, False) for node, (x, y, v, _) in last.items()}, **per_frame.get(frame, {})}
            last = state
            triplets: list[float] = []
            for node in nodes:
                x, y, v, _ = state.get(node, (0.0, 0.0, 0, False))
                triplets += [x, y, v] if v else [0, 0, 0]
            info = flags.get(frame, {})
            keyframe = info.get("keyframe", any(k for *_, k in per_frame.get(frame, {}).values()))
            shape = {"frame": frame, "keyframe": keyframe, "outside": all(v == 0 for v in triplets[2::3]), "keypoints": triplets}
            shape["z_order"] = info.get("z_order", 0)
            shape["all_attributes"] = info.get("all_attributes", {})
            shapes.append(shape)
        return shapes

    def _node(self, point: Element, where: str) -> tuple[float, float, int, bool]:
        values = self._points(point.get("points", ""), where)
        outside = parse_bool(point.get("outside", "0"))
        occluded = parse_bool(point.get("occluded", "0"))
        return values[0], values[1], 0 if outside else (1 if occluded else 2), bool(parse_bool(point.get("keyframe", "0")))


def has_size(shape: dict[str, Any], kind: str) -> bool:
    """Tell whether a track shape's geometry has a size: positive box sides and ellipse radii.

    Args:
        shape: a track shape.
        kind: the track's type.

    Returns:
        False for a box with a side <= 0, an ellipse with a radius <= 0 or a polygon ring of
        fewer than 3 points, which no frame can show (and the schema refuses, outside or not).
    """
    if "bbox" in shape and kind in ("bbox", "rotated_bbox"):
        return shape["bbox"][2] > 0 and shape["bbox"][3] > 0
    if kind == "ellipse":
        return shape["radii"][0] > 0 and shape["radii"][1] > 0
    if kind == "polygon":
        return all(len(ring) >= 6 for ring in shape["rings"])
    return True


def fits_frame(shape: dict[str, Any], kind: str, width: int, height: int, report: ConversionReport) -> bool:
    """Apply CVAT for images' rule for shapes outside the image to one visible track shape with a size.

    Boxes are clipped to the frame (counted as clipped); a box or polygon with no area inside
    the frame does not fit (counted as dropped for having no area). Rotated boxes, ellipses,
    polylines, points and keypoints are kept as drawn, as CVAT for images keeps them.

    Args:
        shape: a track shape for which :func:`has_size` holds; its box is clipped in place.
        kind: the track's type (``bbox``, ``rotated_bbox``, ``polygon``...); a ``bbox``
            shape with an ``angle`` is a rotated box.
        width: frame width in pixels.
        height: frame height in pixels.
        report: counts what was clipped or has no area.

    Returns:
        False when nothing of the shape is left on the frame: the caller marks it outside
        there, which keeps the track's other frames as they are.

    Raises:
        ConversionLossError: the report is strict and the shape does not fit.
    """
    fits = True
    if kind == "bbox" and "angle" not in shape:
        bbox, clipped = clip_bbox(shape["bbox"], width, height)
        fits = bbox is not None
        if bbox is not None and clipped:
            shape["bbox"] = [_exact(value) for value in bbox]
            report.clip(kind)
    elif kind == "polygon":
        fits = polygon_has_area(shape["rings"], width, height)
    if not fits:
        report.drop_empty(kind)
    return fits


def _skeleton_spec(svg: str, children: list[str]) -> tuple[list[str], list[list[int]]]:
    by_id = {int(node_id): name for node_id, name in _NODE.findall(svg)}
    names = [by_id[key] for key in sorted(by_id)] or children
    for child in children:
        if child not in names:
            names.append(child)
    index = {node_id: names.index(name) for node_id, name in by_id.items() if name in names}
    edges = [[index[int(a)], index[int(b)]] for a, b in _EDGE.findall(svg) if int(a) in index and int(b) in index]
    return names, edges


def _exact(value: float) -> float | int:
    # "3.00" reads as 3 so that integer coordinates compare equal after a round trip.
    return int(value) if value == int(value) and abs(value) < 2**53 else value


# -- export ---------------------------------------------------------------------------


def _number(value: float) -> str:
    return format_attribute_value(_exact(float(value)))


class _Writer:
    def __init__(self, dataset: dict[str, Any], writer: DatasetWriter, images: ImageSource | None, report: ConversionReport) -> None:
        self.dataset = dataset
        self.writer = writer
        self.images = images
        self.report = report
        self.labels = {label["name"]: label for label in dataset["labels"]}

    def write(self) -> None:
        video, frames, width, height = self._frames()
        self.width, self.height = width, height
        all_frames = sorted(frames) or [0]
        start, stop = all_frames[0], all_frames[-1]
        self.first, self.last = start, stop
        gaps = {b - a for a, b in itertools.pairwise(all_frames)}
        step = math.gcd(*gaps) if gaps else 1
        if len(gaps) > 1:
            self.report.note(f"frames are not evenly spaced; written with step={step}, so an import adds the missing frames")
        root = Element("annotations")
        SubElement(root, "version").text = "1.1"
        meta = SubElement(root, "meta")
        task = SubElement(meta, "task")
        for tag, value in (
            ("name", video),
            ("size", len(range(start, stop + 1, step))),
            ("mode", "interpolation"),
            ("start_frame", start),
            ("stop_frame", stop),
            ("frame_filter", f"step={step}" if step > 1 else ""),
        ):
            SubElement(task, tag).text = str(value)
        self._write_labels(SubElement(task, "labels"))
        size = SubElement(task, "original_size")
        SubElement(size, "width").text = str(width)
        SubElement(size, "height").text = str(height)
        SubElement(meta, "source").text = video
        self.used_ids = {int(t["id"]) for t in self.dataset.get("tracks", []) if t["id"].isdigit()}
        for track in self.dataset.get("tracks", []):
            if track["item"] != video:
                self.report.lose(track["type"], "CVAT for video holds one video (track of another video)")
                continue
            self._write_track(root, self._track_id(track), track)
        for frame, item in sorted(frames.items()):
            annotation = item["annotation"]
            if annotation["tags"]:
                self.report.lose("tag", "CVAT for video has no tags", len(annotation["tags"]))
            for shape in annotation["shapes"]:
                if shape["type"] in ("mask",):
                    self.report.lose(shape["type"], "CVAT for video export has no mask tracks")
                    continue
                self.report.note(f"shape {shape['id']!r} of frame {frame} written as a one-frame track")
                fields = {k: v for k, v in shape.items() if k not in ("id", "type", "label", "source", "attributes", "group", "z_order")}
                one = {
                    "id": shape["id"],
                    "label": shape["label"],
                    "type": shape["type"],
                    "source": shape["source"],
                    "attributes": shape.get("attributes", {}),
                    "group": shape.get("group"),
                    "z_order": shape.get("z_order", 0),
                    "shapes": [{**fields, "frame": frame, "keyframe": True, "outside": False}],
                }
                for flag in ("truncated", "difficult", "iscrowd"):
                    one["shapes"][0].pop(flag, None)
                if frame + step <= stop:
                    # CVAT ends a one-frame object with an outside shape on the next frame.
                    one["shapes"].append({**one["shapes"][0], "frame": frame + step, "outside": True})
                self._write_track(root, self._track_id(one), one)
        indent(root)
        self.writer.write_bytes(ANNOTATIONS_FILE, tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
        if self.images is not None:
            for frame, data, ext in frame_images(frames, self.images, self.report):
                self.writer.write_bytes(f"{IMAGES_DIR}/frame_{frame:06d}{ext}", data)

    def _on_the_video(self, shape: dict[str, Any], kind: str) -> bool:
        """Tell whether the shape can be written: a visible one must lie between the first and last frame (else counted)."""
        if shape["outside"] or self.first <= shape["frame"] <= self.last:
            return True
        self.report.lose(kind, f"the track shape is on frame {shape['frame']}, outside the video's frames {self.first}-{self.last}")
        return False

    def _fitted(self, shape: dict[str, Any], kind: str) -> dict[str, Any]:
        """Return the shape as written: clipped to the frame, or outside there when nothing is left (counted)."""
        if shape["outside"] or kind in ("keypoints", "mask"):
            return shape
        fitted = copy.deepcopy(shape)
        if not fits_frame(fitted, kind, self.width, self.height, self.report):
            fitted = {**shape, "outside": True}
        return fitted

    def _track_id(self, track: dict[str, Any]) -> int:
        if track["id"].isdigit() and track in self.dataset.get("tracks", []):
            return int(track["id"])
        new = max(self.used_ids, default=-1) + 1
        self.used_ids.add(new)
        self.report.note(f"track {track['id']!r} written as CVAT track id {new}")
        return new

    def _frames(self) -> tuple[str, dict[int, dict[str, Any]], int, int]:
        items = self.dataset["items"]
        videos = [item["video"] for item in items if item["media"] in ("video", "video_frame") and "video" in item]
        if not videos:
            # Writing a task of <size> 1 would make an import invent a frame that was never here.
            found = f"none of the {plural(len(items), 'item')} is a video or video frame" if items else "the dataset has no items"
            raise FormatError(f"no video frames to write: {found}; cvat-video holds videos, use cvat for images")
        video = videos[0]
        mine = [item for item in items if item.get("video") == video and item["media"] in ("video", "video_frame")]
        lost = len(items) - len(mine)
        whole = [item for item in mine if item["media"] == "video"]
        frames: dict[int, dict[str, Any]] = {}
        if whole:
            first = whole[0]
            lost += len(mine) - 1
            if first["annotation"]["shapes"] or first["annotation"]["tags"]:
                count = len(first["annotation"]["shapes"]) + len(first["annotation"]["tags"])
                self.report.lose("shape", "CVAT for video has no place for shapes of a whole video", count)
            all_frames = {frame: first for frame in range(first["frame_count"])}
            self.whole = True
            if lost:
                self.report.lose("item", "CVAT for video holds one video", lost)
            empty = {k: {**v, "annotation": {"version": 1, "tags": [], "shapes": []}} for k, v in all_frames.items()}
            return video, empty, first["width"], first["height"]
        for position, item in enumerate(mine):
            frame = item.get("frame", position)
            if frame in frames:
                lost += 1
                continue
            frames[frame] = item
            expected = f"{IMAGES_DIR}/frame_{frame:06d}"
            if not item["path"].startswith(expected + "."):
                self.report.note(f"item {item['id']!r} ({item['path']}) is written as {expected}")
            if "fps" in item or "frame_count" in item:
                self.report.note(f"item {item['id']!r}: CVAT for video keeps no fps or frame count")
        if lost:
            self.report.lose("item", "CVAT for video holds one video", lost)
        first = frames[min(frames)]
        if len({(item["width"], item["height"]) for item in frames.values()}) > 1:
            self.report.note(f"frames have different sizes; <original_size> gives {first['width']}x{first['height']}")
        return video, frames, first["width"], first["height"]

    def _used_attributes(self) -> dict[str, dict[str, tuple[list[Any], bool]]]:
        """Return label -> attribute -> (the values tracks and shapes use, whether it changes per frame)."""
        used: dict[str, dict[str, tuple[list[Any], bool]]] = {}

        def add(label: str, attributes: dict[str, Any], per_frame: bool) -> None:
            for name, value in attributes.items():
                values, mutable = used.setdefault(label, {}).get(name, ([], False))
                values.append(value)
                used[label][name] = (values, mutable or per_frame)

        for track in self.dataset.get("tracks", []):
            add(track["label"], track.get("attributes", {}), False)
            for shape in track["shapes"]:
                add(track["label"], shape.get("attributes", {}), True)
        for item in self.dataset["items"]:
            for shape in item["annotation"]["shapes"]:
                add(shape["label"], shape.get("attributes", {}), False)
        return used

    def _attribute_specs(self, label: dict[str, Any], used: dict[str, tuple[list[Any], bool]]) -> list[dict[str, Any]]:
        """Return a label's attribute specs: its own, then one per attribute its tracks use undeclared.

        CVAT types an attribute value by the ``<input_type>`` its label declares, so an
        undeclared one is declared with the type of its values (as CVAT for images does), and
        mutable when a track changes it per frame. Values that still read back different are counted.
        """
        specs = []
        for spec in label.get("attributes", []):
            if not spec.get("mutable") and used.get(spec["name"], ([], False))[1]:
                # A track changes it per frame: declared immutable, an import would keep only the first value.
                self.report.note(f"label {label['name']!r}: attribute {spec['name']!r} written as mutable, as a track changes it per frame")
                spec = {**spec, "mutable": True}
            specs.append(spec)
        declared = {spec["name"] for spec in specs}
        for name, (values, per_frame) in used.items():
            if name not in declared:
                specs.append({"name": name, "type": input_type_of(values), "mutable": per_frame})
        types = {spec["name"]: spec["type"] for spec in specs}
        changed = sum(1 for name, (values, _) in used.items() for value in values if not reads_back(value, types[name]))
        if changed:
            reason = f"label {label['name']!r}: CVAT types an attribute value by the input_type its label declares"
            self.report.lose("attribute value", reason, changed)
        return specs

    def _write_labels(self, parent: Element) -> None:
        used = self._used_attributes()
        for label in self.dataset["labels"]:
            element = SubElement(parent, "label")
            SubElement(element, "name").text = label["name"]
            if label.get("color"):
                SubElement(element, "color").text = label["color"]
            kind = "tag" if label["kind"] == "tag" else ("skeleton" if label.get("keypoints") else "any")
            SubElement(element, "type").text = kind
            attributes = SubElement(element, "attributes")
            for spec in self._attribute_specs(label, used.get(label["name"], {})):
                attribute = SubElement(attributes, "attribute")
                SubElement(attribute, "name").text = spec["name"]
                SubElement(attribute, "mutable").text = "True" if spec.get("mutable") else "False"
                SubElement(attribute, "input_type").text = spec["type"]
                values = [format_attribute_value(value) for value in spec.get("values", [])]
                SubElement(attribute, "default_value").text = values[0] if values else ""
                SubElement(attribute, "values").text = "\n".join(values)
            if label.get("keypoints"):
                SubElement(element, "svg").text = _svg(label)
        for label in self.dataset["labels"]:
            for node in label.get("keypoints", []):
                element = SubElement(parent, "label")
                SubElement(element, "name").text = node
                SubElement(element, "type").text = "points"
                SubElement(element, "attributes")
                SubElement(element, "parent").text = label["name"]

    def _write_track(self, root: Element, track_id: int, track: dict[str, Any]) -> None:
        kind = track["type"]
        if kind == "mask":
            self.report.lose(kind, "CVAT for video export has no mask tracks")
            return
        element = SubElement(root, "track", {"id": str(track_id), "label": track["label"]})
        element.set("source", "auto" if track["source"]["type"] == "model" else "manual")
        if track.get("group"):
            element.set("group_id", str(track["group"]))
        shapes = [self._fitted(shape, kind) for shape in track["shapes"] if self._on_the_video(shape, kind)]
        fixed = track.get("attributes", {})
        for shape in shapes:
            common = {
                "frame": str(shape["frame"]),
                "keyframe": "1" if shape["keyframe"] else "0",
                "z_order": str(track.get("z_order") or 0),
            }
            attributes = {**fixed, **shape.get("attributes", {})}
            if kind == "keypoints":
                child = SubElement(element, "skeleton", common)
                nodes = self.labels[track["label"]].get("keypoints") or [str(n + 1) for n in range(len(shape["keypoints"]) // 3)]
                for node, offset in zip(nodes, range(0, len(shape["keypoints"]), 3), strict=False):
                    x, y, v = shape["keypoints"][offset : offset + 3]
                    outside = shape["outside"] or v == 0
                    SubElement(
                        child,
                        "points",
                        {
                            "label": node,
                            "outside": "1" if outside else "0",
                            "occluded": "1" if v == 1 else "0",
                            "keyframe": common["keyframe"],
                            "points": f"{_number(x)},{_number(y)}",
                        },
                    )
            else:
                tag = _TAG_OF_TYPE[kind]
                child = SubElement(element, tag, common)
                child.set("outside", "1" if shape["outside"] else "0")
                child.set("occluded", "1" if shape.get("occluded") else "0")
                if kind in ("bbox", "rotated_bbox"):
                    x, y, w, h = shape["bbox"]
                    for name, value in (("xtl", x), ("ytl", y), ("xbr", x + w), ("ybr", y + h)):
                        child.set(name, _number(value))
                    if "angle" in shape:
                        child.set("rotation", _number(shape["angle"]))
                elif kind == "ellipse":
                    for name, value in zip(("cx", "cy", "rx", "ry"), [*shape["center"], *shape["radii"]], strict=True):
                        child.set(name, _number(value))
                    if shape.get("angle"):
                        child.set("rotation", _number(shape["angle"]))
                else:
                    if kind == "polygon" and len(shape["rings"]) > 1:
                        self.report.lose("ring", "CVAT polygons have one ring (the first is kept)", len(shape["rings"]) - 1)
                    values = shape["rings"][0] if kind == "polygon" else shape["points"]
                    child.set("points", ";".join(f"{_number(values[i])},{_number(values[i + 1])}" for i in range(0, len(values), 2)))
            for name, value in attributes.items():
                SubElement(child, "attribute", {"name": name}).text = format_attribute(value)


def _svg(label: dict[str, Any]) -> str:
    nodes = label["keypoints"]
    parts = [
        f'<line data-type="edge" data-node-from="{a + 1}" data-node-to="{b + 1}"></line>'
        for a, b in label.get("skeleton", [])
        if a < len(nodes) and b < len(nodes)
    ]
    parts += [
        f'<circle r="1.5" cx="{10 * (n + 1)}" cy="10" data-type="element node" data-element-id="{n + 1}" data-node-id="{n + 1}" '
        f'data-label-name="{_escape(name)}"></circle>'
        for n, name in enumerate(nodes)
    ]
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
