"""The conversion benchmark (bench/convert_vs_datumaro.py): how its speed verdict is reached from the figures."""

import pytest

from tests.helpers import load_bench

# Ratios 1.2, 0.9, 2.0, 1.1, 3.0: sorted 0.9 1.1 1.2 2.0 3.0, so the median is 1.2.
FIVE_PAIRS = [(1.2, 1.0), (0.9, 1.0), (4.0, 2.0), (1.1, 1.0), (3.0, 1.0)]


@pytest.fixture(scope="module")
def bench():
    return load_bench("convert_vs_datumaro")


def test_paired_ratio_is_the_median_with_the_range(bench):
    assert bench.paired_ratio(FIVE_PAIRS) == pytest.approx((1.2, 0.9, 3.0))


def test_paired_ratio_of_an_even_count_is_the_mean_of_the_middle_two(bench):
    # Ratios 1, 2, 3, 10: the middle two are 2 and 3.
    assert bench.paired_ratio([(1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (10.0, 1.0)]) == pytest.approx((2.5, 1.0, 10.0))


def test_paired_ratio_of_no_pairs_is_an_error(bench):
    with pytest.raises(ValueError):
        bench.paired_ratio([])


def test_one_outlier_pair_does_not_decide(bench):
    # Four pairs near 1.1x and one caught by the disk at 9x: the median stays 1.1.
    pairs = [(1.1, 1.0), (2.2, 2.0), (9.0, 1.0), (0.55, 0.5), (1.1, 1.0)]
    median, low, high = bench.paired_ratio(pairs)
    assert median == pytest.approx(1.1) and low == pytest.approx(1.1) and high == pytest.approx(9.0)


def test_the_floor_counts_above_a_tenth_of_datumaro_and_always_without_it(bench):
    assert not bench.floor_counts(1.0, 10.0)  # exactly a tenth: not more than one
    assert bench.floor_counts(1.01, 10.0)
    assert not bench.floor_counts(0.5, 10.0)
    assert bench.floor_counts(0.5, None)


def test_pairs_decide_the_floor_goal_over_the_rounds(bench):
    # Rounds: ours 3.0 s against a floor of 1.0 s is 3x; the pairs' median is 1.2x, so met.
    # Datumaro 8.0 s: 2.7x slower only, and the floor (1.0 s) is more than its tenth (0.8 s).
    met, reason = bench.speed_verdict(3.0, 8.0, 1.0, FIVE_PAIRS)
    assert met
    assert "2.7x faster than Datumaro" in reason
    assert "median of 5 paired runs: 1.20x the floor (range 0.90-3.00x; goal <= 1.5x)" in reason


def test_a_lucky_round_does_not_pass_when_the_pairs_say_otherwise(bench):
    # Rounds give 1.0x, but the pairs' ratios are 2, 2 and 1: median 2.0x, over 1.5x.
    met, reason = bench.speed_verdict(1.0, 5.0, 1.0, [(2.0, 1.0), (4.0, 2.0), (1.0, 1.0)])
    assert not met
    assert "median of 3 paired runs: 2.00x the floor (range 1.00-2.00x" in reason


def test_without_pairs_the_rounds_decide(bench):
    met, reason = bench.speed_verdict(3.0, 8.0, 2.0, [])  # 1.5x the floor: the goal's own edge counts as met
    assert met and "1.50x the floor (goal <= 1.5x)" in reason
    met, _ = bench.speed_verdict(3.1, 8.0, 2.0, [])  # 1.55x
    assert not met


def test_when_the_floor_does_not_count_only_10x_does(bench):
    # Floor 1.5 s is under a tenth of Datumaro's 20 s: the 1.0x median of the pairs is ignored.
    met, reason = bench.speed_verdict(2.5, 20.0, 1.5, [(1.5, 1.5)])
    assert not met and "8.0x faster" in reason and "only 10x counts" in reason
    met, _ = bench.speed_verdict(2.0, 20.0, 1.5, [])  # exactly 10x
    assert met


def test_goal_lines_print_the_paired_median(bench):
    ours = {"seconds": 3.0, "peak_mb": 80.0}
    theirs = {"seconds": 8.0, "peak_mb": 400.0}
    floor = {"seconds": 1.0, "peak_mb": 0.0}
    lines = bench.goal_lines("coco->yolo", [(10000, ours, theirs, floor, FIVE_PAIRS)], base_mb=60.0)
    assert lines[0].startswith("coco->yolo  10000  speed:  MET ")
    assert "median of 5 paired runs: 1.20x the floor" in lines[0]
    assert lines[1].startswith("coco->yolo  10000  memory: MET ")
    skipped = bench.goal_lines("coco->yolo", [(10000, ours, None, floor, FIVE_PAIRS)], base_mb=60.0)
    assert skipped == [
        "coco->yolo  10000  speed/memory: not judged (Datumaro skipped); ours median of 5 paired runs: "
        "1.20x the floor (range 0.90-3.00x; goal <= 1.5x)"
    ]


def test_pairs_alternate_which_runs_first(bench, monkeypatch, tmp_path):
    order = []
    times = iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])

    def ours(target, src, dst):
        order.append("ours")
        return {"seconds": next(times), "peak_mb": 0.0}, []

    def floor(target, src, folder, manifest):
        order.append("floor")
        return {"seconds": next(times), "peak_mb": 0.0}

    monkeypatch.setattr(bench, "timed_ours", ours)
    monkeypatch.setattr(bench, "timed_floor", floor)
    pairs = bench.timed_pairs("yolo", tmp_path, tmp_path, [], 3)
    assert order == ["ours", "floor", "floor", "ours", "ours", "floor"]
    # Each pair is (ours, floor) whichever went first.
    assert pairs == [(1.0, 2.0), (4.0, 3.0), (5.0, 6.0)]
