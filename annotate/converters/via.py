"""VGG Image Annotator (VIA 1.x and 2.x), both ways.

Spec: https://www.robots.ox.ac.uk/~vgg/software/via/ and the VIA 2 source
(https://gitlab.com/vgg/via, ``via-2.x.y/src/via.js``: ``project_save``,
``import_annotations_from_json``, ``import_annotations_from_csv``).

Read:

* a VIA 2 project JSON: ``{"_via_settings", "_via_img_metadata", "_via_attributes",
  "_via_image_id_list"?}``;
* the plain VIA 1/2 annotation JSON: a dict keyed ``filename + size`` whose values hold
  ``filename``, ``size``, ``file_attributes`` and ``regions`` (a dict keyed "0", "1", ...
  in VIA 1, a list in VIA 2);
* VIA CSV: ``#filename,file_size,file_attributes,region_count,region_id,
  region_shape_attributes,region_attributes``, one row per region (or one row with
  ``region_count`` 0 for an image without regions), JSON inside the cells.

A folder is read through its top-level VIA JSON files, or its VIA CSV files when it has no
VIA JSON (VIA exports the same annotations both ways; reading both would double them). A
``{"region": {...}, "file": {...}}`` attribute file beside them (VIA's attribute export)
declares the attributes like ``_via_attributes`` does. Written, with ``layout="project"``
(the default): ``via_project.json``, a VIA 2 project that VIA opens with "Project -> Load";
with ``layout="csv"`` (``ViaFormat().export_dataset(..., layout="csv")``):
``via_region_data.csv``, VIA 2's CSV ("Annotation -> Import Annotations (from csv)"), and
``via_attributes.json``, the ``_via_attributes`` of the project, as VIA's "Project -> Export
region/file attributes" writes it and "Import region/file attributes" reads it; plus the
images when the export was given any (at their item paths).

Coordinate rules. VIA stores canvas positions in image pixels with (0, 0) the top-left
corner of the top-left pixel, as the annotation schema does, so values are copied
unchanged. VIA itself writes integers but reads any number, so the export writes the
exact values (integral values as integers).

* ``rect`` ``x, y, width, height`` <-> ``bbox`` (clipped to the image);
* ``circle`` ``cx, cy, r`` -> ``ellipse`` with equal radii; ``ellipse`` ``cx, cy, rx, ry,
  theta`` (radians, clockwise on the y-down canvas) <-> ``ellipse`` with
  ``angle = degrees(theta)``; the export writes every ellipse as ``ellipse``;
* ``polygon`` ``all_points_x/y`` <-> one ring (vertices as stored, a repeated first vertex
  included); ``polyline`` <-> ``polyline``; ``point`` ``cx, cy`` <-> a one-point ``points``.

Labels. The label of a region is the value of its *label attribute*: the
``label_attribute`` given to :class:`ViaFormat`, else the first region attribute declared
in ``_via_attributes`` (or the attribute file), else the first region attribute name met
in the file (``name`` in VIA 1's own test files). Numbers become text (``"320"``); a
checkbox value (an object) gives its first true key. A region without a value for it gets
the label ``unlabeled`` (noted). Every other region attribute becomes a shape attribute
(text, number or boolean; objects are reported lost); ``occluded``, ``truncated``,
``difficult`` and ``iscrowd`` with boolean-like values become those shape flags. The export
writes the label as the region attribute ``label`` (a dropdown) unless ``label_attribute``
is given.

File attributes. A checkbox value (an object such as ``{"cat": true}``) gives one tag per
true key, and the label attribute's value gives a tag. ``image_width``, ``image_height``
and ``subset`` are our own: the export writes the item's size and subset there (VIA has no
size field), declared as text file attributes so VIA shows them. Every other file
attribute (captions, shot ids) has no place in the annotation schema (items have no
attributes) and is reported lost. The export writes tags as the checkbox ``tags``.

Sizes. VIA files hold no image size: it comes from ``image_width``/``image_height`` when
present, else from the image file; an item with neither is dropped and counted in the
report, with its regions.

Label list. A VIA 2 project lists the values a dropdown, radio or checkbox attribute
offers in its ``options`` (``{option id: description}``; a region stores the option id).
The export lists every shape label of the dataset, used or not and in the dataset's order,
as the options of the label attribute, and every tag label as the options of the ``tags``
checkbox. The import creates labels from those options first, in order and unused ones
included: the option ids of the label attribute (region) are shape labels, those of
checkbox file attributes and of a file attribute named like the label attribute are tag
labels, in the order of the ``region`` and ``file`` keys; labels used but not offered
follow in order of first use. The CSV layout holds the same list through its attribute
file. Without options (VIA 1 files, a CSV alone) labels follow their first use: those
files hold no other order. VIA keeps the region and file options apart, so an order that
mixes shape and tag labels cannot be kept: the export writes first whichever section keeps
more labels in place and counts the others (``label position``). VIA has no label ids
(the import numbers the labels 1, 2, ...; the export notes how many ids change), no label
colors and no per-label attribute specs, parents or skeletons: those are counted lost.

Lost, counted in the report: rotated boxes, keypoints, masks, polygon rings after the
first and points shapes with several points (a VIA point is one point) on export;
unknown region shapes on import. Like COCO, VIA does not record who made a shape, scores,
``group`` or ``z_order``: the export leaves them out and the import marks shapes as made by
a human. In the CSV layout an image is its file name and size, so a second item with the
same path (and no image written, or the same image size) would merge into the first: it
is left out and counted.

Rules of issue #3 this module follows: nothing is lost in silence (the report counts it,
``strict`` turns any loss into an error); exact coordinates; images without regions are
kept both ways; out-of-image boxes clipped and empty shapes dropped, both counted; malformed
JSON or CSV raises :class:`FormatError` naming the file and the line or the field; paths
never leave the dataset folder.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from annotate.converters._common import SHAPE_FLAGS, LabelSet, image_size, labels_apart, new_item, report_label_list, write_image
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN, clip_bbox, normalize_relative_path, parse_bool, shoelace_area, unique_name
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

PROJECT_FILE = "via_project.json"
CSV_FILE = "via_region_data.csv"
ATTRIBUTES_FILE = "via_attributes.json"
LAYOUTS = ("project", "csv")
DEFAULT_LABEL_ATTRIBUTE = "label"
UNLABELED = "unlabeled"
TAGS_ATTRIBUTE = "tags"
WIDTH_ATTRIBUTE, HEIGHT_ATTRIBUTE, SUBSET_ATTRIBUTE = "image_width", "image_height", "subset"
CSV_HEADER = ["filename", "file_size", "file_attributes", "region_count", "region_id", "region_shape_attributes", "region_attributes"]
VIA_VERSION = "2.0.12"
_EXPORT_LOST = {
    "rotated_bbox": "VIA has no rotated rectangles",
    "keypoints": "VIA has no keypoints",
    "mask": "VIA has no masks",
}


@register_format("via")
class ViaFormat(DatasetFormat):
    """VGG Image Annotator: VIA 2 project JSON, VIA 1/2 annotation JSON and VIA CSV.

    Args:
        label_attribute: the region attribute that holds the label; None chooses as the
            module docstring says.
    """

    description = "VGG Image Annotator (VIA 1/2 JSON, VIA 2 project, VIA CSV)"

    def __init__(self, label_attribute: str | None = None) -> None:
        self.label_attribute = label_attribute

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        for file in _candidate_files(Path(path)):
            if file.suffix.lower() == ".csv":
                if _is_via_csv(file):
                    return True
                continue
            try:
                doc = json.loads(file.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if _metadata(doc) is not None:
                return True
        return False

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        src = Path(src)
        root = src.parent if src.is_file() else src
        entries: list[tuple[Path, dict[str, Any]]] = []
        declared: list[str] = []
        attribute_sets: list[dict[str, Any]] = []
        found = False
        for file in _candidate_files(src):
            if file.suffix.lower() == ".csv":
                continue
            doc = _load_json(file)
            metadata = _metadata(doc)
            if metadata is not None:
                found = True
                entries += [(file, entry) for entry in metadata]
                attributes = doc.get("_via_attributes") if isinstance(doc.get("_via_attributes"), dict) else {}
                declared += list(attributes.get("region") or {})
                attribute_sets.append(attributes)
            elif _is_attribute_file(doc):
                declared += list(doc["region"])
                attribute_sets.append(doc)
            elif src.is_file():
                raise FormatError(f"{file}: not a VIA file (no _via_img_metadata and no 'filename'/'regions' entries)")
        if not found:
            for file in _candidate_files(src):
                if file.suffix.lower() == ".csv" and (src.is_file() or _is_via_csv(file)):
                    found = True
                    entries += [(file, entry) for entry in _read_csv(file)]
        if not found:
            raise FormatError(f"{src}: no VIA JSON or CSV file")
        label_attribute = self.label_attribute or (declared[0] if declared else _first_region_attribute(entries))
        reader = _Reader(root, report, label_attribute)
        for file, entry in entries:
            reader.entry(file, entry)
        for name, kind in _offered_labels(attribute_sets, label_attribute).items():
            reader.labels.declare(name, kind)
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
        layout: str = "project",
    ) -> None:
        """Write the dataset as a VIA 2 project or as VIA CSV.

        Args:
            dataset: as for :meth:`DatasetFormat.write`.
            writer: as for :meth:`DatasetFormat.write`.
            images: as for :meth:`DatasetFormat.write`.
            report: as for :meth:`DatasetFormat.write`.
            layout: ``"project"`` (``via_project.json``) or ``"csv"`` (``via_region_data.csv``
                and ``via_attributes.json``).

        Raises:
            ValueError: ``layout`` is neither.
        """
        if layout not in LAYOUTS:
            raise ValueError(f"unknown VIA layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
        label_attribute = self.label_attribute or DEFAULT_LABEL_ATTRIBUTE
        metadata: dict[str, Any] = {}
        region_attributes: dict[str, str] = {}
        csv_keys: set[tuple[str, int]] = set()
        for item in dataset["items"]:
            size = -1  # VIA's "unknown size", as for remote files
            path = item["path"]
            if images is not None:
                image = images(item)
                if image is None:
                    report.note(f"no image for item {item['id']!r}; annotations only")
                else:
                    path = write_image(writer, item, lambda _item, image=image: image, report)
                    size = len(image[0])
            if layout == "csv" and (path, size) in csv_keys:
                # Only without an image written: written images get paths of their own.
                report.lose("item", "VIA CSV names an image by file name and size, and another item has the same ones")
                reason = "its item is left out of the VIA CSV (same file name and size as another)"
                for kind in ("shapes", "tags"):
                    if item["annotation"][kind]:
                        report.lose(kind[:-1], reason, len(item["annotation"][kind]))
                continue
            csv_keys.add((path, size))
            regions = []
            for shape in item["annotation"]["shapes"]:
                region = _shape_region(shape, item, label_attribute, report, region_attributes)
                if region is not None:
                    regions.append(region)
            file_attributes: dict[str, Any] = {WIDTH_ATTRIBUTE: str(item["width"]), HEIGHT_ATTRIBUTE: str(item["height"])}
            if item.get("subset"):
                file_attributes[SUBSET_ATTRIBUTE] = item["subset"]
            tags = {}
            for tag in item["annotation"]["tags"]:
                tags[tag["label"]] = True
                if tag.get("attributes"):
                    report.lose("attribute", "VIA file attributes have no per-tag attributes", len(tag["attributes"]))
            if tags:
                file_attributes[TAGS_ATTRIBUTE] = tags
            key = unique_name(f"{path}{size}", set(metadata))
            metadata[key] = {"filename": path, "size": size, "regions": regions, "file_attributes": file_attributes}
        attributes = _attributes(label_attribute, dataset["labels"], region_attributes, report)
        if layout == "csv":
            writer.write_text(CSV_FILE, _csv_text(metadata.values()))
            writer.write_text(ATTRIBUTES_FILE, json.dumps(attributes, ensure_ascii=False, indent=1) + "\n")
            return
        document = {
            "_via_settings": _settings(label_attribute),
            "_via_img_metadata": metadata,
            "_via_attributes": attributes,
            "_via_data_format_version": VIA_VERSION,
            "_via_image_id_list": list(metadata),
        }
        writer.write_text(PROJECT_FILE, json.dumps(document, ensure_ascii=False, indent=1) + "\n")

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        src = Path(src)
        root = src.parent if src.is_file() else src
        candidate = root / item["path"]
        return candidate if candidate.is_file() else None


# -- export ---------------------------------------------------------------------------


def _number(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value


def _shape_region(
    shape: dict[str, Any], item: dict[str, Any], label_attribute: str, report: ConversionReport, declared: dict[str, str]
) -> dict[str, Any] | None:
    kind = shape["type"]
    if kind in _EXPORT_LOST:
        report.lose(kind, _EXPORT_LOST[kind])
        return None
    if kind == "bbox":
        bbox, clipped = clip_bbox(shape["bbox"], item["width"], item["height"])
        if bbox is None:
            report.drop_empty(kind)
            return None
        if clipped:
            report.clip(kind)
        x, y, w, h = (_number(value) for value in bbox)
        geometry: dict[str, Any] = {"name": "rect", "x": x, "y": y, "width": w, "height": h}
    elif kind == "polygon":
        if len(shape["rings"]) > 1:
            report.lose("ring", "VIA polygons have one ring", len(shape["rings"]) - 1)
        ring = shape["rings"][0]
        geometry = {"name": "polygon", "all_points_x": [_number(v) for v in ring[0::2]], "all_points_y": [_number(v) for v in ring[1::2]]}
    elif kind == "polyline":
        points = shape["points"]
        geometry = {
            "name": "polyline",
            "all_points_x": [_number(v) for v in points[0::2]],
            "all_points_y": [_number(v) for v in points[1::2]],
        }
    elif kind == "points":
        if len(shape["points"]) > 2:
            report.lose("points", "a VIA point holds one point")
            return None
        geometry = {"name": "point", "cx": _number(shape["points"][0]), "cy": _number(shape["points"][1])}
    else:  # ellipse
        cx, cy = (_number(v) for v in shape["center"])
        rx, ry = (_number(v) for v in shape["radii"])
        geometry = {"name": "ellipse", "cx": cx, "cy": cy, "rx": rx, "ry": ry, "theta": math.radians(float(shape.get("angle", 0.0)))}
    attributes: dict[str, Any] = {label_attribute: shape["label"]}
    for name, value in shape.get("attributes", {}).items():
        if name == label_attribute:
            report.lose("attribute", f"the attribute {name!r} has the name of VIA's label attribute")
            continue
        attributes[name] = value
        declared.setdefault(name, "checkbox" if isinstance(value, bool) else "text")
    for flag in SHAPE_FLAGS:
        if shape.get(flag):
            attributes[flag] = True
            declared.setdefault(flag, "checkbox")
    return {"shape_attributes": geometry, "region_attributes": attributes}


def _settings(label_attribute: str) -> dict[str, Any]:
    # VIA 2's own defaults; the project loader reads every one of these keys.
    return {
        "ui": {
            "annotation_editor_height": 25,
            "annotation_editor_fontsize": 0.8,
            "leftsidebar_width": 18,
            "image_grid": {
                "img_height": 80,
                "rshape_fill": "none",
                "rshape_fill_opacity": 0.3,
                "rshape_stroke": "yellow",
                "rshape_stroke_width": 2,
                "show_region_shape": True,
                "show_image_policy": "all",
            },
            "image": {
                "region_label": label_attribute,
                "region_color": "__via_default_region_color__",
                "region_label_font": "10px Sans",
                "on_image_annotation_editor_placement": "NEAR_REGION",
            },
        },
        "core": {"buffer_size": 18, "filepath": {}, "default_filepath": ""},
        "project": {"name": "annotate"},
    }


def _attributes(label_attribute: str, labels: list[dict[str, Any]], region: dict[str, str], report: ConversionReport) -> dict[str, Any]:
    """Return ``_via_attributes``: every label as an option, in the dataset's order as far as VIA allows.

    Args:
        label_attribute: the region attribute that holds the label.
        labels: the dataset's labels.
        region: the other region attributes written, ``{name: "text" | "checkbox"}``.
        report: counts what VIA cannot hold and notes changed label ids.

    Returns:
        ``{"region": {...}, "file": {...}}``, or ``{"file", "region"}`` when the tag labels
        keep more labels in place by coming first.
    """
    order, tags_first = labels_apart(
        labels, report, "VIA offers shape labels (region options) and tag labels (file options) apart: an order mixing them is not kept"
    )
    report_label_list(labels, [label["name"] for label in order], report, "VIA", numbered_by="option order")
    shapes = [label for label in labels if label["kind"] == "shape"]
    tags = [label for label in labels if label["kind"] == "tag"]
    regions: dict[str, Any] = {
        label_attribute: {
            "type": "dropdown",
            "description": "the label",
            "options": {label["name"]: label["name"] for label in shapes},
            "default_options": {},
        }
    }
    for name, kind in region.items():
        regions[name] = {"type": "text", "description": "", "default_value": ""} if kind == "text" else _checkbox([name])
    files: dict[str, Any] = {
        WIDTH_ATTRIBUTE: {"type": "text", "description": "image width in pixels", "default_value": ""},
        HEIGHT_ATTRIBUTE: {"type": "text", "description": "image height in pixels", "default_value": ""},
        SUBSET_ATTRIBUTE: {"type": "text", "description": "subset", "default_value": ""},
    }
    if tags:
        files[TAGS_ATTRIBUTE] = _checkbox([label["name"] for label in tags])
    return {"file": files, "region": regions} if tags_first else {"region": regions, "file": files}


def _csv_text(entries: Any) -> str:
    """VIA 2's CSV: one row per region, one row with ``region_count`` 0 for an image without any."""
    lines = [",".join(CSV_HEADER)]
    for entry in entries:
        prefix = f"{_csv_cell(entry['filename'])},{entry['size']},{_csv_json_cell(entry['file_attributes'])}"
        regions = entry["regions"]
        if not regions:
            lines.append(f'{prefix},0,0,"{{}}","{{}}"')
        for index, region in enumerate(regions):
            shape, attributes = _csv_json_cell(region["shape_attributes"]), _csv_json_cell(region["region_attributes"])
            lines.append(f"{prefix},{len(regions)},{index},{shape},{attributes}")
    return "\n".join(lines) + "\n"


def _csv_cell(text: str) -> str:
    # VIA writes the file name bare; quote it only where CSV needs it.
    return '"' + text.replace('"', '""') + '"' if any(char in text for char in ',"\r\n') else text


def _csv_json_cell(value: dict[str, Any]) -> str:
    # As VIA writes it: compact JSON, always quoted, quotes doubled.
    return '"' + json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace('"', '""') + '"'


def _checkbox(options: list[str]) -> dict[str, Any]:
    return {"type": "checkbox", "description": "", "options": {option: option for option in options}, "default_options": {}}


# -- import ---------------------------------------------------------------------------


def _candidate_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(file for file in path.iterdir() if file.is_file() and file.suffix.lower() in (".json", ".csv"))


def _load_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{file}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{file}: not a readable JSON file: {exc}") from exc


def _metadata(doc: Any) -> list[dict[str, Any]] | None:
    """The image entries of a VIA JSON document in order, or None when it is not VIA."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("_via_img_metadata"), dict):
        metadata = doc["_via_img_metadata"]
        order = doc.get("_via_image_id_list")
        keys = [key for key in order if key in metadata] if isinstance(order, list) else list(metadata)
        keys += [key for key in metadata if key not in set(keys)]
        return [metadata[key] for key in keys]
    if doc and all(isinstance(entry, dict) and "filename" in entry and "regions" in entry for entry in doc.values()):
        return list(doc.values())
    return None


def _is_attribute_file(doc: Any) -> bool:
    return isinstance(doc, dict) and set(doc) == {"region", "file"} and isinstance(doc["region"], dict)


def _is_via_csv(file: Path) -> bool:
    try:
        with file.open(encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return first.strip().lstrip("\ufeff").lstrip("#").split(",")[:3] == CSV_HEADER[:3]


def _read_csv(file: Path) -> list[dict[str, Any]]:
    """Group the rows of a VIA CSV into entries shaped like the JSON ones (regions as a list)."""
    try:
        text = file.read_text("utf-8").lstrip("\ufeff")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{file}: not a readable CSV file: {exc}") from exc
    reader = csv.reader(io.StringIO(text))
    entries: dict[str, dict[str, Any]] = {}
    try:
        header = next(reader, None)
        if header is None or [cell.lstrip("#").strip() for cell in header] != CSV_HEADER:
            raise FormatError(f"{file}: line 1: not a VIA CSV header (#{','.join(CSV_HEADER)})")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(CSV_HEADER):
                raise FormatError(f"{file}: line {line}: expected {len(CSV_HEADER)} columns, found {len(row)}")
            filename, size, file_attributes, _count, _region_id, shape_text, region_text = row
            entry = entries.setdefault(
                filename + size,
                {
                    "filename": filename,
                    "size": size,
                    "file_attributes": _csv_json(file, line, "file_attributes", file_attributes),
                    "regions": [],
                },
            )
            shape_attributes = _csv_json(file, line, "region_shape_attributes", shape_text)
            if shape_attributes:
                entry["regions"].append(
                    {"shape_attributes": shape_attributes, "region_attributes": _csv_json(file, line, "region_attributes", region_text)}
                )
    except csv.Error as exc:
        raise FormatError(f"{file}: line {reader.line_num}: not valid CSV: {exc}") from exc
    return list(entries.values())


def _csv_json(file: Path, line: int, column: str, text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{file}: line {line}: column {column} is not valid JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise FormatError(f"{file}: line {line}: column {column} is not a JSON object")
    return value


def _regions(entry: dict[str, Any]) -> list[Any]:
    regions = entry.get("regions")
    if isinstance(regions, dict):
        return list(regions.values())
    return regions if isinstance(regions, list) else []


def _first_region_attribute(entries: list[tuple[Path, dict[str, Any]]]) -> str:
    for _, entry in entries:
        for region in _regions(entry):
            attributes = region.get("region_attributes") if isinstance(region, dict) else None
            if isinstance(attributes, dict) and attributes:
                return str(next(iter(attributes)))
    return DEFAULT_LABEL_ATTRIBUTE


def _offered_labels(attribute_sets: list[dict[str, Any]], label_attribute: str) -> dict[str, str]:
    """The labels the attribute declarations offer, in order: ``{name: kind}``.

    The option ids of the label attribute (region) are shape labels; those of checkbox file
    attributes and of a file attribute named like the label attribute are tag labels (the
    values the import reads as tags). ``region`` and ``file`` are read in the order of
    their keys; the first mention of a name decides its kind.
    """
    offered: dict[str, dict[str, Any]] = {}
    for attributes in attribute_sets:
        for section, specs in attributes.items():
            if section not in ("region", "file") or not isinstance(specs, dict):
                continue
            for name, spec in specs.items():
                if not isinstance(spec, dict) or not isinstance(spec.get("options"), dict):
                    continue
                if section == "region" and name != label_attribute:
                    continue
                if section == "file" and name != label_attribute and spec.get("type") != "checkbox":
                    continue
                kind = "shape" if section == "region" else "tag"
                for option in spec["options"]:
                    if option and option not in offered:
                        offered[option] = kind
    return offered


def _label_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(_number(value))
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, dict):
        return next((str(key) for key, on in value.items() if on is True or on == "true"), None)
    return None


def _item_path(filename: str) -> str:
    parsed = urlparse(filename)
    if parsed.scheme in ("http", "https", "file"):
        filename = parsed.path
    return normalize_relative_path(filename)


class _Reader:
    """Collects labels and items from VIA image entries."""

    def __init__(self, root: Path, report: ConversionReport, label_attribute: str) -> None:
        self.root = root
        self.report = report
        self.label_attribute = label_attribute
        self.labels = LabelSet()
        self.items: list[dict[str, Any]] = []
        self.item_ids: set[str] = set()
        self.unlabeled = 0

    def dataset(self) -> dict[str, Any]:
        if self.unlabeled:
            self.report.note(f"regions without a {self.label_attribute!r} attribute, labelled {UNLABELED!r}: {self.unlabeled}")
        return {"version": 1, "labels": self.labels.as_list(), "items": self.items}

    def entry(self, file: Path, entry: Any) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str) or not entry["filename"]:
            raise FormatError(f"{file}: an image entry has no 'filename'")
        where = f"{file}: {entry['filename']!r}"
        regions = _regions(entry)
        file_attributes = entry.get("file_attributes") or {}
        if not isinstance(file_attributes, dict):
            raise FormatError(f"{where}: field 'file_attributes' is not an object")
        path = _item_path(entry["filename"])
        size = self._size(file_attributes, path, where)
        if size is None:
            self.report.lose("item", "VIA stores no image size and the image file is missing")
            if regions:
                self.report.lose("shape", "its item has no image size (VIA stores none and the image file is missing)", len(regions))
            return
        subset = file_attributes.get(SUBSET_ATTRIBUTE)
        item = new_item(unique_name(path, self.item_ids), path, size[0], size[1], subset if isinstance(subset, str) and subset else None)
        self._file_attributes(file_attributes, item)
        for index, region in enumerate(regions):
            shape = self._shape(region, index, item, where)
            if shape is not None:
                item["annotation"]["shapes"].append(shape)
        self.items.append(item)

    def _size(self, file_attributes: dict[str, Any], path: str, where: str) -> tuple[int, int] | None:
        width, height = (self._size_attribute(file_attributes, name, where) for name in (WIDTH_ATTRIBUTE, HEIGHT_ATTRIBUTE))
        if width and height:
            return width, height
        return image_size(self.root / path)

    @staticmethod
    def _size_attribute(file_attributes: dict[str, Any], name: str, where: str) -> int | None:
        """Read ``image_width`` or ``image_height``: None when absent or empty (VIA's default value).

        Raises:
            FormatError: the value is something else than a whole number of pixels >= 1.
        """
        value = file_attributes.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number = _positive_int(value)
        if number is None:
            raise FormatError(f"{where}: file attribute {name!r} {value!r} is not a whole number of pixels >= 1")
        return number

    def _file_attributes(self, attributes: dict[str, Any], item: dict[str, Any]) -> None:
        tags = item["annotation"]["tags"]
        names: list[str] = []
        for name, value in attributes.items():
            if name in (WIDTH_ATTRIBUTE, HEIGHT_ATTRIBUTE, SUBSET_ATTRIBUTE):
                continue
            if isinstance(value, dict):
                names += [str(key) for key, on in value.items() if on is True or on == "true"]
            elif name == self.label_attribute and _label_text(value) is not None:
                names.append(_label_text(value))
            elif value not in ("", None):
                self.report.lose(
                    "attribute", f"VIA file attribute {name!r} has no place in the annotation schema (items have no attributes)"
                )
        for label in names:
            if label and label not in {tag["label"] for tag in tags}:
                tags.append({"id": f"tag-{len(tags) + 1}", "label": self.labels.use(label, "tag"), "source": dict(HUMAN)})

    def _shape(self, region: Any, index: int, item: dict[str, Any], where: str) -> dict[str, Any] | None:
        field = f"regions[{index}]"
        if not isinstance(region, dict) or not isinstance(region.get("shape_attributes"), dict):
            raise FormatError(f"{where}: field {field}.shape_attributes is not an object")
        attributes = region.get("region_attributes") or {}
        if not isinstance(attributes, dict):
            raise FormatError(f"{where}: field {field}.region_attributes is not an object")
        try:
            geometry = self._geometry(region["shape_attributes"], item)
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{where}: field {field}.shape_attributes has no valid coordinates: {exc}") from exc
        if geometry is None:
            return None
        label = _label_text(attributes.get(self.label_attribute))
        if label is None:
            self.unlabeled += 1
            label = UNLABELED
        used = {shape["id"] for shape in item["annotation"]["shapes"]}
        shape: dict[str, Any] = {
            "id": unique_name(f"via-{index}", used),
            **geometry,
            "label": self.labels.use(label),
            "source": dict(HUMAN),
        }
        kept: dict[str, Any] = {}
        for name, value in attributes.items():
            if name == self.label_attribute:
                continue
            if name in SHAPE_FLAGS and parse_bool(value) is not None:
                if parse_bool(value):
                    shape[name] = True
            elif isinstance(value, str | int | float | bool):
                kept[str(name)] = value
            else:
                self.report.lose("attribute", "VIA checkbox attribute values (objects) have no single value")
        if kept:
            shape["attributes"] = kept
        return shape

    def _geometry(self, shape: dict[str, Any], item: dict[str, Any]) -> dict[str, Any] | None:
        name = shape.get("name")
        if name == "rect":
            bbox = [_coordinate(shape[key]) for key in ("x", "y", "width", "height")]
            clipped_box, clipped = clip_bbox(bbox, item["width"], item["height"])
            if clipped_box is None:
                self.report.drop_empty("bbox")
                return None
            if clipped:
                self.report.clip("bbox")
            return {"type": "bbox", "bbox": clipped_box}
        if name in ("circle", "ellipse"):
            center = [_coordinate(shape["cx"]), _coordinate(shape["cy"])]
            radii = [_coordinate(shape["r"])] * 2 if name == "circle" else [_coordinate(shape["rx"]), _coordinate(shape["ry"])]
            if min(radii) <= 0:
                self.report.drop_empty("ellipse")
                return None
            geometry: dict[str, Any] = {"type": "ellipse", "center": center, "radii": radii}
            theta = _coordinate(shape.get("theta", 0))
            if theta:
                geometry["angle"] = math.degrees(theta)
            return geometry
        if name in ("polygon", "polyline"):
            xs, ys = shape["all_points_x"], shape["all_points_y"]
            if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
                raise ValueError("all_points_x and all_points_y differ in length")
            flat = [_coordinate(value) for pair in zip(xs, ys, strict=True) for value in pair]
            if name == "polyline":
                if len(flat) < 4:
                    self.report.lose("polyline", "a VIA polyline has fewer than 2 points")
                    return None
                return {"type": "polyline", "points": flat}
            if len(flat) < 6:
                self.report.lose("polygon", "a VIA polygon has fewer than 3 points")
                return None
            if shoelace_area(flat) <= 0:
                self.report.drop_empty("polygon")
                return None
            return {"type": "polygon", "rings": [flat]}
        if name == "point":
            return {"type": "points", "points": [_coordinate(shape["cx"]), _coordinate(shape["cy"])]}
        self.report.lose("shape", f"VIA region shape {name!r} is not known")
        return None


def _coordinate(value: Any) -> float:
    if isinstance(value, str):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _positive_int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
