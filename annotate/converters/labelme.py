"""LabelMe JSON (wkentaro/labelme, the desktop tool), both ways.

Spec: there is no written spec; the format is what https://github.com/wkentaro/labelme
reads and writes (``labelme/label_file.py`` and ``labelme/utils/shape.py``), versions 4.x
and 5.x. This is *not* the MIT LabelMe XML of the old web tool.

Layout: one ``.json`` beside each image. Read: every ``*.json`` under the folder (or the one
file given) whose top level has a ``shapes`` list. Written::

    labels.txt                       the label list (see Labels)
    <item folder>/<stem>.json        one per item; <item path>.json when two items share a stem
    <item path>                      the image, when the export was given images

Keys: ``version``, ``flags`` (image-level booleans), ``shapes`` (each with ``label``,
``points`` as ``[[x, y], ...]``, ``shape_type``, ``group_id``, ``flags``, ``description``
and, for masks, ``mask``), ``imagePath`` (relative to the json), ``imageData`` (base64 image
or null), ``imageHeight``, ``imageWidth``.

Coordinate rules. LabelMe stores the mouse position in the image's own continuous
coordinates (Qt): (0, 0) is the top-left corner of the top-left pixel, as in the annotation
schema, so points are copied unchanged.

* ``rectangle``: two opposite corners in any order (some writers give four) -> ``bbox``
  ``[min x, min y, max x - min x, max y - min y]``, clipped to the image; written as
  ``[[x, y], [x + w, y + h]]``.
* ``circle``: the center and one point on the circle -> ``ellipse`` with both radii equal to
  their distance; written as the center and ``(cx + r, cy)``. An ellipse with unequal radii
  or an angle that matters has no LabelMe form and is lost.
* ``polygon`` -> one ring; ``line`` and ``linestrip`` -> ``polyline`` (written as ``line``
  for two points, ``linestrip`` otherwise); ``point`` -> ``points``.
* ``mask`` (5.x): ``mask`` is a base64 PNG covering the pixels ``floor(x1)..floor(x2)``
  and ``floor(y1)..floor(y2)`` of the two ``points`` (inclusive, as labelme's
  ``shapes_to_label`` pastes it); it becomes a whole-image COCO RLE (pycocotools). On export
  the PNG is cropped to the mask's pixel extent, values 0/1.
* ``group_id`` <-> ``group``. Shape ``flags`` named ``occluded``, ``truncated``, ``difficult``
  or ``iscrowd`` <-> those shape flags; other shape ``flags`` <-> boolean attributes; a
  non-empty ``description`` <-> the text attribute ``description``. Other attributes (text
  or numbers) have no LabelMe place and are reported lost.
* Image ``flags``: every key becomes a label of kind ``tag``; the keys that are true become
  tags. On export every tag label is written as a flag, true where the item has the tag.

Items and sizes. The item path is the json's folder (relative to the dataset folder) joined
with ``imagePath``. When ``imagePath`` names a json (``tutorial_embedded_imagedata`` names
itself) or is empty, the image is the embedded ``imageData``: the path becomes
``<json stem><its type's extension>``. An ``imagePath`` that leaves the dataset folder
(``../x.jpg``, absolute) is not followed: the item keeps only the file name and the report
says so. The size is ``imageWidth``/``imageHeight``, else the size of ``imageData``, else of
the image file; a file with none of them is reported and skipped. LabelMe has no subsets:
the export writes the item's subset as an extra top-level ``subset`` key (labelme keeps
unknown keys when it saves) and the import reads it back.

What is lost, counted in the report: rotated boxes, keypoints, ellipses with unequal radii
and non-boolean attributes. Polygons with several rings become one LabelMe polygon per ring,
and points shapes with several points one ``point`` per point, joined by a ``group_id``
(noted in the report). LabelMe does not record who made a shape (``source``, ``author``,
``updated_at``), scores or tag attributes; imported shapes are marked as made by a human.
``z_order`` is written as the order of the shapes. The label ``__ignore__`` (labelme's
"ignore this region" convention) is kept as an ordinary label and noted in the report.

Labels. A LabelMe json has no label list; the list lives beside the files as
``labels.txt``, one label per line, the file that labelme's ``--labels`` option and its
``labelme2voc.py``/``labelme2coco.py`` examples read. Its first two lines are special:
``__ignore__`` (class id -1, "ignore this region") and ``_background_`` (class id 0);
``labelme2voc.py`` insists on them. The export writes those two lines, then every label of
the dataset, used or not, shape and tag labels alike, in the dataset's order. The import
reads ``labels.txt`` from the folder given (for a single json, from its folder; a
``labels.txt`` above it, as in labelme's examples where it sits beside
``data_annotated/``, is not read: give that folder) and creates its labels first, in
order, unused ones included. Blank lines are skipped, and so are ``__ignore__`` and
``_background_`` lines unless a shape or flag uses that name: they are labelme conventions,
labels of the dataset only when used, and then they keep their listed place. A listed
label takes the kind of its first use (``tag`` when that is an image flag; every file
written lists every tag label among its flags); an unused one is a shape label. Labels not
listed follow in order of first use, files read in path order. Without ``labels.txt`` the
import reads as if it held labelme's two special lines only: a used ``__ignore__``, then a
used ``_background_``, come first, the other labels follow first use; that is not a loss.
A label that ``labels.txt`` cannot list in place (named ``__ignore__`` or ``_background_``
anywhere but first, or with a line break, or with spaces at either end, which labelme
strips) comes back only where a written shape or flag uses it: the export counts those it
drops (``label``) and the labels that would come back elsewhere (``label position``). LabelMe has
no label ids (the import numbers the labels 1, 2, ...; the export notes how many ids
change), no label colors and no per-label attribute specs, parents or skeletons: those are
counted lost.

Rules of issue #3 this module follows: nothing is lost in silence (the report counts it,
``strict`` turns any loss into an error); exact coordinates; images without annotations are
kept both ways; shapes outside the image are clipped and those with no area left dropped,
both counted; malformed JSON raises :class:`FormatError` naming the file and the line or the
field; paths never leave the dataset folder.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import posixpath
from pathlib import Path, PurePosixPath
from typing import Any

from annotate.converters._common import (
    SHAPE_FLAGS,
    LabelSet,
    decode_mask,
    encode_mask,
    image_bytes_size,
    image_size,
    new_item,
    report_label_list,
    write_image,
)
from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN, clip_bbox, is_safe_relative_path, rings_bbox, shoelace_area, unique_name
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

np = lazy_module("numpy")
Image = lazy_module("PIL.Image")

LABELME_VERSION = "5.7.0"
IGNORE_LABEL = "__ignore__"
BACKGROUND_LABEL = "_background_"
# labelme's two special first lines of labels.txt, in their order.
SPECIAL_LABELS = (IGNORE_LABEL, BACKGROUND_LABEL)
LABELS_FILE = "labels.txt"
_DETECT_LIMIT = 20
_LOST = {
    "rotated_bbox": "LabelMe has no rotated rectangles",
    "keypoints": "LabelMe has no keypoints",
}


@register_format("labelme")
class LabelMeFormat(DatasetFormat):
    """wkentaro LabelMe JSON: one json per image (rectangles, polygons, circles, lines, points, masks, flags)."""

    description = "LabelMe JSON (wkentaro/labelme), one .json per image"
    holds_group = True

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        for checked, file in enumerate(_json_files(Path(path))):
            if checked >= _DETECT_LIMIT:
                return False
            try:
                doc = json.loads(file.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if _is_labelme(doc):
                return True
        return False

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`.

        Every ``*.json`` under ``src`` is read; JSON files without a ``shapes`` list are not
        LabelMe files and are skipped, but a file that is not valid JSON raises.
        """
        report = report if report is not None else ConversionReport()
        src = Path(src)
        root = src.parent if src.is_file() else src
        reader = _Reader(root, report)
        for file in _json_files(src):
            reader.read_file(file)
        if not reader.files:
            raise FormatError(f"{src}: no LabelMe JSON file (a .json with a 'shapes' list)")
        labels_file = root / LABELS_FILE
        for name in read_labels_file(labels_file) if labels_file.is_file() else SPECIAL_LABELS:
            # A special line is a label of the dataset only when something uses it.
            if name not in SPECIAL_LABELS or name in reader.labels.labels:
                reader.labels.declare(name)
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
        tag_names = [label["name"] for label in dataset["labels"] if label["kind"] == "tag"]
        for item in dataset["items"]:
            for tag in item["annotation"]["tags"]:
                if tag["label"] not in tag_names:
                    tag_names.append(tag["label"])
        used_json: set[str] = set()
        split = {"ring": 0, "points": 0}
        # The labels each json names, in the order an import meets them: flags, then shapes.
        named: list[tuple[PurePosixPath, list[str]]] = []
        for item in dataset["items"]:
            image_path = write_image(writer, item, images, report)
            json_path = _json_path_for(item["path"], used_json)
            document = _item_document(item, PurePosixPath(image_path).name, tag_names, report, split)
            writer.write_text(json_path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
            named.append((PurePosixPath(json_path), [*document["flags"], *(shape["label"] for shape in document["shapes"])]))
        listed = [label["name"] for label in dataset["labels"] if _listable(label["name"])]
        writer.write_text(LABELS_FILE, "\n".join([*SPECIAL_LABELS, *listed]) + "\n")
        _report_labels(dataset["labels"], listed, named, report)
        if split["ring"]:
            report.note(f"{split['ring']} polygons with several rings were written as one LabelMe polygon per ring, joined by group_id")
        if split["points"]:
            report.note(f"{split['points']} points shapes with several points were written as one LabelMe point each, joined by group_id")

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`.

        An image held only as ``imageData`` inside the json has no file: None.
        """
        src = Path(src)
        root = src.parent if src.is_file() else src
        candidate = root / item["path"]
        return candidate if candidate.is_file() else None


# -- export ---------------------------------------------------------------------------


_LIST_LIMITS = "labelme strips each line and reads __ignore__ and _background_ as its two special first lines"


def _listable(name: str) -> bool:
    """Whether ``labels.txt`` can list the label after its special lines: labelme strips each line."""
    return name not in SPECIAL_LABELS and name == name.strip() and name.splitlines() == [name]


def _report_labels(
    labels: list[dict[str, Any]], listed: list[str], named: list[tuple[PurePosixPath, list[str]]], report: ConversionReport
) -> None:
    """Count what ``labels.txt`` loses: labels it cannot list, their places, and what no LabelMe file holds.

    The import order is rebuilt as the import makes it: the special labels some json uses,
    the listed labels, then the others in order of first use, the json files read in path order.
    """
    used = {name for _path, names in named for name in names}
    order = dict.fromkeys(name for name in SPECIAL_LABELS if name in used)
    order.update(dict.fromkeys(listed))
    for _path, names in sorted(named, key=lambda entry: entry[0]):
        order.update((name, None) for name in names if name not in order)
    dropped = [label for label in labels if label["name"] not in order]
    if dropped:
        report.lose("label", f"labels.txt cannot list it ({_LIST_LIMITS}) and nothing uses it", len(dropped))
    kept = [label["name"] for label in labels if label["name"] in order]
    out_of_place = sum(a != b for a, b in zip(kept, order, strict=True))
    if out_of_place:
        report.lose(
            "label position",
            f"labels.txt cannot list every label in place ({_LIST_LIMITS}): those come back first, the unlisted ones last",
            out_of_place,
        )
    report_label_list(labels, list(order), report, "LabelMe", numbered_by="labels.txt order")


def _json_path_for(path: str, used: set[str]) -> str:
    """``a/b.jpg`` -> ``a/b.json``; ``a/b.jpg.json`` when another item already took ``a/b.json``."""
    pure = PurePosixPath(path)
    candidate = str(pure.with_suffix(".json")) if pure.suffix else path + ".json"
    if candidate in used or candidate == path:
        candidate = unique_name(path + ".json", used)
    used.add(candidate)
    return candidate


def _item_document(
    item: dict[str, Any], image_name: str, tag_names: list[str], report: ConversionReport, split: dict[str, int]
) -> dict[str, Any]:
    annotation = item["annotation"]
    tagged = {tag["label"] for tag in annotation["tags"]}
    for tag in annotation["tags"]:
        if tag.get("attributes"):
            report.lose("attribute", "LabelMe image flags have no attributes", len(tag["attributes"]))
    next_group = 1 + max((shape.get("group") or 0 for shape in annotation["shapes"]), default=0)
    shapes: list[dict[str, Any]] = []
    ordered = sorted(annotation["shapes"], key=lambda shape: shape.get("z_order", 0))
    for shape in ordered:
        written = _shape_to_labelme(shape, item, report)
        if len(written) > 1 and shape.get("group") is None:
            for entry in written:
                entry["group_id"] = next_group
            next_group += 1
        if len(written) > 1:
            split["ring" if shape["type"] == "polygon" else "points"] += 1
        shapes.extend(written)
    document: dict[str, Any] = {
        "version": LABELME_VERSION,
        "flags": {name: name in tagged for name in tag_names},
        "shapes": shapes,
        "imagePath": image_name,
        "imageData": None,
        "imageHeight": item["height"],
        "imageWidth": item["width"],
    }
    if item.get("subset"):
        document["subset"] = item["subset"]
    return document


def _shape_to_labelme(shape: dict[str, Any], item: dict[str, Any], report: ConversionReport) -> list[dict[str, Any]]:
    """Return the LabelMe shapes for one shape (several for multi-ring polygons and points); [] when lost."""
    kind = shape["type"]
    if kind in _LOST:
        report.lose(kind, _LOST[kind])
        return []
    flags, description = _shape_flags(shape, report)
    mask_png: str | None = None
    if kind == "bbox":
        bbox, clipped = clip_bbox(shape["bbox"], item["width"], item["height"])
        if bbox is None:
            report.drop_empty(kind)
            return []
        if clipped:
            report.clip(kind)
        x, y, w, h = bbox
        geometries = [("rectangle", [[x, y], [x + w, y + h]])]
    elif kind == "polygon":
        geometries = [("polygon", _pairs(ring)) for ring in shape["rings"]]
    elif kind == "polyline":
        points = _pairs(shape["points"])
        geometries = [("line" if len(points) == 2 else "linestrip", points)]
    elif kind == "points":
        geometries = [("point", [pair]) for pair in _pairs(shape["points"])]
    elif kind == "ellipse":
        rx, ry = (float(value) for value in shape["radii"])
        if not math.isclose(rx, ry, rel_tol=1e-9, abs_tol=1e-9):
            report.lose(kind, "LabelMe circles cannot hold an ellipse with unequal radii")
            return []
        cx, cy = (float(value) for value in shape["center"])
        geometries = [("circle", [[cx, cy], [cx + rx, cy]])]
    else:  # mask
        if [int(value) for value in shape["rle"]["size"]] != [item["height"], item["width"]]:
            report.lose(kind, "the mask size differs from the image size")
            return []
        pixels = decode_mask(shape["rle"])
        rows, cols = np.nonzero(pixels)
        if rows.size == 0:
            report.drop_empty(kind)
            return []
        top, bottom, left, right = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
        buffer = io.BytesIO()
        Image.fromarray(pixels[top : bottom + 1, left : right + 1].astype(np.uint8)).save(buffer, format="PNG")
        mask_png = base64.b64encode(buffer.getvalue()).decode("ascii")
        geometries = [("mask", [[float(left), float(top)], [float(right), float(bottom)]])]
    return [
        {
            "label": shape["label"],
            "points": points,
            "group_id": shape.get("group"),
            "description": description,
            "shape_type": shape_type,
            "flags": dict(flags),
            "mask": mask_png,
        }
        for shape_type, points in geometries
    ]


def _shape_flags(shape: dict[str, Any], report: ConversionReport) -> tuple[dict[str, bool], str]:
    flags = {name: True for name in SHAPE_FLAGS if shape.get(name)}
    description = ""
    for name, value in shape.get("attributes", {}).items():
        if isinstance(value, bool):
            flags[name] = value
        elif name == "description" and isinstance(value, str):
            description = value
        else:
            report.lose("attribute", "LabelMe shape flags hold only booleans")
    return flags, description


def _pairs(flat: list[float]) -> list[list[float]]:
    return [[float(flat[i]), float(flat[i + 1])] for i in range(0, len(flat), 2)]


# -- import ---------------------------------------------------------------------------


def _json_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix.lower() == ".json" else []
    if not path.is_dir():
        return []
    return sorted(file for file in path.rglob("*.json") if file.is_file())


def read_labels_file(file: Path) -> list[str]:
    """Read a labelme ``labels.txt``: one label per line, stripped as labelme strips it.

    Blank lines are skipped and a name listed twice counts once; labelme's ``__ignore__`` and
    ``_background_`` lines are kept (the import keeps them only when a shape or flag uses them).

    Args:
        file: the file.

    Returns:
        The label names in order.

    Raises:
        FormatError: the file cannot be read as UTF-8 text.
    """
    try:
        text = file.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{file}: not a readable UTF-8 label list: {exc}") from exc
    names = (line.strip() for line in text.splitlines())
    return list(dict.fromkeys(name for name in names if name))


def _is_labelme(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("shapes"), list) and ("imagePath" in doc or "imageHeight" in doc)


class _Reader:
    """Collects labels and items from LabelMe json files."""

    def __init__(self, root: Path, report: ConversionReport) -> None:
        self.root = root
        self.report = report
        self.labels = LabelSet()
        self.items: list[dict[str, Any]] = []
        self.item_ids: set[str] = set()
        self.files = 0
        self.ignored = 0

    def dataset(self) -> dict[str, Any]:
        if self.ignored:
            self.report.note(
                f"{self.ignored} shapes use the label {IGNORE_LABEL!r} (labelme's 'ignore this region' label); kept as an ordinary label"
            )
        return {"version": 1, "labels": self.labels.as_list(), "items": self.items}

    def read_file(self, file: Path) -> None:
        try:
            doc = json.loads(file.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise FormatError(f"{file}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise FormatError(f"{file}: not a readable JSON file: {exc}") from exc
        if not _is_labelme(doc):
            return
        self.files += 1
        rel_dir = file.parent.relative_to(self.root).as_posix() if file.parent != self.root else ""
        path, embedded = self._image_path(doc, file, rel_dir)
        size = self._size(doc, file, path, embedded)
        if size is None:
            self.report.lose("item", "the LabelMe file has no imageWidth/imageHeight and no image to measure")
            return
        subset = doc.get("subset") if isinstance(doc.get("subset"), str) and doc.get("subset") else None
        item = new_item(unique_name(path, self.item_ids), path, size[0], size[1], subset)
        self._flags(doc.get("flags"), item, file)
        for index, raw in enumerate(doc["shapes"]):
            shape = self._shape(raw, index, item, file)
            if shape is not None:
                item["annotation"]["shapes"].append(shape)
        self.items.append(item)

    def _image_path(self, doc: dict[str, Any], file: Path, rel_dir: str) -> tuple[str, bytes | None]:
        image_path = doc.get("imagePath")
        embedded = self._image_data(doc, file)
        if not isinstance(image_path, str) or not image_path or image_path.lower().endswith(".json"):
            found = image_bytes_size(embedded) if embedded is not None else None
            ext = found[1] if found else ".jpg"
            return posixpath.join(rel_dir, file.stem + ext), embedded
        joined = posixpath.normpath(posixpath.join(rel_dir, image_path.replace("\\", "/")))
        if is_safe_relative_path(joined):
            return joined, embedded
        name = PurePosixPath(image_path.replace("\\", "/")).name or file.stem
        self.report.note(f"{file}: imagePath {image_path!r} leaves the dataset folder; the item is named {name!r} beside the json")
        return posixpath.join(rel_dir, name), embedded

    def _image_data(self, doc: dict[str, Any], file: Path) -> bytes | None:
        data = doc.get("imageData")
        if not isinstance(data, str) or not data:
            return None
        try:
            return base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise FormatError(f"{file}: field 'imageData' is not base64: {exc}") from exc

    def _size(self, doc: dict[str, Any], file: Path, path: str, embedded: bytes | None) -> tuple[int, int] | None:
        width, height = doc.get("imageWidth"), doc.get("imageHeight")
        if _positive(width) and _positive(height):
            return int(width), int(height)
        if embedded is not None:
            found = image_bytes_size(embedded)
            if found is not None:
                return found[0]
        return image_size(self.root / path)

    def _flags(self, flags: Any, item: dict[str, Any], file: Path) -> None:
        if flags is None:
            return
        if not isinstance(flags, dict):
            raise FormatError(f"{file}: field 'flags' is not an object")
        for name, value in flags.items():
            if not name:
                continue
            self.labels.use(str(name), "tag")
            if value is True:
                tag_id = f"flag-{len(item['annotation']['tags']) + 1}"
                item["annotation"]["tags"].append({"id": tag_id, "label": str(name), "source": dict(HUMAN)})

    def _shape(self, raw: Any, index: int, item: dict[str, Any], file: Path) -> dict[str, Any] | None:
        field = f"shapes[{index}]"
        if not isinstance(raw, dict):
            raise FormatError(f"{file}: field {field} is not an object")
        label = raw.get("label")
        if not isinstance(label, str) or not label:
            raise FormatError(f"{file}: field {field}.label is missing or empty")
        points = raw.get("points")
        if not isinstance(points, list) or not all(_is_point(point) for point in points):
            raise FormatError(f"{file}: field {field}.points is not a list of [x, y] numbers")
        flat = [float(value) for point in points for value in point[:2]]
        shape_type = raw.get("shape_type") or "polygon"  # labelme 3 wrote no shape_type: polygons
        geometry = self._geometry(shape_type, flat, raw, item, file, field)
        if geometry is None:
            return None
        if label == IGNORE_LABEL:
            self.ignored += 1
        used = {shape["id"] for shape in item["annotation"]["shapes"]}
        shape: dict[str, Any] = {"id": unique_name(f"labelme-{index + 1}", used), **geometry, "label": self.labels.use(label)}
        shape["source"] = dict(HUMAN)
        group = raw.get("group_id")
        if isinstance(group, int) and not isinstance(group, bool):
            shape["group"] = group
        attributes: dict[str, Any] = {}
        for name, value in (raw.get("flags") or {}).items():
            if name in SHAPE_FLAGS and isinstance(value, bool):
                if value:
                    shape[name] = True
            elif isinstance(value, bool):
                attributes[str(name)] = value
        description = raw.get("description")
        if isinstance(description, str) and description:
            attributes["description"] = description
        if attributes:
            shape["attributes"] = attributes
        return shape

    def _geometry(
        self, shape_type: str, flat: list[float], raw: dict[str, Any], item: dict[str, Any], file: Path, field: str
    ) -> dict[str, Any] | None:
        count = len(flat) // 2
        width, height = item["width"], item["height"]
        if shape_type == "rectangle":
            if count < 2:
                self.report.lose("bbox", "a LabelMe rectangle has fewer than 2 points")
                return None
            bbox, clipped = clip_bbox(rings_bbox([flat]), width, height)
            if bbox is None:
                self.report.drop_empty("bbox")
                return None
            if clipped:
                self.report.clip("bbox")
            return {"type": "bbox", "bbox": bbox}
        if shape_type == "polygon":
            if count < 3:
                self.report.lose("polygon", "a LabelMe polygon has fewer than 3 points")
                return None
            if shoelace_area(flat) <= 0:
                self.report.drop_empty("polygon")
                return None
            return {"type": "polygon", "rings": [flat]}
        if shape_type == "circle":
            if count < 2:
                self.report.lose("ellipse", "a LabelMe circle has fewer than 2 points")
                return None
            radius = math.hypot(flat[2] - flat[0], flat[3] - flat[1])
            if radius <= 0:
                self.report.drop_empty("ellipse")
                return None
            return {"type": "ellipse", "center": flat[:2], "radii": [radius, radius]}
        if shape_type in ("line", "linestrip"):
            if count < 2:
                self.report.lose("polyline", f"a LabelMe {shape_type} has fewer than 2 points")
                return None
            return {"type": "polyline", "points": flat}
        if shape_type in ("point", "points"):
            if count < 1:
                self.report.lose("points", "a LabelMe point has no coordinates")
                return None
            return {"type": "points", "points": flat}
        if shape_type == "mask":
            return self._mask(flat, raw, item, file, field)
        self.report.lose("shape", f"LabelMe shape_type {shape_type!r} is not known")
        return None

    def _mask(self, flat: list[float], raw: dict[str, Any], item: dict[str, Any], file: Path, field: str) -> dict[str, Any] | None:
        data = raw.get("mask")
        if not isinstance(data, str) or len(flat) < 2:
            raise FormatError(f"{file}: field {field}.mask is missing (a mask shape needs a base64 PNG and a corner point)")
        try:
            with Image.open(io.BytesIO(base64.b64decode(data))) as image:
                patch = np.asarray(image.convert("L")) > 0
        except (binascii.Error, ValueError, OSError) as exc:
            raise FormatError(f"{file}: field {field}.mask is not a base64 PNG: {exc}") from exc
        # labelme pastes the patch at the truncated first point (shapes_to_label: astype(int)).
        left, top = math.floor(flat[0]), math.floor(flat[1])
        width, height = item["width"], item["height"]
        canvas = np.zeros((height, width), dtype=np.uint8)
        rows, cols = patch.shape
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + cols, width), min(top + rows, height)
        if x1 > x0 and y1 > y0:
            canvas[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
        if (x0, y0, x1, y1) != (left, top, left + cols, top + rows) and patch.any():
            self.report.clip("mask")
        if not canvas.any():
            self.report.drop_empty("mask")
            return None
        ys, xs = np.nonzero(canvas)
        bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
        return {"type": "mask", "rle": encode_mask(canvas), "bbox": bbox}


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 1 and float(value).is_integer()


def _is_point(point: Any) -> bool:
    return (
        isinstance(point, list | tuple)
        and len(point) >= 2
        and all(isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) for value in point[:2])
    )
