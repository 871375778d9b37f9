"""Helpers shared by the ``yolo`` (Darknet) and ``ultralytics`` formats.

Both store one ``.txt`` file per image with one object a line, coordinates normalized to the
image size (after EXIF orientation), and neither stores the image size. Import reads the size
from the image file, or from Datumaro's ``images.meta`` (``<name> <height> <width>`` lines)
which our exporters write for every item, so that an export without images can be read back.

Pixel values computed from normalized ones are rounded to 1e-6 px (:func:`to_pixels`): that
removes the float noise of ``value * size`` without moving anything a user can see.
Normalized values are written with at least 6 decimals (as CVAT and Datumaro write them) and
up to 12 when needed (:func:`format_number`), so a round trip is exact to 1e-6 px.
"""

from __future__ import annotations

import itertools
import math
import posixpath
import re
import shlex
from pathlib import Path
from typing import Any

from annotate.converters._common import free_path
from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import clip_bbox, path_with_extension, shoelace_area
from annotate.converters.registry import ImageSource
from annotate.converters.report import ConversionReport

Image = lazy_module("PIL.Image")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
IMAGE_META_FILE = "images.meta"
FLAGS = ("occluded", "truncated", "difficult", "iscrowd")
# EXIF orientations 5..8 turn the image by 90 degrees, so width and height swap.
_EXIF_ORIENTATION = 0x0112
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
# Two corner sets closer than this (pixels, plus a share of the image size for the rounding of
# 6-decimal files) describe the same rectangle.
_RECTANGLE_TOLERANCE_PX = 0.01
_RECTANGLE_TOLERANCE_SHARE = 2e-6
# A decimal number as C's strtod reads it, without its inf, nan and hexadecimal forms.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def is_image_file(path: Path) -> bool:
    """Tell whether ``path`` names an image file by its suffix (any case).

    Args:
        path: a file path.

    Returns:
        True for .jpg, .jpeg, .png, .bmp, .webp, .tif and .tiff.
    """
    return path.suffix.lower() in IMAGE_SUFFIXES


def oriented_size(path: Path) -> tuple[int, int] | None:
    """Return the size of an image after EXIF orientation, as ``ImageOps.exif_transpose`` gives it.

    Only the header is read, the pixels are not decoded.

    Args:
        path: the image file.

    Returns:
        ``(width, height)`` in pixels, or None when the file is missing or not an image.
    """
    if not path.is_file():
        return None
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION)
    except OSError:
        return None
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return width, height


def to_pixels(value: float) -> float:
    """Round a pixel coordinate computed from normalized values to 1e-6 px.

    Args:
        value: pixels, such as ``0.2 * 640``.

    Returns:
        The value rounded to 6 decimals (never ``-0.0``).
    """
    return round(value, 6) + 0.0


def format_number(value: float) -> str:
    """Write a normalized coordinate: 6 decimals at least (``0.200000``), 12 at most.

    Args:
        value: the number.

    Returns:
        Fixed-point text without trailing zeros beyond the sixth decimal.
    """
    text = f"{value + 0.0:.12f}"
    if text[-13:-12] == ".":
        # A finite number: the first 6 of the 12 decimals stay, trailing zeros go from the rest.
        return text[:-6] + text[-6:].rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(6, '0')}"


def read_text_lines(path: Path) -> list[str]:
    """Read a text file as lines (UTF-8, a BOM allowed).

    Args:
        path: the file.

    Returns:
        Its lines without line ends.

    Raises:
        FormatError: the file is not UTF-8 text.
    """
    try:
        return path.read_text("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text: {exc}") from exc


def read_names(path: Path) -> list[str]:
    """Read a class names file (``obj.names``, ``classes.txt``): one name a line.

    Blank lines are skipped, as Darknet's loaders and Datumaro skip them, so the class index
    is the 0-based number of the name among the non-blank lines.

    Args:
        path: the file.

    Returns:
        The names in class index order.
    """
    return [line.strip() for line in read_text_lines(path) if line.strip()]


def make_labels(names: dict[int, str], report: ConversionReport) -> list[dict[str, Any]]:
    """Build labels whose ids are the class indices.

    Args:
        names: ``{class index: name}``.
        report: receives a note when a name repeats and is renamed.

    Returns:
        Label dicts ``{"id": index, "name", "kind": "shape"}`` in index order.
    """
    labels: list[dict[str, Any]] = []
    used: set[str] = set()
    for index, name in sorted(names.items()):
        unique = name
        number = 1
        while unique in used:
            number += 1
            unique = f"{name}_{number}"
        used.add(unique)
        if unique != name:
            report.note(f"class {index} {name!r} renamed {unique!r}: name used twice")
        labels.append({"id": index, "name": unique, "kind": "shape"})
    return labels


def class_indices(dataset: dict[str, Any]) -> dict[str, int]:
    """Map shape label names to contiguous class indices, in the dataset's label order.

    Args:
        dataset: a dataset document.

    Returns:
        ``{label name: class index}``, indices 0..n-1.
    """
    names = [label["name"] for label in dataset["labels"] if label["kind"] == "shape"]
    return {name: index for index, name in enumerate(names)}


def parse_numbers(path: Path, line_number: int, fields: list[str]) -> list[float]:
    """Read the fields of one label line as finite decimal numbers.

    The grammar is ``[+-]digits[.digits][(e|E)[+-]digits]`` (``.5`` and ``5.`` too), what
    C's ``strtod`` and numpy read in every YOLO trainer. Python's ``float`` also takes
    ``1_0`` and non-ASCII digits (``"٣"``): those are refused. ASCII text without ``_``
    that ``float`` reads is exactly that grammar plus ``inf`` and ``nan``, which are refused
    as not finite, so one check per line keeps the common case as fast as ``float``.

    Args:
        path: the label file (for the message).
        line_number: 1-based line number (for the message).
        fields: the text fields.

    Returns:
        The numbers.

    Raises:
        FormatError: a field is not a finite decimal number.
    """
    numbers = []
    for field in fields:
        try:
            number = float(field)
        except ValueError:
            raise FormatError(f"{path}, line {line_number}: {field!r} is not a number") from None
        if not math.isfinite(number):
            raise FormatError(f"{path}, line {line_number}: {field!r} is not a finite number")
        numbers.append(number)
    joined = "".join(fields)
    if "_" in joined or not joined.isascii():
        _refuse_non_decimal(path, line_number, fields)
    return numbers


def _refuse_non_decimal(path: Path, line_number: int, fields: list[str]) -> None:
    """Raise for the first field that ``float`` reads but the decimal grammar does not."""
    for field in fields:
        if not _DECIMAL.fullmatch(field):
            raise FormatError(f"{path}, line {line_number}: {field!r} is not a decimal number (digits, '.', an exponent)")


def check_box_size(path: Path, line_number: int, w: float, h: float) -> None:
    """Refuse a normalized box with a negative width or height.

    A zero side is a box without area, which the caller drops and counts; a negative one is
    no box at all (no tool writes it), so it is an error rather than a silent drop.

    Args:
        path: the label file (for the message).
        line_number: 1-based line number (for the message).
        w: the box width, share of the image width.
        h: the box height, share of the image height.

    Raises:
        FormatError: ``w`` or ``h`` is negative.
    """
    if w < 0 or h < 0:
        side, value = ("width", w) if w < 0 else ("height", h)
        raise FormatError(f"{path}, line {line_number}: the box {side} {value!r} is negative")


def parse_class(path: Path, line_number: int, field: str, classes: dict[int, Any]) -> int:
    """Read the class index of a label line.

    Args:
        path: the label file (for the message).
        line_number: 1-based line number.
        field: the first field of the line.
        classes: the declared classes by index.

    Returns:
        The index, one of ``classes``.

    Raises:
        FormatError: not an integer, or out of range.
    """
    try:
        value = float(field)
    except ValueError:
        raise FormatError(f"{path}, line {line_number}: class index {field!r} is not a number") from None
    if "_" in field or not field.isascii():
        raise FormatError(f"{path}, line {line_number}: class index {field!r} is not a decimal number")
    if not value.is_integer():
        raise FormatError(f"{path}, line {line_number}: class index {field!r} is not an integer")
    index = int(value)
    if index not in classes:
        raise FormatError(f"{path}, line {line_number}: class index {index} is out of range ({len(classes)} classes are declared)")
    return index


def label_lines(path: Path) -> list[tuple[int, list[str]]]:
    """Read a label file as ``(line number, fields)`` for each non-blank line.

    Args:
        path: the label file.

    Returns:
        The lines, 1-based numbers.
    """
    return [(number, line.split()) for number, line in enumerate(read_text_lines(path), start=1) if line.strip()]


def box_from_normalized(cx: float, cy: float, w: float, h: float, width: int, height: int) -> list[float]:
    """Turn a normalized ``cx cy w h`` into ``[x, y, w, h]`` pixels.

    Args:
        cx: center x, share of the image width.
        cy: center y, share of the image height.
        w: box width, share of the image width.
        h: box height, share of the image height.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        The box in pixels (not clipped).
    """
    return [
        to_pixels((cx - w / 2) * width),
        to_pixels((cy - h / 2) * height),
        to_pixels(w * width),
        to_pixels(h * height),
    ]


def clip_read_box(bbox: list[float], width: int, height: int) -> tuple[list[float] | None, bool]:
    """Cut a box read from a normalized file to the image, ignoring rounding overshoot.

    A file with 6 decimals puts a box that touches the border up to ``5e-7 * size`` outside
    it; such a box is cut silently, only a larger excess counts as clipped.

    Args:
        bbox: ``[x, y, w, h]`` in pixels.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        ``(box, clipped)`` as :func:`geometry.clip_bbox` returns them, pixel values rounded
        to 1e-6 px.
    """
    clipped_box, clipped = clip_bbox(bbox, width, height)
    if clipped_box is None:
        return None, False
    clipped_box = [to_pixels(value) for value in clipped_box]
    if clipped:
        x, y, w, h = bbox
        excess = max(-x, -y, x + w - width, y + h - height)
        clipped = excess > rounding_tolerance(width, height)
    return clipped_box, clipped


def rounding_tolerance(width: int, height: int) -> float:
    """Return how far (pixels) 6-decimal normalized values may put a point past the border.

    Args:
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        ``1e-6 * max(width, height) + 1e-6``.
    """
    return 1e-6 * max(width, height) + 1e-6


def box_line(class_index: int, bbox: list[float], width: int, height: int) -> str:
    """Write ``class cx cy w h`` for a box in pixels.

    Args:
        class_index: the class.
        bbox: ``[x, y, w, h]`` in pixels, inside the image.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        The line, without a line end.
    """
    x, y, w, h = bbox
    return (
        f"{class_index} {format_number((x + w / 2) / width)} {format_number((y + h / 2) / height)}"
        f" {format_number(w / width)} {format_number(h / height)}"
    )


def points_line(class_index: int, points: list[float], width: int, height: int) -> str:
    """Write ``class x1 y1 x2 y2 ...`` for points in pixels.

    Args:
        class_index: the class.
        points: flat ``[x1, y1, ...]`` in pixels.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        The line, without a line end.
    """
    values = [value / (width if index % 2 == 0 else height) for index, value in enumerate(points)]
    return " ".join([str(class_index), *(format_number(value) for value in values)])


def clip_ring(ring: list[float], width: int, height: int) -> tuple[list[float] | None, bool]:
    """Cut a polygon ring to the image (Sutherland-Hodgman).

    Args:
        ring: ``[x1, y1, ...]`` in pixels.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        ``(ring, clipped)``: the ring inside the image, or None when no area is left.
    """
    points = list(zip(ring[0::2], ring[1::2], strict=True))
    inside_all = all(0 <= x <= width and 0 <= y <= height for x, y in points)
    if inside_all:
        return (list(ring) if shoelace_area(ring) > 0 else None), False
    edges = (
        (lambda p: p[0] >= 0, lambda a, b: _cross_x(a, b, 0.0)),
        (lambda p: p[0] <= width, lambda a, b: _cross_x(a, b, float(width))),
        (lambda p: p[1] >= 0, lambda a, b: _cross_y(a, b, 0.0)),
        (lambda p: p[1] <= height, lambda a, b: _cross_y(a, b, float(height))),
    )
    for inside, cross in edges:
        if not points:
            break
        output: list[tuple[float, float]] = []
        previous = points[-1]
        for current in points:
            if inside(current):
                if not inside(previous):
                    output.append(cross(previous, current))
                output.append(current)
            elif inside(previous):
                output.append(cross(previous, current))
            previous = current
        points = output
    deduplicated = [point for index, point in enumerate(points) if point != points[index - 1]] if len(points) > 1 else points
    flat = [float(value) for point in deduplicated for value in point]
    if len(deduplicated) < 3 or shoelace_area(flat) <= 0:
        return None, False
    return flat, True


def _cross_x(a: tuple[float, float], b: tuple[float, float], x: float) -> tuple[float, float]:
    t = (x - a[0]) / (b[0] - a[0])
    return x, a[1] + t * (b[1] - a[1])


def _cross_y(a: tuple[float, float], b: tuple[float, float], y: float) -> tuple[float, float]:
    t = (y - a[1]) / (b[1] - a[1])
    return a[0] + t * (b[0] - a[0]), y


def rotated_corners(bbox: list[float], angle: float) -> list[float]:
    """Return the 4 corners of a rotated box, clockwise on screen from the rotated top-left.

    Args:
        bbox: ``[x, y, w, h]`` of the box before rotation, pixels.
        angle: degrees, clockwise about the box center (y grows down).

    Returns:
        ``[x1, y1, ..., x4, y4]`` in pixels: top-left, top-right, bottom-right, bottom-left
        of the unrotated box, each turned about the center.
    """
    x, y, w, h = bbox
    cx, cy = x + w / 2, y + h / 2
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    corners = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        corners += [cx + dx * cos - dy * sin, cy + dx * sin + dy * cos]
    return corners


def largest_rotated_box_inside(bbox: list[float], angle: float, width: int, height: int) -> list[float] | None:
    """Return the largest box at the same angle that lies inside both a rotated box and the image.

    A rotated box that reaches outside the image cannot keep its corners (Ultralytics reads
    only normalized values in [0, 1]), and moving corners onto the border bends it into a
    shape that is no rectangle. The box kept is the part of it that is surely visible: the
    rectangle of largest area with the box's angle, inside the box and inside the image.

    Method. In the box's own axes (``u`` along its width, ``v`` along its height, from its
    unrotated top-left corner) a candidate is ``[u0, u0 + a] x [v0, v1]``. Each image border
    is a linear condition on the corner that reaches furthest towards it, which bounds
    ``v0`` from below or ``v1`` from above (or ``u0`` when the box is axis-aligned), linearly
    in ``u0``. For a width ``a`` the best height ``g(a)`` is then the largest value of a
    concave piecewise-linear function of ``u0``, found at an end or a crossing of two bounds;
    ``g`` is concave, so ``a * g(a)`` has one maximum, found by golden-section search.

    Args:
        bbox: ``[x, y, w, h]`` of the box before rotation, pixels, w and h positive.
        angle: degrees, clockwise about the box center (y grows down).
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        ``[x, y, w, h]`` of the new box before rotation (same angle), or None when no area
        of the box lies inside the image.
    """
    x, y, w, h = (float(value) for value in bbox)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    # cos(90 degrees) is 6e-17, not 0: an axis-aligned side must bound u0, not divide by nearly 0.
    cos, sin = (0.0 if abs(cos) < 1e-12 else cos), (0.0 if abs(sin) < 1e-12 else sin)
    cx, cy = x + w / 2, y + h / 2
    origin_x = cx - (w / 2) * cos + (h / 2) * sin  # the image point of u = v = 0
    origin_y = cy - (w / 2) * sin - (h / 2) * cos
    # Image x = origin_x + u cos - v sin and y = origin_y + u sin + v cos stay within [0, size].
    borders = ((origin_x, cos, -sin, float(width)), (origin_y, sin, cos, float(height)))

    def best_height(a: float) -> tuple[float, float, float, float]:
        """Return (height, u0, v0, v1) of the tallest candidate of width ``a`` (height < 0: none)."""
        # Bounds as lines (constant, slope in u0): u0 within [u_low, u_high], v0 >= v_low, v1 <= v_high.
        u_low, u_high = [(0.0, 0.0)], [(w - a, 0.0)]
        v_low, v_high = [(0.0, 0.0)], [(h, 0.0)]
        for offset, du, dv, limit in borders:
            # The u part of the smallest and largest value over the rectangle: du * u0 plus these.
            min_u = 0.0 if du >= 0 else du * a
            max_u = du * a if du >= 0 else 0.0
            # offset + min_u + du * u0 + (dv * v0 or dv * v1) >= 0, and the same with max_u <= limit.
            at_least = -offset - min_u
            at_most = limit - offset - max_u
            if dv == 0:  # du is +-1: the border bounds u0 itself
                (u_low if du > 0 else u_high).append((at_least / du, 0.0))
                (u_high if du > 0 else u_low).append((at_most / du, 0.0))
            elif dv > 0:
                v_low.append((at_least / dv, -du / dv))
                v_high.append((at_most / dv, -du / dv))
            else:
                v_high.append((at_least / dv, -du / dv))
                v_low.append((at_most / dv, -du / dv))
        start = max(const for const, _ in u_low)
        stop = min(const for const, _ in u_high)
        if stop < start:
            return -1.0, 0.0, 0.0, 0.0
        candidates = {start, stop}
        for lines in (v_low, v_high):
            for (c1, s1), (c2, s2) in itertools.combinations(lines, 2):
                if s1 != s2:
                    crossing = (c2 - c1) / (s1 - s2)
                    if start < crossing < stop:
                        candidates.add(crossing)
        best = (-1.0, 0.0, 0.0, 0.0)
        for u0 in candidates:
            v0 = max(const + slope * u0 for const, slope in v_low)
            v1 = min(const + slope * u0 for const, slope in v_high)
            if v1 - v0 > best[0]:
                best = (v1 - v0, u0, v0, v1)
        return best

    def area(a: float) -> float:
        return a * max(best_height(a)[0], 0.0)

    low, high = 0.0, w
    ratio = (math.sqrt(5) - 1) / 2
    left, right = high - ratio * (high - low), low + ratio * (high - low)
    area_left, area_right = area(left), area(right)
    while high - low > 1e-12 * max(w, 1.0):
        if area_left < area_right:
            low, left, area_left = left, right, area_right
            right = low + ratio * (high - low)
            area_right = area(right)
        else:
            high, right, area_right = right, left, area_left
            left = high - ratio * (high - low)
            area_left = area(left)
    # The whole width is often best (a box cut only along its length); the search never tries it.
    a = max((low + high) / 2, w, key=area)
    b, u0, v0, v1 = best_height(a)
    if a <= 0 or b <= 0 or a * b <= 1e-12 * w * h:
        return None
    u_mid, v_mid = u0 + a / 2, (v0 + v1) / 2
    new_cx = origin_x + u_mid * cos - v_mid * sin
    new_cy = origin_y + u_mid * sin + v_mid * cos
    return [new_cx - a / 2, new_cy - b / 2, a, b]


def rotated_from_corners(corners: list[float], width: int, height: int) -> tuple[list[float], float, bool]:
    """Fit a rotated box to 4 corners (pixels), in either winding order.

    The corners are put in clockwise screen order keeping the first one; the angle is the
    direction of the edge from the first to the second corner, in [0, 360); width and height
    are the means of opposite edges. :func:`rotated_corners` inverts this exactly.

    Args:
        corners: ``[x1, y1, ..., x4, y4]`` in pixels.
        width: image width (sets the tolerance of the rectangle test).
        height: image height.

    Returns:
        ``(bbox, angle, is_rectangle)``: the box before rotation, the angle in degrees
        clockwise, and whether the corners are a rectangle (within rounding).
    """
    points = list(zip(corners[0::2], corners[1::2], strict=True))
    twice_area = sum(points[i][0] * points[(i + 1) % 4][1] - points[(i + 1) % 4][0] * points[i][1] for i in range(4))
    if twice_area < 0:
        points = [points[0], points[3], points[2], points[1]]
    p1, p2, p3, p4 = points
    box_width = (math.dist(p1, p2) + math.dist(p4, p3)) / 2
    box_height = (math.dist(p2, p3) + math.dist(p1, p4)) / 2
    angle = round(math.degrees(math.atan2(p2[1] - p1[1], p2[0] - p1[0])), 6) % 360.0 + 0.0
    cx = sum(p[0] for p in points) / 4
    cy = sum(p[1] for p in points) / 4
    bbox = [to_pixels(cx - box_width / 2), to_pixels(cy - box_height / 2), to_pixels(box_width), to_pixels(box_height)]
    fitted = rotated_corners(bbox, angle)
    tolerance = _RECTANGLE_TOLERANCE_PX + _RECTANGLE_TOLERANCE_SHARE * max(width, height)
    distance = max(math.dist(point, (fitted[2 * i], fitted[2 * i + 1])) for i, point in enumerate(points))
    return bbox, angle, distance <= tolerance


def lose_shape_extras(shape: dict[str, Any], report: ConversionReport, format_name: str) -> None:
    """Count the attributes and set flags of a written shape as lost.

    Args:
        shape: the shape being written.
        report: receives one ``attribute`` loss per attribute or true flag.
        format_name: for the reason, such as ``"YOLO"``.
    """
    count = len(shape.get("attributes", {})) + sum(1 for flag in FLAGS if shape.get(flag))
    if count:
        report.lose("attribute", f"{format_name} has no shape attributes or flags", count)


def write_image(
    writer: DatasetWriter,
    under: str,
    item: dict[str, Any],
    images: ImageSource | None,
    report: ConversionReport,
    *,
    path: str | None = None,
) -> str | None:
    """Write an item's image under the folder ``under`` at its path, and return that path.

    Args:
        writer: the export's destination.
        under: the folder (relative POSIX path) the item path is relative to.
        item: the item, as the dataset holds it: ``images`` is asked for its image.
        images: the image source; None writes nothing.
        report: receives a note when another image took the item's name (it then gets
            ``<stem>_2<ext>``...).
        path: where to write the image, relative to ``under`` (its extension is fixed to
            the image's type); the item path by default. An exporter that renames an item
            (two items would share a label file) passes the new path here, and the item
            itself unchanged, for the image source finds the image by the item's own path.

    Returns:
        The path, with the extension of the written image when one was written; None
        when ``images`` has no image for the item (nothing is written).

    Raises:
        ValueError: the path leaves the dataset folder.
    """
    wanted = item["path"] if path is None else path
    if images is None:
        return wanted
    image = images(item)
    if image is None:
        return None
    data, ext = image
    path = path_with_extension(wanted, ext)
    # Spelled as a folder path would resolve it ("a//b.jpg", "./a.jpg"), for the writer's check.
    relpath = posixpath.normpath(f"{under}/{path}")
    free = free_path(writer, relpath, item, report)
    if free != relpath:
        path = free[len(under) + 1 :]
    writer.write_bytes(free, data)
    return path


def image_meta_text(sizes: dict[str, tuple[int, int]]) -> str:
    """Return Datumaro's ``images.meta``: ``<name> <height> <width>`` lines, names shell-quoted.

    Args:
        sizes: ``{name: (width, height)}``.

    Returns:
        The file's text, a comment line first.
    """
    lines = ["# <image name> <height> <width>\n"]
    lines += [f"{shlex.quote(name)} {height} {width}\n" for name, (width, height) in sizes.items()]
    return "".join(lines)


def write_image_meta(writer: DatasetWriter, relpath: str, sizes: dict[str, tuple[int, int]]) -> None:
    """Write Datumaro's ``images.meta`` (see :func:`image_meta_text`).

    Args:
        writer: the export's destination.
        relpath: the file's relative POSIX path, such as ``"images.meta"``.
        sizes: ``{name: (width, height)}``.
    """
    writer.write_text(relpath, image_meta_text(sizes))


def read_image_meta(path: Path) -> dict[str, tuple[int, int]]:
    """Read Datumaro's ``images.meta`` (missing file: empty).

    Args:
        path: the file.

    Returns:
        ``{name: (width, height)}``.

    Raises:
        FormatError: a line is not ``<name> <height> <width>`` with positive integers.
    """
    if not path.is_file():
        return {}
    sizes: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(read_text_lines(path), start=1):
        try:
            fields = shlex.split(line, comments=True)
        except ValueError as exc:
            raise FormatError(f"{path}, line {number}: {exc}") from None
        if not fields:
            continue
        try:
            height, width = int(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            raise FormatError(f"{path}, line {number}: expected '<name> <height> <width>'") from None
        if height < 1 or width < 1:
            raise FormatError(f"{path}, line {number}: the size must be positive")
        sizes[fields[0]] = (width, height)
    return sizes
