"""MOTChallenge gt.txt: 1-based frames and pixels, keyframes found again, the corpus counted by hand."""

from __future__ import annotations

import pytest

from annotate.converters import ConversionReport, FormatError, export_dataset, get_format, import_dataset
from schemas import validate_dataset
from tests.converters.contract import FormatContract
from tests.converters.test_tracks import key, track_summary, video_sample


def mot_path(frame: int) -> str:
    return f"img1/{frame + 1:06d}.jpg"


class TestMotContract(FormatContract):
    name = "mot"

    def sample(self):
        dataset = video_sample(mot_path)
        dataset["items"][5]["annotation"]["shapes"].append(
            {"id": "s", "type": "bbox", "label": "car", "bbox": [1, 2, 3, 4], "source": {"type": "human"}}
        )
        return dataset

    def geometry(self, dataset):
        return super().geometry(dataset), track_summary(dataset)


def test_rows_are_one_based_every_visible_frame_and_never_past_the_end(tmp_path):
    export_dataset("mot", video_sample(mot_path), tmp_path)
    rows = (tmp_path / "gt/gt.txt").read_text().splitlines()
    assert rows == [
        "1,1,1,1,4,4,1,1,1",  # x 0 -> 1
        "2,1,3,1,4,4,1,1,1",  # interpolated: x = 2
        "2,7,11,11,5,8,1,2,1",
        "3,1,5,1,4,4,1,1,1",
        "4,1,5,1,4,4,1,1,1",  # held until the outside shape on frame 4 (MOT frame 5): no row there
        "5,7,21,11,5,8,1,2,1",
        "6,7,21,11,5,8,1,2,1",  # track 7 runs to the last frame
    ]
    assert (tmp_path / "gt/labels.txt").read_text() == "car\nperson walking\n"
    assert "seqLength=6" in (tmp_path / "seqinfo.ini").read_text()


def test_round_trip_keeps_keyframes_and_outside_exactly(tmp_path):
    dataset = video_sample(mot_path)
    dataset["tracks"][0]["shapes"][1]["bbox"] = [4.1, 0.3, 4, 4]  # fractional, shifted in decimal
    # MOT has no geometry for an outside shape: import gives it the last visible box, and
    # so must the original for an exact round trip (interpolation runs towards it).
    dataset["tracks"][0]["shapes"][2]["bbox"] = [4.1, 0.3, 4, 4]
    dataset["tracks"][0]["attributes"] = {"ignored": True}
    dataset["tracks"][1]["shapes"][0]["attributes"] = {"visibility": 0.25}
    dataset["tracks"][1]["shapes"][1]["attributes"] = {"visibility": 0.25}
    for item in dataset["items"]:
        item["fps"] = 12.5
    report = export_dataset("mot", dataset, tmp_path)
    assert report.lines() == []
    assert "5.1,1.3,4,4,0,1,1" in (tmp_path / "gt/gt.txt").read_text()
    again, _ = import_dataset("mot", tmp_path)
    assert track_summary(again) == track_summary(dataset)
    assert again["items"][0]["fps"] == 12.5


def test_a_track_of_every_frame_keeps_only_the_changes(tmp_path):
    (tmp_path / "gt").mkdir()
    # Linear from frame 1 to 4 (x 1, 3, 5, 7), then still on 5 and 6: keyframes 0 and 3 (0-based).
    rows = [f"{f},3,{x},1,2,2,1,1,1" for f, x in ((1, 1), (2, 3), (3, 5), (4, 7), (5, 7), (6, 7))]
    (tmp_path / "gt/gt.txt").write_text("\n".join(rows) + "\n")
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=s\nimWidth=20\nimHeight=10\nseqLength=8\n")
    dataset, report = import_dataset("mot", tmp_path)
    (track,) = dataset["tracks"]
    assert [(s["frame"], s["outside"], s["bbox"]) for s in track["shapes"]] == [
        (0, False, [0, 0, 2, 2]),
        (3, False, [6, 0, 2, 2]),
        (6, True, [6, 0, 2, 2]),  # the frame after the last row ends the track
    ]
    assert len(dataset["items"]) == 8 and report.lines() == []


def test_mot_seq_track_minus_one_is_a_plain_box_and_is_clipped(corpus):
    dataset, report = import_dataset("mot", corpus / "datumaro/mot/mot_seq")
    validate_dataset(dataset)
    # Row "1,-1,0,4,4,8,1,3,1.0": x = 0 - 1 = -1 is left of the image, so clipped to [0, 3, 3, 8].
    (item,) = dataset["items"]
    assert (item["path"], item["width"], item["height"]) == ("img1/000001.jpg", 16, 16)
    assert [(s["label"], s["bbox"]) for s in item["annotation"]["shapes"]] == [("label_2", [0, 3, 3, 8])]
    # gt/labels.txt lists label_0 .. label_9 (classes 1..10): every one is a label, used or not.
    assert dataset["labels"] == [{"id": number, "name": f"label_{number - 1}", "kind": "shape"} for number in range(1, 11)]
    assert "tracks" not in dataset
    assert report.lines() == ["1 box clipped to the image"]
    assert get_format("mot").find_image(corpus / "datumaro/mot/mot_seq", item).name == "000001.jpg"


def test_mot_seq_with_seqinfo_takes_size_and_fps(corpus):
    dataset, _ = import_dataset("mot", corpus / "datumaro/mot/mot_seq_with_seqinfo")
    (item,) = dataset["items"]
    assert (item["width"], item["height"], item["fps"], item["video"]) == (16, 16, 10, "Test")


def test_tud_campus_counts(corpus, tmp_path):
    src = corpus / "motmetrics/TUD-Campus/gt.txt"
    with pytest.raises(FormatError, match="image size unknown"):
        import_dataset("mot", src)
    report = ConversionReport()
    dataset = get_format("mot").import_dataset(src, report, width=640, height=480)
    validate_dataset(dataset)
    # Counted with awk: 359 rows, frames 1..71, ids 1..8.
    assert len(dataset["items"]) == 71
    assert sorted(int(t["id"]) for t in dataset["tracks"]) == list(range(1, 9))
    assert {t["label"] for t in dataset["tracks"]} == {"pedestrian"}
    visible = sum(len(__import__("annotate.converters._tracks", fromlist=["x"]).track_frames(t, 71)) for t in dataset["tracks"])
    assert visible == 359
    export_dataset("mot", dataset, tmp_path)
    assert len((tmp_path / "gt/gt.txt").read_text().splitlines()) == 359


def test_tud_stadtmitte_world_coordinates_become_attributes(corpus):
    dataset = get_format("mot").import_dataset(corpus / "motmetrics/TUD-Stadtmitte/gt.txt", width=640, height=480)
    assert len(dataset["items"]) == 179 and len(dataset["tracks"]) == 10
    first = dataset["tracks"][0]["shapes"][0]
    assert set(first["attributes"]) == {"world_x", "world_y", "world_z"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3\n", "gt.txt:1: expected 9 or 10"),
        ("1,1,0,0,2,2,1,1,1\n0,1,0,0,2,2,1,1,1\n", "gt.txt:2: frame '0'"),
        ("1,x,0,0,2,2,1,1,1\n", "gt.txt:1: not a number"),
    ],
)
def test_malformed_rows_name_the_line(tmp_path, text, message):
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt/gt.txt").write_text(text)
    with pytest.raises(FormatError, match=message):
        get_format("mot").import_dataset(tmp_path, width=4, height=4)


def test_what_mot_cannot_hold_is_counted(tmp_path):
    dataset = video_sample(mot_path)
    dataset["tracks"][0]["shapes"][0]["occluded"] = True
    dataset["tracks"].append({"id": "p", "item": "clip", "label": "car", "type": "points", "source": {"type": "human"},
                              "shapes": [key(0, points=[1, 1])]})  # fmt: skip
    dataset["items"][0]["annotation"]["tags"].append({"id": "t", "label": "car", "source": {"type": "human"}})
    report = export_dataset("mot", dataset, tmp_path)
    assert report.lines() == [
        "1 attribute dropped: MOT has no occluded flag (only visibility)",
        "1 points shape dropped: MOT holds box tracks only",
        "1 tag dropped: MOT has no tags",
    ]


def test_fps_and_size_keywords_fill_in_for_a_missing_seqinfo(corpus):
    mot = get_format("mot")
    # mot_seq has no seqinfo.ini: its size comes from img1/000001.jpg (16x16), its fps from the keyword.
    (item,) = mot.import_dataset(corpus / "datumaro/mot/mot_seq", fps=25)["items"]
    assert (item["width"], item["height"], item["fps"]) == (16, 16, 25)
    # seqinfo.ini's imWidth=16, imHeight=16, frameRate=10 win over the keywords.
    (item,) = mot.import_dataset(corpus / "datumaro/mot/mot_seq_with_seqinfo", width=99, height=99, fps=25)["items"]
    assert (item["width"], item["height"], item["fps"]) == (16, 16, 10)


def test_an_unknown_size_names_the_command_line_option(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt/gt.txt").write_text("1,1,0,0,2,2,1,1,1\n")
    with pytest.raises(FormatError, match=r"image size unknown: .* --mot-image-size WIDTHxHEIGHT \(annotate convert\)"):
        import_dataset("mot", tmp_path)


def test_a_row_after_seq_length_is_an_error_naming_file_line_and_seqinfo(tmp_path):
    # As CVAT for video refuses a shape after the task's last frame: the sequence says 5 frames.
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt/gt.txt").write_text("1,1,1,1,5,5,1,1,1\n\n9,1,1,1,5,5,1,1,1\n")
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=s\nseqLength=5\nimWidth=100\nimHeight=50\n")
    with pytest.raises(FormatError) as caught:
        import_dataset("mot", tmp_path)
    message = str(caught.value)
    assert f"{tmp_path / 'gt/gt.txt'}:3: frame 9 is after the sequence's last frame 5" in message
    assert f"seqLength in {tmp_path / 'seqinfo.ini'}" in message
    # The last frame itself is fine, and without seqLength the rows give the length.
    (tmp_path / "gt/gt.txt").write_text("5,1,1,1,5,5,1,1,1\n")
    dataset, _ = import_dataset("mot", tmp_path)
    assert len(dataset["items"]) == 5
    (tmp_path / "gt/gt.txt").write_text("9,1,1,1,5,5,1,1,1\n")
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=s\nimWidth=100\nimHeight=50\n")
    dataset, _ = import_dataset("mot", tmp_path)
    assert len(dataset["items"]) == 9


def test_labels_txt_keeps_unused_labels(tmp_path):
    dataset = video_sample(mot_path)
    dataset["labels"].append({"id": 9, "name": "unused", "kind": "shape"})
    report = export_dataset("mot", dataset, tmp_path, strict=True)
    assert report.lost == {}
    assert (tmp_path / "gt/labels.txt").read_text() == "car\nperson walking\nunused\n"
    again, _ = import_dataset("mot", tmp_path)
    assert [label["name"] for label in again["labels"]] == ["car", "person walking", "unused"]


def test_a_class_name_listed_twice_in_labels_txt_is_an_error(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt/gt.txt").write_text("1,1,1,1,5,5,1,1,1\n")
    (tmp_path / "gt/labels.txt").write_text("car\nbus\ncar\n")
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=s\nseqLength=1\nimWidth=100\nimHeight=50\n")
    with pytest.raises(FormatError, match=r"labels.txt:3: class name 'car' is listed twice \(line 1\)"):
        import_dataset("mot", tmp_path)
