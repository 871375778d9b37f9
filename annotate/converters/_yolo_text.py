"""YOLO box lines for many boxes at once, with numpy: the text ``format_number`` writes.

A line is ``class cx cy w h`` with each number written with 12 decimals, trailing zeros cut
down to 6 (:func:`annotate.converters._yolo_common.format_number`). Python's formatting and the
cut cost about 4 us a box; here the digits of all boxes are worked out as integer arrays.

Exactness. ``"%.12f" % v`` rounds the exact binary value of ``v`` to 12 decimals (halves to
even). ``v * 1e12`` in floats is off by at most half a unit in the last place (6.1e-5 for
values below 2**40), so rounding it to the nearest integer gives the same digits unless its
fraction is near one half; those few values (about 1 in 500) are formatted by Python.
"""

from __future__ import annotations

from typing import Any

from annotate.converters._lazy import lazy_module

np = lazy_module("numpy")

_DECIMALS = 12
_KEPT = 6
# Fractions this close to one half may round either way after the multiplication.
_NEAR_HALF = 1e-3
# Boxes worked out together: the digit arrays take about 1 KB a box.
_BATCH = 1024


def _fixed_point(values: Any) -> Any:
    """Return ``round(values * 10**12)`` as the int64 that ``"%.12f"`` spells, for values in [0, 2)."""
    scaled = values * 1e12
    numbers = np.rint(scaled).astype(np.int64)
    doubtful = np.abs(scaled - np.floor(scaled) - 0.5) < _NEAR_HALF
    for index in zip(*np.nonzero(doubtful), strict=True):
        numbers[index] = int(f"{float(values[index]):.12f}".replace(".", ""))
    return numbers


def box_lines(class_indices: Any, boxes: Any, sizes: Any) -> tuple[bytes, Any]:
    """Write the YOLO lines of boxes inside their images.

    Args:
        class_indices: int array, shape (n,): each box's class (0 or more).
        boxes: float64 array, shape (n, 4): ``[x, y, w, h]`` in pixels, with
            ``0 <= x < x + w <= width`` and the same for y (unclipped boxes with an area).
        sizes: float64 array, shape (n, 2): the ``(width, height)`` of each box's image.

    Returns:
        ``(text, ends)``: every line, each ending in ``\\n``, as ASCII bytes, and an int
        array, shape (n,), where line ``i`` ends in ``text`` (it starts where line ``i - 1``
        ends). The bytes are those of ``_yolo_common.box_line`` plus a line end.
    """
    count = len(class_indices)
    if count == 0:
        return b"", np.zeros(0, dtype=np.int64)
    classes = np.asarray(class_indices, dtype=np.int64)
    class_width = len(str(int(classes.max())))
    texts, ends, offset = [], [], 0
    for start in range(0, count, _BATCH):
        stop = start + _BATCH
        text, batch_ends = _batch_lines(classes[start:stop], class_width, boxes[start:stop], sizes[start:stop])
        texts.append(text)
        ends.append(batch_ends + offset)
        offset += len(text)
    return b"".join(texts), np.concatenate(ends)


def _batch_lines(classes: Any, class_width: int, boxes: Any, sizes: Any) -> tuple[bytes, Any]:
    """:func:`box_lines` for one batch, class numbers right-aligned in ``class_width`` columns before the cut."""
    count = len(classes)
    x, y, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    width, height = sizes[:, 0], sizes[:, 1]
    # The same float operations, in the same order, as box_line.
    values = np.stack([(x + w / 2) / width, (y + h / 2) / height, w / width, h / height], axis=1)
    numbers = _fixed_point(values)
    powers = 10 ** np.arange(_DECIMALS - 1, -1, -1, dtype=np.int64)
    whole = numbers // 10**_DECIMALS
    digits = (numbers[..., None] % 10**_DECIMALS) // powers % 10  # (n, 4, 12)
    # Decimals kept: the first 6, then up to the last non-zero one.
    nonzero = digits[..., _KEPT:] != 0
    last = _DECIMALS - np.argmax(nonzero[..., ::-1], axis=-1)
    kept = np.where(nonzero.any(axis=-1), last, _KEPT)

    class_powers = 10 ** np.arange(class_width - 1, -1, -1, dtype=np.int64)
    class_digits = classes[:, None] // class_powers % 10
    # Leading zeros go; the last digit stays (class 0 is "0").
    significant = (classes[:, None] >= class_powers) | (class_powers == 1)

    # Each number is " d." and 12 decimals: 15 columns.
    number_width = 3 + _DECIMALS
    line_width = class_width + 4 * number_width + 1
    chars = np.empty((count, line_width), dtype=np.uint8)
    keep = np.ones((count, line_width), dtype=bool)
    chars[:, :class_width] = class_digits + ord("0")
    keep[:, :class_width] = significant
    for column in range(4):
        start = class_width + column * number_width
        chars[:, start] = ord(" ")
        chars[:, start + 1] = whole[:, column] + ord("0")
        chars[:, start + 2] = ord(".")
        chars[:, start + 3 : start + number_width] = digits[:, column] + ord("0")
        keep[:, start + 3 : start + number_width] = np.arange(_DECIMALS) < kept[:, column, None]
    chars[:, -1] = ord("\n")
    return chars[keep].tobytes(), np.cumsum(keep.sum(axis=1))
