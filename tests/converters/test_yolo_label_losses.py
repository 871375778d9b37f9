"""YOLO, Ultralytics and MOT count what their label lists cannot hold.

``obj.names``, ``data.yaml`` ``names`` and MOT's ``gt/labels.txt`` hold the names of the
shape labels, nothing else (Ultralytics' pose task also keypoint names, ``kpt_names``). Tag
labels, colors, attribute definitions, parents, keypoint names and skeletons are lost and
must be counted, so that ``--strict`` refuses them.
"""

from __future__ import annotations

import pytest

from annotate.converters import ConversionLossError, export_dataset, import_dataset


def labelled_dataset() -> dict:
    """Labels with a color and an attribute spec, keypoint names with a skeleton, a tag label."""
    shape = {"id": "1", "type": "bbox", "label": "p", "bbox": [1, 1, 2, 2], "source": {"type": "human"}}
    return {
        "version": 1,
        "labels": [
            {
                "id": 1,
                "name": "p",
                "kind": "shape",
                "color": "#ff0000",
                "attributes": [{"name": "kind", "type": "select", "values": ["a", "b"]}],
            },
            {"id": 2, "name": "pose", "kind": "shape", "keypoints": ["a", "b"], "skeleton": [[0, 1]]},
            {"id": 3, "name": "t", "kind": "tag"},
            {"id": 4, "name": "hand", "kind": "shape", "parent": "p"},
        ],
        "items": [
            {
                "id": "a",
                "name": "000001.jpg",
                "path": "img1/000001.jpg",  # MOT's frame path: MOT holds no other
                "media": "image",
                "width": 10,
                "height": 10,
                "annotation": {"version": 1, "tags": [], "shapes": [shape]},
            }
        ],
    }


def expected_losses(name: str, skeleton_reason: str | None = None) -> dict:
    return {
        ("label", f"{name} has no tag labels"): 1,
        ("label color", f"{name} has no label colors"): 1,
        ("label attribute", f"{name} declares no attributes per label"): 1,
        ("label parent", f"{name} labels have no parent"): 1,
        ("label skeleton", skeleton_reason or f"{name} has no keypoint skeletons"): 1,
    }


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("yolo", expected_losses("YOLO")),
        (
            "ultralytics",
            expected_losses(
                "Ultralytics", "the Ultralytics detect task keeps no keypoint names or skeleton (only the pose task has kpt_names)"
            ),
        ),
        ("mot", expected_losses("MOT")),
    ],
)
def test_label_metadata_the_format_cannot_hold_is_counted(tmp_path, fmt, expected):
    report = export_dataset(fmt, labelled_dataset(), tmp_path / "out")
    assert dict(report.lost) == expected
    with pytest.raises(ConversionLossError, match="dropped"):
        export_dataset(fmt, labelled_dataset(), tmp_path / "strict", strict=True)
    # What the format holds comes back: the shape labels' names, unused ones included.
    again, _ = import_dataset(fmt, tmp_path / "out")
    assert [(label["name"], label["kind"]) for label in again["labels"]] == [("p", "shape"), ("pose", "shape"), ("hand", "shape")]
    assert not any(set(label) - {"id", "name", "kind"} for label in again["labels"])


def test_ultralytics_pose_keeps_keypoint_names_and_counts_the_skeleton(tmp_path):
    dataset = labelled_dataset()
    dataset["items"][0]["annotation"]["shapes"] = [
        {"id": "k", "type": "keypoints", "label": "pose", "keypoints": [1, 1, 2, 5, 5, 2], "source": {"type": "human"}}
    ]
    report = export_dataset("ultralytics", dataset, tmp_path, task="pose")
    expected = expected_losses("Ultralytics")
    del expected[("label skeleton", "Ultralytics has no keypoint skeletons")]
    expected[("skeleton edge", "Ultralytics data.yaml has no skeleton edges")] = 1
    assert dict(report.lost) == expected
    again, _ = import_dataset("ultralytics", tmp_path)
    assert [label.get("keypoints") for label in again["labels"]] == [None, ["a", "b"], None]


def test_nothing_is_counted_when_the_labels_hold_only_names(tmp_path):
    dataset = labelled_dataset()
    dataset["labels"] = [{"id": 1, "name": "p", "kind": "shape"}, {"id": 2, "name": "q", "kind": "shape"}]
    for fmt in ("yolo", "ultralytics", "mot"):
        report = export_dataset(fmt, dataset, tmp_path / fmt, strict=True)
        assert report.lost == {}, fmt
