"""Small geometry and naming helpers shared by the format modules.

Coordinates follow the annotation schema: floats in image pixels, (0, 0) is the top-left
corner of the top-left pixel, a box is ``[x, y, width, height]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

HUMAN: dict[str, str] = {"type": "human"}


def clip_bbox(bbox: list[float], width: int, height: int) -> tuple[list[float] | None, bool]:
    """Cut a box to the image.

    Args:
        bbox: ``[x, y, w, h]``; w and h may be zero or negative on foreign input.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        ``(box, clipped)``: the box inside the image, or None when nothing with an area
        is left; ``clipped`` tells whether the box had to be cut. A side that is not cut
        keeps its size exactly (``(x + w) - x`` would turn 50.12 into 50.120000000000005).
    """
    x, y, w, h = map(float, bbox)
    right, bottom = x + w, y + h
    left, top = max(x, 0.0), max(y, 0.0)
    inner_right, inner_bottom = min(right, float(width)), min(bottom, float(height))
    if inner_right <= left or inner_bottom <= top:
        return None, False
    box_width = w if left == x and inner_right == right else inner_right - left
    box_height = h if top == y and inner_bottom == bottom else inner_bottom - top
    clipped = (left, top, inner_right, inner_bottom) != (x, y, right, bottom)
    return [left, top, box_width, box_height], clipped


def rings_bbox(rings: Iterable[list[float]]) -> list[float]:
    """Return the ``[x, y, w, h]`` extent of polygon rings (may have zero size).

    Args:
        rings: lists ``[x1, y1, x2, y2, ...]``.

    Returns:
        The box around every vertex.
    """
    xs: list[float] = []
    ys: list[float] = []
    for ring in rings:
        xs.extend(ring[0::2])
        ys.extend(ring[1::2])
    left, top = min(xs), min(ys)
    return [float(left), float(top), float(max(xs) - left), float(max(ys) - top)]


def shoelace_area(ring: list[float]) -> float:
    """Return the absolute area of one polygon ring.

    Args:
        ring: ``[x1, y1, x2, y2, ...]``.

    Returns:
        The area in square pixels (0 for degenerate rings).
    """
    xs, ys = ring[0::2], ring[1::2]
    count = len(xs)
    twice = sum(xs[i] * ys[(i + 1) % count] - xs[(i + 1) % count] * ys[i] for i in range(count))
    return abs(twice) / 2.0


def round_half_up(value: float) -> int:
    """Round to the nearest integer, halves away from zero for positives (2.5 -> 3).

    Python's ``round`` rounds halves to even, which would move some box edges by a pixel
    depending on parity.

    Args:
        value: the number.

    Returns:
        The rounded integer.
    """
    return math.floor(value + 0.5)


def is_safe_relative_path(path: str) -> bool:
    """Tell whether ``path`` is a relative POSIX path that stays inside its folder.

    Args:
        path: the candidate, such as ``"photos/a.jpg"``.

    Returns:
        False for absolute paths, drive letters, backslashes, empty or ``..`` parts.
    """
    if not path or path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def normalize_relative_path(path: str) -> str:
    """Turn a file name from a foreign dataset into a safe relative POSIX path.

    Args:
        path: such as ``"./images\\\\a.jpg"`` or ``"/abs/a.jpg"``.

    Returns:
        A path for which :func:`is_safe_relative_path` holds (the base name at worst).
    """
    if "/" not in path and "\\" not in path and path not in ("", ".", "..") and path[1:2] != ":":
        return path  # a plain file name, as most datasets give: safe as it is
    cleaned = path.replace("\\", "/")
    parts = [part for part in cleaned.split("/") if part not in ("", ".")]
    candidate = "/".join(parts)
    if is_safe_relative_path(candidate):
        return candidate
    name = PurePosixPath(cleaned).name
    # ".." is a name to PurePosixPath: never hand it (or nothing) back as a file name.
    return name if name not in ("", ".", "..") and is_safe_relative_path(name) else "image"


def posix_normalized(path: str) -> str:
    """Return ``path`` as ``PurePosixPath`` spells it, without pathlib's cost (a few us a call).

    Args:
        path: a POSIX path, such as ``"a//b"`` or ``"./a"``.

    Returns:
        ``str(PurePosixPath(path))``: ``"a/b"``, ``"a"``.
    """
    if "//" in path or "/./" in path or path.startswith("./") or path.endswith(("/", "/.")) or path == ".":
        return str(PurePosixPath(path))  # the rare paths that need cleaning
    return path


def posix_stem(path: str) -> str:
    """Return ``str(PurePosixPath(path).with_suffix(""))`` without pathlib's cost.

    Args:
        path: a POSIX path.

    Returns:
        The normalized path without the last name's suffix; a name whose only dot leads or
        ends it (``.x``, ``a.``) has no suffix and keeps it.
    """
    path = posix_normalized(path)
    slash = path.rfind("/")
    dot = path.rfind(".")
    if slash + 1 < dot < len(path) - 1:
        return path[:dot]
    return path


def path_with_extension(path: str, ext: str) -> str:
    """Give ``path`` the extension ``ext`` unless it already has it (.jpeg counts as .jpg).

    Args:
        path: a relative POSIX path.
        ext: ``".jpg"`` or ``".png"``.

    Returns:
        The path, with its suffix replaced when it named another type.
    """
    suffix = PurePosixPath(path).suffix.lower()
    same = {".jpg": {".jpg", ".jpeg"}, ".png": {".png"}}.get(ext.lower(), {ext.lower()})
    if suffix in same:
        return path
    return str(PurePosixPath(path).with_suffix(ext)) if suffix else path + ext


def unique_name(base: str, used: set[str]) -> str:
    """Return ``base``, or ``base_2``, ``base_3``... whichever is not in ``used``; add it.

    Args:
        base: the preferred name.
        used: names already taken; updated.

    Returns:
        The free name.
    """
    name, number = base, 1
    while name in used:
        number += 1
        name = f"{base}_{number}"
    used.add(name)
    return name


def parse_bool(value: Any) -> bool | None:
    """Read the booleans foreign files write: 1/0, "true"/"false", "yes"/"no"...

    Args:
        value: a bool, number or string; None or "" means unknown.

    Returns:
        The boolean, or None when the value is empty or not boolean-like.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "y", "t"):
            return True
        if text in ("0", "false", "no", "n", "f"):
            return False
    return None


def parse_attribute_value(text: str) -> str | int | float | bool:
    """Read an attribute value written as text: booleans and numbers regain their type.

    Args:
        text: the text, such as ``"true"``, ``"3"`` or ``"red"``.

    Returns:
        The bool, int, float or the text unchanged.
    """
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def format_attribute_value(value: str | int | float | bool) -> str:
    """Write an attribute value as text that :func:`parse_attribute_value` reads back.

    Args:
        value: the value.

    Returns:
        ``"true"``/``"false"`` for booleans, ``str(value)`` otherwise.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
