"""Helpers shared by the CVAT XML formats (``cvat`` for images, ``cvat_video`` later).

Spec: "CVAT for images 1.1" / "CVAT for video 1.1",
https://docs.cvat.ai/docs/dataset_management/formats/format-xml/

What lives here, so that both CVAT formats read and write the same way:

* :func:`parse_xml` and :func:`peek_cvat_kind`: safe parsing through defusedxml; syntax
  errors become :class:`FormatError` naming the file, line and column; entity declarations
  (the "billion laughs" bomb) are refused;
* :class:`CvatLabel`, :func:`read_labels`, :func:`labels_element`: the ``<meta>`` label
  spec, its attributes (``<input_type>``, ``<mutable>``, ``<default_value>``,
  ``<values>``), skeleton sublabels (``<parent>``) and the skeleton edges drawn in the
  skeleton label's ``<svg>`` (``<line data-type="edge" data-node-from data-node-to>``
  between ``<circle data-node-id data-label-name>`` nodes);
* :func:`read_attribute_value` / :func:`format_attribute`: attribute values typed by the
  label spec (number -> int/float, checkbox -> bool, text/select/radio -> str);
* :func:`parse_points`, :func:`format_points`, :func:`format_number`: CVAT's
  ``"x1,y1;x2,y2"`` point lists and exact (shortest round-trip) float text;
* :func:`cvat_rle_to_coco` / :func:`coco_to_cvat_rle`: CVAT's mask RLE.

CVAT mask RLE. ``<mask rle="3, 5, 7, ..." left top width height>`` holds the mask of its
``width x height`` rectangle whose top-left pixel is (``left``, ``top``), run-length
encoded **row-major** (rows top to bottom, each row left to right), runs alternating
0, 1, 0, ... and starting with a (possibly empty) run of zeros; the runs sum to
``width * height``. The docs' example (13 x 15, runs summing to 195) only draws a
round blob when read row by row, and CVAT's own converter
(``cvat/apps/dataset_manager/formats/transformations.py``) reads it as a ``[w, h]``
column-major COCO RLE and transposes, which is the same thing. Our masks are COCO RLE
(column-major) over the whole image; both directions go through a numpy array, so the
conversion is exact.

Label spec conventions (our schema has no default value): for ``select`` and ``radio``
CVAT's ``<default_value>`` moves to the front of ``values`` (CVAT's label editor also
treats the first value as the default), and an export writes the first value as the
default. For the other types a default that is not the first value is counted as lost.
``<values>`` is split on newlines (what CVAT writes); text without newlines (older
exports, Datumaro's fixtures: ``"v1 v2 v3"``) is split on whitespace, except for
``text`` attributes whose single value is kept whole.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from annotate.converters._lazy import lazy_module
from annotate.converters.errors import FormatError
from annotate.converters.geometry import clip_bbox, format_attribute_value, parse_attribute_value, parse_bool, rings_bbox, shoelace_area

np = lazy_module("numpy")
mask_utils = lazy_module("pycocotools.mask")

INPUT_TYPES = ("checkbox", "radio", "number", "text", "select")
_SVG_TAG = re.compile(r"<(line|circle)\b([^>]*)>")
_SVG_ATTRIBUTE = re.compile(r"([\w-]+)=[\"']([^\"']*)[\"']")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_META_OWNERS = ("task", "project", "job")


# -- parsing --------------------------------------------------------------------------


def parse_xml(path: Path) -> Element:
    """Parse an XML file safely.

    Args:
        path: the file.

    Returns:
        The root element.

    Raises:
        FormatError: the file cannot be read, is not well-formed XML (the message names the
            file, line and column) or declares entities (refused by defusedxml, which
            protects against entity-expansion bombs).
    """
    try:
        return SafeET.parse(path).getroot()
    except DefusedXmlException as exc:
        raise FormatError(f"{path}: refused: the XML declares entities or a DTD, which could expand without bound ({exc})") from exc
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise FormatError(f"{path}: not well-formed XML at line {line}, column {column + 1}: {exc}") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc}") from exc


def peek_cvat_kind(path: Path) -> str | None:
    """Tell what kind of CVAT XML a file is, reading only as far as needed.

    Args:
        path: a file.

    Returns:
        ``"images"`` when the root is ``<annotations>`` and an ``<image>`` comes before
        any ``<track>`` (or neither comes), ``"video"`` when a ``<track>`` comes first,
        None when the file is not CVAT XML (or not readable XML at all).
    """
    try:
        events = SafeET.iterparse(path, events=("start",))
        _, root = next(events)
        if root.tag != "annotations":
            return None
        for _, element in events:
            if element.tag == "image":
                return "images"
            if element.tag == "track":
                return "video"
    except (DefusedXmlException, SafeET.ParseError, OSError, StopIteration, UnicodeDecodeError):
        return None
    return "images"


def meta_owner(root: Element) -> Element | None:
    """Return the ``<task>``, ``<project>`` or ``<job>`` element under ``<meta>``.

    Args:
        root: the ``<annotations>`` element.

    Returns:
        The element, or None when the file has no meta.
    """
    meta = root.find("meta")
    if meta is None:
        return None
    for tag in _META_OWNERS:
        owner = meta.find(tag)
        if owner is not None:
            return owner
    return None


def child_text(element: Element | None, tag: str) -> str:
    """Return the stripped text of ``element``'s child ``tag``, or ``""``.

    Args:
        element: the parent, or None.
        tag: the child's tag.

    Returns:
        The text.
    """
    if element is None:
        return ""
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


# -- labels ---------------------------------------------------------------------------


@dataclass
class CvatLabel:
    """One ``<label>`` of a CVAT label spec.

    Attributes:
        name: the label name.
        type: CVAT's label type (``any``, ``rectangle``, ``skeleton``, ``points``, ``tag``...).
        color: ``#rrggbb`` or None.
        parent: the skeleton label this one is a node of, or None.
        attributes: the attribute specs in our schema's form
            (``{"name", "type", "values"?, "mutable"?}``).
        edges: skeleton edges as pairs of node names, read from or written to ``<svg>``.
        unread_edges: edges of the ``<svg>`` whose ends name no node.
        defaults_lost: how many attribute default values our schema cannot keep.
    """

    name: str
    type: str = "any"
    color: str | None = None
    parent: str | None = None
    attributes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    unread_edges: int = 0
    defaults_lost: int = 0

    def attribute_type(self, name: str) -> str | None:
        """Return the input type of the attribute ``name``, or None when undeclared."""
        return next((spec["type"] for spec in self.attributes if spec["name"] == name), None)


def read_labels(owner: Element | None, file: Path) -> list[CvatLabel]:
    """Read the label spec of a ``<task>``, ``<project>`` or ``<job>`` meta element.

    Args:
        owner: the meta element; None gives no labels.
        file: the XML file, for error messages.

    Returns:
        The labels in file order (skeleton sublabels included, with ``parent`` set).

    Raises:
        FormatError: a label has no name, or an attribute has no name or an unknown
            input type.
    """
    labels: list[CvatLabel] = []
    if owner is None:
        return labels
    container = owner.find("labels")
    if container is None:
        return labels
    for index, element in enumerate(container.findall("label"), start=1):
        name = child_text(element, "name")
        if not name:
            raise FormatError(f"{file}: <meta> label {index} has no <name>")
        color = child_text(element, "color")
        label = CvatLabel(
            name=name,
            type=child_text(element, "type") or "any",
            color=color if _COLOR.match(color) else None,
            parent=child_text(element, "parent") or None,
        )
        for attribute in element.findall("attributes/attribute"):
            spec, default_lost = _read_attribute_spec(attribute, file, name)
            label.attributes.append(spec)
            label.defaults_lost += default_lost
        svg = element.find("svg")
        if svg is not None and svg.text:
            label.edges, label.unread_edges = _svg_edges(svg.text)
        labels.append(label)
    return labels


def _svg_edges(svg: str) -> tuple[list[tuple[str, str]], int]:
    """Return the edges drawn in a skeleton ``<svg>`` as node-name pairs, and how many failed.

    CVAT draws nodes as ``<circle data-node-id data-label-name>`` and edges as ``<line
    data-type="edge" data-node-from data-node-to>``, the ends naming node ids.
    """
    names: dict[str, str] = {}
    ends: list[tuple[str, str]] = []
    for tag, text in _SVG_TAG.findall(svg):
        attributes = dict(_SVG_ATTRIBUTE.findall(text))
        if tag == "circle" and "data-node-id" in attributes:
            names[attributes["data-node-id"]] = attributes.get("data-label-name", "")
        elif tag == "line" and attributes.get("data-type") == "edge":
            ends.append((attributes.get("data-node-from", ""), attributes.get("data-node-to", "")))
    edges = [(names[a], names[b]) for a, b in ends if names.get(a) and names.get(b)]
    return edges, len(ends) - len(edges)


def _read_attribute_spec(element: Element, file: Path, label: str) -> tuple[dict[str, Any], int]:
    name = child_text(element, "name")
    input_type = child_text(element, "input_type").lower()
    if not name:
        raise FormatError(f"{file}: label {label!r}: an <attribute> has no <name>")
    if input_type not in INPUT_TYPES:
        raise FormatError(f"{file}: label {label!r}, attribute {name!r}: unknown <input_type> {input_type!r}")
    values_element = element.find("values")
    raw = values_element.text if values_element is not None and values_element.text else ""
    default = child_text(element, "default_value")
    texts = _split_values(raw, input_type)
    values = [read_attribute_value(text, input_type) for text in texts]
    default_lost = 0
    if default:
        typed_default = read_attribute_value(default, input_type)
        if input_type in ("select", "radio"):
            if typed_default in values:
                values.remove(typed_default)
            values.insert(0, typed_default)
        elif values[:1] != [typed_default] and (values or default != _EMPTY_DEFAULTS.get(input_type, "")):
            # Without values, the type's empty default ("0", "false") is what our exports write.
            default_lost = 1
    spec: dict[str, Any] = {"name": name, "type": input_type}
    if values:
        spec["values"] = values
    # Absent means not mutable in our schema, so only True is kept (exports write False).
    if parse_bool(child_text(element, "mutable")):
        spec["mutable"] = True
    return spec, default_lost


def _split_values(raw: str, input_type: str) -> list[str]:
    if "\n" in raw.strip():
        return [line.strip() for line in raw.strip().split("\n") if line.strip()]
    if input_type == "text":
        return [raw.strip()] if raw.strip() else []
    return raw.split()


def read_attribute_value(text: str, input_type: str | None) -> str | int | float | bool:
    """Type an attribute value by its input type.

    Args:
        text: the value as written in the XML.
        input_type: ``number``, ``checkbox``, ``text``, ``select``, ``radio``, or None for
            an attribute the label spec does not declare.

    Returns:
        An int or float for numbers, a bool for checkboxes, the text for text, select and
        radio, and :func:`geometry.parse_attribute_value`'s guess for undeclared ones.
        A number or checkbox value that does not parse is kept as text.
    """
    if input_type == "number":
        value = parse_attribute_value(text)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else text
    if input_type == "checkbox":
        flag = parse_bool(text)
        return flag if flag is not None else text
    if input_type in ("text", "select", "radio"):
        return text
    return parse_attribute_value(text)


def input_type_of(values: list[Any]) -> str:
    """Return the CVAT input type that reads every value back as it is: checkbox, number or text.

    Args:
        values: the values one attribute takes across a label's shapes and tags.

    Returns:
        ``"checkbox"`` when all are booleans, ``"number"`` when all are numbers, else ``"text"``.
    """
    if all(isinstance(value, bool) for value in values):
        return "checkbox"
    if all(isinstance(value, int | float) and not isinstance(value, bool) for value in values):
        return "number"
    return "text"


def reads_back(value: Any, input_type: str) -> bool:
    """Tell whether an attribute value written as text reads back equal and of the same type.

    Args:
        value: the attribute value.
        input_type: the CVAT input type its label declares.

    Returns:
        True when :func:`read_attribute_value` of :func:`format_attribute` gives ``value`` back.
    """
    again = read_attribute_value(format_attribute(value), input_type)
    return type(again) is type(value) and again == value


def labels_element(parent: Element, labels: list[CvatLabel]) -> Element:
    """Write ``<labels>`` under ``parent`` (a ``<task>`` or ``<project>`` element).

    Skeleton labels get an ``<svg>`` with one circle per node (no edges: our schema has
    none) so that CVAT can draw them; the first value of each attribute is written as its
    ``<default_value>``.

    Args:
        parent: the meta element.
        labels: the labels, skeleton nodes after their skeleton.

    Returns:
        The new ``<labels>`` element.
    """
    container = SubElement(parent, "labels")
    for label in labels:
        element = SubElement(container, "label")
        _text(element, "name", label.name)
        if label.color:
            _text(element, "color", label.color)
        _text(element, "type", label.type)
        attributes = SubElement(element, "attributes")
        for spec in label.attributes:
            attribute = SubElement(attributes, "attribute")
            _text(attribute, "name", spec["name"])
            _text(attribute, "mutable", "True" if spec.get("mutable") else "False")
            _text(attribute, "input_type", spec["type"])
            values = [format_attribute(value) for value in spec.get("values", [])]
            _text(attribute, "default_value", values[0] if values else _EMPTY_DEFAULTS.get(spec["type"], ""))
            _text(attribute, "values", "\n".join(values))
        if label.parent:
            _text(element, "parent", label.parent)
        if label.type == "skeleton":
            nodes = [other.name for other in labels if other.parent == label.name]
            _text(element, "svg", _skeleton_svg(nodes, label.edges))
    return container


_EMPTY_DEFAULTS = {"checkbox": "false", "number": "0"}


def _skeleton_svg(nodes: list[str], edges: list[tuple[str, str]]) -> str:
    from xml.sax.saxutils import escape  # imports urllib.request (7 MiB): only when a skeleton is written

    # Nodes on a horizontal line (CVAT only needs some layout); edges first, as CVAT writes them.
    x_of = {node: 10 + 80 * index / max(len(nodes) - 1, 1) for index, node in enumerate(nodes)}
    node_id = {node: index for index, node in enumerate(nodes, start=1)}
    parts = [
        f'<line x1="{format_number(x_of[a])}" y1="50" x2="{format_number(x_of[b])}" y2="50" stroke="black" data-type="edge" '
        f'data-node-from="{node_id[a]}" stroke-width="0.5" data-node-to="{node_id[b]}"></line>'
        for a, b in edges
        if a in node_id and b in node_id
    ]
    for node in nodes:
        parts.append(
            f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{format_number(x_of[node])}" cy="50" stroke-width="0.1" '
            f'data-type="element node" data-element-id="{node_id[node]}" data-node-id="{node_id[node]}" '
            f'data-label-name="{escape(node, {chr(34): "&quot;"})}"></circle>'
        )
    return "".join(parts)


def format_attribute(value: str | int | float | bool) -> str:
    """Write an attribute value as CVAT does (booleans as ``true``/``false``).

    A float keeps its fraction (``2.0``, ``-0.0``) so that it reads back a float, not an
    int; ``repr`` is the shortest text that reads back to the same float.

    Args:
        value: the value.

    Returns:
        The text.
    """
    if isinstance(value, float):
        return repr(value)
    return format_attribute_value(value)


def _text(parent: Element, tag: str, value: Any) -> Element:
    element = SubElement(parent, tag)
    element.text = str(value)
    return element


# -- numbers and points ---------------------------------------------------------------


def format_number(value: float) -> str:
    """Write a coordinate exactly: integers without a fraction, other floats as ``repr``.

    ``repr`` is the shortest text that reads back to the same float, so nothing is
    rounded away (CVAT itself writes two decimals; any float reads back).

    Args:
        value: the number.

    Returns:
        The text, such as ``"3"`` or ``"797.33"``.
    """
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def parse_number(text: str | None, where: str) -> float:
    """Read one finite float from an XML attribute.

    Args:
        text: the attribute's text (None when missing).
        where: what to name in the error, such as ``"file.xml: image 'a.jpg', box 2: xtl"``.

    Returns:
        The number.

    Raises:
        FormatError: the text is missing or not a finite number.
    """
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FormatError(f"{where}: expected a number, got {text!r}") from None
    if not math.isfinite(number):
        raise FormatError(f"{where}: expected a finite number, got {text!r}")
    return number


def polygon_has_area(rings: list[list[float]], width: int, height: int) -> bool:
    """Tell whether a polygon keeps an area in the image, CVAT's rule for keeping it.

    Args:
        rings: ``[x1, y1, x2, y2, ...]`` lists in pixels.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        False when no ring has an area or the box around the rings lies outside the image.
    """
    if not any(shoelace_area(ring) > 0 for ring in rings):
        return False
    inside, _ = clip_bbox(rings_bbox(rings), width, height)
    return inside is not None


def parse_points(text: str | None, where: str) -> list[float]:
    """Read CVAT's ``"x1,y1;x2,y2;..."`` into a flat list.

    Args:
        text: the ``points`` attribute.
        where: what to name in the error.

    Returns:
        ``[x1, y1, x2, y2, ...]`` (empty for empty text).

    Raises:
        FormatError: a pair is not two finite numbers.
    """
    flat: list[float] = []
    for pair in (text or "").strip().split(";"):
        if not pair.strip():
            continue
        parts = pair.split(",")
        if len(parts) != 2:
            raise FormatError(f"{where}: points: {pair!r} is not an x,y pair")
        flat.extend(parse_number(part.strip(), f"{where}: points") for part in parts)
    return flat


def format_points(flat: list[float]) -> str:
    """Write a flat ``[x1, y1, ...]`` list as CVAT's ``"x1,y1;x2,y2"``.

    Args:
        flat: the coordinates, an even count.

    Returns:
        The text.
    """
    return ";".join(f"{format_number(flat[i])},{format_number(flat[i + 1])}" for i in range(0, len(flat), 2))


# -- masks ----------------------------------------------------------------------------


def parse_cvat_rle(text: str | None, where: str) -> list[int]:
    """Read the ``rle`` attribute (``"3, 5, 7"``) into run lengths.

    Args:
        text: the attribute.
        where: what to name in the error.

    Returns:
        The runs.

    Raises:
        FormatError: a run is not a non-negative integer.
    """
    runs = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part.isdigit():
            raise FormatError(f"{where}: rle: {part!r} is not a non-negative integer")
        runs.append(int(part))
    return runs


def cvat_rle_to_array(runs: list[int], width: int, height: int, where: str) -> np.ndarray:
    """Decode CVAT's row-major RLE of a ``width x height`` rectangle.

    Args:
        runs: alternating zero/one run lengths, starting with zeros.
        width: rectangle width in pixels.
        height: rectangle height in pixels.
        where: what to name in the error.

    Returns:
        A ``(height, width)`` uint8 array of 0 and 1.

    Raises:
        FormatError: the runs do not sum to ``width * height``.
    """
    if sum(runs) != width * height:
        raise FormatError(f"{where}: rle runs sum to {sum(runs)}, not width x height = {width * height}")
    values = np.arange(len(runs), dtype=np.int64) % 2
    flat = np.repeat(values.astype(np.uint8), runs)
    return flat.reshape(height, width)


def array_to_cvat_rle(mask: np.ndarray) -> list[int]:
    """Encode a 2-D 0/1 array row-major, CVAT style (first run counts zeros).

    Args:
        mask: ``(height, width)`` array.

    Returns:
        The run lengths, summing to ``height * width``.
    """
    flat = (np.asarray(mask).reshape(-1) > 0).astype(np.int8)
    if flat.size == 0:
        return [0]
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0] == 1:
        runs.insert(0, 0)
    return [int(run) for run in runs]


def cvat_rle_to_coco(
    runs: list[int], left: int, top: int, width: int, height: int, image_width: int, image_height: int, where: str
) -> tuple[dict[str, Any], bool]:
    """Turn a CVAT mask into a COCO RLE over the whole image.

    Args:
        runs: CVAT's row-major runs of the rectangle.
        left: x of the rectangle's top-left pixel.
        top: y of the rectangle's top-left pixel.
        width: rectangle width in pixels.
        height: rectangle height in pixels.
        image_width: image width in pixels.
        image_height: image height in pixels.
        where: what to name in the error.

    Returns:
        ``(rle, clipped)``: ``{"size": [image_height, image_width], "counts": str}``
        (compressed, column-major, as ``pycocotools.mask.encode`` writes it) and whether
        part of the rectangle lay outside the image and was cut off.

    Raises:
        FormatError: the runs do not fit the rectangle.
    """
    tight = cvat_rle_to_array(runs, width, height, where)
    canvas = np.zeros((image_height, image_width), dtype=np.uint8)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + width, image_width), min(top + height, image_height)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = tight[y0 - top : y1 - top, x0 - left : x1 - left]
    clipped = int(tight.sum()) != int(canvas.sum())
    encoded = mask_utils.encode(np.asfortranarray(canvas))
    return {"size": [image_height, image_width], "counts": encoded["counts"].decode("ascii")}, clipped


def coco_to_cvat_rle(rle: dict[str, Any]) -> tuple[list[int], int, int, int, int] | None:
    """Turn a COCO RLE (compressed or not) into CVAT's mask of its pixel extent.

    Args:
        rle: ``{"size": [h, w], "counts": str | list[int]}``.

    Returns:
        ``(runs, left, top, width, height)`` for the tightest rectangle around the set
        pixels, or None when the mask is empty.
    """
    height, width = (int(value) for value in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        c_rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    else:
        c_rle = {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    with warnings.catch_warnings():
        # pycocotools' decode trips numpy 2's __array__(copy=...) DeprecationWarning; harmless.
        warnings.simplefilter("ignore", DeprecationWarning)
        pixels = mask_utils.decode(c_rle)
    rows = np.flatnonzero(pixels.any(axis=1))
    columns = np.flatnonzero(pixels.any(axis=0))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    left, right = int(columns[0]), int(columns[-1]) + 1
    return array_to_cvat_rle(pixels[top:bottom, left:right]), left, top, right - left, bottom - top
