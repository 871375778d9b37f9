"""Ultralytics: keypoint names through kpt_names, and rotated boxes that reach outside the image.

A rotated box [x, y, w, h] turned by a degrees clockwise about its center (y down) has corners
center + (dx cos a - dy sin a, dx sin a + dy cos a) for dx = +-w/2, dy = +-h/2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from annotate.converters import ConversionLossError, FormatError, export_dataset, import_dataset
from annotate.converters._yolo_common import largest_rotated_box_inside, rotated_corners
from tests.converters.test_ultralytics_format import dataset_of, human, label_text, shapes_of


def pose_dataset(**label_extra):
    dataset = dataset_of(400, 300, [])
    dataset["labels"] = [{"id": 0, "name": "person", "kind": "shape", "keypoints": ["a", "b", "c", "d"], **label_extra}]
    keypoints = [50, 60, 2, 70, 80, 2, 90, 100, 1, 0, 0, 0]
    dataset["items"][0]["annotation"]["shapes"] = [
        {"id": "k", "type": "keypoints", "label": "person", "keypoints": keypoints, "source": human()}
    ]
    return dataset


def test_keypoint_names_are_written_as_kpt_names_and_read_back(tmp_path):
    report = export_dataset("ultralytics", pose_dataset(), tmp_path)
    assert report.lost == {}
    config = yaml.safe_load((tmp_path / "data.yaml").read_text())
    assert (config["kpt_shape"], config["kpt_names"]) == ([4, 3], {0: ["a", "b", "c", "d"]})
    again, report = import_dataset("ultralytics", tmp_path)
    assert again["labels"] == [{"id": 0, "name": "person", "kind": "shape", "keypoints": ["a", "b", "c", "d"]}]
    assert report.lossless


def test_skeleton_edges_are_counted_and_strict_refuses_them(tmp_path):
    dataset = pose_dataset(skeleton=[[0, 1], [1, 2]])
    report = export_dataset("ultralytics", dataset, tmp_path)
    assert report.lost == {("skeleton edge", "Ultralytics data.yaml has no skeleton edges"): 2}
    with pytest.raises(ConversionLossError, match="2 skeleton edges dropped"):
        export_dataset("ultralytics", dataset, tmp_path / "strict", strict=True)


def test_names_that_do_not_match_kpt_shape_are_counted(tmp_path):
    dataset = pose_dataset()
    dataset["labels"][0]["keypoints"] = ["a", "b", "c"]  # the shapes have 4 points
    report = export_dataset("ultralytics", dataset, tmp_path)
    assert report.lost == {("keypoint name", "kpt_shape is [4, 3]; label 'person' names 3 keypoints"): 3}
    assert "kpt_names" not in yaml.safe_load((tmp_path / "data.yaml").read_text())


@pytest.mark.parametrize(
    ("kpt_names", "message"),
    [
        ("{0: [a, b]}", r"field 'kpt_names' class 0: 2 names for kpt_shape \[4, 3\]"),
        ("{x: [a, b, c, d]}", r"field 'kpt_names': key 'x' is not a class index"),
        ("{0: a}", r"field 'kpt_names' class 0: expected a list of keypoint names"),
        ("7", r"field 'kpt_names' must map class indices to lists of keypoint names"),
    ],
)
def test_a_malformed_kpt_names_names_the_field(tmp_path, kpt_names, message):
    export_dataset("ultralytics", pose_dataset(), tmp_path)
    config = (tmp_path / "data.yaml").read_text().split("kpt_names:")[0]
    (tmp_path / "data.yaml").write_text(config + f"kpt_names: {kpt_names}\n")
    with pytest.raises(FormatError, match=r"data.yaml: " + message):
        import_dataset("ultralytics", tmp_path)


def test_a_negative_box_width_in_a_detect_line_names_the_file_and_line(tmp_path):
    export_dataset(
        "ultralytics",
        dataset_of(100, 100, [{"id": "b", "type": "bbox", "label": "thing", "bbox": [1, 1, 5, 5], "source": human()}]),
        tmp_path,
    )
    (tmp_path / "labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 -0.2 0.2\n")
    with pytest.raises(FormatError, match=r"a.txt, line 2: the box width -0.2 is negative"):
        import_dataset("ultralytics", tmp_path)


# -- rotated boxes that reach outside ----------------------------------------------------


def brute_force_largest_area(bbox, angle, width, height, steps=48):
    """The largest [u0, u1] x [v0, v1] (in the box's own axes) on a grid whose corners all lie in the image."""
    x, y, w, h = bbox
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cx, cy = x + w / 2, y + h / 2
    us, vs = np.linspace(0, w, steps + 1), np.linspace(0, h, steps + 1)
    u0, u1, v0, v1 = np.meshgrid(us, us, vs, vs, indexing="ij")
    keep = (u1 > u0) & (v1 > v0)
    u0, u1, v0, v1 = u0[keep], u1[keep], v0[keep], v1[keep]
    inside = np.ones(u0.shape, dtype=bool)
    for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1)):
        px = cx + (u - w / 2) * c - (v - h / 2) * s
        py = cy + (u - w / 2) * s + (v - h / 2) * c
        inside &= (px >= -1e-9) & (px <= width + 1e-9) & (py >= -1e-9) & (py <= height + 1e-9)
    return float(((u1 - u0) * (v1 - v0))[inside].max())


@pytest.mark.parametrize(("bbox", "angle"), [([-10, -10, 40, 20], 30), ([380, 250, 60, 30], 135), ([-5, 100, 30, 80], 200)])
def test_the_box_kept_lies_in_the_image_and_the_box_and_is_the_largest(bbox, angle):
    kept = largest_rotated_box_inside(bbox, angle, 400, 300)
    corners = rotated_corners(kept, angle)
    assert all(-1e-9 <= value <= (400 if i % 2 == 0 else 300) + 1e-9 for i, value in enumerate(corners))
    # Inside the original box: each corner's coordinates in the box's own axes lie in [0, w] x [0, h].
    x, y, w, h = bbox
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    for px, py in zip(corners[0::2], corners[1::2], strict=True):
        dx, dy = px - (x + w / 2), py - (y + h / 2)
        assert abs(dx * c + dy * s) <= w / 2 + 1e-9 and abs(-dx * s + dy * c) <= h / 2 + 1e-9
    # No grid rectangle does better, and the grid (1/48 of each side) comes within a few percent.
    best = brute_force_largest_area(bbox, angle, 400, 300)
    assert best <= kept[2] * kept[3] + 1e-9
    assert kept[2] * kept[3] <= best * 1.1


def test_hand_worked_boxes_cut_along_an_axis():
    # Angle 0: [-10, -10, 40, 20] keeps x 0..30, y 0..10.
    assert largest_rotated_box_inside([-10, -10, 40, 20], 0, 400, 300) == pytest.approx([0, 0, 30, 10], abs=1e-9)
    # Angle 90: center (10, 0); the 40 px side runs along y from -20 to 20, the 20 px side along x
    # from 0 to 20. Inside: y 0..20, so a 20 x 20 box centered on (10, 10).
    assert largest_rotated_box_inside([-10, -10, 40, 20], 90, 400, 300) == pytest.approx([0, 0, 20, 20], abs=1e-9)
    assert largest_rotated_box_inside([500, 500, 40, 20], 30, 400, 300) is None


def test_export_keeps_a_rectangle_at_the_same_angle_and_counts_it(tmp_path):
    shape = {"id": "r", "type": "rotated_bbox", "label": "thing", "bbox": [-10, -10, 40, 20], "angle": 30, "source": human()}
    inside = {"id": "i", "type": "rotated_bbox", "label": "thing", "bbox": [100, 100, 40, 20], "angle": 30, "source": human()}
    report = export_dataset("ultralytics", dataset_of(400, 300, [shape, inside]), tmp_path)
    assert report.clipped == {"rotated_bbox": 1}
    values = [float(v) for v in label_text(tmp_path).splitlines()[0].split()[1:]]
    assert min(values) >= 0 and max(values[0::2]) <= 1 and max(values[1::2]) <= 1
    again, import_report = import_dataset("ultralytics", tmp_path)
    assert import_report.lossless  # the corners form a rectangle: nothing fitted
    cut, kept = shapes_of(again)
    expected = largest_rotated_box_inside([-10, -10, 40, 20], 30, 400, 300)
    assert cut["angle"] == pytest.approx(30, abs=1e-5)
    assert cut["bbox"] == pytest.approx(expected, abs=1e-5)
    assert (kept["bbox"], kept["angle"]) == ([100.0, 100.0, 40.0, 20.0], 30.0)


def test_the_position_of_an_invisible_keypoint_is_counted_as_lost(tmp_path):
    dataset = pose_dataset()
    # Point d is not labeled (v = 0) but holds a position: Ultralytics writes it 0 0 0.
    dataset["items"][0]["annotation"]["shapes"][0]["keypoints"][9:12] = [120, 130, 0]
    report = export_dataset("ultralytics", dataset, tmp_path)
    assert report.lost == {("keypoint position", "Ultralytics writes an invisible keypoint (v=0) as 0 0"): 1}
    assert label_text(tmp_path).split()[-3:] == ["0.000000", "0.000000", "0"]
    with pytest.raises(ConversionLossError, match="1 keypoint position dropped"):
        export_dataset("ultralytics", dataset, tmp_path / "strict", strict=True)


def test_corpus_skeleton_nodes_outside_lose_their_position_counted(corpus, tmp_path):
    dataset, _ = import_dataset("cvat", corpus / "datumaro-cvat-fork/cvat/for_images")
    # train.xml: img0's node 1 at 1,1 and img1's node 3 at 5,5 are outside="1" (v = 0); the other nodes are visible.
    invisible = [
        shape["keypoints"][i : i + 2] for item in dataset["items"] for shape in item["annotation"]["shapes"] if shape["type"] == "keypoints"
        for i in range(0, len(shape["keypoints"]), 3) if shape["keypoints"][i + 2] == 0
    ]  # fmt: skip
    assert invisible == [[1.0, 1.0], [5.0, 5.0]]
    report = export_dataset("ultralytics", dataset, tmp_path / "out", task="pose")
    assert report.lost[("keypoint position", "Ultralytics writes an invisible keypoint (v=0) as 0 0")] == 2
    again, _ = import_dataset("ultralytics", tmp_path / "out")
    keypoints = [shape["keypoints"] for item in again["items"] for shape in item["annotation"]["shapes"]]
    assert keypoints == [[0.0, 0.0, 0, 2.0, 2.0, 2, 3.0, 3.0, 2, 4.0, 4.0, 2], [3.0, 3.0, 2, 4.0, 4.0, 2, 0.0, 0.0, 0, 6.0, 6.0, 2]]
