"""Shape ``group`` and ``z_order`` are written by the formats that hold them and counted by the others."""

from __future__ import annotations

import pytest

from annotate.converters import ConversionLossError, export_dataset, import_dataset

HUMAN = {"type": "human"}
# Formats that hold some groups count the rest themselves, with their own reason.
GROUP_REASONS = {"labelstudio": "Label Studio links only a keypoint to its parent region"}


def dataset() -> dict:
    # Two boxes of one object (group 3) and a third drawn under everything (z_order -1).
    shapes = [
        {"id": "a", "type": "bbox", "label": "car", "bbox": [1, 1, 4, 4], "source": HUMAN, "group": 3, "z_order": 2},
        {"id": "b", "type": "bbox", "label": "car", "bbox": [2, 2, 4, 4], "source": HUMAN, "group": 3},
        {"id": "c", "type": "bbox", "label": "car", "bbox": [5, 5, 3, 3], "source": HUMAN, "z_order": -1},
        {"id": "d", "type": "bbox", "label": "car", "bbox": [0, 0, 2, 2], "source": HUMAN, "group": None, "z_order": 0},
    ]
    item = {"id": "x", "name": "x.jpg", "path": "x.jpg", "media": "image", "width": 10, "height": 10}
    return {
        "version": 1,
        "labels": [{"id": 1, "name": "car", "kind": "shape"}],
        "items": [{**item, "annotation": {"version": 1, "tags": [], "shapes": shapes}}],
    }


def lost(report) -> dict[str, tuple[int, str]]:
    return {entry["kind"]: (entry["count"], entry["reason"]) for entry in report.to_dict()["lost"]}


@pytest.mark.parametrize(
    ("fmt", "title", "groups", "orders"),
    [
        ("via", "VIA", 2, 2),
        ("yolo", "YOLO", 2, 2),
        ("ultralytics", "Ultralytics", 2, 2),
        ("labelstudio", "Label Studio", 2, 2),
        ("labelme", "LabelMe", 0, 2),  # group_id holds the group
        ("coco", "COCO", 0, 2),  # COCO counts the groups it cannot make one annotation of itself
    ],
)
def test_what_a_format_does_not_write_is_counted(tmp_path, fmt, title, groups, orders):
    report = lost(export_dataset(fmt, dataset(), tmp_path / "out"))
    # Shape "d" carries the defaults (no group, z_order 0): nothing of it is lost.
    reason = GROUP_REASONS.get(fmt, f"{title} has no shape groups")
    assert report.get("group membership") == ((groups, reason) if groups else None)
    assert report.get("z_order") == (orders, f"{title} has no z-order (which shape is drawn over which)")


def test_cvat_writes_both_and_reads_them_back(tmp_path):
    report = export_dataset("cvat", dataset(), tmp_path / "out")
    assert "group membership" not in lost(report) and "z_order" not in lost(report)
    again, _ = import_dataset("cvat", tmp_path / "out")
    shapes = {shape["bbox"][0]: shape for shape in again["items"][0]["annotation"]["shapes"]}
    assert shapes[1.0]["z_order"] == 2 and shapes[5.0]["z_order"] == -1
    assert shapes[1.0]["group"] == shapes[2.0]["group"] is not None


def test_strict_refuses_and_writes_nothing(tmp_path):
    with pytest.raises(ConversionLossError, match="2 group memberships dropped: VIA has no shape groups"):
        export_dataset("via", dataset(), tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()


def with_sources() -> dict:
    doc = dataset()
    shapes = doc["items"][0]["annotation"]["shapes"]
    shapes[0]["source"] = {"type": "model", "model_version": 3, "score": 0.25}
    shapes[2]["source"] = {"type": "consensus", "score": 0.8, "labelers": 3}
    return doc


@pytest.mark.parametrize(("fmt", "title"), [("coco", "COCO"), ("via", "VIA"), ("cvat", "CVAT"), ("yolo", "YOLO"), ("voc", "VOC")])
def test_model_and_consensus_sources_a_format_drops_are_counted(tmp_path, fmt, title):
    report = lost(export_dataset(fmt, with_sources(), tmp_path / "out"))
    assert report["source"] == (2, f"{title} keeps no model or consensus source: an import marks them as made by a person")


def test_label_studio_keeps_a_model_source_as_a_prediction(tmp_path):
    doc = with_sources()
    doc["items"][0]["annotation"]["shapes"][2]["source"] = {"type": "human"}
    assert "source" not in lost(export_dataset("labelstudio", doc, tmp_path / "out"))
    again, _ = import_dataset("labelstudio", tmp_path / "out")
    sources = [shape["source"] for shape in again["items"][0]["annotation"]["shapes"]]
    assert {"type": "model", "model_version": 3, "score": 0.25} in sources


def test_voc_keeps_the_paint_order_of_masks_not_the_z_order_of_boxes(tmp_path):
    doc = dataset()
    doc["items"][0]["annotation"]["shapes"].append(
        {"id": "m", "type": "polygon", "label": "car", "rings": [[0, 0, 4, 0, 4, 4]], "source": HUMAN, "z_order": 5}
    )
    # Boxes a (2) and c (-1) lose their z_order; the polygon's decides what its pixels cover.
    assert lost(export_dataset("voc", doc, tmp_path / "out"))["z_order"] == (2, "VOC has no z-order (which shape is drawn over which)")


def test_label_studio_counts_a_consensus_source_it_cannot_keep(tmp_path):
    report = lost(export_dataset("labelstudio", with_sources(), tmp_path / "out"))
    reason = "Label Studio has annotations and model predictions, no consensus: an import marks it as made by a person"
    assert report["source"] == (1, reason)  # shape c; shape a's model source is kept as a prediction


def test_label_studio_writes_a_consensus_tag_as_a_choice_and_counts_its_source(tmp_path):
    doc = dataset()
    doc["labels"].append({"id": 2, "name": "sunny", "kind": "tag"})
    doc["items"][0]["annotation"]["tags"] = [{"id": "t", "label": "sunny", "source": {"type": "consensus", "score": 0.9, "labelers": 3}}]
    report = lost(export_dataset("labelstudio", doc, tmp_path / "out"))
    assert report["source"][0] == 1
    again, _ = import_dataset("labelstudio", tmp_path / "out")
    assert [(tag["label"], tag["source"]) for tag in again["items"][0]["annotation"]["tags"]] == [("sunny", {"type": "human"})]
