"""Pascal VOC, both ways: detection XML, parts, actions and segmentation PNGs.

Spec: the VOC2012 development kit,
http://host.robots.ox.ac.uk/pascal/VOC/voc2012/htmldoc/devkit_doc.html (sections
"Annotation", "Segmentation", "Person Layout" and "Action Classification"), with the
``labelmap.txt`` of Datumaro (https://github.com/openvinotoolkit/datumaro, VOC plugin).

Layout written::

    Annotations/<id>.xml                 one per item, with every item listed
    ImageSets/Main/<list>.txt            the ids of each subset, one a line
    ImageSets/Main/<label>_<list>.txt    per-class lists (``id  1`` / ``id -1``) for tags
    ImageSets/Segmentation/<list>.txt    the ids with segmentation PNGs, by subset
    SegmentationClass/<id>.png           palette PNG: pixel = class index in labelmap.txt
    SegmentationObject/<id>.png          palette PNG: pixel = instance k (the k-th object)
    JPEGImages/<id>.jpg                  when the export was given images (PNG re-encoded)
    labelmap.txt                         ``name:r,g,b:parts:actions`` lines

Subsets. Each subset has its own list, named after it (made file-safe); a dataset whose
only subset is ``default`` writes it as ``trainval.txt``, the name torchvision's loaders
take, and an import reads a ``trainval.txt`` that is the only subset list back as the
``default`` subset. No list of all ids is written next to other lists: Datumaro reads each
list as a subset, so it would see those items twice. A subset list holds one id a line
(spaces included, as torchvision and Datumaro read it; ``#`` lines are comments). A list
``<label>_<list>.txt`` whose lines all end in ``1``, ``0`` or ``-1`` is a per-class list: a
``1`` is an image tag of that label (as Datumaro reads it), ``0`` and ``-1`` are not.

Coordinate rules. VOC boxes are pixel indices, 1-based and inclusive: the box covering
exactly pixel columns 0..9 in our convention (x=0, width=10) is ``xmin=1, xmax=10``. So
``xmin = round(x) + 1``, ``xmax = round(x + width)`` (rounded half up, never truncated),
and reading ``xmin, xmax`` gives ``x = xmin - 1``, ``width = xmax - xmin + 1``; the same
for y. Boxes are clipped to the image first; a box with no area left is dropped. Corners
are whole pixels, so a fractional box moves to the nearest pixel edges (``[4.5, 5, 3, 3]``
comes back as ``[5, 5, 3, 3]``). A box thinner than the rounding (``xmax < xmin``, such as
``[19.6, 0, 0.4, 5]``) becomes the one pixel its right edge rounds into, ``xmin = xmax =
round(x + width)`` (at least 1), which is always inside the image. Fractional values in
foreign files are read as they are.

Item ids are derived from the item path, filesystem-safe: ``photos/a.jpg`` becomes
``photos__a`` (unicode and spaces are kept); colliding ids get ``_2``, ``_3``... The item
path is kept in each XML's ``<path>`` so that an import restores it. Subsets whose list
names would be the same (``a/b`` and ``a_b``) are listed in ``a_b.txt`` and ``a_b_2.txt``,
with a note in the report.

Objects. Each box is an ``<object>`` with ``name``, ``pose`` (the shape attribute ``pose``,
or ``Unspecified``), ``truncated``, ``difficult``, ``occluded`` and ``bndbox``. A group
(shapes with the same ``group``) is one VOC object: its first box whose label is not a part
label, with the group's boxes of its part labels as ``<part>`` children (a part label is one
whose ``parent`` is the object's label; ``<part>`` holds only a name and a box) and the
group's masks and polygons of one label (the label of its first) as its instance in
``SegmentationObject``, their union. Boolean attributes
named by the label's actions (its ``checkbox`` attributes, the actions column of
``labelmap.txt``) are written as ``<actions><jumping>1</jumping>...</actions>``; other
attributes go to CVAT's ``<attributes><attribute><name/><value/></attribute></attributes>``.
Values there are text and an import reads ``true``/``false`` and numbers back as such (VOC
has no place to declare an attribute's type: ``labelmap.txt`` lists only actions), so a value
that would read back as another value or type (the texts ``"0003"``, ``"true"``, ``"-0"``,
``" x "``) is written as it is and counted as a lost ``attribute value``; so is a ``pose``
that is not text or has surrounding spaces (``<pose>`` is read back as stripped text).
What a group holds beyond that (a second object box, masks of another label) is written on
its own and its group membership is counted as lost. An import gives the k-th object, its parts and
its instance mask the group k (only when the object has parts or a mask).

Segmentation. Masks (COCO RLE) and polygons (rasterised with pycocotools, rings joined) are
written into both PNGs; polygons are noted as rasterised. Instance k is the mask of the k-th
object. The masks and polygons of one group and one label are one instance, their union (an
import gives back one mask), with a note. Instances with no object box in their group come
after the objects, without an XML object: each takes its ``group`` as k when that is free
(above the objects, below 255), the others follow in shape order. An import gives such an
instance its k as its group when that numbering would not give it k, so instance indices
with gaps come back as they were; a group that would not come back so (``group_id: 0`` of
LabelMe, a group number that an object or another instance has) is counted as lost group
membership, one per mask or polygon. Where
masks overlap, the one drawn later wins: masks are painted by ``z_order``, then in shape
order; a mask hidden entirely is counted as lost, one hidden in part is noted. Class index 0
is the background label (``background``, labelme2voc's ``_background_``, or a black label
with id 0 that no mask uses, as line 0 of a ``labelmap.txt`` reads back; ``background`` is
added first in ``labelmap.txt`` when masks are written and the dataset has none). 255 is
void, the label ``__ignore__`` (labelme's "ignore this region"; its ``labelmap.txt`` line
comes last and takes no class index): its masks and polygons are painted 255 into
``SegmentationClass``, and into ``SegmentationObject`` too when their group is 255, else the
instances there stay (labelme2voc writes 0 under void). The PNGs are palette images with
the VOC colormap (a label's own color for its class when it has one); every label then gets
a color in ``labelmap.txt``, the one its class pixels have. An import reads palette and
grayscale PNGs by index (as the devkit and torchvision do) and RGB PNGs by color (as
Datumaro does: class colors from the label map, instance colors from the VOC colormap). Each instance k of
``SegmentationObject`` becomes a ``mask`` shape whose label is the most frequent class of
its pixels in ``SegmentationClass`` (the k-th object's name without one); pixels of a class
with no instance (or every class when there is no ``SegmentationObject``) become one mask
per class. Background (0) pixels are not imported. Void (255) pixels become masks of the
label ``__ignore__`` (added when the map has none): those void in both PNGs one mask in group
255, those void in ``SegmentationClass`` only another without a group, so that an export
paints them back; pixels void in ``SegmentationObject`` only keep their class and are
counted as lost (``void pixel``).

Labels. ``labelmap.txt`` gives the label order (ids 0, 1, ... by line), colors, parts (part
labels get their ``parent``; Datumaro lists them only in the parts column, so they follow
the lines) and actions (``checkbox`` attributes of the label). Without it, labelme2voc's
``class_names.txt`` (one name a line, index = line, ``_background_`` first) is read; without
either, VOC's default label map (21 classes with the VOC colormap, parts head, hand, foot of
person, and person's actions), as Datumaro does. Class indices count the lines but a
``__ignore__`` one (void). Names found in the files and not in the map get the next ids.
Label names that ``labelmap.txt`` cannot hold (a ``:``, a line break, a leading ``#`` or
surrounding spaces) are left out of it and counted as lost labels; their objects keep the
name. Tags are written as per-class lists; tag attributes are lost. A tag label that no
image has is left out of ``labelmap.txt`` and written as per-class lists of ``-1`` only: an
import reads a per-class list whose label the map does not list as a tag label (a label
used only by tags is one too). What the label map cannot hold is counted: keypoint names and
skeletons, attribute definitions other than actions, a parent that is not written as parts,
part labels' colors and actions, and the color of a tag label kept in per-class lists only.

An item with no ``<size>`` takes the size of its image (after EXIF orientation), else of its
segmentation PNGs, else the extent of its boxes (1 x 1 without boxes), with a note.
Every other shape type (polylines, points, keypoints, ellipses, rotated boxes) is lost.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from math import ceil, floor, isfinite
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element

from annotate.converters._common import SHAPE_FLAGS, clip_box, decode_mask, encode_mask, image_size, plural, report_label_list
from annotate.converters._cvat_common import parse_xml
from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import (
    HUMAN,
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

np = lazy_module("numpy")
Image = lazy_module("PIL.Image")
mask_utils = lazy_module("pycocotools.mask")

ANNOTATIONS_DIR = "Annotations"
IMAGES_DIR = "JPEGImages"
LISTS_DIR = "ImageSets/Main"
SEGMENTATION_LISTS_DIR = "ImageSets/Segmentation"
CLASS_DIR = "SegmentationClass"
OBJECT_DIR = "SegmentationObject"
LABELMAP_FILE = "labelmap.txt"
CLASS_NAMES_FILE = "class_names.txt"  # labelme2voc's label list
DEFAULT_SUBSET = "default"
ALL_IDS_LIST = "trainval"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
BACKGROUND = "background"
#: Names of the background label, class 0: VOC's (Datumaro's) and labelme2voc's ``class_names.txt`` line 0.
BACKGROUND_NAMES = (BACKGROUND, "_background_")
VOID = 255
#: The label of void pixels (255), labelme's "ignore this region" label: never an ordinary class.
IGNORE_LABEL = "__ignore__"
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
VOC_PARTS = ("head", "hand", "foot")
VOC_ACTIONS = (
    "other", "jumping", "phoning", "playinginstrument", "reading", "ridingbike", "ridinghorse", "running",
    "takingphoto", "usingcomputer", "walking",
)  # fmt: skip
_FLAGS = ("truncated", "difficult", "occluded")
_PRESENCE = ("1", "0", "-1")
_UNSAFE_CHARS = re.compile(r"[\\:*?\"<>|\x00-\x1f]")
_XML_NAME = re.compile(r"^[^\W\d][\w.-]*$")  # an element name <actions> can hold (no xml prefix check needed)
_SEGMENT_TYPES = ("mask", "polygon")


def voc_color(index: int) -> tuple[int, int, int]:
    """Return the VOC colormap color of a class or instance index (the devkit's ``labelcolormap``).

    Args:
        index: 0..255.

    Returns:
        ``(r, g, b)``: 0 is black, 1 is (128, 0, 0), 255 (void) is (224, 224, 192).
    """
    red = green = blue = 0
    for shift in range(7, -1, -1):
        red |= (index & 1) << shift
        green |= ((index >> 1) & 1) << shift
        blue |= ((index >> 2) & 1) << shift
        index >>= 3
    return red, green, blue


#: The VOC colormap by index, and as the PNG palette of SegmentationObject.
_VOC_COLORS = tuple(voc_color(index) for index in range(256))
_VOC_PALETTE = [value for color in _VOC_COLORS for value in color]


@register_format("voc")
class VocFormat(DatasetFormat):
    """Pascal VOC: detection XML with parts and actions, segmentation PNGs."""

    description = "Pascal VOC (Annotations/*.xml, ImageSets, JPEGImages, SegmentationClass, SegmentationObject)"
    # Shape groups: objects with their parts and masks; what else shares a group is counted.
    holds_group = True
    # z_order decides which mask is painted over which: the PNGs keep the outcome (a box's is lost).
    holds_z_order = frozenset(("mask", "polygon"))

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        root = Path(path)
        if not root.is_dir():
            return False
        annotations = root / ANNOTATIONS_DIR
        if annotations.is_dir() and any(annotations.glob("*.xml")):
            return True
        if (root / LISTS_DIR).is_dir() and (root / IMAGES_DIR).is_dir():
            return True
        return any((root / folder).is_dir() and any((root / folder).glob("*.png")) for folder in (CLASS_DIR, OBJECT_DIR))

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        root = Path(src)
        if not self.detect(root):
            raise FormatError(f"{root}: no Annotations/*.xml, ImageSets/Main lists or segmentation PNGs (not VOC)")
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
        items = dataset["items"]
        tagged = {tag["label"] for item in items for tag in item["annotation"]["tags"]}
        segmented = {shape["label"] for item in items for shape in item["annotation"]["shapes"] if shape["type"] in _SEGMENT_TYPES}
        listed_only = _unused_tag_labels(dataset["labels"], tagged, report)
        labels = _ExportLabels([label for label in dataset["labels"] if label["name"] not in listed_only], report, segmented)
        _report_labels(dataset["labels"], labels, listed_only, report)
        subsets: dict[str, list[str]] = {}
        segmentation_ids: dict[str, list[str]] = {}
        tags: dict[str, set[str]] = {}
        used: set[str] = set()
        heads: dict[str, str] = {}
        tally: Counter[str] = Counter()  # rasterised polygons, instances hidden in part
        for item in items:
            voc_id = unique_name(voc_id_for(item["path"]), used)
            subset = item.get("subset", DEFAULT_SUBSET)
            subsets.setdefault(subset, []).append(voc_id)
            if images is not None:
                _write_image(writer, voc_id, item, images, report, tally)
            instances: list[tuple[int, dict[str, Any]]] = []
            writer.write_bytes(f"{ANNOTATIONS_DIR}/{voc_id}.xml", _item_xml(item, voc_id, report, heads, labels, instances))
            if instances and _write_segmentation(writer, voc_id, item, instances, labels, report, tally):
                segmentation_ids.setdefault(subset, []).append(voc_id)
            if item["annotation"]["tags"]:
                tags[voc_id] = _tag_labels(item, labels, report)
        writer.mkdir(ANNOTATIONS_DIR)  # kept when there are no items, as VOC loaders expect it
        list_names = _list_names(subsets, report)
        for subset, ids in subsets.items():
            _write_list(writer, f"{LISTS_DIR}/{list_names[subset]}.txt", ids)
        for subset, ids in segmentation_ids.items():
            _write_list(writer, f"{SEGMENTATION_LISTS_DIR}/{list_names[subset]}.txt", ids)
        if tags or listed_only:
            _write_class_lists(writer, subsets, list_names, tags, labels, report, listed_only)
        writer.write_text(LABELMAP_FILE, labels.text(segmented=bool(segmentation_ids)))
        _note_reencoded_images(tally, report)
        if tally["polygon"]:
            report.note(f"polygons written as masks (rasterised) into the segmentation PNGs: {tally['polygon']}")
        if tally["void merged"]:
            merged = tally["void merged"]
            report.note(f"{IGNORE_LABEL} shapes merged into their item's void region (VOC void is pixels, not instances): {merged}")
        if tally["merged"]:
            report.note(f"masks and polygons of one group and label written as one instance (their union): {tally['merged']}")
        if tally["hidden"]:
            report.note(f"masks partly hidden by masks drawn over them (a VOC pixel holds one instance): {tally['hidden']}")

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


# -- label map ------------------------------------------------------------------------


@dataclass
class LabelMapEntry:
    """One line of ``labelmap.txt``: ``name:r,g,b:part,part:action,action``.

    Attributes:
        name: the label name.
        color: ``(r, g, b)``, or None when the line gives none.
        parts: names of the label's part labels.
        actions: names of the label's actions (boolean per object).
    """

    name: str
    color: tuple[int, int, int] | None = None
    parts: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def read_label_map(path: Path) -> list[LabelMapEntry]:
    """Read Datumaro's ``labelmap.txt``.

    Args:
        path: the file; ``#`` lines and blank lines are skipped, trailing fields may be left out.

    Returns:
        The entries in file order.

    Raises:
        FormatError: a line has more than 4 ``:``-separated fields, no name, a name listed
            twice or a color that is not ``r,g,b`` with values 0..255; the message names the
            file and line.
    """
    entries: list[LabelMapEntry] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{path}: line {number}"
        fields = text.split(":")
        if len(fields) > 4:
            raise FormatError(f"{where}: {len(fields)} ':'-separated fields, expected at most 4 (name:r,g,b:parts:actions)")
        fields += [""] * (4 - len(fields))
        name = fields[0].strip()
        if not name:
            raise FormatError(f"{where}: no label name")
        if name in seen:
            raise FormatError(f"{where}: label {name!r} is listed twice")
        seen.add(name)
        entries.append(LabelMapEntry(name, _parse_rgb(fields[1], where), _split_names(fields[2]), _split_names(fields[3])))
    return entries


def default_label_map() -> list[LabelMapEntry]:
    """Return VOC's label map, as Datumaro makes it when a dataset has no ``labelmap.txt``.

    Returns:
        The 21 classes (background first) with the VOC colormap; person has the parts head,
        hand, foot and the 11 actions of the VOC2012 action task.
    """
    entries = [LabelMapEntry(name, voc_color(index)) for index, name in enumerate(VOC_CLASSES)]
    person = entries[VOC_CLASSES.index("person")]
    person.parts, person.actions = list(VOC_PARTS), list(VOC_ACTIONS)
    return entries


def _parse_rgb(text: str, where: str) -> tuple[int, int, int] | None:
    if not text.strip():
        return None
    values = text.split(",")
    if len(values) != 3 or not all(value.strip().isdigit() and int(value) <= 255 for value in values):
        raise FormatError(f"{where}: color {text!r} is not r,g,b with values 0..255")
    red, green, blue = (int(value) for value in values)
    return red, green, blue


def _split_names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _hex_color(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _writable_name(name: str) -> bool:
    """Tell whether ``labelmap.txt`` can hold a label name (Datumaro splits lines at ``:``)."""
    return ":" not in name and "\n" not in name and "\r" not in name and not name.startswith("#") and name == name.strip()


# -- export ---------------------------------------------------------------------------


class _ExportLabels:
    """The label map of one export: order (class indices), colors, parts and actions.

    Part labels (a ``parent`` that is written as a line) appear only in their parent's parts
    column, as Datumaro requires; their class indices follow the lines. Class 0 is the
    background label (see :func:`_background_label`; ``background`` is added when masks are
    written and the dataset has none). ``__ignore__`` is void, index 255, and its line
    comes last. ``segmented`` names the labels that masks or polygons use.
    """

    def __init__(self, labels: list[dict[str, Any]], report: ConversionReport, segmented: frozenset[str] | set[str] = frozenset()) -> None:
        self.report = report
        self.by_name = {label["name"]: label for label in labels}
        unwritable = [label["name"] for label in labels if not _writable_name(label["name"])]
        if unwritable:
            reason = "labelmap.txt cannot hold a name with ':', a line break, a leading '#' or surrounding spaces"
            report.lose("label", reason, len(unwritable))
        writable = [label["name"] for label in labels if _writable_name(label["name"])]
        self.background = _background_label(labels, writable, segmented)
        written = {*writable, self.background}
        self.parent_of = {
            name: self.by_name[name]["parent"]
            for name in writable
            if self.by_name[name].get("parent") in written
            and self.by_name[name]["parent"] != name
            and "," not in name
            and IGNORE_LABEL not in (name, self.by_name[name]["parent"])
        }
        self.lines = [name for name in writable if name not in self.parent_of]  # dataset order
        self.parts: dict[str, list[str]] = {}
        for part, parent in self.parent_of.items():
            self.parts.setdefault(parent, []).append(part)
        self.actions = {name: _actions_of(self.by_name[name]) for name in self.lines}
        ordinary = [name for name in self.lines if name not in (self.background, IGNORE_LABEL)]
        classes = [self.background, *ordinary, *self.parent_of]
        self.index = {name: index for index, name in enumerate(classes)}
        if IGNORE_LABEL in self.lines:
            self.index[IGNORE_LABEL] = VOID  # void pixels; its labelmap.txt line comes last
        lost_colors = sum(1 for name in self.parent_of if self.by_name[name].get("color"))
        if lost_colors:
            report.lose("label color", "labelmap.txt has no color for part labels", lost_colors)

    def is_part(self, label: str, of: str) -> bool:
        """Tell whether ``label`` is written as a part of ``of``."""
        return self.parent_of.get(label) == of

    def class_color(self, name: str) -> tuple[int, int, int]:
        """Return the color of a label's class pixels: its own, else the VOC colormap's for its index."""
        color = self.by_name.get(name, {}).get("color")
        if color:
            return _rgb(color)
        return (0, 0, 0) if name == self.background else voc_color(self.index[name] % 256)

    def text(self, *, segmented: bool) -> str:
        """Return the ``labelmap.txt`` text.

        Args:
            segmented: PNGs were written: lines in class order (background first), every label with its class color.
        """
        lines = ["# label:color_rgb:parts:actions"]
        names = [name for name in self.index if name not in self.parent_of] if segmented else self.lines
        colors = {}
        for name in names:
            own = self.by_name.get(name, {}).get("color")
            color = self.class_color(name) if segmented else (_rgb(own) if own else None)
            colors[name] = color
            rgb = ",".join(str(value) for value in color) if color else ""
            lines.append(f"{name}:{rgb}:{','.join(self.parts.get(name, []))}:{','.join(self.actions.get(name, []))}")
        if segmented:
            _note_shared_colors(colors, self.report)
        return "\n".join(lines) + "\n"

    @cached_property
    def palette(self) -> list[int]:
        """The 768-value PNG palette of the class PNG: class colors, the VOC colormap elsewhere (made once per export)."""
        colors = list(_VOC_COLORS)
        for name, index in self.index.items():
            if index <= VOID:
                colors[index] = self.class_color(name)
        return [value for color in colors for value in color]


def _background_label(labels: list[dict[str, Any]], writable: list[str], segmented: frozenset[str] | set[str]) -> str:
    """Return the name of class 0: the background label of the dataset, else ``background`` (added).

    A label named ``background`` (VOC's default map) or ``_background_`` (labelme2voc's
    ``class_names.txt``), else one with id 0 and color black that no mask or polygon uses
    (line 0 of a ``labelmap.txt`` read back; Datumaro takes the black label as background).
    """
    names = set(writable)
    for name in BACKGROUND_NAMES:
        if name in names:
            return name
    for label in labels:
        name = label["name"]
        black = (label.get("color") or "").lower() == "#000000"
        if label["id"] == 0 and black and name in names and name not in segmented and name != IGNORE_LABEL and label["kind"] == "shape":
            return name
    return BACKGROUND


def _unused_tag_labels(labels: list[dict[str, Any]], tagged: set[str], report: ConversionReport) -> list[str]:
    """Return the tag labels that no image has and that go into per-class lists only (not ``labelmap.txt``).

    An import reads a per-class list whose label ``labelmap.txt`` does not list as a tag label,
    used or not; ``labelmap.txt`` cannot mark one. A name a list file cannot have stays in
    ``labelmap.txt`` and comes back as a shape label: counted.
    """
    unused = [label["name"] for label in labels if label["kind"] == "tag" and label["name"] not in tagged]
    listed = [name for name in unused if _file_safe(name) == name and name not in BACKGROUND_NAMES and name != IGNORE_LABEL]
    if len(listed) < len(unused):
        reason = "VOC marks a tag label by per-class list files, which cannot have its name: it comes back as a shape label"
        report.lose("label kind", reason, len(unused) - len(listed))
    return listed


def _report_labels(labels: list[dict[str, Any]], written: _ExportLabels, listed_only: list[str], report: ConversionReport) -> None:
    """Count what VOC loses of the labels themselves (see :func:`_common.report_label_list`).

    ``labelmap.txt`` holds a label's color, parts (a part label's ``parent``) and actions (its
    ``checkbox`` attributes); per-class lists hold tag labels. Lost: keypoint names and
    skeletons, other attribute definitions, the actions and color of a part label and of a
    tag label kept only in its lists, and a parent that is not written.
    """
    report_label_list(labels, None, report, "VOC", colors_of=(), holds=("tag", "attributes", "parent"))
    specs = parents = colors = 0
    for label in labels:
        name = label["name"]
        if name not in written.by_name or not _writable_name(name):
            if name in listed_only:
                specs += len(label.get("attributes", []))
                parents += bool(label.get("parent"))
                colors += bool(label.get("color"))
            continue
        specs += len(label.get("attributes", [])) - len(written.actions.get(name, ()))
        parents += bool(label.get("parent")) and name not in written.parent_of
    if specs:
        report.lose("label attribute", "labelmap.txt declares only checkbox attributes (as actions) of labels that are not parts", specs)
    if parents:
        reason = "labelmap.txt lists parts of written labels only, and no background, void or comma-named parts"
        report.lose("label parent", reason, parents)
    if colors:
        report.lose("label color", "a tag label that no image has is kept in per-class lists only, without its color", colors)


def _actions_of(label: dict[str, Any]) -> list[str]:
    return [
        spec["name"]
        for spec in label.get("attributes", [])
        if spec.get("type") == "checkbox" and _XML_NAME.match(spec["name"]) and "," not in spec["name"]
    ]


def _note_shared_colors(colors: dict[str, tuple[int, int, int] | None], report: ConversionReport) -> None:
    owner: dict[tuple[int, int, int], str] = {}
    for name, color in colors.items():
        if color is None:
            continue
        if color in owner:
            report.note(f"labels {owner[color]!r} and {name!r} share the color {color}: readers going by color mix them up")
        else:
            owner[color] = name


def _file_safe(name: str) -> str:
    return _UNSAFE_CHARS.sub("_", name.replace("/", "_"))


def _list_names(subsets: dict[str, list[str]], report: ConversionReport) -> dict[str, str]:
    """Return the list file stem of each subset (``trainval`` for a dataset that is all ``default``)."""
    if not subsets:
        subsets[DEFAULT_SUBSET] = []
    if set(subsets) == {DEFAULT_SUBSET}:
        return {DEFAULT_SUBSET: ALL_IDS_LIST}
    if set(subsets) == {ALL_IDS_LIST}:
        report.note(f"the only subset is {ALL_IDS_LIST!r}: an import reads a lone {ALL_IDS_LIST}.txt as the {DEFAULT_SUBSET!r} subset")
    used: set[str] = set()
    names = {}
    for subset in subsets:
        name = unique_name(_file_safe(subset), used)
        if name != _file_safe(subset):
            report.note(f"subset {subset!r} listed in {name + '.txt'!r}: another subset has the same file name")
        names[subset] = name
    return names


def _write_list(writer: DatasetWriter, relpath: str, ids: list[str]) -> None:
    writer.write_text(relpath, "".join(f"{voc_id}\n" for voc_id in ids))


def _tag_labels(item: dict[str, Any], labels: _ExportLabels, report: ConversionReport) -> set[str]:
    """Return the tag labels of an item that per-class lists can hold; count the rest."""
    names: set[str] = set()
    for tag in item["annotation"]["tags"]:
        label = tag["label"]
        if label not in labels.index or _file_safe(label) != label:
            report.lose("tag", "its label name cannot be a per-class list name")
        elif label in names:
            report.lose("tag", "a per-class list holds a label once per image")
        else:
            names.add(label)
        if tag.get("attributes"):
            report.lose("attribute", "VOC per-class lists hold no tag attributes", len(tag["attributes"]))
    return names


def _write_class_lists(
    writer: DatasetWriter,
    subsets: dict[str, list[str]],
    list_names: dict[str, str],
    tags: dict[str, set[str]],
    labels: _ExportLabels,
    report: ConversionReport,
    listed_only: tuple[str, ...] | list[str] = (),
) -> None:
    """Write ``<label>_<list>.txt`` for every tag label and subset, as Datumaro writes them (``id  1`` / ``id -1``).

    ``listed_only`` are the tag labels no image has and ``labelmap.txt`` leaves out: their
    lists (all ``-1``) are what tells an import that they are tag labels.
    """
    used = {name for voc_ids in tags.values() for name in voc_ids}
    taken = set(list_names.values())
    unlisted = 0
    for label in [*(name for name in labels.index if name in used), *listed_only]:
        written = False
        for subset, ids in subsets.items():
            stem = f"{label}_{list_names[subset]}"
            if stem in taken or not ids:
                lost = sum(label in tags.get(voc_id, ()) for voc_id in ids)
                if lost:
                    report.lose("tag", "its per-class list would have the name of a subset list", lost)
                continue
            lines = "".join(f"{voc_id} {' 1' if label in tags.get(voc_id, ()) else '-1'}\n" for voc_id in ids)
            writer.write_text(f"{LISTS_DIR}/{stem}.txt", lines)
            written = True
        unlisted += label in listed_only and not written
    if unlisted:
        reason = "an unused tag label is kept only by its per-class lists, and it has none (no items, or the name of a subset list)"
        report.lose("label", reason, unlisted)


def _write_image(
    writer: DatasetWriter, voc_id: str, item: dict[str, Any], images: ImageSource, report: ConversionReport, tally: Counter[str]
) -> None:
    """Write the item's image as ``JPEGImages/<voc_id>.jpg``, counting in ``tally`` those re-encoded and flattened."""
    image = images(item)
    if image is None:
        report.note(f"no image for item {item['id']!r}; annotations only")
        return
    data, ext = image
    if ext.lower() not in (".jpg", ".jpeg"):
        # VOC keeps JPEGs only; re-encode, flattening any alpha channel onto white.
        with Image.open(io.BytesIO(data)) as source:
            tally[f"re-encoded {ext.lstrip('.').upper()}"] += 1
            tally["alpha flattened"] += "A" in source.getbands() or "transparency" in source.info
            rgba = source.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
        buffer = io.BytesIO()
        flat.save(buffer, format="JPEG", quality=95)
        data = buffer.getvalue()
    writer.write_bytes(f"{IMAGES_DIR}/{voc_id}.jpg", data)


def _note_reencoded_images(tally: Counter[str], report: ConversionReport) -> None:
    """Note the images of other types written re-encoded as JPEG, and how many had alpha flattened onto white."""
    for key in sorted(key for key in tally if key.startswith("re-encoded ")):
        kind = key.removeprefix("re-encoded ")
        report.note(f"{plural(tally[key], f'{kind} image')} re-encoded as JPEG (VOC's JPEGImages)")
    if tally["alpha flattened"]:
        report.note(f"{plural(tally['alpha flattened'], 'image')} with transparency flattened onto white (JPEG has no alpha)")


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


_NO_LABELS = _ExportLabels([], ConversionReport())
_HEADER_PARTS = 4  # strings in front of the first object in _item_xml's list


def _item_xml(
    item: dict[str, Any],
    voc_id: str,
    report: ConversionReport,
    heads: dict[str, str] | None = None,
    labels: _ExportLabels | None = None,
    instances: list[tuple[int, dict[str, Any]]] | None = None,
) -> bytes:
    """Return the annotation XML of one item.

    Args:
        item: the item.
        voc_id: its VOC id (the ``<filename>`` stem).
        report: counts what is lost, clipped or dropped.
        heads: :func:`_object_head` texts by label name, shared by an export's items.
        labels: the export's label map (parts, actions); None for none.
        instances: receives ``(k, shape)`` for each mask or polygon to paint as instance k;
            None counts masks and polygons as lost.

    Returns:
        The XML, UTF-8.
    """
    # Built from strings: ElementTree plus indent() took most of the export time. The bytes
    # are those ElementTree wrote (two-space indent, same escaping, no final line end). Each
    # object is one string of ``parts``, so the objects written so far are len(parts) - header.
    labels = labels if labels is not None else _NO_LABELS
    shapes = item["annotation"]["shapes"]
    parts = [
        "<?xml version='1.0' encoding='utf-8'?>\n<annotation>\n  <folder>VOC2012</folder>\n",
        _leaf("  ", "filename", f"{voc_id}.jpg"),
        _leaf("  ", "path", item["path"]),
        f"  <source>\n    <database>annotate</database>\n  </source>\n"
        f"  <size>\n    <width>{item['width']}</width>\n    <height>{item['height']}</height>\n    <depth>3</depth>\n  </size>\n"
        "  <segmented>0</segmented>\n",
    ]
    if instances is None and item["annotation"]["tags"]:
        report.lose("tag", "VOC annotation files have no image-level tags", len(item["annotation"]["tags"]))
    heads = heads if heads is not None else {}  # _object_head by label name, shared by an export's items
    width, height = item["width"], item["height"]
    groups: _Groups | None = None
    segments: list[dict[str, Any]] = []
    for shape in shapes:
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
                if xmax < xmin:
                    xmin = xmax = xmax if xmax > 1 else 1
                if ymax < ymin:
                    ymin = ymax = ymax if ymax > 1 else 1
                parts.append(
                    f"{head}    <bndbox>\n      <xmin>{xmin}</xmin>\n      <ymin>{ymin}</ymin>\n"
                    f"      <xmax>{xmax}</xmax>\n      <ymax>{ymax}</ymax>\n    </bndbox>\n  </object>\n"
                )
                continue
        kind = shape["type"]
        if kind in _SEGMENT_TYPES and instances is not None:
            segments.append(shape)
            continue
        if kind != "bbox":
            report.lose(kind, _unsupported_reason(kind))
            continue
        group_parts: list[tuple[dict[str, Any], list[float]]] = []
        if shape.get("group") is not None:
            groups = groups if groups is not None else _Groups(shapes, labels, report)
            if not groups.is_object(shape):
                continue  # a part: written inside its object
            group_parts = groups.clipped_parts(shape, width, height)
        bbox = clip_box(shape["bbox"], width, height, report)
        if bbox is None:
            if group_parts:
                report.lose("bbox", "a part whose object box has no area inside the image", len(group_parts))
            continue
        if groups is not None and shape.get("group") is not None:
            groups.object_index[shape["group"]] = len(parts) - _HEADER_PARTS + 1
        _object_xml(parts, shape, bbox, group_parts=group_parts, actions=labels.actions.get(shape["label"], ()), report=report)
    parts.append("</annotation>")
    if segments:
        parts[3] = parts[3].replace("<segmented>0<", "<segmented>1<")
        _number_instances(segments, groups, len(parts) - _HEADER_PARTS - 1, instances, report)
    # ElementTree encodes with xmlcharrefreplace: a lone surrogate becomes a character reference.
    return "".join(parts).encode("utf-8", "xmlcharrefreplace")


class _Groups:
    """Which boxes of an item are VOC objects and which are their parts, by ``group``."""

    def __init__(self, shapes: list[dict[str, Any]], labels: _ExportLabels, report: ConversionReport) -> None:
        self.report = report
        self.parts_of: dict[str, list[dict[str, Any]]] = {}  # object shape id -> part boxes
        self.object_index: dict[Any, int] = {}  # group -> k, filled while writing
        members: dict[Any, list[dict[str, Any]]] = {}
        for shape in shapes:
            if shape.get("group") is not None and shape["type"] == "bbox":
                members.setdefault(shape["group"], []).append(shape)
        self.part_ids: set[str] = set()
        for boxes in members.values():
            labels_here = {box["label"] for box in boxes}
            owner = next((box for box in boxes if not any(labels.is_part(box["label"], other) for other in labels_here)), boxes[0])
            parts = [box for box in boxes if box is not owner and labels.is_part(box["label"], owner["label"])]
            self.parts_of[owner["id"]] = parts
            self.part_ids.update(part["id"] for part in parts)
            alone = len(boxes) - 1 - len(parts)
            if alone:
                report.lose("group membership", "a VOC object is one box with its parts and one mask", alone)

    def is_object(self, shape: dict[str, Any]) -> bool:
        """Tell whether a grouped box is written as an ``<object>`` (not as a ``<part>``)."""
        return shape["id"] not in self.part_ids

    def clipped_parts(self, shape: dict[str, Any], width: int, height: int) -> list[tuple[dict[str, Any], list[float]]]:
        """Return the object's parts with their boxes clipped to the image; count those dropped."""
        result = []
        for part in self.parts_of.get(shape["id"], []):
            bbox = clip_box(part["bbox"], width, height, self.report)
            if bbox is not None:
                result.append((part, bbox))
        return result


def _number_instances(
    segments: list[dict[str, Any]],
    groups: _Groups | None,
    object_count: int,
    instances: list[tuple[int, dict[str, Any]]],
    report: ConversionReport,
) -> None:
    """Give each mask or polygon its instance index k, appending ``(k, shape)`` to ``instances``.

    The masks and polygons of one group and one label are one instance (their union). The
    first such instance of a group with an object box is that object's (k of the object);
    the others of the group are instances of their own and their group membership is counted
    as lost. An instance with no object takes its ``group`` as k when that is free (above the
    objects, below 255); the others follow the objects in shape order, skipping the indices
    taken. Void shapes (label ``__ignore__``) get no index: they are painted as 255.

    Args:
        segments: the item's masks and polygons, in shape order.
        groups: the item's grouped boxes (object indices by group); None when no box has a group.
        object_count: the number of ``<object>`` entries written for the item.
        instances: receives the ``(k, shape)`` pairs.
        report: counts the group memberships an import cannot give back.
    """
    object_of = groups.object_index if groups is not None else {}
    paired: dict[int, list[dict[str, Any]]] = {}  # object index -> its instance's shapes
    alone: list[list[dict[str, Any]]] = []  # instances without an object, each its shapes
    by_key: dict[tuple[Any, str], list[dict[str, Any]]] = {}
    for shape in segments:
        if shape["label"] == IGNORE_LABEL:
            instances.append((VOID, shape))
            continue
        group = shape.get("group")
        members = by_key.get((group, shape["label"])) if group is not None else None
        if members is not None:
            members.append(shape)
            continue
        members = [shape]
        if group is not None:
            by_key[group, shape["label"]] = members
        k = object_of.get(group) if group is not None else None
        if k is not None and k not in paired:
            paired[k] = members
        else:
            alone.append(members)
    for k, members in paired.items():
        instances.extend((k, shape) for shape in members)
    numbered = _number_alone(alone, object_of, object_count)
    instances.extend((k, shape) for k, members in numbered for shape in members)
    lost = sum(len(members) for k, members in _groups_not_read_back(numbered, object_count))
    if lost:
        report.lose(
            "group membership",
            "VOC keeps a group as one object (a box, its parts and one instance of one label) or as the index of an instance "
            "without an object box, above the objects and below 255, where the import's numbering would not give it",
            lost,
        )


def _number_alone(
    alone: list[list[dict[str, Any]]], object_of: dict[Any, int], object_count: int
) -> list[tuple[int, list[dict[str, Any]]]]:
    """Number the instances without an object: their group when free (above the objects, below 255), else the next free index."""
    taken = set(range(1, object_count + 1))
    chosen: dict[int, int] = {}  # position in alone -> k
    for position, members in enumerate(alone):
        group = members[0].get("group")
        free = group not in object_of and group not in taken
        if isinstance(group, int) and not isinstance(group, bool) and object_count < group < VOID and free:
            chosen[position] = group
            taken.add(group)
    numbered = []
    number = object_count
    for position, members in enumerate(alone):
        k = chosen.get(position)
        if k is None:
            number += 1
            while number in taken:
                number += 1
            k = number
        numbered.append((k, members))
    return numbered


def _groups_not_read_back(numbered: list[tuple[int, list[dict[str, Any]]]], object_count: int) -> list[tuple[int, list[dict[str, Any]]]]:
    """Return the grouped instances without an object whose group an import would not give back.

    An import numbers these instances on from the objects in index order and gives an
    instance its k as its group only where that numbering does not give it k (see
    :meth:`_Reader._masks`). An instance at 255 or beyond is not written at all (counted there).
    """
    lost = []
    number = object_count
    for k, members in sorted(numbered, key=lambda pair: pair[0]):
        if k >= VOID:
            continue
        number += 1
        read_back = k if k != number else None
        if members[0].get("group") is not None and read_back != members[0].get("group"):
            lost.append((k, members))
    return lost


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
    return f"VOC has no {names.get(kind, kind)}"


def _corners(bbox: list[float]) -> tuple[int, int, int, int]:
    """Return VOC's ``xmin, ymin, xmax, ymax`` (1-based, inclusive) of a box inside the image."""
    x, y, width, height = bbox
    xmin, ymin = round_half_up(x) + 1, round_half_up(y) + 1
    xmax, ymax = round_half_up(x + width), round_half_up(y + height)
    # A box thinner than the rounding is the pixel its far edge rounds into (inside the image).
    if xmax < xmin:
        xmin = xmax = max(xmax, 1)
    if ymax < ymin:
        ymin = ymax = max(ymax, 1)
    return xmin, ymin, xmax, ymax


def _bndbox(indent: str, bbox: list[float]) -> str:
    xmin, ymin, xmax, ymax = _corners(bbox)
    inner = indent + "  "
    return (
        f"{indent}<bndbox>\n{inner}<xmin>{xmin}</xmin>\n{inner}<ymin>{ymin}</ymin>\n"
        f"{inner}<xmax>{xmax}</xmax>\n{inner}<ymax>{ymax}</ymax>\n{indent}</bndbox>\n"
    )


def _object_xml(
    parts: list[str],
    shape: dict[str, Any],
    bbox: list[float],
    *,
    group_parts: list[tuple[dict[str, Any], list[float]]] = (),  # type: ignore[assignment]
    actions: list[str] | tuple[str, ...] = (),
    report: ConversionReport | None = None,
) -> None:
    """Append one ``<object>`` (as one string) to ``parts``.

    Args:
        parts: the XML pieces of the item.
        shape: the box.
        bbox: its box clipped to the image.
        group_parts: its part boxes with their clipped boxes, written as ``<part>``.
        actions: the action names of its label: boolean attributes of these names are
            written in ``<actions>``.
        report: counts part attributes and flags, which ``<part>`` cannot hold.
    """
    attributes = dict(shape.get("attributes", {}))
    pose = attributes.pop("pose", "Unspecified")
    if report is not None:
        _count_changed_values(shape.get("attributes", {}), actions, report)
    text = ["  <object>\n", _leaf("    ", "name", shape["label"]), _leaf("    ", "pose", format_attribute_value(pose))]
    for flag in _FLAGS:
        text.append(f"    <{flag}>{int(bool(shape.get(flag, False)))}</{flag}>\n")
    text.append(_bndbox("    ", bbox))
    for part, part_box in group_parts:
        text.append("    <part>\n" + _leaf("      ", "name", part["label"]) + _bndbox("      ", part_box) + "    </part>\n")
        extra = len(part.get("attributes", {})) + sum(bool(part.get(flag)) for flag in SHAPE_FLAGS)
        if extra and report is not None:
            report.lose("attribute", "a VOC <part> holds only a name and a box", extra)
    done = [name for name in actions if isinstance(attributes.get(name), bool)]
    if done:
        text.append("    <actions>\n")
        text.extend(f"      <{name}>{int(attributes.pop(name))}</{name}>\n" for name in done)
        text.append("    </actions>\n")
    if attributes:
        text.append("    <attributes>\n")
        for name, value in attributes.items():
            text.append("      <attribute>\n")
            text.append(_leaf("        ", "name", name))
            text.append(_leaf("        ", "value", format_attribute_value(value)))
            text.append("      </attribute>\n")
        text.append("    </attributes>\n")
    text.append("  </object>\n")
    parts.append("".join(text))


def _reads_back(value: Any) -> bool:
    """Tell whether an ``<attributes>`` value comes back as itself: same type, same value.

    An import strips the text and reads ``true``, ``false`` and numbers back as such, so
    the texts ``"0003"``, ``"true"``, ``"-0"`` and ``" x "`` would come back as ``3``,
    ``True``, ``0`` and ``"x"``.
    """
    back = parse_attribute_value(format_attribute_value(value).strip())
    return type(back) is type(value) and back == value


def _pose_reads_back(pose: Any) -> bool:
    """Tell whether a ``pose`` attribute comes back as itself: ``<pose>`` is read as stripped text."""
    return isinstance(pose, str) and pose == pose.strip() and pose not in ("", "Unspecified")


def _count_changed_values(attributes: dict[str, Any], actions: list[str] | tuple[str, ...], report: ConversionReport) -> None:
    """Count the attribute values of an object that an import would read back as another value or type.

    VOC's ``<pose>`` and ``<value>`` are text, and neither ``labelmap.txt`` nor the object
    can say an attribute's type, so a text that reads as a number or a boolean, or has
    surrounding spaces, cannot come back as it was. Action values (booleans) always do.
    """
    changed = 0
    for name, value in attributes.items():
        if name == "pose":
            changed += not _pose_reads_back(value)
        elif not (name in actions and isinstance(value, bool)):
            changed += not _reads_back(value)
    if changed:
        report.lose("attribute value", "VOC writes attribute values as text; this one would read back as another value or type", changed)


def _segment_pixels(shape: dict[str, Any], width: int, height: int) -> np.ndarray | None:
    """Return the ``(height, width)`` 0/1 array of a mask or polygon, or None when its RLE has another size."""
    if shape["type"] == "mask":
        if [int(value) for value in shape["rle"]["size"]] != [height, width]:
            return None
        return decode_mask(shape["rle"])
    rles = mask_utils.frPyObjects([list(map(float, ring)) for ring in shape["rings"]], height, width)
    return decode_mask(mask_utils.merge(rles))


def _write_segmentation(
    writer: DatasetWriter,
    voc_id: str,
    item: dict[str, Any],
    instances: list[tuple[int, dict[str, Any]]],
    labels: _ExportLabels,
    report: ConversionReport,
    tally: Counter[str],
) -> bool:
    """Paint the item's masks and polygons into its two PNGs.

    Args:
        writer: the export's destination.
        voc_id: the item's VOC id (the PNG names).
        item: the item.
        instances: ``(k, shape)`` pairs from :func:`_item_xml`.
        labels: the export's label map (class indices, palette).
        report: counts masks that cannot be written or are hidden entirely.
        tally: counts rasterised polygons (``"polygon"``) and masks hidden in part (``"hidden"``).

    Returns:
        True when the PNGs were written (at least one instance had pixels).
    """
    width, height = item["width"], item["height"]
    classes = np.zeros((height, width), dtype=np.uint8)
    objects = np.zeros((height, width), dtype=np.uint8)
    areas: dict[int, tuple[str, int]] = {}  # k -> (shape type, pixels painted)
    # An instance of several masks or polygons (one group and label) is their union.
    sizes = Counter(k for k, _ in instances if k != VOID)
    unions = {k: np.zeros((height, width), dtype=bool) for k, size in sizes.items() if size > 1}
    tally["merged"] += sum(size for size in sizes.values() if size > 1)
    order = {id(shape): position for position, (_, shape) in enumerate(instances)}
    voids: list[tuple[str, np.ndarray, int, bool]] = []  # (shape type, pixels, area, in SegmentationObject) of void shapes
    for k, shape in sorted(instances, key=lambda pair: (pair[1].get("z_order", 0), order[id(pair[1])])):
        kind = shape["type"]
        class_index = labels.index.get(shape["label"])
        void = class_index == VOID and shape["label"] == IGNORE_LABEL
        if class_index is None or (class_index >= VOID and not void):
            report.lose(kind, "its label has no class index below 255 in labelmap.txt")
            continue
        if k >= VOID and not void:
            report.lose(kind, "a VOC SegmentationObject PNG holds at most 254 instances")
            continue
        pixels = _segment_pixels(shape, width, height)
        if pixels is None:
            report.lose(kind, "its RLE size is not the image size")
            continue
        selected = pixels.astype(bool)
        area = int(np.count_nonzero(selected))
        if not area:
            report.drop_empty(kind)
            continue
        if kind == "polygon":
            tally["polygon"] += 1
        classes[selected] = class_index
        _count_unwritten_fields(shape, report)
        if void:
            # Void in SegmentationClass; in SegmentationObject too when its group is 255 (as
            # an import of VOC's void borders gives it), else the instances there stay.
            if shape.get("group") == VOID:
                objects[selected] = VOID
            voids.append((kind, selected, area, shape.get("group") == VOID))
            continue
        objects[selected] = k
        if k in unions:
            unions[k] |= selected
            kind, area = "mask", int(np.count_nonzero(unions[k]))
        areas[k] = (kind, area)
    if not areas and not voids:
        return False
    left = np.bincount(objects.ravel(), minlength=VOID)
    for k, (kind, area) in areas.items():
        if left[k] == 0:
            report.lose(kind, "masks drawn over it hide it entirely (a VOC pixel holds one instance)", sizes[k])
        elif left[k] < area:
            tally["hidden"] += 1
    for kind, selected, area, _ in voids:
        visible = int(np.count_nonzero(classes[selected] == VOID))
        if visible == 0:
            report.lose(kind, "masks drawn over it hide it entirely (a VOC pixel holds one instance)")
        elif visible < area:
            tally["hidden"] += 1
    # An import reads an item's void pixels back as one mask (two when only some are void in SegmentationObject).
    tally["void merged"] += len(voids) - len({in_objects for *_, in_objects in voids})
    writer.write_bytes(f"{CLASS_DIR}/{voc_id}.png", _palette_png(classes, labels.palette))
    writer.write_bytes(f"{OBJECT_DIR}/{voc_id}.png", _palette_png(objects, _VOC_PALETTE))
    return True


def _count_unwritten_fields(shape: dict[str, Any], report: ConversionReport) -> None:
    """Count the attributes and set flags of a mask or polygon: a PNG instance holds only its pixels and class."""
    if shape.get("attributes"):
        report.lose("attribute", "VOC segmentation PNGs hold no attributes", len(shape["attributes"]))
    flags = sum(bool(shape.get(flag)) for flag in SHAPE_FLAGS)
    if flags:
        report.lose("flag", "VOC segmentation PNGs hold no flags (occluded, truncated, difficult, iscrowd)", flags)


def _palette_png(indices: np.ndarray, palette: list[int]) -> bytes:
    image = Image.fromarray(indices, mode="P")
    image.putpalette(palette)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


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


def _content_lines(path: Path) -> list[str]:
    """The lines of a list file, stripped, without blank and ``#`` lines."""
    lines = (line.strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@dataclass
class _VocObject:
    """An ``<object>`` as read, before clipping: its box shape fields and its parts."""

    index: int
    shape: dict[str, Any]
    raw: list[float]
    parts: list[tuple[dict[str, Any], list[float]]]


class _Reader:
    """Reads one VOC tree into a dataset document."""

    def __init__(self, root: Path, report: ConversionReport) -> None:
        self.root = root
        self.report = report
        self.labels: dict[str, dict[str, Any]] = {}
        self.class_names: list[str] = []  # class index -> label name
        self.class_colors: dict[int, int] = {}  # 0xRRGGBB -> class index, for RGB class PNGs
        self.shape_labels: set[str] = set()
        self.tag_labels: set[str] = set()
        self.sized_by_boxes = 0
        self.object_void_only = 0  # pixels void in SegmentationObject only

    def read(self) -> dict[str, Any]:
        self._read_labels()
        subset_lists, class_lists = self._scan_lists()
        ids = self._ids_and_subsets(subset_lists)
        tags = self._read_class_lists(class_lists, {voc_id for voc_id, _ in ids})
        items = [self._item(voc_id, subset, tags.get(voc_id, [])) for voc_id, subset in ids]
        for name, label in self.labels.items():
            if name in self.tag_labels and name not in self.shape_labels:
                label["kind"] = "tag"
        if self.sized_by_boxes:
            self.report.note(
                f"{self.sized_by_boxes} items have no size in their XML, no image and no PNG: "
                "sized to the extent of their boxes (1x1 without boxes)"
            )
        if self.object_void_only:
            reason = (
                "SegmentationObject marks it void (255) where SegmentationClass does not: "
                "a void region is void in SegmentationClass, and in SegmentationObject too or not at all"
            )
            self.report.lose("void pixel", reason, self.object_void_only)
        dataset = {"version": 1, "labels": list(self.labels.values()), "items": items}
        validate_dataset(dataset)
        return dataset

    # -- labels

    def _read_labels(self) -> None:
        labelmap, class_names = self.root / LABELMAP_FILE, self.root / CLASS_NAMES_FILE
        if labelmap.is_file():
            entries = read_label_map(labelmap)
        elif class_names.is_file():
            entries = [LabelMapEntry(name) for name in _content_lines(class_names)]
        else:
            entries = default_label_map()
        for entry in entries:
            label = self._label(entry.name)
            if entry.color is not None:
                label["color"] = _hex_color(entry.color)
            for action in entry.actions:
                self._add_action(label, action)
        for entry in entries:
            for part in entry.parts:
                label = self._label(part)
                label.setdefault("parent", entry.name)
        # Class index = line (parts after the lines); line 0 is the background whatever its name
        # (background, labelme's _background_); a __ignore__ line is void (255), no class.
        self.class_names = [name for name in self.labels if name != IGNORE_LABEL]
        for index, name in enumerate(self.class_names[:VOID]):
            color = self.labels[name].get("color")
            self.class_colors.setdefault(_color_code(_rgb(color) if color else _VOC_COLORS[index]), index)
        void_color = self.labels.get(IGNORE_LABEL, {}).get("color")
        if void_color:
            self.class_colors.setdefault(_color_code(_rgb(void_color)), VOID)
        self.class_colors.setdefault(0xE0E0C0, VOID)

    def _label(self, name: str) -> dict[str, Any]:
        if name not in self.labels:
            next_id = max((label["id"] for label in self.labels.values()), default=-1) + 1
            self.labels[name] = {"id": next_id, "name": name, "kind": "shape"}
        return self.labels[name]

    @staticmethod
    def _add_action(label: dict[str, Any], action: str) -> None:
        specs = label.setdefault("attributes", [])
        if all(spec["name"] != action for spec in specs):
            specs.append({"name": action, "type": "checkbox"})

    # -- lists

    def _scan_lists(self) -> tuple[list[tuple[str, list[str]]], list[tuple[Path, str, list[str]]]]:
        """Return the subset lists ``(stem, ids)`` and the per-class lists ``(path, label, lines)``."""
        subset_lists: list[tuple[str, list[str]]] = []
        class_lists: list[tuple[Path, str, list[str]]] = []
        for folder in (LISTS_DIR, SEGMENTATION_LISTS_DIR):
            directory = self.root / folder
            files = sorted(directory.glob("*.txt")) if directory.is_dir() else []
            stems = {path.stem for path in files}
            found = []
            for path in files:
                lines = _content_lines(path)
                if not lines:
                    continue
                label = self._class_list_label(path.stem, lines, stems) if folder == LISTS_DIR else None
                if label is not None:
                    class_lists.append((path, label, lines))
                else:
                    found.append((path.stem, lines))
            # The aggregate list comes last so that train/val keep their own subset names.
            found.sort(key=lambda entry: entry[0] == ALL_IDS_LIST)
            subset_lists.extend(found)
        return subset_lists, class_lists

    def _class_list_label(self, stem: str, lines: list[str], stems: set[str]) -> str | None:
        """Return the label of a per-class list ``<label>_<list>.txt``, or None for a subset list."""
        if "_" not in stem or not all(len(line.split()) > 1 and line.rsplit(None, 1)[1] in _PRESENCE for line in lines):
            return None
        for other in sorted(stems, key=len, reverse=True):
            if other != stem and stem.endswith("_" + other):
                return stem[: -len(other) - 1]
        known = [name for name in self.labels if stem.startswith(name + "_")]
        return max(known, key=len) if known else stem.rsplit("_", 1)[0]

    def _ids_and_subsets(self, subset_lists: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
        """Return ``(id, subset)`` in list order; each id once, in its first subset list."""
        lone_all = {stem for stem, _ in subset_lists} == {ALL_IDS_LIST}
        result: dict[str, str] = {}
        for stem, ids in subset_lists:
            subset = DEFAULT_SUBSET if lone_all else stem
            for voc_id in ids:
                result.setdefault(voc_id, subset)
        for folder, pattern in ((ANNOTATIONS_DIR, "*.xml"), (CLASS_DIR, "*.png"), (OBJECT_DIR, "*.png")):
            directory = self.root / folder
            if directory.is_dir():
                for path in sorted(directory.glob(pattern)):
                    result.setdefault(path.stem, DEFAULT_SUBSET)
        return list(result.items())

    def _read_class_lists(self, class_lists: list[tuple[Path, str, list[str]]], known: set[str]) -> dict[str, list[dict[str, Any]]]:
        """Return the image tags given by per-class lists (a ``1``), by item id."""
        tags: dict[str, list[dict[str, Any]]] = {}
        for _, label, lines in class_lists:
            if label not in self.labels:
                # Not in the label map: a tag label even when no image has it (the export keeps
                # an unused tag label so, as labelmap.txt cannot mark it).
                self._label(label)
                self.tag_labels.add(label)
            for line in lines:
                voc_id, presence = line.rsplit(None, 1)
                if presence != "1":
                    continue
                if voc_id not in known:
                    self.report.lose("tag", "a per-class list names an item that no subset list or annotation file has")
                    continue
                item_tags = tags.setdefault(voc_id, [])
                if all(tag["label"] != label for tag in item_tags):
                    self._label(label)
                    self.tag_labels.add(label)
                    item_tags.append({"id": f"tag{len(item_tags) + 1}", "label": label, "source": dict(HUMAN)})
        return tags

    # -- items

    def _item(self, voc_id: str, subset: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
        xml_path = self.root / ANNOTATIONS_DIR / f"{voc_id}.xml"
        tree = parse_xml(xml_path) if xml_path.is_file() else None
        objects = self._objects(tree, xml_path) if tree is not None else []
        class_png, object_png = self.root / CLASS_DIR / f"{voc_id}.png", self.root / OBJECT_DIR / f"{voc_id}.png"
        pngs = [path for path in (class_png, object_png) if path.is_file()]
        width, height = self._size(tree, voc_id, pngs, objects)
        path = _child_text(tree, "path")
        if not is_safe_relative_path(path):
            image = _image_file(self.root, voc_id)
            filename = _child_text(tree, "filename")
            path = image.name if image is not None else (filename if is_safe_relative_path(filename) else f"{voc_id}.jpg")
        boxes = {obj.index: self._object_shapes(obj, width, height) for obj in objects}
        masks = self._masks(
            class_png if class_png in pngs else None, object_png if object_png in pngs else None, width, height, objects, boxes
        )
        shapes: list[dict[str, Any]] = []
        grouped = {mask["group"] for mask in masks if "group" in mask}
        for index, object_shapes in boxes.items():
            if len(object_shapes) > 1 or index in grouped:
                for shape in object_shapes:
                    shape["group"] = index
            shapes.extend(object_shapes)
        shapes.extend(masks)
        self.shape_labels.update(shape["label"] for shape in shapes)
        return {
            "id": voc_id,
            "name": PurePosixPath(path).name,
            "path": path,
            "media": "image",
            "width": width,
            "height": height,
            "subset": subset,
            "annotation": {"version": 1, "tags": tags, "shapes": shapes},
        }

    def _size(self, tree: Element | None, voc_id: str, pngs: list[Path], objects: list[_VocObject]) -> tuple[int, int]:
        """Return the item size: the XML's, else the image's (EXIF-oriented), else the PNGs', else the boxes' extent."""
        size = tree.find("size") if tree is not None else None
        width = _positive_int(_child_text(size, "width"))
        height = _positive_int(_child_text(size, "height"))
        if width is not None and height is not None:
            return width, height
        image = _image_file(self.root, voc_id)
        measured = image_size(image) if image is not None else None
        if measured is not None:
            return measured
        if pngs:
            with Image.open(pngs[0]) as png:
                return png.size
        self.sized_by_boxes += 1
        edges = [obj.raw for obj in objects] + [raw for obj in objects for _, raw in obj.parts]
        right = max((x + w for x, _, w, _ in edges), default=1.0)
        bottom = max((y + h for _, y, _, h in edges), default=1.0)
        return max(ceil(right), 1), max(ceil(bottom), 1)

    def _objects(self, tree: Element, xml_path: Path) -> list[_VocObject]:
        """Read every ``<object>``, unclipped; objects with no name or box are counted as lost."""
        objects = []
        for index, element in enumerate(tree.findall("object"), start=1):
            where = f"{xml_path}: object {index}"
            box = self._box(element, f"obj{index}", where)
            if box is None:
                continue
            shape, raw = box
            self._read_object_fields(element, shape)
            parts = []
            for part_index, part in enumerate(element.findall("part"), start=1):
                part_box = self._box(part, f"obj{index}-part{part_index}", f"{where} part {part_index}")
                if part_box is not None:
                    parts.append(part_box)
                    label = self.labels[part_box[0]["label"]]
                    label.setdefault("parent", shape["label"])  # learned from the file when the map does not say
            objects.append(_VocObject(index, shape, raw, parts))
        return objects

    def _read_object_fields(self, element: Element, shape: dict[str, Any]) -> None:
        """Set pose, flags, attributes and actions of an object's box shape."""
        attributes: dict[str, Any] = {}
        pose = _child_text(element, "pose")
        if pose and pose != "Unspecified":
            attributes["pose"] = pose
        for flag in _FLAGS:
            text = _child_text(element, flag)
            value = parse_bool(text)
            if value is not None:
                shape[flag] = value
            elif text:
                self.report.lose("flag", f"<{flag}> is not 0 or 1")
        for attribute in element.findall("attributes/attribute"):
            name = _child_text(attribute, "name")
            if name:
                attributes[name] = parse_attribute_value(_child_text(attribute, "value"))
        actions = element.find("actions")
        if actions is not None:
            label = self.labels[shape["label"]]
            for action in actions:
                value = parse_bool((action.text or "").strip())
                if value is None:
                    self.report.lose("flag", "an <actions> value is not 0 or 1")
                    continue
                attributes[action.tag] = value
                self._add_action(label, action.tag)
        if attributes:
            shape["attributes"] = attributes

    def _box(self, element: Element, shape_id: str, where: str) -> tuple[dict[str, Any], list[float]] | None:
        """Return a box shape (bbox not yet set) and its unclipped ``[x, y, w, h]``."""
        name = _child_text(element, "name")
        if not name:
            self.report.lose("bbox", "the object has no name")
            return None
        texts = [_child_text(element.find("bndbox"), tag) for tag in ("xmin", "ymin", "xmax", "ymax")]
        if not all(texts):
            self.report.lose("bbox", "the object has no complete bndbox")
            return None
        xmin, ymin, xmax, ymax = (_coordinate(text, tag, where) for text, tag in zip(texts, ("xmin", "ymin", "xmax", "ymax"), strict=True))
        label = self._label(name)
        shape = {"id": shape_id, "type": "bbox", "label": label["name"], "bbox": [], "source": dict(HUMAN)}
        return shape, [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]

    def _object_shapes(self, obj: _VocObject, width: int, height: int) -> list[dict[str, Any]]:
        """Return the object's box and its parts' boxes, clipped; none when the object box has no area."""
        shapes = []
        for shape, raw in [(obj.shape, obj.raw), *obj.parts]:
            bbox = clip_box(raw, width, height, self.report)
            if bbox is None:
                if shape is obj.shape:
                    return []
                continue
            shape["bbox"] = bbox
            shapes.append(shape)
        return shapes

    # -- segmentation

    def _masks(
        self,
        class_png: Path | None,
        object_png: Path | None,
        width: int,
        height: int,
        objects: list[_VocObject],
        boxes: dict[int, list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """Return the mask shapes of an item's SegmentationClass and SegmentationObject PNGs."""
        classes = self._index_png(class_png, self.class_colors, width, height) if class_png is not None else None
        instances = self._index_png(object_png, _INSTANCE_COLORS, width, height) if object_png is not None else None
        names = {obj.index: obj.shape["label"] for obj in objects}
        masks: list[dict[str, Any]] = []
        if instances is not None:
            # An export numbers the objects 1..n, then the instances without an object in order
            # (or by their group): an instance whose k that would not give keeps it as its group.
            number = sum(1 for shapes in boxes.values() if shapes)
            for k in (int(value) for value in np.unique(instances) if value not in (0, VOID)):
                pixels = instances == k
                label = self._instance_label(classes, pixels, class_png) if classes is not None else None
                label = label if label is not None else names.get(k)
                if label is None:
                    self.report.lose("mask", "a SegmentationObject instance has no class and no object in the XML")
                    continue
                mask = {"id": f"obj{k}-mask", "type": "mask", "label": label, "rle": encode_mask(pixels), "source": dict(HUMAN)}
                if boxes.get(k):
                    mask["group"] = k
                else:
                    number += 1
                    if k != number:
                        mask["group"] = k
                masks.append(mask)
        if classes is not None:
            free = classes if instances is None else np.where((instances == 0) | (instances == VOID), classes, 0)
            for index in (int(value) for value in np.unique(free) if value not in (0, VOID)):
                label = self._class_label(index, class_png)
                rle = encode_mask(free == index)
                masks.append({"id": f"class{index}-mask", "type": "mask", "label": label, "rle": rle, "source": dict(HUMAN)})
        masks += self._void_masks(classes, instances)
        return masks

    def _void_masks(self, classes: np.ndarray | None, instances: np.ndarray | None) -> list[dict[str, Any]]:
        """Return the void (255) pixels as masks of the void label, so that an export writes them back.

        Pixels void in both PNGs (VOC's object borders) give a mask in group 255, which an
        export paints 255 into both; pixels void in SegmentationClass only (labelme2voc leaves
        0 or the instance in SegmentationObject) a mask without a group, which an export
        paints 255 into SegmentationClass only. Pixels void in SegmentationObject only are
        counted as lost (their class is kept).
        """
        class_void = classes == VOID if classes is not None else None
        object_void = instances == VOID if instances is not None else None
        if class_void is None:
            both, class_only = object_void, None
        elif object_void is None:
            both, class_only = None, class_void
        else:
            both, class_only = class_void & object_void, class_void & ~object_void
            self.object_void_only += int(np.count_nonzero(object_void & ~class_void))
        masks = []
        for mask_id, pixels, group in (("void-mask", both, VOID), ("class-void-mask", class_only, None)):
            if pixels is None or not pixels.any():
                continue
            self._label(IGNORE_LABEL)
            mask = {"id": mask_id, "type": "mask", "label": IGNORE_LABEL, "rle": encode_mask(pixels), "source": dict(HUMAN)}
            if group is not None:
                mask["group"] = group
            masks.append(mask)
        return masks

    def _class_label(self, index: int, png: Path | None) -> str:
        if index >= len(self.class_names):
            raise FormatError(f"{png}: class index {index} is not in the label map ({len(self.class_names)} classes)")
        return self.class_names[index]

    def _instance_label(self, classes: np.ndarray, pixels: np.ndarray, png: Path | None) -> str | None:
        """The most frequent class under an instance, leaving out background and void."""
        counts = np.bincount(classes[pixels], minlength=VOID + 1)
        counts[0] = counts[VOID] = 0
        if not counts.any():
            return None
        return self._class_label(int(counts.argmax()), png)

    @staticmethod
    def _index_png(path: Path, colors: dict[int, int], width: int, height: int) -> np.ndarray:
        """Read a segmentation PNG as a ``(height, width)`` uint8 index array.

        Palette and grayscale PNGs hold indices; RGB PNGs hold colors, mapped by ``colors``.

        Raises:
            FormatError: the file is not an image, has another size than the item, another
                mode, or a color that is not in ``colors``; the message names the file.
        """
        try:
            with Image.open(path) as png:
                if png.size != (width, height):
                    raise FormatError(f"{path}: {png.size[0]}x{png.size[1]} pixels, but the image is {width}x{height}")
                if png.mode in ("P", "L"):
                    return np.asarray(png, dtype=np.uint8)
                if png.mode not in ("RGB", "RGBA"):
                    raise FormatError(f"{path}: PNG mode {png.mode} is not a segmentation mask (palette, grayscale or RGB)")
                rgb = np.asarray(png.convert("RGB"), dtype=np.uint32)
        except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
            raise FormatError(f"{path}: not a readable PNG: {exc}") from exc
        codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        unique, inverse = np.unique(codes, return_inverse=True)
        table = np.zeros(len(unique), dtype=np.uint8)
        for position, code in enumerate(unique.tolist()):
            if code not in colors:
                raise FormatError(f"{path}: color {(code >> 16, (code >> 8) & 255, code & 255)} is not in the colormap")
            table[position] = colors[code]
        return table[inverse].reshape(codes.shape)


def _color_code(rgb: tuple[int, int, int]) -> int:
    """``0xRRGGBB``, the key :meth:`_Reader._index_png` maps RGB pixels by."""
    red, green, blue = rgb
    return (red << 16) | (green << 8) | blue


_INSTANCE_COLORS = {_color_code(color): index for index, color in enumerate(_VOC_COLORS)}


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
