"""Consensus rules (workflows.consensus): hand-worked cases and small seeded crowds; no app, no database."""

import subprocess
import sys

import numpy as np
import pytest

from workflows.consensus import (
    COCO_PERSON_SIGMAS,
    agreement,
    dawid_skene,
    iou,
    majority_vote,
    merge_boxes,
    merge_keypoints,
    merge_polygons,
    oks,
    polygon_iou_matrix,
)


def crowd(accuracies: dict[str, float], n: int, seed: int) -> tuple[np.ndarray, dict[int, dict[str, int]]]:
    """Binary truth and each worker's answers, right with the worker's accuracy."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    labels = {i: {w: int(truth[i] if rng.random() < a else 1 - truth[i]) for w, a in accuracies.items()} for i in range(n)}
    return truth, labels


def correct(estimate, truth) -> int:
    return sum(estimate[i][0] == truth[i] for i in range(len(truth)))


def square(x: float, y: float, side: float) -> list[float]:
    return [x, y, x + side, y, x + side, y + side, x, y + side]


# --- tags and classes ---------------------------------------------------------------------


def test_majority_vote_share_and_deterministic_ties():
    votes = majority_vote({"img1": {"u1": "a", "u2": "a", "u3": "b"}, "img2": {"u1": "b", "u2": "a"}, "img3": {}})
    assert votes["img1"] == ("a", pytest.approx(2 / 3))
    assert votes["img2"] == ("a", 0.5)  # a tie goes to the label first in order, whatever the dict order
    assert "img3" not in votes
    assert majority_vote({1: {"u1": 10, "u2": 9}}) == {1: (9, 0.5)}  # numbers by value, not as text


def test_weighted_majority_vote():
    assert majority_vote({1: {"good": "b", "u2": "a", "u3": "a"}}, weights={"good": 3.0}) == {1: ("b", 0.6)}
    with pytest.raises(ValueError, match="negative"):
        majority_vote({1: {"u": "a"}}, weights={"u": -1.0})


def test_dawid_skene_beats_majority_vote_with_an_adversarial_worker():
    truth, labels = crowd({"good": 0.8, "fair": 0.65, "adversary": 0.1}, n=200, seed=7)
    result = dawid_skene(labels)
    assert correct(majority_vote(labels), truth) == 106
    assert correct(result.labels, truth) == 176
    accuracy = {w: q.accuracy for w, q in result.workers.items()}
    assert accuracy["good"] > accuracy["fair"] > 0.5 > accuracy["adversary"]
    flips = result.workers["adversary"].confusion
    assert flips[0, 1] > 0.7 and flips[1, 0] > 0.7  # it learned the adversary's answers are flipped
    assert result.classes == [0, 1]
    assert all(np.allclose(q.confusion.sum(axis=1), 1.0) for q in result.workers.values())
    assert all(sum(p.values()) == pytest.approx(1.0) for p in result.posteriors.values())


def test_gold_items_anchor_dawid_skene_when_most_workers_are_adversarial():
    truth, labels = crowd({"honest": 0.85, "adv1": 0.15, "adv2": 0.2}, n=200, seed=11)
    assert correct(majority_vote(labels), truth) == 54
    assert correct(dawid_skene(labels).labels, truth) == 19  # the label-swapped optimum
    gold = {i: int(truth[i]) for i in range(10)}
    anchored = dawid_skene(labels, gold=gold)
    assert correct(anchored.labels, truth) == 180
    assert anchored.workers["honest"].accuracy > 0.7 > 0.3 > anchored.workers["adv1"].accuracy
    assert all(anchored.labels[i] == (gold[i], 1.0) for i in gold)  # gold is clamped


def test_laplace_smoothing_keeps_a_one_label_worker_off_zero_and_one():
    labels = {1: {"a": "x", "b": "x", "new": "x"}, 2: {"a": "y", "b": "y"}, 3: {"a": "x", "b": "x"}}
    result = dawid_skene(labels)
    assert result.workers["new"].n_labels == 1
    assert result.workers["new"].confusion.min() > 0 and result.workers["new"].confusion.max() < 1
    assert result.labels[2][0] == "y"


def test_dawid_skene_classes_and_errors():
    result = dawid_skene({1: {"a": "cat"}}, classes=["cat", "dog", "bird"])
    assert result.classes == ["cat", "dog", "bird"] and result.workers["a"].confusion.shape == (3, 3)
    with pytest.raises(ValueError, match="not one of the classes"):
        dawid_skene({1: {"a": "cow"}}, classes=["cat"])
    with pytest.raises(ValueError, match="prior"):
        dawid_skene({1: {"a": "cat"}}, prior=0)


# --- boxes, polygons, keypoints -----------------------------------------------------------


def test_three_overlapping_boxes_merge_into_their_mean():
    merged = merge_boxes({"u1": [("car", [0, 0, 10, 10])], "u2": [("car", [1, 0, 10, 10])], "u3": [("car", [0, 1, 10, 10])]})
    assert len(merged) == 1
    assert merged[0].bbox == pytest.approx([1 / 3, 1 / 3, 10, 10])
    assert merged[0].support == ["u1", "u2", "u3"] and merged[0].confidence == 1.0 and merged[0].label == "car"


def test_a_box_only_one_worker_drew_is_dropped_and_labels_are_voted():
    merged = merge_boxes(
        {
            "u1": [("car", [0, 0, 10, 10]), ("person", [50, 50, 5, 10])],
            "u2": [("truck", [0, 0, 10, 10])],
            "u3": [("car", [0, 0, 10, 10])],
            "u4": [],  # annotated the item, drew nothing: still counts in the total weight
        },
        quorum=2,
    )
    assert [(m.label, m.support, m.confidence) for m in merged] == [("car", ["u1", "u2", "u3"], 0.75)]
    weighted = merge_boxes({"u1": [("car", [0, 0, 10, 10])], "u2": [("truck", [2, 0, 10, 10])]}, weights={"u1": 1.0, "u2": 3.0})
    assert weighted[0].label == "truck" and weighted[0].bbox == pytest.approx([1.5, 0, 10, 10]) and weighted[0].confidence == 1.0
    assert merge_boxes({"u1": [("car", [0, 0, 10, 10])]}, quorum=1)[0].confidence == 1.0


def test_one_box_per_worker_per_cluster_and_no_chaining():
    # u1 drew two boxes on one object; only the better-matching one joins u2's cluster.
    merged = merge_boxes({"u1": [("car", [0, 0, 10, 10]), ("car", [0, 0, 10, 9])], "u2": [("car", [0, 0, 10, 10])]})
    assert len(merged) == 1 and merged[0].bbox == [0, 0, 10, 10]
    # A chain a~b~c where a and c do not overlap enough: complete linkage keeps it two clusters.
    chain = merge_boxes({"a": [("x", [0, 0, 10, 10])], "b": [("x", [3, 0, 10, 10])], "c": [("x", [6, 0, 10, 10])]}, quorum=1)
    assert sorted(len(m.support) for m in chain) == [1, 2]
    assert iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)


def test_polygons_merge_to_the_medoid():
    assert polygon_iou_matrix([square(0, 0, 10), square(1, 0, 10)])[0, 1] == pytest.approx(90 / 110, abs=0.01)
    merged = merge_polygons(
        {"u1": [("lake", square(0, 0, 10))], "u2": [("lake", square(1, 0, 10))], "u3": [("lake", square(2, 0, 10))], "u4": []}
    )
    assert len(merged) == 1
    assert merged[0].polygon == [square(1, 0, 10)]  # the middle square overlaps the others most
    assert merged[0].bbox == [1, 0, 10, 10] and merged[0].confidence == 0.75
    assert merge_polygons({"u1": [("lake", square(0, 0, 10))], "u2": [("lake", square(50, 50, 10))]}) == []


def test_oks_of_identical_keypoints_is_one_and_falls_with_distance():
    points = [float(v) for i in range(17) for v in (10 + 3 * i, 20 + 2 * i, 2)]
    assert oks(points, points, area=400.0) == 1.0
    moved = [v + 5 if n % 3 == 0 else v for n, v in enumerate(points)]
    assert 0 < oks(points, moved, area=400.0) < oks(points, moved, area=4000.0) < 1
    assert oks(points, [0.0] * 51, area=400.0) == 0.0  # nothing labeled in both
    assert len(COCO_PERSON_SIGMAS) == 17
    with pytest.raises(ValueError, match="sigmas"):
        oks([1, 1, 2], [1, 1, 2], area=1.0)
    assert oks([1, 1, 2], [1, 1, 2], area=1.0, sigmas=[0.1]) == 1.0


def test_merge_keypoints_averages_points_labeled_by_half_the_cluster():
    a = [10, 10, 2, 20, 20, 2, 0, 0, 0]
    b = [12, 10, 2, 20, 22, 1, 0, 0, 0]
    c = [11, 10, 2, 21, 21, 2, 30, 30, 2]  # only c saw the third point
    far = [200, 200, 2, 210, 210, 2, 0, 0, 0]
    merged = merge_keypoints(
        {
            "u1": [("p", a, [5, 5, 30, 30])],
            "u2": [("p", b, [5, 5, 30, 30])],
            "u3": [("p", c, [5, 5, 30, 30]), ("p", far, [195, 195, 20, 20])],
        },
        sigmas=[0.1, 0.1, 0.1],
    )
    assert len(merged) == 1 and merged[0].support == ["u1", "u2", "u3"]
    assert merged[0].keypoints == pytest.approx([11, 10, 2, 20 + 1 / 3, 21, 2, 0, 0, 0])
    assert merged[0].bbox == [5, 5, 30, 30]


# --- review routing -----------------------------------------------------------------------


def test_agreement_scores():
    assert agreement({"u1": "a", "u2": "a", "u3": "a"}) == 1.0
    assert agreement({"u1": "a", "u2": "a", "u3": "b"}) == pytest.approx(1 / 3)
    assert agreement({"u1": "a"}) == 0.0  # nothing to compare: send to review
    boxes = {"u1": [("car", [0, 0, 10, 10])], "u2": [("car", [0, 0, 10, 10])]}
    assert agreement(boxes, kind="box") == 1.0
    assert agreement({**boxes, "u2": [("car", [0, 0, 10, 10]), ("cat", [50, 50, 5, 5])]}, kind="box") == 0.5
    assert agreement({**boxes, "u2": [("cat", [0, 0, 10, 10])]}, kind="box") == 0.0
    assert agreement({"u1": [], "u2": []}, kind="box") == 1.0
    assert agreement({"u1": [("lake", square(0, 0, 10))], "u2": [("lake", square(0, 0, 10))]}, kind="polygon") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kind"):
        agreement({}, kind="mask")


def test_consensus_imports_neither_flask_nor_the_database():
    code = "import sys, workflows.consensus; print(sorted(m for m in ('flask', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tag_dawid_skene_on_yes_no_questions_anchored_by_gold():
    from workflows.consensus import tag_dawid_skene

    # 8 gold items (4 cat, 4 dog): worker "a" is always right, worker "b" always says cat.
    gold = {f"g{n}": frozenset({"cat" if n < 4 else "dog"}) for n in range(8)}
    answers = {g: {"a": known, "b": frozenset({"cat"})} for g, known in gold.items()}
    answers["x"] = {"a": frozenset({"dog"}), "b": frozenset({"cat"})}
    estimate = tag_dawid_skene(answers, ["cat", "dog"], gold)
    # By hand from the 16 gold questions, Laplace prior 1: "a" says yes to yes (1 + 8) / (2 + 8) =
    # 0.9 and no to no 0.9; "b" says yes half the time whatever the truth, (1 + 4) / (2 + 8), so
    # tells nothing. Item x, prior 1/2: "dog?" yes = 0.9 * 0.5 / (0.9 * 0.5 + 0.1 * 0.5) = 0.9.
    assert estimate.tags["x"] == frozenset({"dog"})
    assert estimate.present["x"]["dog"] == pytest.approx(0.9, abs=0.02)
    assert estimate.present["x"]["cat"] == pytest.approx(0.1, abs=0.02)
    assert estimate.confidence["x"] == pytest.approx(0.9, abs=0.02)  # the least sure of its two decisions
    # With x counted too (its "dog?" yes at 0.9, "cat?" yes at 0.1): "a" (1 + 8 + 0.9) / (2 + 9) = 0.9
    # both ways; "b" says yes to yes (1 + 4 + 0.1) / (2 + 9) = 0.46 and no to no the same: worse than a coin.
    assert estimate.accuracy["a"] == pytest.approx(0.9, abs=0.01) and estimate.accuracy["b"] == pytest.approx(0.464, abs=0.01)
    assert estimate.tags["g0"] == frozenset({"cat"}) and estimate.confidence["g0"] == 1.0  # gold is clamped
    # No tag labels at all: nothing to decide, so every item is sure of its empty tag set.
    empty = tag_dawid_skene({"x": {"a": frozenset()}}, [])
    assert empty.tags == {"x": frozenset()} and empty.confidence == {"x": 1.0} and empty.accuracy == {}
