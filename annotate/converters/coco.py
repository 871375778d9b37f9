"""COCO instances (object detection, instance segmentation, keypoints), both ways.

Spec: https://cocodataset.org/#format-data (sections "Object Detection" and "Keypoint Detection").

Layout written::

    annotations/instances_<subset>.json   one file per subset
    images/<subset>/<item path>           when the export was given images

Layouts read (the first that has a COCO file), each also found by ``detect``:

* a COCO JSON file given itself; images are looked up from its folder;
* ``annotations/*.json``: ``instances_<subset>.json``, else ``person_keypoints_<subset>.json``
  or ``stuff_<subset>.json``, else any ``<subset>.json`` whose content is COCO (``images``,
  ``annotations`` and ``categories`` lists); one file per subset, the others noted as not
  read; captions, panoptic and image_info files (and Datumaro's ``labels_<subset>.json``) are
  other tasks and never read. Images in ``images/<subset>/``, ``images/``, ``<subset>/``
  (MMDetection) or beside ``annotations/``;
* ``instances_<subset>.json`` (or the other two tasks) or ``annotations.json`` (labelme2coco)
  in the folder itself;
* Roboflow's export: ``<subset>/_annotations.coco.json`` with the images beside it, one
  subset per folder and named after it (``train``, ``valid``, ``test``).

Another task's file is told by its name (``captions_``, ``panoptic_``, ``image_info_``,
``labels_``) or by its content: annotations with a ``caption`` and no geometry (captions),
with ``segments_info`` (panoptic), or no ``annotations`` at all (image_info). Given
directly, it is refused (``FormatError`` naming the file and the task); found by content in
``annotations/``, it is noted as not read.

Coordinate rules. COCO and the annotation schema share the same convention: floats in
image pixels, (0, 0) is the top-left corner of the top-left pixel, ``bbox`` is
``[x, y, width, height]``; so coordinates are copied unchanged. Boxes are clipped to the
image and dropped when no area is left. Polygons become ``segmentation`` (a list of
rings, one instance); a polygon with a vertex farther outside the image than the image's
own size is clipped to the image first (pycocotools, which computes ``area``, cannot draw
it), and counted as clipped. Masks become RLE (``{"size": [h, w], "counts": str}``,
compressed with ``pycocotools.mask``). ``area`` is ``w * h`` for boxes and the pixel count of
the rasterised polygon or mask (``pycocotools.mask.area``) otherwise. Keypoints shapes
become annotations with ``keypoints``/``num_keypoints`` and a box inside the image (their
own, counted as clipped when cut, else around their visible points).

An annotation's own ``bbox`` is kept where a shape can hold one, and written back unchanged:
a box, a mask's ``bbox`` (its extent only when the annotation has none), a keypoints
shape's ``bbox``. A polygon shape has no box, so its ``bbox`` is its extent: on import, a
``bbox`` that differs from the polygon's extent (both cut to the image) by more than a pixel
is counted as lost (a box computed from the rasterised polygon, as labelme2coco and COCO
Annotator write, is within a pixel of it and is not), and one with no area inside the image
too; one cut to the image is counted as clipped.

Box-only annotations are written with ``"segmentation": []``. COCO lists ``segmentation`` in
every object annotation, and ``[]`` is what writers of box-only ground truth put there
(CVAT, Datumaro, Roboflow); Detectron2 and MMDetection read an empty or missing one alike as
no mask, and pycocotools' box evaluation (``COCOeval(..., "bbox")``) never reads it. Nothing
makes pycocotools' ``annToMask`` work on a box-only annotation: it raises ``IndexError`` on
``[]`` and ``KeyError`` on a missing key, and a polygon made up of the box would be read back
as a polygon. Import reads ``[]``, a missing key and ``null`` as "box only".

Keypoint names and skeleton. A category's ``keypoints`` (node names) and ``skeleton`` (edges
as pairs of keypoint numbers **counted from 1**) are a label's ``keypoints`` and
``skeleton`` (indices counted from 0), both ways. Every annotation of a category with
keypoint names has ``keypoints`` (all ``0`` when its object has no keypoints shape), as
COCO's own keypoint files do. A skeleton without names, or an edge outside ``1..n``, is
counted as lost.

Groups. Shapes of one item that share a ``group`` and a label are one COCO annotation, as
a COCO annotation with both a segmentation and keypoints is read as a polygon (or mask) and
a keypoints shape in one group: its polygons' rings make one ``segmentation`` (a LabelMe
``group_id`` gives what labelme2coco writes), its one keypoints shape adds ``keypoints``,
``area`` is that of the merged rings as pycocotools computes it, and ``bbox`` is the
keypoints shape's own box when it has one, else the mask's own box (each is the box of the
annotation they were read from), else the union box; a mask box that differs from the
keypoints box is counted as lost. What one annotation cannot hold stays apart and the
report counts the group, with why: shapes of other labels, a second keypoints shape, a mask
beside polygons or another mask, a box shape beside anything else with a box (a
segmentation, a keypoints shape's own box, another box shape), different attributes or flags.

Ids. Category ids are the label ids, exactly (0, gaps and large ids are kept). Image ids
are 1..N and annotation ids 1..M in item order, across all subsets. Items with no shapes
are kept. On import, two images with one id are refused (annotations name their image by
id), as are two categories with one id, in one file or across a dataset's files, unless the
second repeats the first (its name, supercategory, color, keypoint names and skeleton):
that one is read once, with a note. Repeated annotation ids (COCO requires unique ones;
pycocotools keeps one annotation per id) are noted: nothing refers to an annotation id, so
every annotation is read, and an export numbers them anew. Two subsets whose file names
would be the same (``a/b`` and ``a_b``) get ``instances_a_b.json`` and
``instances_a_b_2.json``, and two images that would land on the same file (``a.png`` and
``a.jpg`` both given as JPEG) ``a.jpg`` and ``a_2.jpg``; the report notes each such name.
Shape attributes go to the annotation's ``attributes`` object, together with the
``occluded``/``truncated``/``difficult`` flags when set.

Labels. A category holds a label's id, name, keypoint names and skeleton, its parent as
``supercategory`` and its color as ``color`` (``#rrggbb``, as COCO Annotator writes it;
other readers ignore the field); an import reads a ``supercategory`` as the parent when it
names another category of the file (COCO's own, such as ``vehicle``, name none). What COCO
instances cannot hold is counted: attribute specs, parents that are not categories, and
tag labels (COCO instances has no image-level labels: a tag label that no shape uses is not
written, one that shapes use is a category and comes back as a shape label).

What COCO instances cannot hold is counted in the report: tags, rotated boxes,
polylines, points and ellipses. Who made a shape (``source``, ``author``,
``updated_at``) and ``z_order`` are not written; imported shapes are marked as
made by a human. The plain boxes of one import share a single ``{"type": "human"}`` source
dict (a dict per box would take a third of the memory of a box dataset): replace a shape's
``source``, never change it in place.

Import also reads the quirks of other writers: ``iscrowd`` as a string (``"false"``,
``"0"``), id 0, extra keys, uncompressed RLE (``counts`` as a list), a flat polygon
instead of a list of rings, categories that annotations use but do not declare. It refuses
(``FormatError``, naming the file and line) ``NaN``, ``Infinity`` and numbers beyond a
double, which Python's ``json`` would read but no JSON number spells.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from annotate.converters._common import clip_box, free_path, report_label_list
from annotate.converters._json_stream import ArrayStream, NotStreamable
from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import (
    HUMAN,
    clip_bbox,
    normalize_relative_path,
    parse_bool,
    path_with_extension,
    rings_bbox,
    shoelace_area,
    unique_name,
)
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

mask_utils = lazy_module("pycocotools.mask")

ANNOTATIONS_DIR = "annotations"
IMAGES_DIR = "images"
DEFAULT_SUBSET = "default"
FLAGS = ("occluded", "truncated", "difficult")
ROBOFLOW_FILE = "_annotations.coco.json"
# COCO's file names: <task>_<subset>.json. The tasks this format reads, in order of preference.
_TASK_FILE = re.compile(r"^(?P<task>instances|person_keypoints|stuff|captions|image_info|panoptic|labels)_(?P<subset>.+)\.json$")
_TASK_RANK = {"instances": 0, "person_keypoints": 1, "stuff": 2}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_UNSUPPORTED = {
    "rotated_bbox": "COCO instances has no rotated boxes",
    "polyline": "COCO instances has no polylines",
    "points": "COCO instances has no points shapes",
    "ellipse": "COCO instances has no ellipses",
}


@register_format("coco")
class CocoFormat(DatasetFormat):
    """COCO instances JSON (boxes, polygons, RLE masks, keypoints)."""

    description = "COCO instances JSON (annotations/instances_<subset>.json)"
    # Shape groups: one annotation per group; what cannot share one is counted.
    holds_group = True

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        return bool(_annotation_files(Path(path), check_content=True))

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        files = _annotation_files(Path(src), check_content=False, report=report)
        if not files:
            raise FormatError(
                f"{src}: no COCO file (a COCO JSON file, annotations/instances_<subset>.json or another COCO file"
                f" in annotations/, or Roboflow's <subset>/{ROBOFLOW_FILE})"
            )
        reader = _Reader(report)
        for subset, file in files:
            reader.read_file(subset, file)
        dataset = reader.dataset()
        if not reader.plain:
            # Plain items and boxes are valid by construction (tests/converters/test_coco_import_fast.py
            # checks them against the schema); anything else is checked here.
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
        """See :meth:`DatasetFormat.write`.

        Each subset's file is streamed into the writer item by item, so the export holds no
        COCO document in memory; the bytes are those of ``orjson.dumps`` of the whole document.
        When the items of a subset are not all next to each other (annotation ids follow item
        order across subsets), the whole documents are built first instead.
        """
        labels = _Labels(
            ids={label["name"]: label["id"] for label in dataset["labels"]},
            keypoint_counts={label["name"]: len(label["keypoints"]) for label in dataset["labels"] if "keypoints" in label},
        )
        # Tag labels become categories only when shapes use them (a walk over every shape).
        has_tag_labels = any(label["kind"] != "shape" for label in dataset["labels"])
        used_by_shapes = (
            {shape["label"] for item in dataset["items"] for shape in item["annotation"]["shapes"]} if has_tag_labels else set()
        )
        categories = [_category(label) for label in dataset["labels"] if label["kind"] == "shape" or label["name"] in used_by_shapes]
        _report_labels(dataset["labels"], {category["name"] for category in categories}, report)
        items = dataset["items"]
        runs = _subset_runs(items)
        if runs is None:
            _write_whole(items, writer, images, report, labels, categories)
            return
        file_names = [
            item["path"] if images is None else _write_image(writer, item.get("subset", DEFAULT_SUBSET), item, images, report)
            for item in items
        ]
        used_files: set[str] = set()
        annotation_id = 0
        for subset, (first, stop) in runs.items():
            relpath = _subset_file(subset, used_files, report)
            with writer.open(relpath) as handle:
                annotation_id = _stream_subset(handle, items, file_names, first, stop, annotation_id, categories, labels, report)

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        src = Path(src)
        root = src.parent if src.is_file() else src
        subset = item.get("subset", DEFAULT_SUBSET)
        path = item["path"]
        candidates = [
            root / IMAGES_DIR / subset / path,
            root / IMAGES_DIR / path,
            root / subset / path,
            root / path,
            root / IMAGES_DIR / subset / PurePosixPath(path).name,
        ]
        return next((candidate for candidate in candidates if candidate.is_file()), None)


# -- export ---------------------------------------------------------------------------


_INFO = {"description": "exported by annotate", "version": "1.0"}
# Shared by the plain box annotations, which are only serialized: never change them.
_NO_SEGMENTATION: list[Any] = []
_NO_ATTRIBUTES: dict[str, Any] = {}
# Bytes gathered before a write to the output file (one write per item costs more than the JSON).
_FLUSH_BYTES = 1 << 18


def _subset_runs(items: list[dict[str, Any]]) -> dict[str, tuple[int, int]] | None:
    """Return ``{subset: (first item index, stop index)}`` in order, or None when a subset's items are apart."""
    runs: dict[str, tuple[int, int]] = {}
    current = None
    for index, item in enumerate(items):
        subset = item.get("subset", DEFAULT_SUBSET)
        if subset != current:
            if subset in runs:
                return None
            if current is not None:
                runs[current] = (runs[current][0], index)
            runs[subset] = (index, index)
            current = subset
    if current is None:
        return {DEFAULT_SUBSET: (0, 0)}
    runs[current] = (runs[current][0], len(items))
    return runs


def _subset_file(subset: str, used_files: set[str], report: ConversionReport) -> str:
    file_name = unique_name(f"instances_{_file_safe(subset)}", used_files) + ".json"
    if file_name != f"instances_{_file_safe(subset)}.json":
        report.note(f"subset {subset!r} written to {file_name!r}: another subset has the same file name")
    return f"{ANNOTATIONS_DIR}/{file_name}"


@dataclass(frozen=True)
class _Labels:
    """What the export needs of the labels: category ids, and keypoint counts of labels with names."""

    ids: dict[str, int]
    keypoint_counts: dict[str, int]


def _report_labels(labels: list[dict[str, Any]], written: set[str], report: ConversionReport) -> None:
    """Count what the categories cannot hold of the labels.

    A category keeps a label's id, name, keypoint names and skeleton, and its parent as
    ``supercategory`` (read back when it names another category of the file). Lost: colors,
    attribute specs, tag labels (COCO instances has no image-level labels: one that shapes use
    is a category, read back as a shape label; the others are not written), and parents that
    are not written categories.
    """
    unused_tags = sum(1 for label in labels if label["kind"] != "shape" and label["name"] not in written)
    if unused_tags:
        report.lose("label", "COCO instances has no image-level labels: a tag label that no shape uses is not a category", unused_tags)
    used_tags = sum(1 for label in labels if label["kind"] != "shape" and label["name"] in written)
    if used_tags:
        reason = "COCO instances has no image-level labels: a tag label that shapes use is a category, read back as a shape label"
        report.lose("label kind", reason, used_tags)
    # COCO keeps the label ids, keypoint names and skeletons; tag labels and parents in part, counted here.
    report_label_list(labels, None, report, "COCO", colors_of=(), holds=("tag", "parent", "keypoints"))
    parents = sum(
        1
        for label in labels
        if label.get("parent") and (label["name"] not in written or label["parent"] not in written or label["parent"] == label["name"])
    )
    if parents:
        report.lose("label parent", "a COCO supercategory is read back as a parent only when it names another category", parents)


def _category(label: dict[str, Any]) -> dict[str, Any]:
    category = {"id": label["id"], "name": label["name"], "supercategory": label.get("parent") or ""}
    if "color" in label:
        category["color"] = label["color"]  # COCO Annotator's field; pycocotools ignores it
    if "keypoints" in label:
        category["keypoints"] = label["keypoints"]
        # COCO numbers a skeleton's ends from 1 (https://cocodataset.org/#format-data); ours from 0.
        category["skeleton"] = [[start + 1, end + 1] for start, end in label.get("skeleton", [])]
    return category


def _json_elements(elements: list[Any]) -> bytes:
    """Return ``elements`` as JSON without the brackets (see :func:`_dump_json`)."""
    return _dump_json(elements)[1:-1]


def _stream_subset(
    handle: Any,
    items: list[dict[str, Any]],
    file_names: list[str],
    first: int,
    stop: int,
    annotation_id: int,
    categories: list[dict[str, Any]],
    labels: _Labels,
    report: ConversionReport,
) -> int:
    """Write the COCO file of the items ``first..stop-1`` into ``handle``; return the last annotation id used."""
    head = orjson.dumps({"info": _INFO, "licenses": [], "categories": categories, "images": []})
    pending = [head[:-2]]  # up to '"images":[' included
    size = 0
    separator = b""
    for start in range(first, stop, 1000):
        batch = [
            {"id": index + 1, "file_name": file_names[index], "width": items[index]["width"], "height": items[index]["height"]}
            for index in range(start, min(start + 1000, stop))
        ]
        pending += [separator, _json_elements(batch)]
        separator = b","
    pending.append(b'],"annotations":[')
    separator = b""
    for index in range(first, stop):
        item = items[index]
        annotations = _item_annotations(item, index + 1, annotation_id, labels, report)
        if not annotations:
            continue
        annotation_id += len(annotations)
        chunk = _json_elements(annotations)
        pending += [separator, chunk]
        separator = b","
        size += len(chunk)
        if size >= _FLUSH_BYTES:
            handle.write(b"".join(pending))
            pending, size = [], 0
    pending.append(b"]}")
    handle.write(b"".join(pending))
    return annotation_id


def _item_annotations(
    item: dict[str, Any], image_id: int, annotation_id: int, labels: _Labels, report: ConversionReport
) -> list[dict[str, Any]]:
    """Return the COCO annotations of one item, with ids after ``annotation_id``.

    The shapes of one ``group`` and label are one annotation (see :func:`_group_annotations`),
    written where the group's first shape is.
    """
    tags = item["annotation"]["tags"]
    if tags:
        report.lose("tag", "COCO instances has no image-level tags", len(tags))
    width, height = item["width"], item["height"]
    label_ids, keypoint_counts = labels.ids, labels.keypoint_counts
    shapes = item["annotation"]["shapes"]
    annotations = []
    append = annotations.append
    groups: dict[int, list[dict[str, Any]]] | None = None  # made at the first grouped shape
    for shape in shapes:
        plain = len(shape) == 5 and shape["type"] == "bbox" and "source" in shape
        if plain and not (keypoint_counts and shape["label"] in keypoint_counts):
            # Only id, type, label, bbox and source, and no keypoints to add: the annotation
            # _shape_to_annotation makes.
            bbox = shape["bbox"]
            x, y, w, h = bbox
            if not (type(x) is float and type(y) is float and type(w) is float and type(h) is float):
                x, y, w, h = bbox = [float(x), float(y), float(w), float(h)]
            if 0.0 <= x < x + w <= width and 0.0 <= y < y + h <= height:
                # Unclipped: clip_bbox returns [x, y, w, h], so the shape's own float list is
                # written (orjson only reads it), as are the shared empty segmentation and attributes.
                annotation_id += 1
                append(
                    {
                        "id": annotation_id,
                        "image_id": image_id,
                        "category_id": label_ids[shape["label"]],
                        "segmentation": _NO_SEGMENTATION,
                        "area": w * h,
                        "bbox": bbox,
                        "iscrowd": 0,
                        "attributes": _NO_ATTRIBUTES,
                    }
                )
                continue
        members = None
        if shape.get("group") is not None:
            if groups is None:
                groups = _groups(shapes)
            members = groups.get(shape["group"])
        if members is not None:
            if shape is members[0]:
                for label, annotation in _group_annotations(members, item, report):
                    annotation_id += 1
                    append(_numbered(annotation, annotation_id, image_id, label, labels))
            continue
        annotation = _shape_to_annotation(shape, item, report)
        if annotation is None:
            continue
        annotation_id += 1
        append(_numbered(annotation, annotation_id, image_id, shape["label"], labels))
    return annotations


def _numbered(annotation: dict[str, Any], annotation_id: int, image_id: int, label: str, labels: _Labels) -> dict[str, Any]:
    """Return the whole COCO annotation: ids first, then the geometry part."""
    numbered = {"id": annotation_id, "image_id": image_id, "category_id": labels.ids[label], **annotation}
    count = labels.keypoint_counts.get(label)
    if count and "keypoints" not in numbered:
        # Every annotation of a keypoints category has keypoints (COCOeval reads num_keypoints).
        numbered["keypoints"] = [0] * (3 * count)
        numbered["num_keypoints"] = 0
    return numbered


def _groups(shapes: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Return the shapes of each group of an item that has two or more, in shape order."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for shape in shapes:
        group = shape.get("group")
        if group is not None:
            groups.setdefault(group, []).append(shape)
    return {group: members for group, members in groups.items() if len(members) > 1}


_GROUP_LABELS = "its shapes have different labels and a COCO annotation has one category: one annotation per label"
_GROUP_SEGMENTATION = (
    "a COCO annotation has one segmentation, polygons or a single mask: the group's other masks or polygons are separate annotations"
)
_GROUP_KEYPOINTS = "a COCO annotation has one set of keypoints: the group's other keypoints shapes are separate annotations"
_GROUP_BOX = "a COCO annotation has one box, that of its segmentation or keypoints: the group's boxes are separate annotations"
_GROUP_FIELDS = (
    "a COCO annotation has one set of attributes, flags and crowd mark:"
    " the group's shapes that differ from its first are separate annotations"
)


def _group_annotations(members: list[dict[str, Any]], item: dict[str, Any], report: ConversionReport) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(label, annotation part)`` for the shapes of one group: one annotation per label where COCO allows.

    What one annotation holds and its ``bbox`` and ``area`` are in :func:`_merge_parts`. What
    does not fit (see ``_GROUP_*``) is written as separate annotations, and the report counts
    the group once per reason.
    """
    by_label: dict[str, list[dict[str, Any]]] = {}
    for shape in members:
        by_label.setdefault(shape["label"], []).append(shape)
    reasons = [_GROUP_LABELS] if len(by_label) > 1 else []
    result: list[tuple[str, dict[str, Any]]] = []
    for label, shapes in by_label.items():
        parts = [(shape, part) for shape in shapes if (part := _shape_to_annotation(shape, item, report)) is not None]
        if not parts:
            continue
        joined: list[tuple[dict[str, Any], dict[str, Any]]] = []
        apart: list[dict[str, Any]] = []
        for shape, part in parts:
            reason = _why_apart(shape, part, joined)
            if reason is None:
                joined.append((shape, part))
            else:
                reasons.append(reason)
                apart.append(part)
        merged = joined[0][1] if len(joined) == 1 else _merge_parts(joined, item, report)
        result += [(label, annotation) for annotation in [merged, *apart]]
    for reason in dict.fromkeys(reasons):
        report.lose("group", reason)
    return result


def _why_apart(shape: dict[str, Any], part: dict[str, Any], joined: list[tuple[dict[str, Any], dict[str, Any]]]) -> str | None:
    """Return why ``shape`` cannot join the annotation of the ``joined`` shapes (one of ``_GROUP_*``), or None.

    One annotation has the attributes and flags of its first shape, one segmentation
    (polygons, or a single mask), one keypoints shape, and a box shape only when nothing else
    gives it a box.
    """
    if not joined:
        return None
    first = joined[0][1]
    if part["iscrowd"] != first["iscrowd"] or part["attributes"] != first["attributes"]:
        return _GROUP_FIELDS
    kind = shape["type"]
    kinds = {other["type"] for other, _ in joined}
    if kind == "keypoints" and "keypoints" in kinds:
        return _GROUP_KEYPOINTS
    if ("mask" in kinds and kind in ("polygon", "mask")) or (kind == "mask" and "polygon" in kinds):
        return _GROUP_SEGMENTATION
    if ("bbox" in kinds and _gives_box(shape)) or (kind == "bbox" and any(_gives_box(other) for other, _ in joined)):
        return _GROUP_BOX
    return None


def _gives_box(shape: dict[str, Any]) -> bool:
    """Tell whether a shape gives its annotation a box: a box, a polygon or mask, a keypoints shape with its own."""
    return shape["type"] != "keypoints" or "bbox" in shape


def _merge_parts(joined: list[tuple[dict[str, Any], dict[str, Any]]], item: dict[str, Any], report: ConversionReport) -> dict[str, Any]:
    """Return the one annotation of a group's ``(shape, annotation part)`` pairs that :func:`_why_apart` let join.

    Its polygons' rings make one ``segmentation`` (as labelme2coco writes a LabelMe
    ``group_id``), whose ``area`` is that of their union as pycocotools computes it; its
    keypoints shape adds ``keypoints``. Its ``bbox`` is the keypoints shape's own box, else the
    mask's own box (each is the box of the COCO annotation they were read from), else the union
    of the parts' boxes; a mask box that differs from the keypoints box is counted.
    """
    own_boxes = {shape["type"]: part["bbox"] for shape, part in joined if shape["type"] in ("keypoints", "mask") and "bbox" in shape}
    bbox = own_boxes.get("keypoints", own_boxes.get("mask"))
    if len(own_boxes) == 2 and not _same_box(own_boxes["mask"], own_boxes["keypoints"]):
        report.lose("bbox", _BOX_GROUP_MASK)
    if bbox is None:
        # A keypoints part's box is [0, 0, 0, 0] when it has neither its own box nor a visible point.
        bbox = _union_box([part["bbox"] for shape, part in joined if shape["type"] != "keypoints" or part["num_keypoints"]])
    segmented = [part for shape, part in joined if shape["type"] in ("polygon", "mask")]
    if len(segmented) > 1:  # polygons: a mask joins no other segmentation
        segmentation: Any = [ring for part in segmented for ring in part["segmentation"]]
        # pycocotools reads several rings as one instance: the union of their pixels.
        area = float(mask_utils.area(mask_utils.merge(mask_utils.frPyObjects(segmentation, item["height"], item["width"]))))
    elif segmented:
        segmentation, area = segmented[0]["segmentation"], segmented[0]["area"]
    else:
        segmentation, area = [], bbox[2] * bbox[3]
    first = joined[0][1]
    merged = {"segmentation": segmentation, "area": area, "bbox": bbox, "iscrowd": first["iscrowd"], "attributes": first["attributes"]}
    for shape, part in joined:
        if shape["type"] == "keypoints":
            merged["keypoints"], merged["num_keypoints"] = part["keypoints"], part["num_keypoints"]
    return merged


def _union_box(boxes: list[list[float]]) -> list[float]:
    """Return the box around ``boxes``: one of them exactly when it holds the others."""
    left, top = min(box[0] for box in boxes), min(box[1] for box in boxes)
    right, bottom = max(box[0] + box[2] for box in boxes), max(box[1] + box[3] for box in boxes)
    for box in boxes:
        if (box[0], box[1], box[0] + box[2], box[1] + box[3]) == (left, top, right, bottom):
            return box
    return [left, top, right - left, bottom - top]


def _write_whole(
    items: list[dict[str, Any]],
    writer: DatasetWriter,
    images: ImageSource | None,
    report: ConversionReport,
    labels: _Labels,
    categories: list[dict[str, Any]],
) -> None:
    """Build each subset's whole COCO document, then write it (subsets whose items are apart)."""
    subsets: dict[str, dict[str, Any]] = {}
    annotation_id = 0
    for image_id, item in enumerate(items, start=1):
        subset = item.get("subset", DEFAULT_SUBSET)
        coco = subsets.setdefault(subset, {"images": [], "annotations": []})
        file_name = item["path"] if images is None else _write_image(writer, subset, item, images, report)
        coco["images"].append({"id": image_id, "file_name": file_name, "width": item["width"], "height": item["height"]})
        annotations = _item_annotations(item, image_id, annotation_id, labels, report)
        annotation_id += len(annotations)
        coco["annotations"] += annotations
    used_files: set[str] = set()
    for subset, coco in subsets.items():
        document = {
            "info": _INFO,
            "licenses": [],
            "categories": categories,
            "images": coco["images"],
            "annotations": coco["annotations"],
        }
        writer.write_bytes(_subset_file(subset, used_files, report), _dump_json(document))


def _file_safe(subset: str) -> str:
    return re.sub(r"[\\/:*?\"<>|]", "_", subset)


def _dump_json(document: dict[str, Any] | list[Any]) -> bytes:
    """Return the document as UTF-8 JSON: orjson's bytes, or ``json``'s where orjson cannot.

    orjson is several times faster than ``json``; the text differs only in spacing and in
    how some floats are spelled (``1e-07`` vs ``1e-7``), never in value. ``json`` is kept for
    what orjson refuses: integers beyond 64 bits, lone surrogates. No number written is NaN
    or infinite: the schema refuses them in a dataset (and the importers before it), and what
    is computed here (areas, clipped and union boxes) is bounded by the image size. So
    orjson, which would write such a number as ``null``, never meets one.
    """
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _write_image(writer: DatasetWriter, subset: str, item: dict[str, Any], images: ImageSource, report: ConversionReport) -> str:
    image = images(item)
    if image is None:
        report.note(f"no image for item {item['id']!r}; annotations only")
        return item["path"]
    data, ext = image
    file_name = path_with_extension(item["path"], ext)
    # Spelled as a folder path resolves it ("a//b.jpg", "./a.jpg"), for the writer's check.
    folder = posixpath.normpath(f"{IMAGES_DIR}/{_file_safe(subset)}")
    wanted = posixpath.normpath(f"{folder}/{file_name}")
    relpath = free_path(writer, wanted, item, report)
    writer.write_bytes(relpath, data)
    return file_name if relpath == wanted else posixpath.relpath(relpath, folder)


def _shape_to_annotation(shape: dict[str, Any], item: dict[str, Any], report: ConversionReport) -> dict[str, Any] | None:
    """Return the geometry part of a COCO annotation, or None when the shape is dropped."""
    kind = shape["type"]
    width, height = item["width"], item["height"]
    if kind in _UNSUPPORTED:
        report.lose(kind, _UNSUPPORTED[kind])
        return None
    extra: dict[str, Any] = {}
    if kind == "bbox":
        bbox = clip_box(shape["bbox"], width, height, report)
        if bbox is None:
            return None
        segmentation: Any = []
        area = bbox[2] * bbox[3]
    elif kind == "polygon":
        rings = [[float(value) for value in ring] for ring in shape["rings"]]
        if _far_outside(rings, width, height):
            # pycocotools draws the outline at 5x in 32-bit ints, point by point: a vertex
            # far away takes gigabytes, and past about 4e8 it crashes the process.
            rings = [ring for ring in (_clip_ring(ring, width, height) for ring in rings) if len(ring) >= 6]
            report.clip(kind)
        rle = mask_utils.merge(mask_utils.frPyObjects(rings, height, width)) if rings else None
        area = float(mask_utils.area(rle)) if rle is not None else 0.0
        bbox, _ = clip_bbox(rings_bbox(rings), width, height) if rings else (None, False)
        if area <= 0 or bbox is None:
            report.drop_empty(kind)
            return None
        segmentation = rings
    elif kind == "mask":
        rle = _compressed_rle(shape["rle"])
        if rle["size"] != [height, width]:
            report.lose(kind, "the mask size differs from the image size")
            return None
        area = float(mask_utils.area(_to_c_rle(rle)))
        if area <= 0:
            report.drop_empty(kind)
            return None
        # The mask's own box (the COCO annotation's it was read from), else its extent.
        bbox, clipped = clip_bbox(shape["bbox"], width, height) if "bbox" in shape else (None, False)
        if clipped:
            report.clip(kind)
        if bbox is None:
            if "bbox" in shape:
                report.lose("bbox", "a mask's box with no area inside the image is not kept: the mask's extent is written")
            bbox = [float(value) for value in mask_utils.toBbox(_to_c_rle(rle))]
        segmentation = rle
    else:  # keypoints
        keypoints = [float(value) if index % 3 != 2 else int(value) for index, value in enumerate(shape["keypoints"])]
        visible = [(keypoints[i], keypoints[i + 1]) for i in range(0, len(keypoints), 3) if keypoints[i + 2] > 0]
        bbox = _keypoints_box(shape, visible, width, height, report)
        segmentation = []
        area = bbox[2] * bbox[3]
        extra = {"keypoints": keypoints, "num_keypoints": len(visible)}
    attributes = dict(shape.get("attributes", {}))
    for flag in FLAGS:
        if flag in shape:
            attributes[flag] = shape[flag]
    return {
        "segmentation": segmentation,
        "area": area,
        "bbox": bbox,
        "iscrowd": int(shape.get("iscrowd", False)),
        "attributes": attributes,
        **extra,
    }


def _keypoints_box(
    shape: dict[str, Any], visible: list[tuple[float, float]], width: int, height: int, report: ConversionReport
) -> list[float]:
    """Return the box of a keypoints annotation inside the image: the shape's own, else around its visible points.

    Inside the image, as the importer reads it, so that ``area`` (its width times height) is finite.
    """
    if "bbox" in shape:
        bbox, clipped = clip_bbox(shape["bbox"], width, height)
        if clipped or bbox is None:
            report.clip("keypoints")
        if bbox is not None:
            return bbox
    if not visible:
        return [0.0, 0.0, 0.0, 0.0]
    inside = [(min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))) for x, y in visible]
    return rings_bbox([[value for point in inside for value in point]])


def _far_outside(rings: list[list[float]], width: int, height: int) -> bool:
    """Tell whether a vertex lies farther outside the image than the image's own size."""
    margin = float(max(width, height))
    for ring in rings:
        xs, ys = ring[0::2], ring[1::2]
        if min(xs) < -margin or max(xs) > width + margin or min(ys) < -margin or max(ys) > height + margin:
            return True
    return False


def _clip_ring(ring: list[float], width: int, height: int) -> list[float]:
    """Return the part of a polygon ring inside the image (Sutherland-Hodgman), maybe with fewer than 3 points."""
    points = list(zip(ring[0::2], ring[1::2], strict=True))
    # (axis, limit, keep the side below the limit)
    for axis, limit, below in ((0, 0.0, False), (0, float(width), True), (1, 0.0, False), (1, float(height), True)):
        if not points:
            break
        kept: list[tuple[float, float]] = []
        previous = points[-1]
        for point in points:
            inside = point[axis] <= limit if below else point[axis] >= limit
            if inside != (previous[axis] <= limit if below else previous[axis] >= limit):
                # Halved, so that neither difference overflows for coordinates near the double's range.
                t = (limit * 0.5 - previous[axis] * 0.5) / (point[axis] * 0.5 - previous[axis] * 0.5)
                other = previous[1 - axis] * (1.0 - t) + point[1 - axis] * t
                kept.append((limit, other) if axis == 0 else (other, limit))
            if inside:
                kept.append(point)
            previous = point
        points = kept
    return [value for point in points for value in point]


def _compressed_rle(rle: dict[str, Any]) -> dict[str, Any]:
    """Return ``{"size": [h, w], "counts": str}``, compressing list counts."""
    height, width = (int(value) for value in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        counts = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [height, width], "counts": counts}


def _to_c_rle(rle: dict[str, Any]) -> dict[str, Any]:
    # pycocotools wants bytes counts for compressed RLE.
    return {"size": rle["size"], "counts": rle["counts"].encode("ascii")}


# -- import ---------------------------------------------------------------------------


def _annotation_files(src: Path, *, check_content: bool, report: ConversionReport | None = None) -> list[tuple[str, Path]]:
    """Return ``(subset, file)`` pairs for the COCO files of ``src``, in the first layout that has any.

    Layouts, in this order: ``src`` is the file; ``annotations/*.json`` (see
    :func:`_folder_files`); ``instances_<subset>.json`` (or ``person_keypoints_``,
    ``stuff_``) in ``src``; ``annotations.json`` in ``src`` (labelme2coco); Roboflow's
    ``_annotations.coco.json`` in ``src`` or in each of its folders (the subset is the folder's
    name). ``check_content`` also reads the start of each file the layout names: detection
    must not claim other formats' JSON.
    """
    if src.is_file():
        if check_content and (_named_task(src) is not None or _coco_content(src) != "instances"):
            return []
        return [(_file_subset(src), src)]
    if not src.is_dir():
        return []
    if (src / ANNOTATIONS_DIR).is_dir():
        found = _folder_files(src / ANNOTATIONS_DIR, check_content=check_content, report=report)
        if found:
            return found
    found = _folder_files(src, check_content=check_content, report=report, unnamed=False)
    if found:
        return found
    candidates = [(DEFAULT_SUBSET, src / "annotations.json"), (src.resolve().name or DEFAULT_SUBSET, src / ROBOFLOW_FILE)]
    candidates += [(file.parent.name, file) for file in sorted(src.glob(f"*/{ROBOFLOW_FILE}"))]
    for subset, file in candidates:
        if file.is_file() and (not check_content or _coco_content(file) is not None):
            found.append((subset, file))
            if file.parent == src:  # a file in src itself is the dataset
                break
    return found


def _folder_files(folder: Path, *, check_content: bool, report: ConversionReport | None, unnamed: bool = True) -> list[tuple[str, Path]]:
    """Return the COCO files of one folder, one per subset.

    ``<task>_<subset>.json`` names its subset; a subset with several files is read from the
    first of ``instances``, ``person_keypoints``, ``stuff`` (COCO's tasks in this format) and
    the others are noted as not read. Other COCO tasks (captions, panoptic, image_info,
    Datumaro's labels) are never read. With ``unnamed``, any other ``<subset>.json`` whose
    content looks like COCO (``images``, ``annotations`` and ``categories`` lists) is one too;
    a task file of the same subset comes first.
    """
    chosen: dict[str, tuple[int, Path]] = {}
    skipped: list[tuple[str, Path]] = []
    for file in sorted(folder.glob("*.json")):
        match = _TASK_FILE.match(file.name)
        if match:
            if match["task"] not in _TASK_RANK or (check_content and _coco_content(file) is None):
                continue  # another task by its name, or not COCO
            subset, rank = match["subset"], _TASK_RANK[match["task"]]
        elif unnamed:
            content = _coco_content(file, categories=True)
            if content != "instances":
                if content is not None and report is not None:
                    report.note(f"{file.name} not read: {_OTHER_TASKS[content]}")
                continue
            subset, rank = file.stem, len(_TASK_RANK)
        else:
            continue
        if subset in chosen and chosen[subset][0] <= rank:
            skipped.append((subset, file))
            continue
        if subset in chosen:
            skipped.append((subset, chosen[subset][1]))
        chosen[subset] = (rank, file)
    if report is not None:
        for subset, file in skipped:
            report.note(f"{file.name} not read: subset {subset!r} is read from {chosen[subset][1].name}")
    return [(subset, file) for subset, (_, file) in sorted(chosen.items(), key=lambda entry: entry[1][1].name)]


def _file_subset(file: Path) -> str:
    """The subset of a COCO file given on its own: named by its task prefix or its Roboflow folder."""
    match = _TASK_FILE.match(file.name)
    if match and match["task"] in _TASK_RANK:
        return match["subset"]
    if file.name == ROBOFLOW_FILE and file.resolve().parent.name:
        return file.resolve().parent.name
    return DEFAULT_SUBSET


def _coco_content(file: Path, *, categories: bool = False) -> str | None:
    """Tell what a JSON file holds by its content, reading it once and as little as streaming allows.

    A COCO file is a JSON object with ``images`` and ``annotations`` lists (and a
    ``categories`` list, with ``categories``: files found by content only). The stream reads
    what comes before the annotations and their first chunk; a file laid out otherwise (images
    after the annotations, text orjson refuses) is parsed whole.

    Returns:
        None when the file is not COCO; else the other COCO task its first annotation shows
        (``"captions"``, ``"panoptic"``), or ``"instances"``.
    """
    try:
        stream = ArrayStream(file, "annotations")
    except NotStreamable:
        pass
    except OSError:
        return None
    else:
        try:
            if _coco_lists(stream.head, categories=categories):
                try:
                    first = next(stream.chunks(), [])
                except NotStreamable:
                    first = []  # the import reads the file whole and says what is wrong with it
                return _content_task(first) or "instances"
        finally:
            stream.close()
    try:
        data = file.read_bytes()
        # Most JSON that is not COCO does not even spell both keys: no need to parse it.
        doc = json.loads(data.decode("utf-8")) if b'"images"' in data and b'"annotations"' in data else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not (isinstance(doc, dict) and isinstance(doc.get("annotations"), list) and _coco_lists(doc, categories=categories)):
        return None
    return _content_task(doc["annotations"]) or "instances"


def _coco_lists(doc: dict[str, Any], *, categories: bool) -> bool:
    """Tell whether ``doc`` has an ``images`` list, and a ``categories`` list when ``categories``."""
    return isinstance(doc.get("images"), list) and (not categories or isinstance(doc.get("categories"), list))


def _load_json(file: Path) -> Any:
    """Parse a JSON file: with orjson (several times faster), else with ``json``.

    ``json`` reads what orjson refuses (lone surrogates, for one) and words the error for
    files that are not JSON at all. What orjson refuses because no JSON number spells it
    (``NaN``, ``Infinity``, ``-Infinity``, a number such as ``1e999`` beyond a double) is
    refused here too: ``json`` would read it, and a NaN coordinate passes every comparison
    (pycocotools crashes on one in a polygon). The fast path pays nothing for this.

    Raises:
        OSError, UnicodeDecodeError, json.JSONDecodeError: as ``json.loads(file.read_text())``.
        FormatError: the file holds NaN, an infinity or a number beyond a double; the
            message names the file, the line and the number.
    """
    try:
        return orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError:
        pass
    text = file.read_text("utf-8")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_double_sized_int)
    except _NotFinite as exc:
        line = _line_of_non_finite(text)
        where = f"line {line}: " if line is not None else ""
        why = "JSON has no NaN or infinity" if exc.token.lstrip("-") in ("NaN", "Infinity") else "it is beyond the range of a double"
        token = exc.token if len(exc.token) <= 24 else f"{exc.token[:12]}...{exc.token[-6:]} ({len(exc.token)} characters)"
        raise FormatError(f"{file}: {where}{token} is not a number COCO allows ({why})") from None


class _NotFinite(ValueError):
    """``json`` met NaN, an infinity or a number beyond a double (``token``, as spelled)."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _refuse_constant(token: str) -> Any:
    raise _NotFinite(token)


def _finite_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):  # a JSON number cannot spell NaN
        raise _NotFinite(token)
    return value


def _double_sized_int(token: str) -> int:
    # Only an integer of 309 digits or more reaches past a double (and int() refuses 4300).
    if len(token) > 308 and math.isinf(float(token)):
        raise _NotFinite(token)
    return int(token)


# A JSON string (skipped), NaN or an infinity, or a number.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?Infinity|NaN)|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)')


def _line_of_non_finite(text: str) -> int | None:
    """Return the 1-based line of the first NaN, infinity or too large number outside strings."""
    for match in _JSON_TOKEN.finditer(text):
        constant, number = match.group(1), match.group(2)
        if constant is not None or (number is not None and math.isinf(float(number))):
            return text.count("\n", 0, match.start()) + 1
    return None


class _Reader:
    """Collects labels and items from one or more COCO files.

    Attributes:
        plain: True while every item and shape was made by the plain path (an item whose
            path has no line break; a box with an int id, inside its image, no segmentation,
            keypoints, attributes or crowd flag), whose output is valid by construction.
    """

    def __init__(self, report: ConversionReport) -> None:
        self.report = report
        self.labels: dict[int, dict[str, Any]] = {}
        # {category id: (its name, the file that declared it)}, to refuse another name in a later file.
        self.declared: dict[int, tuple[str, str]] = {}
        self.label_names: set[str] = set()
        self.items: list[dict[str, Any]] = []
        self.item_ids: set[str] = set()
        self.groups = 0
        self.plain = True
        # The source of every plain box of this import (see the module docstring).
        self.human: dict[str, str] = dict(HUMAN)
        # The ids of the annotations of the file being read so far (see _start_ids).
        self.id_marks = bytearray()
        self.other_ids: set[Any] = set()
        self.annotations_seen = 0

    def dataset(self) -> dict[str, Any]:
        return {"version": 1, "labels": list(self.labels.values()), "items": self.items}

    def read_file(self, subset: str, file: Path) -> None:
        """Read one instances file into the dataset; streamed when its layout allows.

        Raises:
            FormatError: the file is not readable JSON, not a COCO file, a file of another
                COCO task (captions, panoptic, image_info, Datumaro's labels), or has two
                images with one id, or two categories with one id that are not the same.
        """
        task = _named_task(file)
        if task is not None:
            raise FormatError(_other_task_error(file, task))
        self.groups = 0  # group numbers count per file
        if not self.report.strict:  # strict: a loss must not be raised before a later parse error
            try:
                stream = ArrayStream(file, "annotations")
            except NotStreamable:
                stream = None
            except OSError as exc:
                raise FormatError(f"{file}: not a readable JSON file: {exc}") from exc
            if stream is not None:
                saved = self._state()
                try:
                    self._read_streamed(subset, file, stream)
                    self._note_repeated_ids(file)
                    return
                except NotStreamable:
                    self._restore(saved)
                finally:
                    stream.close()
        try:
            doc = _load_json(file)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{file}: not a readable JSON file: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
            raise FormatError(f"{file}: not a COCO file (no 'images' list)")
        if "annotations" not in doc:
            raise FormatError(_other_task_error(file, "image_info"))
        annotations = doc["annotations"] if doc["annotations"] is not None else []
        if not isinstance(annotations, list):
            raise FormatError(f"{file}: 'annotations' is not a list")
        _check_task(file, annotations)
        self._start_ids(file)
        items_by_image = self._read_head(subset, doc, file)
        del doc
        self._read_annotations(annotations, items_by_image, file)
        self._note_repeated_ids(file)

    def _read_streamed(self, subset: str, file: Path, stream: ArrayStream) -> None:
        head = stream.head
        if not isinstance(head.get("images"), list):
            raise NotStreamable("no 'images' list before the annotations")
        self._start_ids(file)
        items_by_image = self._read_head(subset, head, file)
        del head["images"]
        first = True
        for chunk in stream.chunks():
            if first:
                _check_task(file, chunk)
                first = False
            self._read_annotations(chunk, items_by_image, file)
        if "categories" in stream.tail or "images" in stream.tail:
            raise NotStreamable("categories or images after the annotations")

    def _state(self) -> tuple[Any, ...]:
        """What reading a file changes, to go back to when streaming it fails half-way."""
        report = self.report
        return (
            dict(self.labels),
            dict(self.declared),
            set(self.label_names),
            len(self.items),
            set(self.item_ids),
            self.groups,
            self.plain,
            (report.lost.copy(), report.clipped.copy(), report.dropped_empty.copy(), list(report.notes)),
        )

    def _restore(self, state: tuple[Any, ...]) -> None:
        labels, declared, names, item_count, item_ids, groups, plain, counts = state
        self.labels, self.declared, self.label_names, self.item_ids = labels, declared, names, item_ids
        del self.items[item_count:]
        self.groups, self.plain = groups, plain
        report = self.report
        report.lost, report.clipped, report.dropped_empty, report.notes = counts

    def _read_head(self, subset: str, doc: dict[str, Any], file: Path) -> dict[Any, list[Any] | None]:
        """Read the categories and images; return ``{image id: entry}`` (see :meth:`_read_annotations`).

        Raises:
            FormatError: two images share an id; two categories share an id and differ (an
                exact repeat is read once, with a note), here or with an earlier file; an
                image or category is not a JSON object.
        """
        self._read_categories(doc.get("categories") or [], file)
        # An image that is not read (no file name or size) has None: its annotations are counted as lost.
        items_by_image: dict[Any, list[Any] | None] = {}
        images = doc["images"]
        for index, image in enumerate(images):
            try:
                image_id = image.get("id")
                repeated = image_id in items_by_image
            except AttributeError:
                raise FormatError(f"{file}: images[{index}] is not an object") from None
            except TypeError:  # a list or an object: annotations could not name it
                raise FormatError(f"{file}: images[{index}].id is not a number or text") from None
            if repeated:
                # Annotations name their image by id: which of the two would be a guess.
                first = next(number for number, other in enumerate(images) if other.get("id") == image_id)
                if image_id is None:
                    raise FormatError(f"{file}: images[{index}] has no id, nor has images[{first}]")
                raise FormatError(f"{file}: images[{index}].id {image_id!r} is also images[{first}].id")
            item = self._item(subset, image, file)
            if item is not None:
                items_by_image[image_id] = [item, item["annotation"]["shapes"], None, None]
                self.items.append(item)
            else:
                items_by_image[image_id] = None
        return items_by_image

    def _read_categories(self, categories: Any, file: Path) -> None:
        """Make the labels of a file's categories; a category's ``supercategory`` naming another is its parent.

        Category ids are the label ids of the whole dataset: a later file may declare a
        category again only with the same name.
        """
        if not isinstance(categories, list):
            raise FormatError(f"{file}: 'categories' is not a list")
        first_index: dict[int, int] = {}
        made: list[tuple[dict[str, Any], dict[str, Any]]] = []
        names: dict[str, str] = {}  # category name in this file -> label name
        for index, category in enumerate(categories):
            if not isinstance(category, dict):
                raise FormatError(f"{file}: categories[{index}] is not an object")
            category_id = _category_id(category.get("id"))
            if category_id is None:
                continue  # no id an annotation can name (as before: such a category is not read)
            name = _category_name(category_id, category.get("name"))
            first = first_index.setdefault(category_id, index)
            if first != index:
                self._repeated_category(file, categories, first, index, category_id)
                continue
            declared = self.declared.get(category_id)
            if declared is not None and declared[0] != name:
                raise FormatError(
                    f"{file}: categories[{index}].id {category_id} is {name!r} here and {declared[0]!r} in {declared[1]}:"
                    " category ids name the same label in every file"
                )
            self.declared.setdefault(category_id, (name, str(file)))
            made_here = category_id not in self.labels
            label = self._add_label(category_id, category.get("name"), category.get("color"))
            names.setdefault(name, label["name"])
            # Only a label this category made: one an earlier file made has its names and parent.
            if made_here:
                made.append((label, category))
                if "keypoints" in category or "skeleton" in category:
                    self._keypoint_spec(label, category)
        for label, category in made:
            # COCO's own supercategories ("vehicle", "animal") name no category and are not parents;
            # the exporter writes a label's parent here, which is always a category of the file.
            parent = category.get("supercategory")
            if isinstance(parent, str) and parent in names and names[parent] != label["name"]:
                label["parent"] = names[parent]

    def _repeated_category(self, file: Path, categories: list[Any], first: int, index: int, category_id: int) -> None:
        """A second category with an id: read once when it repeats the first, else refused.

        Raises:
            FormatError: the two differ in what is read of a category (its name, color,
                supercategory, keypoint names or skeleton).
        """
        one, two = categories[first], categories[index]
        differ = [key for key in _CATEGORY_FIELDS if key != "name" and one.get(key) != two.get(key)]
        name_one, name_two = _category_name(category_id, one.get("name")), _category_name(category_id, two.get("name"))
        if name_one != name_two:
            names = f"{name_two!r} and {name_one!r}"
            raise FormatError(f"{file}: categories[{index}].id {category_id} is also categories[{first}].id ({names})")
        if differ:
            raise FormatError(
                f"{file}: categories[{index}].id {category_id} is also categories[{first}].id"
                f" (both {name_one!r}, with different {', '.join(differ)})"
            )
        self.report.note(f"{file.name}: categories[{index}] repeats categories[{first}] (id {category_id}, {name_one!r}); read once")

    def _start_ids(self, file: Path) -> None:
        """Start recording the annotation ids of a file (again, when streaming it failed).

        ``id_marks[i]`` is set once id ``i`` is read: one byte per possible id, as many as
        the file has bytes / 32 (at least 64 KiB; an annotation takes more than 32 bytes, so
        ids 1, 2, ... all fit), allocated once. Other ids (larger, not ints, missing) go into
        the set ``other_ids``, which costs several times as much per id in time and memory.
        A negative int marks a byte from the end: two ids on one byte only make
        :meth:`_note_repeated_ids` count exactly, never hide a repeat.
        """
        try:
            size = file.stat().st_size // 32
        except OSError:
            size = 0
        self.id_marks = bytearray(max(size, 1 << 16))
        self.other_ids = set()
        self.annotations_seen = 0

    def _other_id(self, annotation: Any, index: int, file: Path) -> Any:
        """Record the id of an annotation that ``id_marks`` cannot hold, and return it (None when missing).

        Raises:
            FormatError: the annotation is not an object, or its id is a list or an object.
        """
        if not isinstance(annotation, dict):
            raise FormatError(f"{file}: annotations[{index}] is not an object")
        annotation_id = annotation.get("id")
        try:
            self.other_ids.add(annotation_id)
        except TypeError:
            raise FormatError(f"{file}: annotations[{index}].id is not a number or text") from None
        return annotation_id

    def _note_repeated_ids(self, file: Path) -> None:
        """Note the annotation ids that the file gives more than once.

        COCO requires unique annotation ids (pycocotools indexes annotations by id and keeps
        one per id). Nothing in an instances file refers to an annotation id, so every
        annotation is read all the same (its shape id is made unique within its item) and an
        export numbers them 1, 2, ...; the note names the ids. Finding them reads the file
        again, which only a file with repeated ids pays for.
        """
        if self.id_marks.count(1) + len(self.other_ids) == self.annotations_seen:
            return
        counts: dict[Any, int] = {}
        for annotation in _load_json(file)["annotations"]:
            annotation_id = annotation.get("id")
            counts[annotation_id] = counts.get(annotation_id, 0) + 1
        repeated = [(annotation_id, count) for annotation_id, count in counts.items() if count > 1]
        if not repeated:
            return  # negative ids that marked the byte of another id
        shown = ", ".join(
            f"{count} annotations have no id" if annotation_id is None else f"id {annotation_id!r} is used {count} times"
            for annotation_id, count in repeated[:3]
        )
        more = f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
        self.report.note(
            f"{file.name}: annotation ids are not unique ({shown}{more}); COCO requires unique ids:"
            " every annotation is read, and an export numbers them 1, 2, ..."
        )

    def _read_annotations(self, annotations: list[Any], items_by_image: dict[Any, list[Any] | None], file: Path) -> None:
        """Turn annotations into shapes; each is released from ``annotations`` once read.

        Each image's entry is ``[item, its shapes, last id, used ids]``. Shape ids are unique
        within an item. While the item's shapes are all plain boxes with rising annotation ids
        (as COCO writers give them), "last id" is the largest and a larger one is free without
        a set of every id (5 MB for 100000 boxes); otherwise "used ids" is that set, made from
        the item's shapes once (:func:`_used_ids`).
        """
        labels, human, box_layout = self.labels, self.human, _BOX_LAYOUT
        # Each id is marked (see _start_ids); fewer marks than annotations at the end of the file
        # means repeated ids (see _note_repeated_ids). An id below the size of the marks costs
        # a byte store; any other goes to _other_id.
        offset = self.annotations_seen
        self.annotations_seen += len(annotations)
        marks = self.id_marks
        for index, annotation in enumerate(annotations):
            annotations[index] = None  # the raw dict goes as soon as its shape exists
            try:
                annotation_id = annotation["id"]
                marks[annotation_id] = 1
            except (KeyError, IndexError, TypeError):
                annotation_id = self._other_id(annotation, offset + index, file)
            try:
                entry = items_by_image.get(annotation.get("image_id"))
            except TypeError:  # a list or an object names no image
                entry = None
            if entry is None:
                self.report.lose("shape", "the annotation names an image that is not in the file")
                continue
            item, shapes, last_id, used = entry
            category_id = annotation.get("category_id")
            label = labels.get(category_id) if type(category_id) is int else None
            if label is None:
                label = self._label_for(category_id)
                if label is None:
                    self.report.lose("shape", "the annotation has no category")
                    continue
            if annotation.keys() == box_layout:
                # The usual layout with float numbers inside the image and a rising id: _plain_box's
                # shape, inline (this loop runs once per box). Anything else is left to _plain_box.
                bbox, iscrowd = annotation["bbox"], annotation["iscrowd"]
                if (
                    type(annotation_id) is int
                    and used is None
                    and (last_id is None or annotation_id > last_id)
                    and type(bbox) is list
                    and len(bbox) == 4
                    and annotation["segmentation"] == []
                    and type(iscrowd) is int
                    and iscrowd == 0
                ):
                    x, y, w, h = bbox
                    shape_id = f"coco-{annotation_id}"
                    if (
                        type(x) is float
                        and type(y) is float
                        and type(w) is float
                        and type(h) is float
                        and 0.0 <= x < x + w <= item["width"]
                        and 0.0 <= y < y + h <= item["height"]
                        and len(shape_id) <= 64
                    ):
                        entry[2] = annotation_id
                        shapes.append({"id": shape_id, "type": "bbox", "bbox": bbox, "label": label["name"], "source": human})
                        continue
            shape = _plain_box(annotation, item["width"], item["height"], label["name"], human)
            if shape is not None:
                if used is None and (last_id is None or annotation_id > last_id):
                    entry[2] = annotation_id
                    shapes.append(shape)
                    continue
                if used is None:
                    used = entry[3] = _used_ids(shapes)
                if shape["id"] not in used:
                    used.add(shape["id"])
                    shapes.append(shape)
                    continue
            self.plain = False
            if used is None:
                used = entry[3] = _used_ids(shapes)
            new_shapes = self._shapes(annotation, item, label, used)
            if len(new_shapes) > 1:
                self.groups += 1
                for new_shape in new_shapes:
                    new_shape["group"] = self.groups
            shapes.extend(new_shapes)

    def _add_label(self, category_id: int, name: Any, color: Any = None) -> dict[str, Any]:
        """Return the label of ``category_id``, made from ``name`` (renamed when another label has it) and ``color`` if new."""
        if category_id in self.labels:
            return self.labels[category_id]
        name = _category_name(category_id, name)
        if name in self.label_names:
            renamed = unique_name(f"{name}_{category_id}", self.label_names)
            self.report.note(f"category {category_id} {name!r} renamed {renamed!r}: name used twice")
            name = renamed
        else:
            self.label_names.add(name)
        label: dict[str, Any] = {"id": category_id, "name": name, "kind": "shape"}
        if isinstance(color, str) and _COLOR.match(color):
            label["color"] = color
        self.labels[category_id] = label
        return label

    def _keypoint_spec(self, label: dict[str, Any], category: dict[str, Any]) -> None:
        """Give ``label`` the category's keypoint names and its skeleton, counted from 0."""
        names, edges = category.get("keypoints"), category.get("skeleton")
        edges = edges if isinstance(edges, list) else []
        where = f"category {category.get('id')} {label['name']!r}"
        if not (isinstance(names, list) and names and all(isinstance(name, str) and name for name in names)):
            if names not in (None, []):
                self.report.lose("keypoint name list", f"{where}: the keypoint names are not all non-empty text")
            if edges:
                self.report.lose("skeleton edge", f"{where}: a skeleton needs keypoint names to number its ends by", len(edges))
            return
        self.plain = False  # labels with keypoints are checked against the schema
        label["keypoints"] = list(names)
        # COCO numbers a skeleton's ends from 1 (https://cocodataset.org/#format-data); ours from 0.
        skeleton = [
            [edge[0] - 1, edge[1] - 1]
            for edge in edges
            if isinstance(edge, list) and len(edge) == 2 and all(type(end) is int and 1 <= end <= len(names) for end in edge)
        ]
        if skeleton:
            label["skeleton"] = skeleton
        if len(skeleton) < len(edges):
            reason = f"{where}: the edge is not a pair of keypoint numbers from 1 to {len(names)}"
            self.report.lose("skeleton edge", reason, len(edges) - len(skeleton))

    def _label_for(self, category_id: Any) -> dict[str, Any] | None:
        """Return the label an annotation's ``category_id`` names; one that no category declares is made, with a note."""
        number = _category_id(category_id)
        if number is None:
            # 1.0 names category 1, as the dict key it is; other values (text, lists, objects) name none.
            return self.labels.get(category_id) if isinstance(category_id, int | float) else None
        label = self.labels.get(number)
        if label is None:
            label = self._add_label(number, None)
            self.report.note(f"category {number} is used but not declared; named {label['name']!r}")
        return label

    def _item(self, subset: str, image: dict[str, Any], file: Path) -> dict[str, Any] | None:
        width, height = _positive_int(image.get("width")), _positive_int(image.get("height"))
        file_name = image.get("file_name") or image.get("path")
        if not isinstance(file_name, str) or not file_name or width is None or height is None:
            self.report.lose("image", f"{file.name}: an image entry has no file name or size")
            return None
        path = normalize_relative_path(file_name)
        if "\n" in path:
            self.plain = False  # the schema's path pattern refuses line breaks
        base = path if path not in self.item_ids else f"{subset}/{path}"
        item_id = unique_name(base, self.item_ids)
        return {
            "id": item_id,
            # normalize_relative_path leaves no empty or "." part: the last part is the name.
            "name": path.rpartition("/")[2],
            "path": path,
            "media": "image",
            "width": width,
            "height": height,
            "subset": subset,
            "annotation": {"version": 1, "tags": [], "shapes": []},
        }

    def _shapes(self, annotation: dict[str, Any], item: dict[str, Any], label: dict[str, Any], used: set[str]) -> list[dict[str, Any]]:
        """Return the shapes of one annotation: its segmentation (or box), and a keypoints shape.

        The annotation's own ``bbox`` is kept where a shape can hold one: a box, a mask's
        ``bbox``, a keypoints shape's ``bbox``. A polygon has none, so a box that differs from
        its polygon's extent (after clipping, by more than a pixel) is counted as lost, as is a
        box with no area inside the image; a box cut to the image is counted as clipped.
        """
        # ``used``: the ids of the item's shapes, kept up to date rather than rebuilt per annotation.
        common: dict[str, Any] = {"label": label["name"], "source": dict(HUMAN)}
        if parse_bool(annotation.get("iscrowd")):
            common["iscrowd"] = True
        common.update(self._attributes(annotation.get("attributes")))
        keypoints = _keypoints(annotation.get("keypoints"))
        box, box_state = _file_box(annotation.get("bbox"), item["width"], item["height"])
        shapes = []
        geometry = self._geometry(annotation, item, box, box_state, has_keypoints=keypoints is not None)
        if geometry is not None:
            shapes.append({"id": unique_name(f"coco-{annotation.get('id')}", used), **geometry, **common})
        if keypoints is not None:
            shape = {"id": unique_name(f"coco-{annotation.get('id')}-kp", used), "type": "keypoints", "keypoints": keypoints, **common}
            if box is not None:
                shape["bbox"] = box
            shapes.append(shape)
        if not shapes or shapes[0]["type"] == "bbox":
            return shapes  # nothing read, or a box shape: _geometry counted what became of the box
        if box_state == "empty":
            self.report.lose("bbox", _BOX_EMPTY)
        elif keypoints is None and geometry["type"] == "polygon" and box is not None and not _box_is_extent(box, geometry["rings"], item):
            self.report.lose("bbox", _BOX_POLYGON)  # a polygon shape has no box of its own
        elif box_state == "clipped":
            self.report.clip("bbox")
        return shapes

    def _attributes(self, attributes: Any) -> dict[str, Any]:
        if not isinstance(attributes, dict):
            return {}
        result: dict[str, Any] = {}
        kept: dict[str, Any] = {}
        for name, value in attributes.items():
            if name in FLAGS and parse_bool(value) is not None:
                result[name] = parse_bool(value)
            elif isinstance(value, str | int | float | bool):
                kept[str(name)] = value
            else:
                self.report.lose("attribute", "the value is not text, a number or a boolean")
        if kept:
            result["attributes"] = kept
        return result

    def _geometry(
        self, annotation: dict[str, Any], item: dict[str, Any], box: list[float] | None, box_state: str, *, has_keypoints: bool
    ) -> dict[str, Any] | None:
        """Return the segmentation's shape geometry (a mask gets ``box``), else the box's, else None.

        ``box`` and ``box_state`` are the annotation's ``bbox`` as :func:`_file_box` reads it.
        An annotation with keypoints and no segmentation it can read has no geometry: its
        keypoints shape takes the box.
        """
        segmentation = annotation.get("segmentation")
        if isinstance(segmentation, dict) and "counts" in segmentation:
            return self._mask(segmentation, item, box)
        if isinstance(segmentation, list) and segmentation:
            if all(isinstance(value, int | float) for value in segmentation):
                segmentation = [segmentation]  # a flat polygon, as some writers emit
            rings = []
            for ring in segmentation:
                if not (isinstance(ring, list) and len(ring) >= 6 and len(ring) % 2 == 0):
                    self.report.lose("ring", "a ring has fewer than 3 points or an odd length")
                    continue
                try:
                    # float() as always: number strings ("1.5") are read as numbers.
                    rings.append([float(value) for value in ring])
                except (TypeError, ValueError):
                    self.report.lose("ring", "a ring has a value that is not a number")
            if rings:
                if sum(shoelace_area(ring) for ring in rings) <= 0:
                    self.report.drop_empty("polygon")
                    return None
                return {"type": "polygon", "rings": rings}
        if has_keypoints:
            return None  # a box plus keypoints is one keypoints shape with its box
        if box_state == "missing":
            self.report.lose("shape", "the annotation has no segmentation and no box (a list of 4 numbers)")
            return None
        if box_state == "empty":
            self.report.drop_empty("bbox")
            return None
        if box_state == "clipped":
            self.report.clip("bbox")
        return {"type": "bbox", "bbox": box}

    def _mask(self, segmentation: dict[str, Any], item: dict[str, Any], box: list[float] | None) -> dict[str, Any] | None:
        """Return a mask geometry whose ``bbox`` is ``box`` (the annotation's), else the mask's extent."""
        try:
            rle = _compressed_rle(segmentation)
        except (TypeError, ValueError, UnicodeDecodeError):
            self.report.lose("mask", "the RLE is not readable")
            return None
        if rle["size"] != [item["height"], item["width"]]:
            self.report.lose("mask", "the mask size differs from the image size")
            return None
        c_rle = _to_c_rle(rle)
        if float(mask_utils.area(c_rle)) <= 0:
            self.report.drop_empty("mask")
            return None
        if box is None:
            box, _ = clip_bbox([float(value) for value in mask_utils.toBbox(c_rle)], item["width"], item["height"])
        shape: dict[str, Any] = {"type": "mask", "rle": rle}
        if box is not None:
            shape["bbox"] = box
        return shape


_BOX_LAYOUT = frozenset(("id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd"))
# What the importer reads of a category: a second category with the same id must repeat them.
_CATEGORY_FIELDS = ("name", "supercategory", "color", "keypoints", "skeleton")
# Writers that take a polygon's bbox from its rasterised mask (labelme2coco, COCO Annotator,
# pycocotools.mask.toBbox) give whole pixels, up to one pixel off the polygon's own extent.
_RASTER_TOLERANCE = 1.0 + 1e-6  # and the float noise of their arithmetic
_BOX_POLYGON = "a COCO polygon annotation's bbox that differs from its polygon's extent is not kept (a polygon shape has no box)"
_BOX_EMPTY = "a COCO annotation's bbox with no area inside the image is not kept"
_BOX_GROUP_MASK = "a COCO annotation has one box: a grouped mask's box that differs from its keypoints shape's box is not kept"
# COCO tasks this format does not read, as a file of each is described.
_OTHER_TASKS = {
    "captions": "a COCO captions file (its annotations have a 'caption' and no geometry)",
    "panoptic": "a COCO panoptic segmentation file (its annotations have 'segments_info' and a PNG 'file_name')",
    "image_info": "a COCO image_info file (an image list without annotations)",
    "labels": "a COCO image labels file (Datumaro's labels_<subset>.json)",
}


def _category_id(value: Any) -> int | None:
    """Return a category id as an int (``"3"`` is 3), or None when it is not an integer."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value


def _category_name(category_id: int, name: Any) -> str:
    """Return a category's name as the label's: ``category_<id>`` when it has none."""
    return str(name) if name not in (None, "") else f"category_{category_id}"


def _named_task(file: Path) -> str | None:
    """Return the COCO task a file's name says it holds when this format does not read it (``captions``...)."""
    match = _TASK_FILE.match(file.name)
    return match["task"] if match is not None and match["task"] not in _TASK_RANK else None


def _content_task(annotations: list[Any]) -> str | None:
    """Return the other COCO task (``captions``, ``panoptic``) whose annotations these are, by the first one."""
    first = annotations[0] if annotations else None
    if isinstance(first, dict):
        if "segments_info" in first:
            return "panoptic"
        # COCO's captions have no category_id; Datumaro writes category_id 0 beside the caption.
        if "caption" in first and not any(key in first for key in ("bbox", "segmentation", "keypoints")):
            return "captions"
    return None


def _other_task_error(file: Path, task: str) -> str:
    return f"{file}: {_OTHER_TASKS[task]}: another COCO task, not read (this format reads instances: boxes, polygons, masks, keypoints)"


def _check_task(file: Path, annotations: list[Any]) -> None:
    """Refuse a file whose annotations are another COCO task's.

    Raises:
        FormatError: they are captions or panoptic segments; the message names the file and the task.
    """
    task = _content_task(annotations)
    if task is not None:
        raise FormatError(_other_task_error(file, task))


def _file_box(value: Any, width: int, height: int) -> tuple[list[float] | None, str]:
    """Return an annotation's ``bbox`` inside the image and what became of it.

    Returns:
        ``(box, "kept")``, ``(box, "clipped")``, ``(None, "empty")`` when no area is left
        inside the image, or ``(None, "missing")`` when it is not a list of 4 numbers.
    """
    if not (type(value) is list and len(value) == 4 and all(type(number) is int or type(number) is float for number in value)):
        return None, "missing"
    box, clipped = clip_bbox(value, width, height)
    if box is None:
        return None, "empty"
    return box, "clipped" if clipped else "kept"


def _box_is_extent(box: list[float], rings: list[list[float]], item: dict[str, Any]) -> bool:
    """Tell whether a polygon annotation's ``box`` is its polygon's extent, both cut to the image, give or take a pixel."""
    extent, _ = clip_bbox(rings_bbox(rings), item["width"], item["height"])
    return extent is not None and _same_box(box, extent, tolerance=_RASTER_TOLERANCE)


def _same_box(one: list[float], two: list[float], tolerance: float = 0.01) -> bool:
    """Tell whether two ``[x, y, w, h]`` boxes differ by no more than ``tolerance`` pixels a number (default: rounding)."""
    return all(abs(a - b) <= tolerance for a, b in zip(one, two, strict=True))


def _used_ids(shapes: list[dict[str, Any]]) -> set[str]:
    """Return the ids of ``shapes``."""
    return {shape["id"] for shape in shapes}


def _plain_box(annotation: dict[str, Any], width: int, height: int, label: str, human: dict[str, str]) -> dict[str, Any] | None:
    """Return the shape of a plain box annotation, or None for the general path.

    Plain: an int id, a list of 4 numbers inside the image with an area, no segmentation (or
    ``[]``), no keypoints, no attributes, ``iscrowd`` 0 or missing. The shape is what
    ``_Reader._shapes`` makes of it, value for value: ``[x, y, w, h]`` as floats, as
    :func:`clip_bbox` returns an unclipped box; the file's own list when it holds floats.
    """
    if annotation.keys() == _BOX_LAYOUT:
        # The layout COCO writers use for a box: no keypoints or attributes to look for.
        annotation_id, bbox = annotation["id"], annotation["bbox"]
        segmentation, iscrowd = annotation["segmentation"], annotation["iscrowd"]
        others = False
    else:
        annotation_id, bbox = annotation.get("id"), annotation.get("bbox")
        segmentation, iscrowd = annotation.get("segmentation"), annotation.get("iscrowd")
        others = "keypoints" in annotation or bool(annotation.get("attributes"))
    if type(annotation_id) is not int or type(bbox) is not list or len(bbox) != 4:
        return None
    if (
        others
        or (segmentation is not None and segmentation != [])
        or (iscrowd is not None and iscrowd is not False and not (type(iscrowd) is int and iscrowd == 0))
    ):
        return None
    x, y, w, h = bbox
    floats = type(x) is float and type(y) is float and type(w) is float and type(h) is float
    if not floats:
        if not all(type(value) is int or type(value) is float for value in bbox):
            return None
        x, y, w, h = float(x), float(y), float(w), float(h)
    right, bottom = x + w, y + h
    # Inside the image with an area; anything else takes the general path, which clips or drops it.
    if not (x >= 0.0 and y >= 0.0 and x < right <= float(width) and y < bottom <= float(height)):
        return None
    if not floats:
        bbox = [x, y, w, h]
    shape_id = f"coco-{annotation_id}"
    if len(shape_id) > 64:
        return None
    return {"id": shape_id, "type": "bbox", "bbox": bbox, "label": label, "source": human}


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _keypoints(values: Any) -> list[float | int] | None:
    """Return COCO keypoint triplets with int visibility, or None when there are none."""
    if not isinstance(values, list) or not values or len(values) % 3:
        return None
    if not all(isinstance(value, int | float) for value in values):
        return None
    result: list[float | int] = []
    for index, value in enumerate(values):
        if index % 3 == 2:
            result.append(int(value) if int(value) in (0, 1, 2) else 0)
        else:
            result.append(float(value))
    if not any(result[index] for index in range(2, len(result), 3)):
        return None
    return result
