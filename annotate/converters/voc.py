"""Pascal VOC detection, both ways.

Spec: the VOC2012 development kit,
http://host.robots.ox.ac.uk/pascal/VOC/voc2012/htmldoc/devkit_doc.html (section
"Annotation").

Layout written::

    Annotations/<id>.xml          one per item, with every item listed
    ImageSets/Main/<subset>.txt   the ids of each subset
    ImageSets/Main/trainval.txt   all ids (unless a subset is itself named trainval)
    JPEGImages/<id>.jpg           when the export was given images (PNG re-encoded)
    labelmap.txt                  Datumaro's ``name:r,g,b::`` lines, for label colors

Coordinate rules. VOC boxes are pixel indices, 1-based and inclusive: the box covering
exactly pixel columns 0..9 in our convention (x=0, width=10) is ``xmin=1, xmax=10``. So
``xmin = round(x) + 1``, ``xmax = round(x + width)`` (rounded half up, never truncated),
and reading ``xmin, xmax`` gives ``x = xmin - 1``, ``width = xmax - xmin + 1``; the same
for y. Fractional values in foreign files are read as they are. Boxes are clipped to the
image first; a box with no area left is dropped.

Item ids are derived from the item path, filesystem-safe: ``photos/a.jpg`` becomes
``photos__a`` (unicode and spaces are kept); colliding ids get ``_2``, ``_3``... The item
path is kept in each XML's ``<path>`` so that an import restores it. Subsets whose list
names would be the same (``a/b`` and ``a_b``) are listed in ``a_b.txt`` and ``a_b_2.txt``,
with a note in the report.

VOC detection holds only boxes: every other shape type and every tag is counted as lost.
Objects carry ``name``, ``pose`` (the shape attribute ``pose``, or ``Unspecified``),
``truncated``, ``difficult``, ``occluded`` and ``bndbox``; other shape attributes are
written to CVAT's ``<attributes><attribute><name/><value/></attribute></attributes>``.
Label ids are not part of VOC: an import numbers labels in ``labelmap.txt`` order
(0-based), or 1, 2, ... in order of first use when there is no label map. Parts
(``<part>``) are imported as boxes in the same ``group`` as their object; actions as
boolean attributes.
"""

from __future__ import annotations

import io
import re
from html import escape
from math import floor, isfinite
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import (
    HUMAN,
    clip_bbox,
    format_attribute_value,
    is_safe_relative_path,
    parse_attribute_value,
    parse_bool,
    posix_normalized,
    posix_stem,
    round_half_up,
    unique_name,
)
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

Image = lazy_module("PIL.Image")

ANNOTATIONS_DIR = "Annotations"
IMAGES_DIR = "JPEGImages"
LISTS_DIR = "ImageSets/Main"
LABELMAP_FILE = "labelmap.txt"
DEFAULT_SUBSET = "default"
ALL_IDS_LIST = "trainval"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_FLAGS = ("truncated", "difficult", "occluded")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_UNSAFE_CHARS = re.compile(r"[\\:*?\"<>|\x00-\x1f]")


@register_format("voc")
class VocFormat(DatasetFormat):
    """Pascal VOC detection (boxes only)."""

    description = "Pascal VOC detection (Annotations/*.xml, ImageSets/Main, JPEGImages)"

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        root = Path(path)
        if not root.is_dir():
            return False
        annotations = root / ANNOTATIONS_DIR
        return (annotations.is_dir() and any(annotations.glob("*.xml"))) or ((root / LISTS_DIR).is_dir() and (root / IMAGES_DIR).is_dir())

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        root = Path(src)
        if not self.detect(root):
            raise FormatError(f"{root}: no Annotations/*.xml or ImageSets/Main lists (not VOC)")
        return _Reader(root, report).read()

    def write(
        self,
        dataset: dict[str, Any],
        writer: DatasetWriter,
        *,
        images: ImageSource | None,
        report: ConversionReport,
    ) -> None:
        """See :meth:`DatasetFormat.write`."""
        subsets: dict[str, list[str]] = {}
        used: set[str] = set()
        heads: dict[str, str] = {}
        for item in dataset["items"]:
            voc_id = unique_name(voc_id_for(item["path"]), used)
            subsets.setdefault(item.get("subset", DEFAULT_SUBSET), []).append(voc_id)
            if images is not None:
                _write_image(writer, voc_id, item, images, report)
            writer.write_bytes(f"{ANNOTATIONS_DIR}/{voc_id}.xml", _item_xml(item, voc_id, report, heads))
        writer.mkdir(ANNOTATIONS_DIR)  # kept when there are no items, as VOC loaders expect it
        if not subsets:
            subsets[DEFAULT_SUBSET] = []
        used_lists: set[str] = set()
        for subset, ids in subsets.items():
            list_name = unique_name(_file_safe(subset), used_lists)
            if list_name != _file_safe(subset):
                report.note(f"subset {subset!r} listed in {list_name + '.txt'!r}: another subset has the same file name")
            _write_list(writer, f"{LISTS_DIR}/{list_name}.txt", ids)
        # Always write the list of all ids: VOC loaders (torchvision's VOCDetection among them)
        # accept only train, val, trainval and test as list names.
        if ALL_IDS_LIST in subsets:
            if len(subsets) > 1:
                report.note(f"subset {ALL_IDS_LIST!r} exists, so no list of all ids was written")
        else:
            all_ids = [voc_id for ids in subsets.values() for voc_id in ids]
            _write_list(writer, f"{LISTS_DIR}/{ALL_IDS_LIST}.txt", all_ids)
        _write_labelmap(writer, LABELMAP_FILE, dataset["labels"])

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        return _image_file(Path(src), item["id"])


def voc_id_for(path: str) -> str:
    """Return the VOC id for an item path: ``photos/a.jpg`` -> ``photos__a``.

    Unicode and spaces are kept; characters that some file systems refuse become ``_``.

    Args:
        path: the item's relative POSIX path.

    Returns:
        A non-empty id, usable as a file name (before making it unique).
    """
    normalized = posix_normalized(path)
    stem = posix_stem(normalized)
    if stem == normalized:
        stem = path  # no suffix: the path as it is
    voc_id = _UNSAFE_CHARS.sub("_", stem.replace("/", "__")).strip(" .")
    return voc_id or "item"


# -- export ---------------------------------------------------------------------------


def _file_safe(name: str) -> str:
    return _UNSAFE_CHARS.sub("_", name.replace("/", "_"))


def _write_list(writer: DatasetWriter, relpath: str, ids: list[str]) -> None:
    writer.write_text(relpath, "".join(f"{voc_id}\n" for voc_id in ids))


def _write_labelmap(writer: DatasetWriter, relpath: str, labels: list[dict[str, Any]]) -> None:
    lines = ["# label:color_rgb:parts:actions"]
    for label in labels:
        if label["kind"] != "shape":
            continue
        color = label.get("color")
        rgb = ",".join(str(int(color[i : i + 2], 16)) for i in (1, 3, 5)) if color else ""
        lines.append(f"{label['name']}:{rgb}::")
    writer.write_text(relpath, "\n".join(lines) + "\n")


def _write_image(writer: DatasetWriter, voc_id: str, item: dict[str, Any], images: ImageSource, report: ConversionReport) -> None:
    image = images(item)
    if image is None:
        report.note(f"no image for item {item['id']!r}; annotations only")
        return
    data, ext = image
    if ext.lower() not in (".jpg", ".jpeg"):
        # VOC keeps JPEGs only; re-encode, flattening any alpha channel onto white.
        with Image.open(io.BytesIO(data)) as source:
            rgba = source.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
        buffer = io.BytesIO()
        flat.save(buffer, format="JPEG", quality=95)
        data = buffer.getvalue()
    writer.write_bytes(f"{IMAGES_DIR}/{voc_id}.jpg", data)


def _leaf(indent: str, tag: str, value: Any) -> str:
    """One element holding text, as ElementTree writes it (``<tag />`` when the text is empty)."""
    text = str(value)
    if not text:
        return f"{indent}<{tag} />\n"
    return f"{indent}<{tag}>{escape(text, quote=False)}</{tag}>\n"


def _object_head(label: str) -> str:
    """The ``<object>`` text of a plain box (a person's box, no attributes or flags) up to its ``<bndbox>``.

    It is the text :func:`_object_xml` writes for such a box; made once per label name.
    """
    flags = "".join(f"    <{flag}>0</{flag}>\n" for flag in _FLAGS)
    return "  <object>\n" + _leaf("    ", "name", label) + _leaf("    ", "pose", "Unspecified") + flags


def _item_xml(item: dict[str, Any], voc_id: str, report: ConversionReport, heads: dict[str, str] | None = None) -> bytes:
    # Built from strings: ElementTree plus indent() took most of the export time. The bytes
    # are those ElementTree wrote (two-space indent, same escaping, no final line end).
    parts = [
        "<?xml version='1.0' encoding='utf-8'?>\n<annotation>\n  <folder>VOC2012</folder>\n",
        _leaf("  ", "filename", f"{voc_id}.jpg"),
        _leaf("  ", "path", item["path"]),
        f"  <source>\n    <database>annotate</database>\n  </source>\n"
        f"  <size>\n    <width>{item['width']}</width>\n    <height>{item['height']}</height>\n    <depth>3</depth>\n  </size>\n"
        "  <segmented>0</segmented>\n",
    ]
    tags = item["annotation"]["tags"]
    if tags:
        report.lose("tag", "VOC detection has no image-level tags", len(tags))
    heads = heads if heads is not None else {}  # _object_head by label name, shared by an export's items
    width, height = item["width"], item["height"]
    for shape in item["annotation"]["shapes"]:
        if len(shape) == 5 and shape["type"] == "bbox" and "source" in shape:
            # Only id, type, label, bbox and source: nothing but the box to write.
            x, y, w, h = shape["bbox"]
            right, bottom = x + w, y + h
            if 0.0 <= x < right <= width and 0.0 <= y < bottom <= height:
                # Unclipped: clip_bbox would give [x, y, w, h]; the pixel indices _object_xml
                # writes (1-based, inclusive, rounded half up), inline as this runs once per box.
                label = shape["label"]
                head = heads.get(label)
                if head is None:
                    head = heads[label] = _object_head(label)
                xmin, ymin = floor(x + 0.5) + 1, floor(y + 0.5) + 1
                xmax, ymax = floor(right + 0.5), floor(bottom + 0.5)
                parts.append(
                    f"{head}    <bndbox>\n      <xmin>{xmin}</xmin>\n      <ymin>{ymin}</ymin>\n"
                    f"      <xmax>{xmax if xmax > xmin else xmin}</xmax>\n      <ymax>{ymax if ymax > ymin else ymin}</ymax>\n"
                    "    </bndbox>\n  </object>\n"
                )
                continue
        if shape["type"] != "bbox":
            report.lose(shape["type"], _unsupported_reason(shape["type"]))
            continue
        bbox, clipped = clip_bbox(shape["bbox"], item["width"], item["height"])
        if bbox is None:
            report.drop_empty("bbox")
            continue
        if clipped:
            report.clip("bbox")
        _object_xml(parts, shape, bbox)
    parts.append("</annotation>")
    # ElementTree encodes with xmlcharrefreplace: a lone surrogate becomes a character reference.
    return "".join(parts).encode("utf-8", "xmlcharrefreplace")


def _unsupported_reason(kind: str) -> str:
    names = {
        "rotated_bbox": "rotated boxes",
        "polygon": "polygons",
        "polyline": "polylines",
        "points": "points shapes",
        "keypoints": "keypoints",
        "ellipse": "ellipses",
        "mask": "masks",
    }
    return f"VOC detection has no {names.get(kind, kind)}"


def _object_xml(parts: list[str], shape: dict[str, Any], bbox: list[float]) -> None:
    x, y, width, height = bbox
    xmin, ymin = round_half_up(x) + 1, round_half_up(y) + 1
    # A box thinner than a pixel still covers one pixel after rounding.
    xmax = max(round_half_up(x + width), xmin)
    ymax = max(round_half_up(y + height), ymin)
    attributes = dict(shape.get("attributes", {}))
    pose = attributes.pop("pose", "Unspecified")
    parts.append("  <object>\n")
    parts.append(_leaf("    ", "name", shape["label"]))
    parts.append(_leaf("    ", "pose", format_attribute_value(pose)))
    for flag in _FLAGS:
        parts.append(f"    <{flag}>{int(bool(shape.get(flag, False)))}</{flag}>\n")
    parts.append(
        f"    <bndbox>\n      <xmin>{xmin}</xmin>\n      <ymin>{ymin}</ymin>\n"
        f"      <xmax>{xmax}</xmax>\n      <ymax>{ymax}</ymax>\n    </bndbox>\n"
    )
    if attributes:
        parts.append("    <attributes>\n")
        for name, value in attributes.items():
            parts.append("      <attribute>\n")
            parts.append(_leaf("        ", "name", name))
            parts.append(_leaf("        ", "value", format_attribute_value(value)))
            parts.append("      </attribute>\n")
        parts.append("    </attributes>\n")
    parts.append("  </object>\n")


# -- import ---------------------------------------------------------------------------


def _image_file(root: Path, voc_id: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for candidate in (root / IMAGES_DIR / f"{voc_id}{suffix}", root / IMAGES_DIR / f"{voc_id}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def _child_text(element: Element | None, tag: str) -> str:
    if element is None:
        return ""
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


class _Reader:
    """Reads one VOC tree into a dataset document."""

    def __init__(self, root: Path, report: ConversionReport) -> None:
        self.root = root
        self.report = report
        self.labels: dict[str, dict[str, Any]] = {}
        self.numbered_by_labelmap = False
        self._read_labelmap()

    def read(self) -> dict[str, Any]:
        items = []
        for voc_id, subset in self._ids_and_subsets():
            item = self._item(voc_id, subset)
            if item is not None:
                items.append(item)
        dataset = {"version": 1, "labels": list(self.labels.values()), "items": items}
        validate_dataset(dataset)
        return dataset

    def _read_labelmap(self) -> None:
        path = self.root / LABELMAP_FILE
        if not path.is_file():
            return
        self.numbered_by_labelmap = True
        for line in path.read_text("utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, _, rest = line.partition(":")
            label = self._label(name.strip())
            rgb = rest.partition(":")[0].split(",")
            if label is not None and len(rgb) == 3 and all(part.strip().isdigit() for part in rgb):
                label["color"] = "#" + "".join(f"{min(int(part), 255):02x}" for part in rgb)

    def _label(self, name: str) -> dict[str, Any] | None:
        if not name:
            return None
        if name not in self.labels:
            start = 0 if self.numbered_by_labelmap else 1
            self.labels[name] = {"id": start + len(self.labels), "name": name, "kind": "shape"}
        return self.labels[name]

    def _ids_and_subsets(self) -> list[tuple[str, str]]:
        """Return ``(id, subset)`` in list order; each id once, in its first subset list."""
        lists_dir = self.root / LISTS_DIR
        lists: list[tuple[str, list[str]]] = []
        if lists_dir.is_dir():
            for path in sorted(lists_dir.glob("*.txt")):
                ids = self._list_ids(path)
                if ids:
                    lists.append((path.stem, ids))
        # The aggregate list comes last so that train/val keep their own subset names.
        lists.sort(key=lambda entry: entry[0] == ALL_IDS_LIST)
        result: dict[str, str] = {}
        for subset, ids in lists:
            for voc_id in ids:
                result.setdefault(voc_id, subset)
        annotations = self.root / ANNOTATIONS_DIR
        if annotations.is_dir():
            for path in sorted(annotations.glob("*.xml")):
                result.setdefault(path.stem, DEFAULT_SUBSET)
        return list(result.items())

    @staticmethod
    def _list_ids(path: Path) -> list[str] | None:
        # Subset lists hold one id a line; per-class lists (cat_train.txt) hold "id  1".
        lines = [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
        if not lines or any(len(line.split()) != 1 for line in lines):
            return None
        return lines

    def _item(self, voc_id: str, subset: str) -> dict[str, Any] | None:
        xml_path = self.root / ANNOTATIONS_DIR / f"{voc_id}.xml"
        tree = None
        if xml_path.is_file():
            try:
                tree = SafeET.parse(xml_path).getroot()
            except SafeET.ParseError as exc:
                raise FormatError(f"{xml_path}: not readable XML: {exc}") from exc
        width, height = self._size(tree, voc_id)
        if width is None or height is None:
            self.report.lose("item", "neither the XML nor an image gives its size")
            return None
        path = _child_text(tree, "path")
        if not is_safe_relative_path(path):
            image = _image_file(self.root, voc_id)
            filename = _child_text(tree, "filename")
            path = image.name if image is not None else (filename if is_safe_relative_path(filename) else f"{voc_id}.jpg")
        shapes: list[dict[str, Any]] = []
        if tree is not None:
            for index, element in enumerate(tree.findall("object"), start=1):
                shapes.extend(self._object_shapes(element, index, width, height, f"{xml_path}: object {index}"))
        return {
            "id": voc_id,
            "name": PurePosixPath(path).name,
            "path": path,
            "media": "image",
            "width": width,
            "height": height,
            "subset": subset,
            "annotation": {"version": 1, "tags": [], "shapes": shapes},
        }

    def _size(self, tree: Element | None, voc_id: str) -> tuple[int | None, int | None]:
        size = tree.find("size") if tree is not None else None
        width = _positive_int(_child_text(size, "width"))
        height = _positive_int(_child_text(size, "height"))
        if width is None or height is None:
            image = _image_file(self.root, voc_id)
            if image is not None:
                with Image.open(image) as opened:
                    width, height = opened.size
        return width, height

    def _object_shapes(self, element: Element, index: int, width: int, height: int, where: str) -> list[dict[str, Any]]:
        shape = self._box_shape(element, f"obj{index}", width, height, where)
        if shape is None:
            return []
        attributes: dict[str, Any] = {}
        pose = _child_text(element, "pose")
        if pose and pose != "Unspecified":
            attributes["pose"] = pose
        for flag in _FLAGS:
            value = parse_bool(_child_text(element, flag))
            if value is not None:
                shape[flag] = value
        for attribute in element.findall("attributes/attribute"):
            name = _child_text(attribute, "name")
            if name:
                attributes[name] = parse_attribute_value(_child_text(attribute, "value"))
        actions = element.find("actions")
        if actions is not None:
            for action in actions:
                value = parse_bool((action.text or "").strip())
                if value is not None:
                    attributes[action.tag] = value
        if attributes:
            shape["attributes"] = attributes
        shapes = [shape]
        for part_index, part in enumerate(element.findall("part"), start=1):
            part_shape = self._box_shape(part, f"obj{index}-part{part_index}", width, height, f"{where} part {part_index}")
            if part_shape is not None:
                shapes.append(part_shape)
        if len(shapes) > 1:
            for grouped in shapes:
                grouped["group"] = index
        return shapes

    def _box_shape(self, element: Element, shape_id: str, width: int, height: int, where: str) -> dict[str, Any] | None:
        label = self._label(_child_text(element, "name"))
        if label is None:
            self.report.lose("bbox", "the object has no name")
            return None
        texts = [_child_text(element.find("bndbox"), tag) for tag in ("xmin", "ymin", "xmax", "ymax")]
        if not all(texts):
            self.report.lose("bbox", "the object has no complete bndbox")
            return None
        xmin, ymin, xmax, ymax = (_coordinate(text, tag, where) for text, tag in zip(texts, ("xmin", "ymin", "xmax", "ymax"), strict=True))
        raw = [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]
        bbox, clipped = clip_bbox(raw, width, height)
        if bbox is None:
            self.report.drop_empty("bbox")
            return None
        if clipped:
            self.report.clip("bbox")
        return {"id": shape_id, "type": "bbox", "label": label["name"], "bbox": bbox, "source": dict(HUMAN)}


def _coordinate(text: str, tag: str, where: str) -> float:
    """Read one bndbox value (VOC pixel index, 1-based).

    Raises:
        FormatError: ``text`` is not a finite number; the message names ``where`` and the tag.
    """
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not isfinite(number):
        raise FormatError(f"{where}: bndbox <{tag}> {text!r} is not a finite number")
    return number


def _positive_int(text: str) -> int | None:
    try:
        number = int(float(text))
    except (ValueError, OverflowError):  # not a number, NaN, or an infinity
        return None
    return number if number > 0 else None
