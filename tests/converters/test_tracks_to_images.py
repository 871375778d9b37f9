"""Formats without tracks get each track as one shape per visible frame that has a frame item."""

from __future__ import annotations

import copy
import csv
import json
import zipfile

import pytest

from annotate.converters import ConversionLossError, ConversionReport, export_dataset, export_to_zip, import_dataset
from annotate.converters._tracks import tracks_as_frame_shapes
from schemas import validate_dataset
from tests.converters.test_cvat_video_format import box, video_xml
from tests.converters.test_tracks import video_sample

NOTE_END = "has no tracks (the track id is kept as the attribute track_id)"


def frame_path(frame: int) -> str:
    return f"clip/frame_{frame:06d}.jpg"


def coco_boxes(folder):
    """COCO annotations of ``folder`` as {(file_name, track_id): bbox}, and their number."""
    coco = json.loads((folder / "annotations/instances_default.json").read_text())
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    boxes = {(names[a["image_id"]], a["attributes"]["track_id"]): a["bbox"] for a in coco["annotations"]}
    return boxes, len(coco["annotations"])


def drop_items(dataset, frames):
    dataset["items"] = [item for item in dataset["items"] if item["frame"] not in frames]
    return dataset


# -- the expansion itself ---------------------------------------------------------------


def test_each_visible_frame_gets_the_tracks_state_and_the_input_is_left_alone():
    dataset = video_sample(frame_path)
    before = copy.deepcopy(dataset)
    report = ConversionReport()
    result = tracks_as_frame_shapes(dataset, report, "COCO")
    assert dataset == before
    assert "tracks" not in result
    validate_dataset(result)
    # Track "1": 0..3 (moves 2 px a frame until 2, ends with the outside shape on 4).
    # Track "7": frame 1, hidden on 2..3, from 4 on to the last frame 5.
    boxes = {item["frame"]: [(s["attributes"]["track_id"], s["bbox"]) for s in item["annotation"]["shapes"]] for item in result["items"]}
    assert boxes == {
        0: [(1, [0, 0, 4, 4])],
        1: [(1, [2, 0, 4, 4]), (7, [10, 10, 5, 8])],
        2: [(1, [4, 0, 4, 4])],
        3: [(1, [4, 0, 4, 4])],
        4: [(7, [20, 10, 5, 8])],
        5: [(7, [20, 10, 5, 8])],
    }
    assert result["items"][1]["annotation"]["shapes"][0] == {
        "id": "track-1",
        "type": "bbox",
        "label": "car",
        "source": {"type": "human"},
        "attributes": {"track_id": 1},
        "bbox": [2, 0, 4, 4],
    }
    assert report.lines() == [f"2 tracks written as 7 per-frame boxes: COCO {NOTE_END}"]
    assert report.lossless


def test_frames_without_an_item_are_counted_and_items_without_new_shapes_are_shared():
    dataset = drop_items(video_sample(frame_path), {2, 4})
    report = ConversionReport()
    result = tracks_as_frame_shapes(dataset, report, "VOC")
    # Track "1" is visible on 0..3 (2 has no item), track "7" on 1, 4 (no item) and 5.
    assert [(item["frame"], len(item["annotation"]["shapes"])) for item in result["items"]] == [(0, 1), (1, 2), (3, 1), (5, 1)]
    assert report.lines() == ["2 boxes dropped: no frame item for them", f"2 tracks written as 5 per-frame boxes: VOC {NOTE_END}"]
    with pytest.raises(ConversionLossError):
        tracks_as_frame_shapes(dataset, ConversionReport(strict=True), "VOC")
    dataset["items"].append({**dataset["items"][0], "id": "other", "video": "another", "frame": 0})
    result = tracks_as_frame_shapes(dataset, ConversionReport(), "VOC")
    assert result["items"][-1] is dataset["items"][-1]


def test_only_frames_on_the_grid_of_the_frame_items_count_as_lost_without_a_frame_count():
    # Items on frames 1, 3 and 5: every second frame from 1 on, so frames 0, 2 and 4 never were frames of the dataset.
    dataset = drop_items(video_sample(frame_path), {0, 2, 4})
    report = ConversionReport(strict=True)
    result = tracks_as_frame_shapes(dataset, report, "COCO")
    # Track "1" (visible 0..3) on 1 and 3, track "7" (visible 1, 4, 5) on 1 and 5.
    assert [(item["frame"], len(item["annotation"]["shapes"])) for item in result["items"]] == [(1, 2), (3, 1), (5, 1)]
    assert report.lines() == [f"2 tracks written as 4 per-frame boxes: COCO {NOTE_END}"]
    # A video item's frame_count says every frame 0..5 exists: 0, 2 (track "1") and 4 (track "7") are lost.
    video = {**dataset["items"][0], "id": "video", "path": "clip.mp4", "media": "video", "frame_count": 6, "fps": 25}
    del video["frame"]
    dataset["items"].append(video)
    report = ConversionReport()
    tracks_as_frame_shapes(dataset, report, "COCO")
    assert report.lines() == ["3 boxes dropped: no frame item for them", f"2 tracks written as 4 per-frame boxes: COCO {NOTE_END}"]


def test_the_track_id_attribute_is_an_int_only_for_a_canonical_decimal_id():
    dataset = video_sample(frame_path, frames=2)
    template = dataset["tracks"][0]
    dataset["tracks"] = [{**copy.deepcopy(template), "id": track_id} for track_id in ("12", "07", "+3", "x1")]
    result = tracks_as_frame_shapes(dataset, ConversionReport(), "COCO")
    assert [shape["attributes"]["track_id"] for shape in result["items"][0]["annotation"]["shapes"]] == [12, "07", "+3", "x1"]


def test_a_dataset_without_tracks_is_returned_as_it_is():
    dataset = video_sample(frame_path)
    del dataset["tracks"]
    report = ConversionReport()
    assert tracks_as_frame_shapes(dataset, report, "COCO") is dataset
    dataset["tracks"] = []
    assert tracks_as_frame_shapes(dataset, report, "COCO") is dataset
    assert report.lines() == []


def test_track_attributes_flags_group_and_a_free_shape_id_are_kept():
    dataset = video_sample(frame_path, frames=2)
    track = dataset["tracks"][0]
    track.update(attributes={"color": "red", "track_id": "mine"}, group=3, z_order=2)
    track["shapes"][0].update(occluded=True, attributes={"moving": False})
    taken = {"id": "track-1", "type": "bbox", "label": "car", "bbox": [1, 1, 1, 1], "source": {"type": "human"}}
    dataset["items"][0]["annotation"]["shapes"].append(taken)
    result = tracks_as_frame_shapes(dataset, ConversionReport(), "COCO")
    assert result["items"][0]["annotation"]["shapes"] == [
        taken,
        {
            "id": "track-1-2",
            "type": "bbox",
            "label": "car",
            "source": {"type": "human"},
            "group": 3,
            "z_order": 2,
            "occluded": True,
            "attributes": {"color": "red", "moving": False, "track_id": 1},
            "bbox": [0, 0, 4, 4],
        },
    ]


def test_a_video_item_sets_how_far_a_last_visible_shape_runs():
    dataset = video_sample(frame_path, frames=3)
    dataset["tracks"] = [dataset["tracks"][1]]  # visible on 1, hidden on 2..3, back from 4 on
    video = {**dataset["items"][0], "id": "video", "path": "clip.mp4", "media": "video", "frame_count": 8, "fps": 25}
    del video["frame"]
    dataset["items"].append(video)
    report = ConversionReport()
    tracks_as_frame_shapes(dataset, report, "COCO")
    # Frames 4..7 are visible but only 0..2 have frame items.
    assert report.lines() == ["4 boxes dropped: no frame item for them", f"1 track written as 1 per-frame box: COCO {NOTE_END}"]


def test_an_invalid_dataset_is_refused_before_anything_is_built():
    from schemas import SchemaError

    dataset = video_sample(frame_path)
    dataset["tracks"][0]["label"] = "bus"
    with pytest.raises(SchemaError):
        tracks_as_frame_shapes(dataset, ConversionReport(), "COCO")


# -- through the exporters ----------------------------------------------------------------


def test_cvat_video_track_with_an_outside_gap_becomes_coco_boxes_on_the_visible_frames(tmp_path):
    # Keyframes on 0 and 10, outside on 5; frames 0..10. Towards the outside shape the box is
    # interpolated: x = 0 + (10 - 0) * f / 5 = 2f on frames 1..4, nothing on 5..9.
    track = f'<track id="4" label="c">{box(0, 0, 0, 10, 20)}{box(5, 10, 0, 20, 20, outside=1)}{box(10, 40, 40, 50, 60)}</track>'
    (tmp_path / "src").mkdir()
    (tmp_path / "src/annotations.xml").write_text(video_xml(track, size=11, stop=10))
    dataset, _ = import_dataset("cvat-video", tmp_path / "src")
    frame_of = {item["path"]: item["frame"] for item in dataset["items"]}
    report = export_dataset("coco", dataset, tmp_path / "coco", strict=True, checked=True)
    boxes, count = coco_boxes(tmp_path / "coco")
    by_frame = {frame_of[name]: bbox for (name, track_id), bbox in boxes.items() if track_id == 4}
    assert by_frame == pytest.approx(
        {0: [0, 0, 10, 20], 1: [2, 0, 10, 20], 2: [4, 0, 10, 20], 3: [6, 0, 10, 20], 4: [8, 0, 10, 20], 10: [40, 40, 10, 20]}
    )
    assert count == 6
    assert report.lines() == [f"1 track written as 6 per-frame boxes: COCO {NOTE_END}"]


def test_tud_campus_mot_into_coco_gives_every_gt_row_as_a_box(corpus, tmp_path):
    gt = corpus / "motmetrics/TUD-Campus/gt.txt"
    src = tmp_path / "tud/gt"
    src.mkdir(parents=True)
    (src / "gt.txt").write_bytes(gt.read_bytes())
    dataset, _ = import_dataset("mot", tmp_path / "tud", width=640, height=480, fps=25)
    report = export_dataset("coco", dataset, tmp_path / "coco", checked=True)
    boxes, count = coco_boxes(tmp_path / "coco")
    # The gt.txt rows with confidence != 0 on frames that have an item (all 71 here), as
    # COCO boxes: MOT is 1-based (x = left - 1), and the import clips to the 640 x 480 image.
    expected = {}
    for frame, track_id, left, top, width, height, confidence, *_ in csv.reader(gt.read_text().splitlines()):
        if float(confidence) == 0:
            continue
        x0, y0 = float(left) - 1, float(top) - 1
        x1, y1 = min(x0 + float(width), 640), min(y0 + float(height), 480)
        x0, y0 = max(x0, 0), max(y0, 0)
        expected[(f"img1/{int(frame):06d}.jpg", int(track_id))] = [x0, y0, x1 - x0, y1 - y0]
    assert len(expected) == 359
    assert count == 359
    assert boxes.keys() == expected.keys()
    for where, bbox in expected.items():
        assert boxes[where] == pytest.approx(bbox, abs=1e-6), where
    assert f"8 tracks written as 359 per-frame boxes: COCO {NOTE_END}" in report.lines()
    assert not any("dropped" in line for line in report.lines())


def test_cvat_for_video_with_a_frame_step_goes_into_cvat_for_images_strictly(corpus, tmp_path):
    # The task took frames 10, 13, 16 and 19 (frame_filter step=3): the box track, visible on 10..12,
    # is written on frame 10, and 11 and 12 were never frames of the task.
    dataset, _ = import_dataset("cvat-video", corpus / "datumaro/cvat/for_video")
    assert sorted(item["frame"] for item in dataset["items"]) == [10, 13, 16, 19]
    report = export_dataset("cvat", dataset, tmp_path / "cvat", strict=True, checked=True)
    assert f"1 track written as 1 per-frame box: CVAT {NOTE_END}" in report.lines()
    assert not any("dropped" in line for line in report.lines())


def test_tud_campus_mot_into_voc_reads_the_track_ids_back_unchanged(corpus, tmp_path):
    src = tmp_path / "tud/gt"
    src.mkdir(parents=True)
    (src / "gt.txt").write_bytes((corpus / "motmetrics/TUD-Campus/gt.txt").read_bytes())
    dataset, _ = import_dataset("mot", tmp_path / "tud", width=640, height=480, fps=25)
    report = export_dataset("voc", dataset, tmp_path / "voc", checked=True)
    # VOC keeps attribute values as text and reads "1" back as the number 1: a text track id would be a changed value.
    assert f"8 tracks written as 359 per-frame boxes: VOC {NOTE_END}" in report.lines()
    assert not any("attribute value" in line for line in report.lines())
    again, _ = import_dataset("voc", tmp_path / "voc")
    track_ids = {shape["attributes"]["track_id"] for item in again["items"] for shape in item["annotation"]["shapes"]}
    assert sorted(track["id"] for track in dataset["tracks"]) == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert track_ids == {1, 2, 3, 4, 5, 6, 7, 8}


def test_the_zip_export_writes_the_same_boxes(tmp_path):
    dataset = video_sample(frame_path)
    export_dataset("coco", dataset, tmp_path / "folder")
    report = export_to_zip("coco", dataset, tmp_path / "out.zip", strict=True)
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        zipped = json.loads(archive.read("annotations/instances_default.json"))
    assert zipped == json.loads((tmp_path / "folder/annotations/instances_default.json").read_text())
    assert len(zipped["annotations"]) == 7
    assert report.lines() == [f"2 tracks written as 7 per-frame boxes: COCO {NOTE_END}"]
