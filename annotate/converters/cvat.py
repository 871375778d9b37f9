"""CVAT for images 1.1 XML, both ways.

Spec: https://docs.cvat.ai/docs/dataset_management/formats/format-xml/ (section
"Annotation", "CVAT for images").

Layout written (a CVAT *project* export, so that subsets are kept)::

    annotations.xml                 <meta><project> with one <task> per subset, then <image>s
    images/<subset>/<item path>     when the export was given images

Layouts read: ``annotations.xml`` (or every ``*.xml`` at the top of the folder whose root
is ``<annotations>``, or the XML file itself), images under ``images/<subset>/``,
``images/`` or next to the XML. An image's subset is its ``subset`` attribute (project
export), else the task's ``<subset>``, else the XML file's stem unless it is
``annotations`` (Datumaro's ``train.xml``), else ``default``. The same image name in
several subsets gives distinct items; item ids are the image name, or
``<subset>/<name>`` when the name is already taken.

Coordinate rules. CVAT and the annotation schema share the same convention: float image
pixels, (0, 0) is the top-left corner of the top-left pixel (a box covering exactly pixel
column 0 has ``xtl=0, xbr=1``), so coordinates are copied unchanged: a box is
``[xtl, ytl, xbr - xtl, ybr - ytl]``. Numbers are written as the shortest text that reads
back to the same float. ``<box rotation>`` is in degrees, clockwise in image coordinates
(y down) about the box center, as in CVAT's own ``RotatedBoxesToPolygons``
(``cvat/apps/dataset_manager/formats/transformations.py``), which is our ``rotated_bbox``
``angle``; a box with rotation 0 is read as a plain ``bbox``. ``<ellipse cx cy rx ry
rotation>`` is our ``center``/``radii``/``angle``. Masks: see
:mod:`annotate.converters._cvat_common` (CVAT's row-major RLE of the mask's rectangle, to
and from our whole-image COCO RLE, exact); an imported mask's ``bbox`` is its pixel
extent.

Rules of issue #3 this module follows:

* Nothing lost in silence: what CVAT for images cannot hold is counted in the report, and
  ``strict`` turns any loss into an error. native -> cvat -> native keeps every shape type,
  tags, attributes (typed by the label spec), occluded, z_order, group and subsets.
* Zero-area and out-of-image shapes: boxes are clipped to the image, both ways; boxes and
  masks with no area left, polygons with no area or entirely outside the image, and
  ellipses with a zero radius are dropped; both are counted. Other shapes are kept as
  drawn.
* Safe: XML is read only through defusedxml (an entity-expansion bomb is refused);
  malformed XML gives a FormatError naming the file and line; image names with ``..`` or
  an absolute path are never followed (the item gets a safe relative path and a note).

Shapes: ``<box>`` (bbox, rotated_bbox), ``<polygon>``, ``<polyline>``, ``<points>``,
``<ellipse>``, ``<mask>``, ``<skeleton>`` (our ``keypoints``: node ``outside=1`` is
visibility 0, ``occluded=1`` is 1, else 2), ``<tag>``; ``<attribute name>`` children on
each. ``occluded``, ``z_order`` and ``group_id`` map to our fields (group 0 means none);
``truncated``, ``difficult`` and ``iscrowd`` are written as attributes the label spec
does not declare and read back as flags.

Attributes: CVAT types a value by the ``<input_type>`` its label declares (number ->
int/float, checkbox -> bool, text/select/radio -> the text as written), so an export
declares every attribute a label's shapes and tags use: the label's own spec, then each
undeclared one as checkbox (all values booleans), number (all numbers) or text (noted).
Values that still read back different, such as a text ``"3"`` under a number spec, are
counted as ``attribute value``. Floats keep their fraction (``2.0``) to read back floats.

Labels: CVAT's XML has no label ids, so an import numbers labels 0, 1, ... in
``<labels>`` order, then labels used but not declared (added, with a note); an export
notes how many label ids that changes. Label
``<type>tag</type>`` gives kind ``tag``. Skeleton nodes are CVAT sublabels (``<type>points``
with ``<parent>``): they become the skeleton label's ``keypoints`` (node names, in the order
of a keypoints shape's triplets), and the edges drawn in its ``<svg>`` become ``skeleton``
(0-based node index pairs); node colors and attributes are counted as lost. An export
writes each label with ``keypoints`` (or used by keypoints shapes) as a skeleton with one
sublabel per node, naming extra nodes ``1``, ``2``... when a shape has more triplets than
the label has names, and draws the edges in its ``<svg>``.

Lost on export (counted): extra polygon rings (CVAT polygons have one ring; each extra ring
is written as its own polygon in the shape's group), a keypoints shape's ``bbox``, a mask
``bbox`` that differs from its pixel extent, label ``parent`` (CVAT has parents only for
skeleton nodes), masks whose
size differs from the image. Not written, as in the COCO converter: shape and tag ids,
``author``, ``updated_at``, item ids and checksums, model version and score (model shapes
are written ``source="auto"``; CVAT's ``auto``/``semi-auto`` shapes are read as made by a
human, with a note). Unlabeled shapes (``label=""``), CVAT cuboids and tracks are dropped on
import and counted.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from annotate.converters._common import free_path, image_size, note_label_ids, plural
from annotate.converters._cvat_common import (
    CvatLabel,
    child_text,
    coco_to_cvat_rle,
    cvat_rle_to_coco,
    format_attribute,
    format_number,
    format_points,
    input_type_of,
    labels_element,
    meta_owner,
    parse_cvat_rle,
    parse_number,
    parse_points,
    parse_xml,
    peek_cvat_kind,
    polygon_has_area,
    read_attribute_value,
    read_labels,
    reads_back,
)
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import (
    HUMAN,
    clip_bbox,
    is_safe_relative_path,
    normalize_relative_path,
    parse_bool,
    path_with_extension,
    unique_name,
)
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

ANNOTATIONS_FILE = "annotations.xml"
IMAGES_DIR = "images"
DEFAULT_SUBSET = "default"
FLAGS = ("truncated", "difficult", "iscrowd")
_SHAPE_TAGS = {"box", "polygon", "polyline", "points", "ellipse", "mask", "skeleton"}
_KIND_OF_TAG = {
    "box": "bbox",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "ellipse": "ellipse",
    "mask": "mask",
    "skeleton": "keypoints",
}


@register_format("cvat")
class CvatFormat(DatasetFormat):
    """CVAT for images 1.1 XML (every shape type, tags, attributes, subsets)."""

    description = "CVAT for images 1.1 XML (annotations.xml, images/<subset>/)"
    holds_group = True
    holds_z_order = True

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        return bool(_annotation_files(Path(path)))

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        src = Path(src)
        files = _annotation_files(src)
        if not files:
            if src.is_file() or (src / ANNOTATIONS_FILE).is_file():
                # Not CVAT at a glance: parse it to say why (syntax error, bomb, other root).
                file = src if src.is_file() else src / ANNOTATIONS_FILE
                root = parse_xml(file)
                if root.tag == "annotations":
                    raise FormatError(f"{file}: CVAT for video (it has <track>s, no <image>s), not CVAT for images")
                raise FormatError(f"{file}: root element is <{root.tag}>, not CVAT's <annotations>")
            raise FormatError(f"{src}: no CVAT for images XML (annotations.xml with an <annotations> root)")
        reader = _Reader(report)
        for file in files:
            reader.read_file(file)
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
        _Writer(dataset, writer, images, report).write()

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        src = Path(src)
        root = src.parent if src.is_file() else src
        subset = item.get("subset", DEFAULT_SUBSET)
        path = item["path"]
        candidates = [root / IMAGES_DIR / subset / path, root / IMAGES_DIR / path, root / path]
        return next((candidate for candidate in candidates if candidate.is_file()), None)


def _annotation_files(src: Path) -> list[Path]:
    """Return the CVAT for images XML files of a dataset folder (or the file itself)."""
    if src.is_file():
        candidates = [src]
    elif (src / ANNOTATIONS_FILE).is_file():
        candidates = [src / ANNOTATIONS_FILE]
    elif src.is_dir():
        candidates = sorted(src.glob("*.xml"))
    else:
        candidates = []
    return [file for file in candidates if peek_cvat_kind(file) == "images"]


# -- import ---------------------------------------------------------------------------


class _Reader:
    """Collects labels and items from one or more CVAT XML files."""

    def __init__(self, report: ConversionReport) -> None:
        self.report = report
        self.labels: dict[str, dict[str, Any]] = {}
        self.specs: dict[str, CvatLabel] = {}
        # Skeleton label -> its node names, the order of a keypoints shape's triplets.
        self.nodes: dict[str, list[str]] = {}
        self.items: list[dict[str, Any]] = []
        self.item_ids: set[str] = set()
        self.auto_sources = 0

    def dataset(self) -> dict[str, Any]:
        # Nodes first met in a later skeleton (not declared in <meta>) are missing from the
        # earlier shapes of that skeleton: not labeled there.
        for item in self.items:
            for shape in item["annotation"]["shapes"]:
                if shape["type"] == "keypoints":
                    missing = len(self.nodes[shape["label"]]) - len(shape["keypoints"]) // 3
                    shape["keypoints"] += [0.0, 0.0, 0] * missing
        if self.auto_sources:
            self.report.note(
                f"{self.auto_sources} shapes or tags marked source=auto were read as made by a human: CVAT gives no model version or score"
            )
        return {"version": 1, "labels": list(self.labels.values()), "items": self.items}

    def read_file(self, file: Path) -> None:
        root = parse_xml(file)
        if root.tag != "annotations":
            raise FormatError(f"{file}: root element is <{root.tag}>, not <annotations>")
        version = child_text(root, "version")
        if version and version != "1.1":
            self.report.note(f"{file.name}: CVAT XML version {version!r}, read as 1.1")
        owner = meta_owner(root)
        self._read_spec(read_labels(owner, file))
        default_subset = child_text(owner, "subset") if owner is not None and owner.tag == "task" else ""
        if not default_subset:
            default_subset = file.stem if file.stem != PurePosixPath(ANNOTATIONS_FILE).stem else DEFAULT_SUBSET
        tracks = root.findall("track")
        if tracks:
            self.report.lose("track", "tracks belong to CVAT for video, not CVAT for images", len(tracks))
        for element in root.findall("image"):
            item = self._item(element, file, default_subset)
            if item is not None:
                self.items.append(item)

    # labels

    def _read_spec(self, specs: list[CvatLabel]) -> None:
        skeletons = {spec.name for spec in specs if spec.type == "skeleton"}
        for spec in specs:
            if spec.name in self.labels or (spec.parent and spec.parent in skeletons):
                continue
            self.specs[spec.name] = spec
            label = self._add_label(spec.name, "tag" if spec.type == "tag" else "shape", spec)
            if spec.parent:
                label["parent"] = spec.parent
            if spec.defaults_lost:
                self.report.lose("attribute default", f"label {spec.name!r}: the label schema has no default values", spec.defaults_lost)
            if spec.type != "skeleton":
                continue
            nodes = [node for node in specs if node.parent == spec.name]
            self.nodes[spec.name] = [node.name for node in nodes]
            if nodes:
                label["keypoints"] = self.nodes[spec.name]
            edges = [
                (self.nodes[spec.name].index(a), self.nodes[spec.name].index(b))
                for a, b in spec.edges
                if a in self.nodes[spec.name] and b in self.nodes[spec.name]
            ]
            if edges:
                label["skeleton"] = [list(edge) for edge in edges]
            unread = spec.unread_edges + len(spec.edges) - len(edges)
            if unread:
                self.report.lose("skeleton edge", f"skeleton {spec.name!r}: the edge names no node of the skeleton", unread)
            styled = sum(1 for node in nodes if node.color or node.attributes)
            if styled:
                reason = f"skeleton {spec.name!r}: its node labels become keypoint names; their colors and attributes are not kept"
                self.report.lose("label", reason, styled)

    def _add_label(self, name: str, kind: str, spec: CvatLabel | None = None) -> dict[str, Any]:
        label: dict[str, Any] = {"id": len(self.labels), "name": name, "kind": kind}
        if spec is not None and spec.color:
            label["color"] = spec.color
        if spec is not None and spec.attributes:
            label["attributes"] = spec.attributes
        self.labels[name] = label
        return label

    def _label(self, name: str, kind: str) -> str:
        if name not in self.labels:
            self._add_label(name, kind)
            self.report.note(f"label {name!r} is used but not declared in <meta>; added as a {kind} label")
        return name

    # items

    def _item(self, element: Element, file: Path, default_subset: str) -> dict[str, Any] | None:
        name = element.get("name") or ""
        if not name:
            self.report.lose("image", f"{file.name}: an <image> has no name")
            return None
        path = name
        if not is_safe_relative_path(name):
            path = normalize_relative_path(name)
            if ".." in name.replace("\\", "/").split("/") or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
                self.report.note(f"image name {name!r} points outside the dataset folder; read as {path!r}")
        subset = element.get("subset") or default_subset
        width, height = _positive_int(element.get("width")), _positive_int(element.get("height"))
        if width is None or height is None:
            width, height = self._size_from_image(file.parent, subset, path)
        if width is None or height is None:
            self.report.lose("image", f"{file.name}: image {name!r} has no size and no image file")
            return None
        base = path if path not in self.item_ids else f"{subset}/{path}"
        item = {
            "id": unique_name(base, self.item_ids),
            "name": PurePosixPath(path).name,
            "path": path,
            "media": "image",
            "width": width,
            "height": height,
            "subset": subset,
            "annotation": {"version": 1, "tags": [], "shapes": []},
        }
        where = f"{file}: image {name!r}"
        shapes, tags = item["annotation"]["shapes"], item["annotation"]["tags"]
        for index, child in enumerate(element, start=1):
            if child.tag == "tag":
                tag = self._tag(child, len(tags) + 1)
                if tag is not None:
                    tags.append(tag)
            elif child.tag in _SHAPE_TAGS:
                shape = self._shape(child, f"{where}, <{child.tag}> {index}", width, height)
                if shape is not None:
                    shape["id"] = f"s{len(shapes) + 1}"
                    shapes.append(shape)
            else:
                self.report.lose(child.tag, f"CVAT <{child.tag}> is not part of the annotation schema")
        return item

    @staticmethod
    def _size_from_image(root: Path, subset: str, path: str) -> tuple[int | None, int | None]:
        """Return the size of the image file after EXIF orientation, as the other formats read it."""
        for candidate in (root / IMAGES_DIR / subset / path, root / IMAGES_DIR / path, root / path):
            if candidate.is_file():
                return image_size(candidate) or (None, None)
        return None, None

    def _common(self, element: Element, label: str) -> dict[str, Any]:
        """Label, source, attributes, flags, z_order and group of a shape or tag."""
        common: dict[str, Any] = {"label": label, "source": dict(HUMAN)}
        if (element.get("source") or "").lower() in ("auto", "semi-auto"):
            self.auto_sources += 1
        spec = self.specs.get(label)
        attributes: dict[str, Any] = {}
        for attribute in element.findall("attribute"):
            name = attribute.get("name") or ""
            if not name:
                self.report.lose("attribute", "a CVAT <attribute> has no name")
                continue
            input_type = spec.attribute_type(name) if spec is not None else None
            value = read_attribute_value(attribute.text or "", input_type)
            if name in FLAGS and input_type is None and parse_bool(value) is not None:
                common[name] = parse_bool(value)
            else:
                attributes[name] = value
        if attributes:
            common["attributes"] = attributes
        return common

    def _tag(self, element: Element, number: int) -> dict[str, Any] | None:
        name = element.get("label") or ""
        if not name:
            self.report.lose("tag", 'the tag has no label (label="")')
            return None
        common = self._common(element, self._label(name, "tag"))
        tag = {"id": f"t{number}", "label": common.pop("label"), "source": common.pop("source")}
        if "attributes" in common:
            tag["attributes"] = common["attributes"]
        return tag

    def _shape(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        kind = _KIND_OF_TAG[element.tag]
        name = element.get("label") or ""
        if not name:
            self.report.lose(kind, 'the shape has no label (label="")')
            return None
        shape = self._common(element, self._label(name, "shape"))
        if element.get("occluded") == "1":
            shape["occluded"] = True
        if element.get("z_order") not in (None, ""):
            shape["z_order"] = int(parse_number(element.get("z_order"), f"{where}: z_order"))
        group = int(parse_number(element.get("group_id"), f"{where}: group_id")) if element.get("group_id") not in (None, "") else 0
        if group > 0:
            shape["group"] = group
        geometry = getattr(self, f"_{element.tag}")(element, where, width, height)
        if geometry is None:
            return None
        return {"id": "", **geometry, **shape}

    def _box(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        xtl, ytl, xbr, ybr = (parse_number(element.get(key), f"{where}: {key}") for key in ("xtl", "ytl", "xbr", "ybr"))
        rotation = parse_number(element.get("rotation"), f"{where}: rotation") if element.get("rotation") not in (None, "") else 0.0
        raw = [xtl, ytl, xbr - xtl, ybr - ytl]
        if rotation:
            if raw[2] <= 0 or raw[3] <= 0:
                self.report.drop_empty("rotated_bbox")
                return None
            return {"type": "rotated_bbox", "bbox": raw, "angle": rotation}
        bbox, clipped = clip_bbox(raw, width, height)
        if bbox is None:
            self.report.drop_empty("bbox")
            return None
        if clipped:
            self.report.clip("bbox")
        return {"type": "bbox", "bbox": bbox}

    def _polygon(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        ring = parse_points(element.get("points"), where)
        if len(ring) < 6:
            self.report.lose("polygon", "the polygon has fewer than 3 points")
            return None
        if not polygon_has_area([ring], width, height):
            self.report.drop_empty("polygon")
            return None
        return {"type": "polygon", "rings": [ring]}

    def _polyline(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        points = parse_points(element.get("points"), where)
        if len(points) < 4:
            self.report.lose("polyline", "the polyline has fewer than 2 points")
            return None
        return {"type": "polyline", "points": points}

    def _points(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        points = parse_points(element.get("points"), where)
        if not points:
            self.report.lose("points", "the points shape has no points")
            return None
        return {"type": "points", "points": points}

    def _ellipse(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        cx, cy, rx, ry = (parse_number(element.get(key), f"{where}: {key}") for key in ("cx", "cy", "rx", "ry"))
        if rx <= 0 or ry <= 0:
            self.report.drop_empty("ellipse")
            return None
        shape: dict[str, Any] = {"type": "ellipse", "center": [cx, cy], "radii": [rx, ry]}
        if element.get("rotation") not in (None, ""):
            shape["angle"] = parse_number(element.get("rotation"), f"{where}: rotation")
        return shape

    def _mask(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        runs = parse_cvat_rle(element.get("rle"), where)
        left, top, mask_width, mask_height = (
            int(parse_number(element.get(key), f"{where}: {key}")) for key in ("left", "top", "width", "height")
        )
        if mask_width <= 0 or mask_height <= 0:
            self.report.drop_empty("mask")
            return None
        rle, clipped = cvat_rle_to_coco(runs, left, top, mask_width, mask_height, width, height, where)
        extent = coco_to_cvat_rle(rle)
        if extent is None:
            self.report.drop_empty("mask")
            return None
        if clipped:
            self.report.clip("mask")
        _, x, y, w, h = extent
        return {"type": "mask", "rle": rle, "bbox": [float(x), float(y), float(w), float(h)]}

    def _skeleton(self, element: Element, where: str, width: int, height: int) -> dict[str, Any] | None:
        skeleton = element.get("label") or ""
        self.nodes.setdefault(skeleton, [])
        found: dict[str, tuple[float, float, int]] = {}
        node_attributes = 0
        for index, node in enumerate(element.findall("points"), start=1):
            node_name = node.get("label") or ""
            if not node_name:
                self.report.lose("part", "a skeleton node has no label")
                continue
            if node_name not in self.nodes[skeleton]:
                self.nodes[skeleton].append(node_name)
                self.labels[skeleton]["keypoints"] = self.nodes[skeleton]
                self.report.note(f"skeleton {skeleton!r} node {node_name!r} is not declared in <meta>; added to its keypoints")
            points = parse_points(node.get("points"), f"{where}, node {index}")
            if len(points) != 2:
                raise FormatError(f"{where}, node {index}: a skeleton node needs exactly one x,y point")
            if node.get("outside") == "1":
                visibility = 0
            elif node.get("occluded") == "1":
                visibility = 1
            else:
                visibility = 2
            found[node_name] = (points[0], points[1], visibility)
            node_attributes += len(node.findall("attribute"))
        if node_attributes:
            self.report.lose("attribute", "attributes of single skeleton nodes have no place in a keypoints shape", node_attributes)
        keypoints: list[float] = []
        for node_name in self.nodes[skeleton]:
            x, y, v = found.get(node_name, (0.0, 0.0, 0))
            keypoints += [x, y, v]
        if not keypoints:
            self.report.lose("keypoints", "the skeleton has no nodes")
            return None
        return {"type": "keypoints", "keypoints": keypoints}


def _positive_int(text: str | None) -> int | None:
    try:
        number = int(float(text))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


# -- export ---------------------------------------------------------------------------


class _Writer:
    """Writes one dataset document as a CVAT project export."""

    def __init__(self, dataset: dict[str, Any], writer: DatasetWriter, images: ImageSource | None, report: ConversionReport) -> None:
        self.dataset = dataset
        self.writer = writer
        self.images = images
        self.report = report
        self.labels = {label["name"]: label for label in dataset["labels"]}
        self.nodes: dict[str, list[str]] = {}
        self.declared_attributes = 0

    def write(self) -> None:
        subsets = list(dict.fromkeys(item.get("subset", DEFAULT_SUBSET) for item in self.dataset["items"])) or [DEFAULT_SUBSET]
        root = Element("annotations")
        SubElement(root, "version").text = "1.1"
        project = SubElement(SubElement(root, "meta"), "project")
        SubElement(project, "name").text = "annotate export"
        tasks = SubElement(project, "tasks")
        task_ids = {}
        for task_id, subset in enumerate(subsets, start=1):
            task_ids[subset] = task_id
            task = SubElement(tasks, "task")
            SubElement(task, "id").text = str(task_id)
            SubElement(task, "name").text = subset
            SubElement(task, "size").text = str(sum(1 for item in self.dataset["items"] if item.get("subset", DEFAULT_SUBSET) == subset))
            SubElement(task, "mode").text = "annotation"
            SubElement(task, "subset").text = subset
        SubElement(project, "subsets").text = "\n".join(subsets)
        labels_element(project, self._cvat_labels())
        used_paths: dict[str, set[str]] = {}
        video_frames = 0
        for image_id, item in enumerate(self.dataset["items"]):
            subset = item.get("subset", DEFAULT_SUBSET)
            video_frames += item["media"] == "video_frame"
            name = _unique_path(item["path"], used_paths.setdefault(subset, set()))
            if self.images is not None:
                name = self._write_image(subset, name, item)
            self._image(root, item, image_id, name, task_ids[subset])
        if self.declared_attributes:
            self.report.note(
                f"<labels> declares {plural(self.declared_attributes, 'attribute')} that shapes or tags use but their label does not "
                "declare (CVAT types attribute values by the declaration); an import reads them back declared"
            )
        if video_frames:
            self.report.note(f"{video_frames} video frames written as images (CVAT for images keeps no video name or frame number)")
        indent(root)
        self.writer.write_bytes(ANNOTATIONS_FILE, tostring(root, encoding="utf-8", xml_declaration=True))

    # labels

    def _cvat_labels(self) -> list[CvatLabel]:
        counts: dict[str, int] = {}
        for item in self.dataset["items"]:
            for shape in item["annotation"]["shapes"]:
                if shape["type"] == "keypoints":
                    counts[shape["label"]] = max(counts.get(shape["label"], 0), len(shape["keypoints"]) // 3)
        used_values = self._attribute_values()
        result: list[CvatLabel] = []
        parents_lost = 0
        for label in self.dataset["labels"]:
            name = label["name"]
            if "keypoints" in label or name in counts:
                # Nodes are CVAT sublabels; a shape with more triplets than names gets 1, 2...
                nodes = list(label.get("keypoints", []))
                used = set(nodes)
                nodes += [unique_name(str(number), used) for number in range(len(nodes) + 1, counts.get(name, 0) + 1)]
                self.nodes[name] = nodes
            if label.get("parent"):
                parents_lost += 1
            label_type = "skeleton" if name in self.nodes else ("tag" if label["kind"] == "tag" else "any")
            attributes = self._attribute_specs(label, used_values.get(name, {}))
            spec = CvatLabel(name=name, type=label_type, color=label.get("color"), attributes=attributes)
            if name in self.nodes:
                spec.edges = [(self.nodes[name][a], self.nodes[name][b]) for a, b in label.get("skeleton", [])]
            result.append(spec)
            result += [CvatLabel(name=node, type="points", parent=name) for node in self.nodes.get(name, [])]
        if parents_lost:
            self.report.lose("label parent", "CVAT has label parents only for skeleton nodes", parents_lost)
        self._note_label_ids()
        return result

    def _attribute_values(self) -> dict[str, dict[str, list[Any]]]:
        """Return the attribute values the shapes and tags use: label -> attribute name -> values."""
        used: dict[str, dict[str, list[Any]]] = {}
        for item in self.dataset["items"]:
            for annotation in item["annotation"]["shapes"] + item["annotation"]["tags"]:
                for name, value in annotation.get("attributes", {}).items():
                    used.setdefault(annotation["label"], {}).setdefault(name, []).append(value)
        return used

    def _attribute_specs(self, label: dict[str, Any], used: dict[str, list[Any]]) -> list[dict[str, Any]]:
        """Return a label's attribute specs: its own, then one per attribute its shapes use undeclared.

        CVAT types an attribute value by the ``<input_type>`` its label declares, so an
        undeclared attribute is declared with the type of its values (checkbox when all are
        booleans, number when all are numbers, text otherwise). Values that still read back
        different (a text ``"3"`` under a number spec) are counted.
        """
        specs = list(label.get("attributes", []))
        declared = {spec["name"] for spec in specs}
        added = [{"name": name, "type": input_type_of(values)} for name, values in used.items() if name not in declared]
        if added:
            self.declared_attributes += len(added)
        specs += added
        types = {spec["name"]: spec["type"] for spec in specs}
        changed = sum(1 for name, values in used.items() for value in values if not reads_back(value, types[name]))
        if changed:
            reason = f"label {label['name']!r}: CVAT types an attribute value by the input_type its label declares"
            self.report.lose("attribute value", reason, changed)
        return specs

    def _note_label_ids(self) -> None:
        """Note the label ids an import gives differently (CVAT numbers labels 0, 1, ... in <labels> order)."""
        order = [label["name"] for label in self.dataset["labels"]]
        note_label_ids(self.dataset["labels"], order, self.report, "CVAT", numbered_by="<labels> order", start=0)

    # items

    def _write_image(self, subset: str, name: str, item: dict[str, Any]) -> str:
        assert self.images is not None
        image = self.images(item)
        if image is None:
            self.report.note(f"no image for item {item['id']!r}; annotations only")
            return name
        data, ext = image
        name = free_path(self.writer, path_with_extension(name, ext), item, self.report, under=f"{IMAGES_DIR}/{subset}")
        self.writer.write_bytes(f"{IMAGES_DIR}/{subset}/{name}", data)
        return name

    def _image(self, root: Element, item: dict[str, Any], image_id: int, name: str, task_id: int) -> None:
        element = SubElement(
            root,
            "image",
            {
                "id": str(image_id),
                "name": name,
                "subset": item.get("subset", DEFAULT_SUBSET),
                "task_id": str(task_id),
                "width": str(item["width"]),
                "height": str(item["height"]),
            },
        )
        groups = _group_ids(item["annotation"]["shapes"])
        for shape in item["annotation"]["shapes"]:
            self._shape(element, shape, item, groups)
        for tag in item["annotation"]["tags"]:
            tag_element = SubElement(element, "tag", {"label": tag["label"], "source": _source(tag)})
            _attributes(tag_element, tag.get("attributes", {}))

    def _shape(self, parent: Element, shape: dict[str, Any], item: dict[str, Any], groups: dict[Any, int]) -> None:
        kind = shape["type"]
        width, height = item["width"], item["height"]
        geometries: list[tuple[str, dict[str, str]]] = []
        if kind == "bbox":
            bbox, clipped = clip_bbox(shape["bbox"], width, height)
            if bbox is None:
                self.report.drop_empty(kind)
                return
            if clipped:
                self.report.clip(kind)
            geometries.append(("box", _box_attributes(bbox)))
        elif kind == "rotated_bbox":
            geometries.append(("box", {**_box_attributes(shape["bbox"]), "rotation": format_number(shape["angle"])}))
        elif kind == "polygon":
            if not polygon_has_area(shape["rings"], width, height):
                self.report.drop_empty(kind)
                return
            rings = shape["rings"]
            if len(rings) > 1:
                self.report.lose(
                    "ring",
                    "CVAT polygons have one ring; each extra ring is written as its own polygon in the shape's group",
                    len(rings) - 1,
                )
            geometries += [("polygon", {"points": format_points(ring)}) for ring in rings]
        elif kind in ("polyline", "points"):
            geometries.append((kind, {"points": format_points(shape["points"])}))
        elif kind == "ellipse":
            attributes = {
                "cx": format_number(shape["center"][0]),
                "cy": format_number(shape["center"][1]),
                "rx": format_number(shape["radii"][0]),
                "ry": format_number(shape["radii"][1]),
            }
            if "angle" in shape:
                attributes["rotation"] = format_number(shape["angle"])
            geometries.append(("ellipse", attributes))
        elif kind == "mask":
            mask = self._mask_attributes(shape, item)
            if mask is None:
                return
            geometries.append(("mask", mask))
        else:  # keypoints
            if "bbox" in shape:
                self.report.lose("bbox", "CVAT skeletons have no box (the keypoints themselves are written)")
            geometries.append(("skeleton", {}))
        group = groups.get(shape["group"]) if shape.get("group") is not None else None
        if group is None and len(geometries) > 1:
            # The rings of one polygon stay together as one CVAT group.
            group = max(groups.values(), default=0) + 1
            groups[("rings of", shape["id"])] = group
        for tag, geometry in geometries:
            element = SubElement(
                parent,
                tag,
                {"label": shape["label"], "source": _source(shape), "occluded": "1" if shape.get("occluded") else "0", **geometry},
            )
            if "z_order" in shape:
                element.set("z_order", str(shape["z_order"]))
            if group is not None:
                element.set("group_id", str(group))
            attributes = dict(shape.get("attributes", {}))
            for flag in FLAGS:
                if flag in shape and flag not in attributes:
                    attributes[flag] = shape[flag]
            _attributes(element, attributes)
            if tag == "skeleton":
                self._skeleton_nodes(element, shape)

    def _mask_attributes(self, shape: dict[str, Any], item: dict[str, Any]) -> dict[str, str] | None:
        if [int(value) for value in shape["rle"]["size"]] != [item["height"], item["width"]]:
            self.report.lose("mask", "the mask size differs from the image size")
            return None
        converted = coco_to_cvat_rle(shape["rle"])
        if converted is None:
            self.report.drop_empty("mask")
            return None
        runs, left, top, width, height = converted
        if "bbox" in shape and [float(value) for value in shape["bbox"]] != [float(left), float(top), float(width), float(height)]:
            self.report.lose("bbox", "a CVAT mask's box is its pixel extent; a different mask box is not kept")
        return {"rle": ", ".join(str(run) for run in runs), "left": str(left), "top": str(top), "width": str(width), "height": str(height)}

    def _skeleton_nodes(self, element: Element, shape: dict[str, Any]) -> None:
        nodes = self.nodes[shape["label"]]
        keypoints = shape["keypoints"]
        for index in range(0, len(keypoints), 3):
            x, y, visibility = keypoints[index : index + 3]
            SubElement(
                element,
                "points",
                {
                    "label": nodes[index // 3],
                    "source": _source(shape),
                    "outside": "1" if visibility == 0 else "0",
                    "occluded": "1" if visibility == 1 else "0",
                    "points": format_points([x, y]),
                },
            )


def _box_attributes(bbox: list[float]) -> dict[str, str]:
    x, y, width, height = (float(value) for value in bbox)
    return {"xtl": format_number(x), "ytl": format_number(y), "xbr": format_number(x + width), "ybr": format_number(y + height)}


def _source(annotation: dict[str, Any]) -> str:
    return "auto" if annotation["source"]["type"] == "model" else "manual"


def _attributes(element: Element, attributes: dict[str, Any]) -> None:
    for name, value in attributes.items():
        SubElement(element, "attribute", {"name": name}).text = format_attribute(value)


def _group_ids(shapes: list[dict[str, Any]]) -> dict[Any, int]:
    """Map the item's groups to CVAT group ids, which must be positive (0 means none)."""
    groups = {shape["group"] for shape in shapes if shape.get("group") is not None}
    mapping: dict[Any, int] = {group: group for group in groups if group > 0}
    next_id = max(mapping.values(), default=0)
    for group in sorted(group for group in groups if group <= 0):
        next_id += 1
        mapping[group] = next_id
    return mapping


def _unique_path(path: str, used: set[str]) -> str:
    """Return ``path``, or ``stem_2.ext``... when another item of the subset has it."""
    if path not in used:
        used.add(path)
        return path
    pure = PurePosixPath(path)
    number = 2
    while True:
        candidate = str(pure.with_name(f"{pure.stem}_{number}{pure.suffix}"))
        if candidate not in used:
            used.add(candidate)
            return candidate
        number += 1
