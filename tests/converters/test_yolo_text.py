"""The numpy YOLO line writer gives the bytes of ``box_line``, number for number."""

from __future__ import annotations

import random

import numpy as np

from annotate.converters._yolo_common import box_line
from annotate.converters._yolo_text import box_lines


def _random_boxes(count: int, seed: int) -> list[tuple[int, list[float], int, int]]:
    rng = random.Random(seed)
    rows = []
    while len(rows) < count:
        width = rng.choice([1, 3, 7, 375, 640, 1920, 4096, 33333, 99991])
        height = rng.choice([1, 3, 480, 1080, 99991])
        kind = rng.random()
        if kind < 0.3:  # two decimals, as most files have
            w = round(rng.uniform(0.01, width), 2)
            x = round(rng.uniform(0, width - w), 2)
        elif kind < 0.5:  # whole pixels
            w = float(rng.randint(1, width))
            x = float(rng.randint(0, int(width - w)))
        elif kind < 0.6:  # the whole width, and boxes far below a 12-decimal step
            w = rng.choice([float(width), 1e-13, 5e-13, 1.5e-12, 1e-9])
            x = rng.choice([0.0, width - w])
        else:  # any float
            w = rng.uniform(0, width) or 1.0
            x = rng.uniform(0, width - w)
        h = rng.uniform(0, height) or 1.0
        y = rng.uniform(0, height - h)
        if 0 <= x < x + w <= width and 0 <= y < y + h <= height:
            rows.append((rng.choice([0, 1, 9, 10, 99, 100, 12345]), [x, y, w, h], width, height))
    return rows


def test_lines_equal_box_line_on_random_and_edge_boxes():
    rows = _random_boxes(60000, seed=3)
    classes = np.array([row[0] for row in rows])
    boxes = np.array([row[1] for row in rows])
    sizes = np.array([(row[2], row[3]) for row in rows], dtype=np.float64)
    text, ends = box_lines(classes, boxes, sizes)
    expected = [(box_line(*row) + "\n").encode() for row in rows]
    assert text == b"".join(expected)
    assert ends.tolist() == np.cumsum([len(line) for line in expected]).tolist()


def test_hand_worked_lines():
    boxes = np.array([[0.0, 0.0, 640.0, 480.0], [100.0, 12.3, 50.12, 30.07], [1.0, 1.0, 1e-13, 2.0]])
    sizes = np.array([[640.0, 480.0], [640.0, 480.0], [3.0, 3.0]])
    text, ends = box_lines(np.array([0, 7, 10]), boxes, sizes)
    # 125.06 / 640 = 0.19540625; 27.335 / 480 = 0.056947916666...; 50.12 / 640 = 0.0783125;
    # 30.07 / 480 = 0.062645833333...; 1e-13 / 3 is below the 12th decimal. Zeros after the
    # sixth decimal go.
    assert text.decode().splitlines() == [
        "0 0.500000 0.500000 1.000000 1.000000",
        "7 0.19540625 0.056947916667 0.0783125 0.062645833333",
        "10 0.333333333333 0.666666666667 0.000000 0.666666666667",
    ]
    assert ends.tolist() == [38, 38 + 53, 38 + 53 + 57]


def test_values_near_a_half_step_are_rounded_as_python_rounds_them():
    # 0.0000000000005 and its neighbours lie on or next to a rounding boundary of "%.12f".
    values = [5e-13, np.nextafter(5e-13, 0), np.nextafter(5e-13, 1), 0.1234567890125, 0.5000000000005]
    boxes = np.array([[0.0, 0.0, value, 1.0] for value in values])
    text, _ = box_lines(np.zeros(len(values), dtype=np.int64), boxes, np.ones((len(values), 2)))
    assert text.decode().splitlines() == [box_line(0, box.tolist(), 1, 1) for box in boxes]
