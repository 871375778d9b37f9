"""Label Studio JSON export (the full task list), both ways.

Spec: https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks and the
result formats of the image tags, https://labelstud.io/tags/rectanglelabels (and
``polygonlabels``, ``keypointlabels``, ``ellipselabels``, ``choices``).

Layout: a JSON file holding a list of tasks ``{"data": {"image": ...}, "annotations":
[{"result": [...]}], "predictions": [{"model_version", "score", "result": [...]}]}``. Read:
the file given, or every top-level ``*.json`` of a folder that holds such a list. Written::

    tasks.json          one task per item
    label_config.xml    the labeling config: every label of the dataset, in its order
    <item path>         the images, when the export was given images

Coordinate rules. Label Studio writes positions in **percent** of the image:
``x_px = x * width / 100`` and ``y_px = y * height / 100`` with the item's size (the
results' ``original_width``/``original_height``, see Items); widths use
the width, heights the height, also for rotated rectangles. Pixel values are rounded to
1e-9 px to drop the float noise of the percent arithmetic, nothing coarser.

* ``rectanglelabels``: ``x, y`` is the top-left corner *before* rotation and ``rotation`` is
  in degrees clockwise about that **corner**; our ``rotated_bbox`` turns about the
  **center**. With ``R(t)`` the clockwise rotation in image coordinates (y down), the center
  is ``C = (x, y) + R(t) (w/2, h/2)`` and our box is ``[Cx - w/2, Cy - h/2, w, h]`` with
  ``angle = t``. Worked case on a 100x100 image: ``x=50, y=20, width=40, height=20,
  rotation=90`` has corners (50,20), (50,60), (30,60), (30,20), so C = (40, 40) and the box
  is ``[20, 30, 40, 20]`` with angle 90. Export inverts it. A rotation of 0 (or 360) is a
  plain ``bbox``, clipped to the image; rotated boxes are not clipped.
* ``polygonlabels``: ``points`` ``[[x%, y%], ...]`` -> one ring.
* ``ellipselabels``: ``x, y`` the center, ``radiusX`` (percent of the width), ``radiusY``
  (percent of the height), ``rotation`` clockwise about the center -> ``ellipse``.
* ``keypointlabels``: one labelled point -> a ``points`` shape with one point (not our
  ``keypoints``, which needs a skeleton); its display ``width`` is not kept. ``parentID``
  -> the same ``group`` as the parent result.
* ``choices`` -> one tag per choice (labels of kind ``tag``).
* Lost with a reason in the report: ``brushlabels`` (Label Studio's own brush RLE is not
  decoded: no verified sample of it was available), ``relation`` results, results of any
  other type, and results without a label.

Annotations and predictions. Annotations -> ``source: human``. When a task has several,
the newest (``updated_at``, then ``created_at``, then ``id``) that is not cancelled
(``was_cancelled``) is kept; the others are reported lost, cancelled ones too. Every
prediction is kept: ``source: model`` with the result's ``score``, else the prediction's,
else 1.0 (noted); ``model_version`` when it is an integer >= 1 (or its text), else 1
(noted). Drafts are not read.

Items. The item path comes from ``data.image`` (or the first text value of ``data``): URLs
keep their path, ``/data/local-files/?d=...`` the ``d`` parameter, and leading ``/`` and
``..`` parts are dropped, so ``/data/upload/18/image1.jpg`` becomes
``data/upload/18/image1.jpg``. Images are usually not part of an export, so the size comes
from the results' ``original_width``/``original_height``, else from the task ``meta``
(``width``, ``height``: written by our export), else from the image file beside the
json; a task with none of them is reported and skipped. Results of one task that give
different sizes (an image replaced after some were drawn) are noted; the item takes the
first, and every result is placed by its percentages against it, as Label Studio shows it.
Label Studio has no subsets: the export writes ``meta.subset`` and the import reads it back.

Labels. The labeling config (https://labelstud.io/tags/) is the label list. The export
writes every label of the dataset into ``label_config.xml``, used or not, in the dataset's
order: shape labels as ``<Label value=... background="#rrggbb"/>`` in each shape control it
writes (``RectangleLabels`` alone when no shape is written), tag labels as ``<Choice>`` in
one ``Choices``. Those are two lists, so an order that mixes shape and tag labels cannot be
kept: the export puts whichever list keeps more labels in place first and counts the others
(``label position``); a ``Choice`` has no color, so tag label colors are counted lost, and
so are label attribute specs, parents and skeletons. Label Studio has no label ids: the
import numbers the labels 1, 2, ... and the export notes how many ids that changes.

The import reads ``label_config.xml`` from the folder given; for a single JSON file, the
one beside it, but only when it names every label the file's tasks use (in a folder of
several exports and configs, as in Label Studio's own tests, it may be another export's
config; such a config is passed over in silence). Labels are created in config order,
unused ones included: every ``<Label>`` of a ``*Labels`` control is a shape label, every
``<Choice>`` of a ``Choices`` a tag label, the first mention deciding; a ``background``
that is a CSS color (``red``, ``rgba(...)``) becomes ``#rrggbb`` (alpha dropped). Labels
the tasks use that the config does not name follow in order of first use (noted). Without
a config (Label Studio's JSON export does not include one: the config belongs to the
project) labels follow their first appearance in the tasks; that is not a loss, the tasks
hold no other order.

Export: one task per item with ``data.image`` = the item path and ``meta`` = its size
(and subset); one annotation with every human shape and tag, and one prediction per model
version with the mean score of its shapes (each result also carries its own ``score``).
Label Studio images have no polylines, no points shapes with several points (a keypoint is
one point), no COCO RLE masks (brushes use their own RLE) and no keypoint skeletons: those
are counted as lost, and so are polygon rings after the first and tags made by a model.
Angles are read modulo 360. Shape attributes, the occluded/truncated/difficult/iscrowd
flags that are set and ``z_order`` are not written and are counted as lost; who edited a
shape (``author``, ``updated_at``) is not written either. Of shape groups, Label Studio
holds only a keypoint's parent: when a group has exactly one shape written as a region
(rectangle, polygon or ellipse), every keypoint of the group written in the same
annotation or prediction gets ``parentID`` = that region's id; every other group
membership (a group with no region or several, a region without keypoints, a keypoint in
another result list, a shape not written) is counted lost.

Rules of issue #3 this module follows: nothing is lost in silence (the report counts it,
``strict`` turns any loss into an error); exact coordinates; items without annotations are
kept both ways; zero-area shapes are dropped and out-of-image boxes clipped, both counted;
malformed JSON raises :class:`FormatError` naming the file and the line or the field;
paths never leave the dataset folder.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlparse

from annotate.converters._common import SHAPE_FLAGS, LabelSet, image_size, labels_apart, new_item, plural, report_label_list, write_image
from annotate.converters._cvat_common import parse_xml
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN, clip_bbox, normalize_relative_path, shoelace_area, unique_name
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

TASKS_FILE = "tasks.json"
CONFIG_FILE = "label_config.xml"
TO_NAME = "image"
# Our control names in the exported config, by result type.
FROM_NAMES = {
    "rectanglelabels": "bbox",
    "polygonlabels": "polygon",
    "ellipselabels": "ellipse",
    "keypointlabels": "keypoint",
    "choices": "choice",
}
_CONTROL_TAGS = {
    "rectanglelabels": "RectangleLabels",
    "polygonlabels": "PolygonLabels",
    "ellipselabels": "EllipseLabels",
    "keypointlabels": "KeyPointLabels",
}
_EXPORT_LOST = {
    "polyline": "Label Studio images have no polylines",
    "mask": "Label Studio brushes use their own RLE, which this converter does not write",
    "keypoints": "Label Studio has no keypoint skeletons",
}
_DIGITS = 9
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@register_format("labelstudio")
class LabelStudioFormat(DatasetFormat):
    """Label Studio JSON export: tasks with annotations and predictions, coordinates in percent."""

    description = "Label Studio JSON export (list of tasks)"
    holds_source = True  # model shapes are predictions with their model_version and score
    holds_group = True  # as far as parentID goes: the export counts the rest itself

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        for file in _task_files(Path(path)):
            try:
                doc = json.loads(file.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if _is_task_list(doc):
                return True
        return False

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`.

        Only the newest non-cancelled annotation of each task is read; the others are
        reported lost.
        """
        report = report if report is not None else ConversionReport()
        src = Path(src)
        root = src.parent if src.is_file() else src
        config = root / CONFIG_FILE
        declared = read_label_config(config) if config.is_file() else None
        reader = _Reader(root, report)
        for file in _task_files(src):
            try:
                doc = json.loads(file.read_text("utf-8"))
            except json.JSONDecodeError as exc:
                raise FormatError(f"{file}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
            except (OSError, UnicodeDecodeError) as exc:
                raise FormatError(f"{file}: not a readable JSON file: {exc}") from exc
            if src.is_file() and not _is_task_list(doc):
                raise FormatError(f"{file}: not a Label Studio export (expected a list of tasks with 'data')")
            if _is_task_list(doc):
                reader.read_tasks(doc, file)
        if not reader.files:
            raise FormatError(f"{src}: no Label Studio JSON export (a .json list of tasks with 'data')")
        if declared is not None:
            undeclared = [name for name in reader.labels.labels if name not in declared]
            if undeclared and src.is_file():
                declared = None  # the config of another export in the same folder
            elif undeclared:
                report.note(f"{plural(len(undeclared), 'label')} the tasks use not named in {config.name}: placed after its labels")
        for name, label in (declared or {}).items():
            reader.labels.declare(name, label["kind"], label.get("color"))
        dataset = reader.dataset()
        validate_dataset(dataset)
        return dataset

    def write(
        self,
        dataset: dict[str, Any],
        writer: DatasetWriter,
        *,
        images: ImageSource | None,
        report: ConversionReport,
    ) -> None:
        """See :meth:`DatasetFormat.write`."""
        used: set[str] = set()
        tasks = []
        for task_id, item in enumerate(dataset["items"], start=1):
            path = write_image(writer, item, images, report)
            tasks.append(_item_task(task_id, item, path, report, used))
        writer.write_text(TASKS_FILE, json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
        writer.write_text(CONFIG_FILE, _label_config(dataset["labels"], used, report))

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        src = Path(src)
        root = src.parent if src.is_file() else src
        for candidate in (root / item["path"], root / PurePosixPath(item["path"]).name):
            if candidate.is_file():
                return candidate
        return None


# -- coordinates ----------------------------------------------------------------------


def _px(percent: float, size: int) -> float:
    return round(float(percent) * size / 100.0, _DIGITS)


def _pct(pixels: float, size: int) -> float:
    return float(pixels) * 100.0 / size


def corner_to_center(x: float, y: float, w: float, h: float, angle: float) -> list[float]:
    """Turn Label Studio's box (rotated about its top-left corner) into ours (about its center).

    Args:
        x: left of the unrotated box, pixels.
        y: top of the unrotated box, pixels.
        w: width, pixels.
        h: height, pixels.
        angle: degrees clockwise about ``(x, y)``.

    Returns:
        ``[x, y, w, h]`` of the same box before a rotation by ``angle`` about its center.
    """
    t = math.radians(angle)
    cx = x + (w / 2) * math.cos(t) - (h / 2) * math.sin(t)
    cy = y + (w / 2) * math.sin(t) + (h / 2) * math.cos(t)
    return [round(cx - w / 2, _DIGITS), round(cy - h / 2, _DIGITS), w, h]


def center_to_corner(x: float, y: float, w: float, h: float, angle: float) -> tuple[float, float]:
    """Inverse of :func:`corner_to_center`: the top-left corner Label Studio rotates about.

    Args:
        x: left of our unrotated box, pixels.
        y: top of our unrotated box, pixels.
        w: width, pixels.
        h: height, pixels.
        angle: degrees clockwise about the box center.

    Returns:
        ``(x, y)`` of the corner, pixels.
    """
    t = math.radians(angle)
    cx, cy = x + w / 2, y + h / 2
    return cx - (w / 2) * math.cos(t) + (h / 2) * math.sin(t), cy - (w / 2) * math.sin(t) - (h / 2) * math.cos(t)


# -- export ---------------------------------------------------------------------------


def _item_task(task_id: int, item: dict[str, Any], path: str, report: ConversionReport, used: set[str]) -> dict[str, Any]:
    width, height = item["width"], item["height"]
    human: list[dict[str, Any]] = []
    by_model: dict[int, list[tuple[dict[str, Any], float]]] = {}
    # Shape index -> its result and the result list it goes to (None: the annotation).
    written: dict[int, tuple[dict[str, Any], int | None]] = {}
    for index, shape in enumerate(item["annotation"]["shapes"]):
        result = _shape_result(shape, f"s{index + 1}", width, height, report)
        if result is None:
            continue
        used.add(result["type"])
        source = shape["source"]
        if source["type"] == "model":
            result["score"] = source["score"]
            by_model.setdefault(source["model_version"], []).append((result, source["score"]))
            written[index] = (result, source["model_version"])
        else:
            human.append(result)
            written[index] = (result, None)
    _link_keypoints_to_parents(item["annotation"]["shapes"], written, report)
    # A consensus tag is written as a person's choice (its source counted as lost).
    choices = [tag for tag in item["annotation"]["tags"] if tag["source"]["type"] != "model"]
    model_tags = [tag for tag in item["annotation"]["tags"] if tag["source"]["type"] == "model"]
    consensus = sum(1 for tag in choices if tag["source"]["type"] == "consensus")
    if consensus:
        report.lose("source", _NO_CONSENSUS, consensus)
    if model_tags:
        report.lose("tag", "Label Studio predictions hold one choice result per control; model tags are not written", len(model_tags))
    for tag in choices:
        if tag.get("attributes"):
            report.lose("attribute", "Label Studio choices have no attributes", len(tag["attributes"]))
    if choices:
        labels = [tag["label"] for tag in choices]
        human.append(
            {
                "id": "tags",
                "type": "choices",
                "from_name": FROM_NAMES["choices"],
                "to_name": TO_NAME,
                "original_width": width,
                "original_height": height,
                "image_rotation": 0,
                "value": {"choices": labels},
            }
        )
    meta: dict[str, Any] = {"width": width, "height": height}
    if item.get("subset"):
        meta["subset"] = item["subset"]
    task: dict[str, Any] = {"id": task_id, "data": {"image": path}, "meta": meta, "annotations": [], "predictions": []}
    if human:
        task["annotations"].append({"id": task_id, "result": human, "was_cancelled": False, "ground_truth": False})
    for version, results in sorted(by_model.items()):
        score = sum(value for _, value in results) / len(results)
        task["predictions"].append({"model_version": str(version), "score": score, "result": [result for result, _ in results]})
    return task


def _link_keypoints_to_parents(
    shapes: list[dict[str, Any]], written: dict[int, tuple[dict[str, Any], int | None]], report: ConversionReport
) -> None:
    """Write ``parentID`` on the keypoints of each group with one region; count the memberships it cannot express.

    Args:
        shapes: the item's shapes.
        written: shape index -> its result and the result list it goes to (None: the
            annotation, else the prediction's model version); shapes not written are absent.
        report: counts the group memberships lost.
    """
    groups: dict[int, list[int]] = {}
    for index, shape in enumerate(shapes):
        if shape.get("group") is not None:
            groups.setdefault(shape["group"], []).append(index)
    lost = 0
    for members in groups.values():
        lost += len(members) - _link_group([written[index] for index in members if index in written])
    if lost:
        report.lose("group membership", "Label Studio links only a keypoint to its parent region", lost)


def _link_group(results: list[tuple[dict[str, Any], int | None]]) -> int:
    """Point the keypoints of one group at its only region, in the same result list.

    Args:
        results: the written results of the group's shapes, each with its result list.

    Returns:
        How many memberships the links express: the region and its keypoints, or 0.
    """
    regions = [(result, where) for result, where in results if result["type"] != "keypointlabels"]
    if len(regions) != 1:
        return 0
    parent, parent_list = regions[0]
    children = [result for result, where in results if result["type"] == "keypointlabels" and where == parent_list]
    for child in children:
        child["parentID"] = parent["id"]
    return 1 + len(children) if children else 0


def _shape_result(shape: dict[str, Any], result_id: str, width: int, height: int, report: ConversionReport) -> dict[str, Any] | None:
    kind = shape["type"]
    if kind in _EXPORT_LOST:
        report.lose(kind, _EXPORT_LOST[kind])
        return None
    _count_unwritten_fields(shape, report)
    label = shape["label"]
    if kind in ("bbox", "rotated_bbox"):
        angle = float(shape.get("angle", 0.0)) if kind == "rotated_bbox" else 0.0
        bbox = [float(value) for value in shape["bbox"]]
        if kind == "bbox":
            bbox, clipped = clip_bbox(bbox, width, height)
            if bbox is None:
                report.drop_empty(kind)
                return None
            if clipped:
                report.clip(kind)
        x, y, w, h = bbox
        left, top = center_to_corner(x, y, w, h, angle)
        result_type = "rectanglelabels"
        value: dict[str, Any] = {
            "x": _pct(left, width),
            "y": _pct(top, height),
            "width": _pct(w, width),
            "height": _pct(h, height),
            "rotation": angle,
        }
    elif kind == "polygon":
        if len(shape["rings"]) > 1:
            report.lose("ring", "Label Studio polygons have one ring", len(shape["rings"]) - 1)
        ring = shape["rings"][0]
        result_type = "polygonlabels"
        value = {"points": [[_pct(ring[i], width), _pct(ring[i + 1], height)] for i in range(0, len(ring), 2)], "closed": True}
    elif kind == "points":
        if len(shape["points"]) > 2:
            report.lose("points", "a Label Studio keypoint holds one point")
            return None
        result_type = "keypointlabels"
        value = {"x": _pct(shape["points"][0], width), "y": _pct(shape["points"][1], height), "width": 0.5}
    else:  # ellipse
        cx, cy = (float(v) for v in shape["center"])
        rx, ry = (float(v) for v in shape["radii"])
        result_type = "ellipselabels"
        value = {
            "x": _pct(cx, width),
            "y": _pct(cy, height),
            "radiusX": _pct(rx, width),
            "radiusY": _pct(ry, height),
            "rotation": float(shape.get("angle", 0.0)),
        }
    value[result_type] = [label]
    result: dict[str, Any] = {
        "id": result_id,
        "type": result_type,
        "from_name": FROM_NAMES[result_type],
        "to_name": TO_NAME,
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": value,
    }
    return result


_NO_CONSENSUS = "Label Studio has annotations and model predictions, no consensus: an import marks it as made by a person"


def _count_unwritten_fields(shape: dict[str, Any], report: ConversionReport) -> None:
    """Count what a written shape loses: attributes, set flags, a consensus source (groups: :func:`_link_keypoints_to_parents`)."""
    if shape["source"]["type"] == "consensus":
        report.lose("source", _NO_CONSENSUS)
    if shape.get("attributes"):
        report.lose("attribute", "Label Studio results have no per-shape attributes", len(shape["attributes"]))
    for flag in SHAPE_FLAGS:
        if shape.get(flag):
            report.lose(f"{flag} flag", f"Label Studio results have no {flag} flag")


def _label_config(labels: list[dict[str, Any]], used: set[str], report: ConversionReport) -> str:
    """Return the labeling config XML: every label in the dataset's order, as far as two lists allow.

    Args:
        labels: the dataset's labels.
        used: the result types the tasks hold.
        report: counts what the config cannot hold and notes changed label ids.

    Returns:
        The XML text.
    """
    from xml.sax.saxutils import quoteattr  # imports urllib.request (7 MiB): only when needed

    order, tags_first = labels_apart(
        labels, report, "Label Studio's config lists shape labels and tag labels (Choices) apart: an order mixing them is not kept"
    )
    report_label_list(
        labels,
        [label["name"] for label in order],
        report,
        "Label Studio",
        numbered_by="config order",
        colors_of=("tag",),
        color_reason="a Label Studio Choice has no color",
    )
    shapes = [label for label in labels if label["kind"] == "shape"]
    tags = [label for label in labels if label["kind"] == "tag"]
    controls = [result_type for result_type in _CONTROL_TAGS if result_type in used] or (["rectanglelabels"] if shapes else [])
    shape_lines: list[str] = []
    for result_type in controls:
        tag = _CONTROL_TAGS[result_type]
        shape_lines.append(f'  <{tag} name="{FROM_NAMES[result_type]}" toName="{TO_NAME}">')
        for label in shapes:
            color = f" background={quoteattr(label['color'])}" if label.get("color") else ""
            shape_lines.append(f"    <Label value={quoteattr(label['name'])}{color}/>")
        shape_lines.append(f"  </{tag}>")
    tag_lines: list[str] = []
    if tags:
        tag_lines.append(f'  <Choices name="{FROM_NAMES["choices"]}" toName="{TO_NAME}" choice="multiple">')
        tag_lines += [f"    <Choice value={quoteattr(label['name'])}/>" for label in tags]
        tag_lines.append("  </Choices>")
    body = tag_lines + shape_lines if tags_first else shape_lines + tag_lines
    return "\n".join(["<View>", f'  <Image name="{TO_NAME}" value="$image"/>', *body, "</View>"]) + "\n"


# -- import ---------------------------------------------------------------------------


def _task_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(file for file in path.glob("*.json") if file.is_file())


def _is_task_list(doc: Any) -> bool:
    return isinstance(doc, list) and bool(doc) and all(isinstance(task, dict) and isinstance(task.get("data"), dict) for task in doc)


def read_label_config(file: Path) -> dict[str, dict[str, Any]]:
    """Read the labels of a Label Studio labeling config, in document order.

    Every ``<Label>`` child of a control whose tag ends in ``Labels`` (``RectangleLabels``,
    ``PolygonLabels``, ``Labels``...) is a shape label; every ``<Choice>`` child of
    ``Choices`` a tag label. The first mention of a name decides its kind. Tags are matched
    without regard to case, as Label Studio does.

    Args:
        file: the XML file.

    Returns:
        ``{name: {"name", "kind", "color"?}}`` in document order.

    Raises:
        FormatError: the file is not well-formed XML (the message names the line).
    """
    root = parse_xml(file)
    declared: dict[str, dict[str, Any]] = {}
    for element in root.iter():
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag.endswith("labels"):
            kind, child_tag = "shape", "label"
        elif tag == "choices":
            kind, child_tag = "tag", "choice"
        else:
            continue
        for child in element:
            name = child.get("value")
            if not isinstance(child.tag, str) or child.tag.lower() != child_tag or not name or name in declared:
                continue
            declared[name] = {"name": name, "kind": kind}
            color = _hex_color(child.get("background"))
            if color is not None:
                declared[name]["color"] = color
    return declared


def _hex_color(value: str | None) -> str | None:
    """``#rrggbb`` for a CSS color (``#ff0000``, ``red``, ``rgba(218, 1, 238, 1)``), else None."""
    if not value:
        return None
    if _HEX_COLOR.match(value):
        return value
    from PIL import ImageColor  # Pillow knows the CSS color names and functions

    try:
        red, green, blue = ImageColor.getrgb(value.strip())[:3]
    except ValueError:
        return None
    return f"#{red:02x}{green:02x}{blue:02x}"


def _image_reference(data: dict[str, Any]) -> str | None:
    value = data.get("image")
    if not isinstance(value, str) or not value:
        value = next((v for v in data.values() if isinstance(v, str) and v), None)
    if value is None:
        return None
    parsed = urlparse(value)
    query = parse_qs(parsed.query)
    if "d" in query:  # /data/local-files/?d=folder/x.jpg
        return normalize_relative_path(query["d"][0])
    if parsed.scheme in ("s3", "gs", "azure-blob"):
        return normalize_relative_path(parsed.netloc + parsed.path)
    if parsed.scheme in ("http", "https"):
        return normalize_relative_path(parsed.path)
    return normalize_relative_path(value)


def _newest_key(annotation: dict[str, Any]) -> tuple[str, str, int]:
    updated = annotation.get("updated_at")
    created = annotation.get("created_at")
    number = annotation.get("id")
    return (
        updated if isinstance(updated, str) else "",
        created if isinstance(created, str) else "",
        number if isinstance(number, int) and not isinstance(number, bool) else 0,
    )


class _Reader:
    """Collects labels and items from Label Studio task lists."""

    def __init__(self, root: Path, report: ConversionReport) -> None:
        self.root = root
        self.report = report
        self.labels = LabelSet()
        self.items: list[dict[str, Any]] = []
        self.item_ids: set[str] = set()
        self.files = 0
        self.noted_versions: set[str] = set()

    def dataset(self) -> dict[str, Any]:
        return {"version": 1, "labels": self.labels.as_list(), "items": self.items}

    def read_tasks(self, tasks: list[dict[str, Any]], file: Path) -> None:
        self.files += 1
        for index, task in enumerate(tasks):
            self._task(task, f"{file}: task {index} (id {task.get('id')!r})")

    def _task(self, task: dict[str, Any], where: str) -> None:
        path = _image_reference(task["data"])
        if path is None:
            self.report.lose("item", "the Label Studio task names no image in 'data'")
            return
        annotations = task.get("annotations") or []
        predictions = task.get("predictions") or []
        if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
            raise FormatError(f"{where}: field 'annotations' is not a list of objects")
        if not isinstance(predictions, list) or not all(isinstance(p, dict) for p in predictions):
            raise FormatError(f"{where}: field 'predictions' is not a list of objects")
        kept = self._choose_annotation(annotations)
        sources: list[tuple[list[Any], dict[str, Any] | None]] = []
        if kept is not None:
            sources.append((kept.get("result") or [], None))
        sources += [(prediction.get("result") or [], prediction) for prediction in predictions]
        for results, _ in sources:
            if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
                raise FormatError(f"{where}: field 'result' is not a list of objects")
        size = self._size(task, sources, path, where)
        if size is None:
            self.report.lose("item", "the Label Studio task has no result with original_width/height and no image file to measure")
            return
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        subset = meta.get("subset") if isinstance(meta.get("subset"), str) and meta.get("subset") else None
        item = new_item(unique_name(path, self.item_ids), path, size[0], size[1], subset)
        for results, prediction in sources:
            source = self._source(prediction)
            self._results(results, source, item, where)
        self.items.append(item)

    def _choose_annotation(self, annotations: list[dict[str, Any]]) -> dict[str, Any] | None:
        live = [a for a in annotations if not a.get("was_cancelled")]
        cancelled = len(annotations) - len(live)
        if cancelled:
            self.report.lose("annotation", "the Label Studio annotation was cancelled (skipped)", cancelled)
        if not live:
            return None
        kept = max(live, key=_newest_key)
        if len(live) > 1:
            self.report.lose("annotation", "only the newest non-cancelled annotation of a task is kept", len(live) - 1)
        return kept

    def _size(self, task: dict[str, Any], sources: list[tuple[list[Any], Any]], path: str, where: str) -> tuple[int, int] | None:
        sizes = {
            (int(result["original_width"]), int(result["original_height"])): None
            for results, _ in sources
            for result in results
            if _positive(result.get("original_width")) and _positive(result.get("original_height"))
        }
        if sizes:
            first, *others = sizes
            if others:
                # Percent coordinates do not depend on the size, so every result is still placed
                # right on the image; only the item's pixel size has to be one of them.
                shown = ", ".join(f"{width}x{height}" for width, height in sizes)
                self.report.note(f"{where}: its results give different image sizes ({shown}); the item is {first[0]}x{first[1]}")
            return first
        meta = task.get("meta")
        if isinstance(meta, dict) and _positive(meta.get("width")) and _positive(meta.get("height")):
            return int(meta["width"]), int(meta["height"])
        for candidate in (self.root / path, self.root / PurePosixPath(path).name):
            found = image_size(candidate)
            if found is not None:
                return found
        return None

    def _source(self, prediction: dict[str, Any] | None) -> dict[str, Any]:
        if prediction is None:
            return dict(HUMAN)
        version = prediction.get("model_version")
        if isinstance(version, str) and version.strip().isdigit():
            version = int(version)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            if repr(version) not in self.noted_versions:
                self.noted_versions.add(repr(version))
                self.report.note(f"prediction model_version {version!r} is not an integer >= 1; recorded as model version 1")
            version = 1
        score = prediction.get("score")
        return {"type": "model", "model_version": version, "score": score}

    def _results(self, results: list[dict[str, Any]], source: dict[str, Any], item: dict[str, Any], where: str) -> None:
        groups: dict[str, int] = {}
        shapes_by_result: dict[str, dict[str, Any]] = {}
        parents: list[tuple[dict[str, Any], str]] = []
        for result in results:
            kind = result.get("type")
            if kind == "relation":
                self.report.lose("relation", "Label Studio relations have no place in the annotation schema")
                continue
            if kind == "choices":
                self._choices(result, source, item, where)
                continue
            shape = self._shape(result, item, where)
            if shape is None:
                continue
            shape["source"] = self._shape_source(source, result)
            item["annotation"]["shapes"].append(shape)
            if isinstance(result.get("id"), str):
                shapes_by_result[result["id"]] = shape
            if isinstance(result.get("parentID"), str):
                parents.append((shape, result["parentID"]))
        next_group = 1 + max((shape.get("group", 0) for shape in item["annotation"]["shapes"]), default=0)
        for shape, parent_id in parents:
            parent = shapes_by_result.get(parent_id)
            if parent is None:
                continue
            if parent_id not in groups:
                groups[parent_id] = next_group
                next_group += 1
            shape["group"] = parent["group"] = groups[parent_id]

    def _shape_source(self, source: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        if source["type"] == "human":
            return dict(HUMAN)
        score = result.get("score", source["score"])
        if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
            self.report.note(f"a prediction result has no score in 0..1 ({score!r}); recorded as 1.0")
            score = 1.0
        return {"type": "model", "model_version": source["model_version"], "score": float(score)}

    def _choices(self, result: dict[str, Any], source: dict[str, Any], item: dict[str, Any], where: str) -> None:
        value = result.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list):
            raise FormatError(f"{where}: result {result.get('id')!r}: field 'value.choices' is not a list")
        tags = item["annotation"]["tags"]
        for choice in choices:
            if isinstance(choice, list):  # nested choices come as paths
                choice = "/".join(str(part) for part in choice)
            if not isinstance(choice, str) or not choice:
                continue
            self.labels.use(choice, "tag")
            tag_id = unique_name(f"choice-{len(tags) + 1}", {tag["id"] for tag in tags})
            tags.append({"id": tag_id, "label": choice, "source": self._shape_source(source, result)})

    def _shape(self, result: dict[str, Any], item: dict[str, Any], where: str) -> dict[str, Any] | None:
        kind = result.get("type")
        if kind == "brushlabels":
            self.report.lose("mask", "Label Studio brush RLE is not decoded (no verified sample of its encoding)")
            return None
        if kind not in (
            "rectanglelabels",
            "polygonlabels",
            "keypointlabels",
            "ellipselabels",
            "rectangle",
            "polygon",
            "keypoint",
            "ellipse",
        ):
            self.report.lose("result", f"Label Studio result type {kind!r} is not an image shape this converter reads")
            return None
        value = result.get("value")
        if not isinstance(value, dict):
            raise FormatError(f"{where}: result {result.get('id')!r}: field 'value' is not an object")
        base = kind.removesuffix("labels")
        names = value.get(base + "labels") or value.get("labels")
        if not isinstance(names, list) or not names or not isinstance(names[0], str) or not names[0]:
            self.report.lose("shape", "the Label Studio result has no label")
            return None
        if len(names) > 1:
            self.report.lose("label", "a Label Studio result with several labels keeps only the first", len(names) - 1)
        width, height = item["width"], item["height"]
        try:
            geometry = self._geometry(base, value, width, height)
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{where}: result {result.get('id')!r}: field 'value' has no valid {base} coordinates: {exc}") from exc
        if geometry is None:
            return None
        used = {shape["id"] for shape in item["annotation"]["shapes"]}
        result_id = result.get("id") if isinstance(result.get("id"), str) and result.get("id") else "result"
        return {"id": unique_name(f"ls-{result_id}"[:60], used), **geometry, "label": self.labels.use(names[0])}

    def _geometry(self, base: str, value: dict[str, Any], width: int, height: int) -> dict[str, Any] | None:
        if base == "rectangle":
            x, y = _px(_number(value["x"]), width), _px(_number(value["y"]), height)
            w, h = _px(_number(value["width"]), width), _px(_number(value["height"]), height)
            angle = _number(value.get("rotation", 0)) % 360
            if w <= 0 or h <= 0:
                self.report.drop_empty("rotated_bbox" if angle else "bbox")
                return None
            if angle == 0:
                bbox, clipped = clip_bbox([x, y, w, h], width, height)
                if bbox is None:
                    self.report.drop_empty("bbox")
                    return None
                if clipped:
                    self.report.clip("bbox")
                return {"type": "bbox", "bbox": bbox}
            return {"type": "rotated_bbox", "bbox": corner_to_center(x, y, w, h, angle), "angle": angle}
        if base == "polygon":
            points = value["points"]
            ring = [coordinate for x, y in points for coordinate in (_px(_number(x), width), _px(_number(y), height))]
            if len(ring) < 6:
                self.report.lose("polygon", "a Label Studio polygon has fewer than 3 points")
                return None
            if shoelace_area(ring) <= 0:
                self.report.drop_empty("polygon")
                return None
            return {"type": "polygon", "rings": [ring]}
        if base == "keypoint":
            return {"type": "points", "points": [_px(_number(value["x"]), width), _px(_number(value["y"]), height)]}
        rx, ry = _px(_number(value["radiusX"]), width), _px(_number(value["radiusY"]), height)
        if rx <= 0 or ry <= 0:
            self.report.drop_empty("ellipse")
            return None
        shape: dict[str, Any] = {
            "type": "ellipse",
            "center": [_px(_number(value["x"]), width), _px(_number(value["y"]), height)],
            "radii": [rx, ry],
        }
        angle = _number(value.get("rotation", 0)) % 360
        if angle:
            shape["angle"] = angle
        return shape


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 1 and float(value).is_integer()
