"""The model-loop benchmark (bench/loop.py): its scoring worked by hand and a smoke run of each task."""

import pytest

from prelabel.predictions import Detection
from tests.helpers import load_bench

pytest.importorskip("sklearn")  # the digits data set (in the test and bench extras)


@pytest.fixture(scope="module")
def loop():
    return load_bench("loop")


def test_tag_edits_worked_by_hand(loop):
    truth = [0, 1, 2, 3]
    # right and sure; wrong and sure (relabel); right but unsure (tag by hand); right at the threshold
    predictions = [(0, 0.9), (2, 0.8), (2, 0.3), (3, 0.5)]
    precision, recall, edits = loop.score_tags(truth, predictions, 0.5)
    assert (precision, recall, edits) == pytest.approx((2 / 3, 2 / 4, 2 / 4))
    assert loop.score_tags([0, 1], [(0, 0.1), (1, 0.2)], 0.5) == (0.0, 0.0, 1.0)


def test_box_edits_worked_by_hand(loop):
    truth = [(0, 0, 10, 10), (20, 0, 10, 10), (40, 0, 10, 10), (60, 0, 10, 10)]
    detections = [
        Detection(label_index=0, bbox=(0, 0, 10, 10), score=0.9),  # kept
        Detection(label_index=1, bbox=(21, 0, 10, 10), score=0.9),  # IoU 0.82: moved
        Detection(label_index=0, bbox=(40, 0, 10, 10), score=0.9),  # wrong label
        Detection(label_index=0, bbox=(80, 80, 5, 5), score=0.9),  # matches nothing: deleted
    ]
    counts = loop.score_item(truth, [0, 1, 2, 3], detections)
    assert counts == {"kept": 1, "edited": 1, "relabeled": 1, "deleted": 1, "added": 1, "tp": 2}


def test_canvases_hold_the_digits_they_claim(loop):
    import numpy as np

    canvases = loop.make_canvases(5, size=64, classes=3, rng=np.random.default_rng(0), max_digits=1, side=(0.3, 0.5))
    for image, boxes, labels in canvases:
        assert image.shape == (64, 64, 3) and len(boxes) == len(labels) == 1 and 0 <= labels[0] < 3
        x, y, w, h = map(int, boxes[0])
        assert 19 <= w == h < 32 and image[y : y + h, x : x + w].any() and image.sum() == image[y : y + h, x : x + w].sum()


@pytest.mark.parametrize("task", ["classification", "detection"])
def test_quick_run_prints_a_line_per_round(loop, task, capsys):
    loop.main(["--task", task, "--quick"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"task {task}:")
    rounds = [line.split() for line in lines[2:4]]
    assert [r[:2] for r in rounds] == ([["1", "10"], ["2", "20"]] if task == "classification" else [["1", "8"], ["2", "16"]])
    for row in rounds:
        precision, recall, edits, no_model = map(float, row[3:])
        assert 0 <= precision <= 1 and 0 <= recall <= 1 and edits >= 0 and no_model > 0
    assert lines[4].startswith("total ")
