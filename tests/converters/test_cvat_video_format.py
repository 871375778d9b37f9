"""CVAT for video 1.1: absolute frame numbers, tracks kept as stored, the corpus counted by hand."""

from __future__ import annotations

import pytest

from annotate.converters import ConversionReport, FormatError, export_dataset, get_format, import_dataset
from schemas import validate_dataset
from tests.converters.contract import FormatContract
from tests.converters.test_tracks import key, track_summary, video_sample


def cvat_path(frame: int) -> str:
    return f"images/frame_{frame:06d}.png"


def rich_sample():
    dataset = video_sample(cvat_path)
    dataset["labels"].append({"id": 3, "name": "body", "kind": "shape", "keypoints": ["head", "hand", "foot"], "skeleton": [[0, 1], [0, 2]],
                              "attributes": [{"name": "mood", "type": "select", "values": ["calm", "busy"], "mutable": True},
                                             {"name": "kind", "type": "text"}]})  # fmt: skip
    dataset["tracks"] += [
        {"id": "3", "item": "clip", "label": "body", "type": "keypoints", "source": {"type": "human"}, "attributes": {"kind": "adult"},
         "shapes": [key(0, keypoints=[1, 2, 2, 3, 4, 1, 0, 0, 0], attributes={"mood": "calm"}),
                    key(3, keypoints=[2, 2, 2, 4, 4, 2, 5, 6, 2], attributes={"mood": "busy"}),
                    key(5, outside=True, keypoints=[0, 0, 0, 0, 0, 0, 0, 0, 0], attributes={"mood": "busy"})]},
        {"id": "4", "item": "clip", "label": "car", "type": "polygon", "source": {"type": "human"},
         "shapes": [key(1, rings=[[0, 0, 4, 0, 4, 4.5]]), key(2, keyframe=False, rings=[[1, 0, 5, 0, 5, 4.5]], occluded=True)]},
        {"id": "5", "item": "clip", "label": "car", "type": "ellipse", "source": {"type": "human"},
         "shapes": [key(0, center=[5, 5], radii=[2, 1], angle=30)]},
    ]  # fmt: skip
    return dataset


class TestCvatVideoContract(FormatContract):
    name = "cvat-video"

    def sample(self):
        return rich_sample()

    def geometry(self, dataset):
        return super().geometry(dataset), track_summary(dataset)


def test_corpus_for_video_frames_tracks_and_attributes(corpus):
    dataset, report = import_dataset("cvat-video", corpus / "datumaro/cvat/for_video")
    validate_dataset(dataset)
    assert report.lines() == []
    # start 10, stop 19, step 3: absolute frames 10, 13, 16, 19 (3 of them have images).
    assert [(i["frame"], i["path"], i["width"], i["height"], i["video"]) for i in dataset["items"]] == [
        (f, f"images/frame_{f:06d}.png", 25, 20, "t.mp4") for f in (10, 13, 16, 19)
    ]
    assert [label["name"] for label in dataset["labels"]] == ["klhg", "z U k", "II"]
    assert dataset["labels"][0]["attributes"] == [{"name": "hgl", "type": "select", "values": ["jk", "hgkf"], "mutable": True}]
    box, points, polyline = dataset["tracks"]
    # <box frame=10 xtl=3 ytl=4 xbr=10 ybr=5 occluded=1>: [3, 4, 7, 1]
    assert [(s["frame"], s["outside"], s.get("occluded", False), s["bbox"]) for s in box["shapes"]] == [
        (10, False, True, [3, 4, 7, 1]),
        (13, True, False, [7, 6, 7, 2]),
        (16, True, False, [8, 7, 6, 10]),
    ]
    assert [(s["frame"], s["attributes"]) for s in points["shapes"]] == [(10, {"hgl": "hgkf"}), (13, {"hgl": "jk"})]
    assert points["shapes"][0]["points"] == [21.95, 8, 2.55, 15.09, 2.23, 3.16]
    assert (polyline["type"], [s["frame"] for s in polyline["shapes"]]) == ("polyline", [13, 16])
    assert get_format("cvat-video").find_image(corpus / "datumaro/cvat/for_video", dataset["items"][0]) is not None


def test_corpus_fork_skeleton_with_nested_element_tracks(corpus):
    dataset, _ = import_dataset("cvat-video", corpus / "datumaro-cvat-fork/cvat/for_video")
    validate_dataset(dataset)
    assert len(dataset["tracks"]) == 4  # the 4 nested element tracks are nodes, not tracks
    skeleton = dataset["labels"][3]
    assert (skeleton["name"], skeleton["keypoints"], skeleton["skeleton"]) == ("skeleton", ["1", "2", "3", "4"], [[2, 1], [0, 3]])
    track = dataset["tracks"][3]
    assert [(s["frame"], s["keyframe"]) for s in track["shapes"]] == [(10, True), (13, False), (16, False)]
    # Node "3" goes outside on 13: v = 0 there and on 16.
    assert track["shapes"][0]["keypoints"][6:9] == [83.27, 106.61, 2]
    assert track["shapes"][1]["keypoints"][6:9] == [0, 0, 0]
    assert track["shapes"][2]["keypoints"][9:12] == [89.11, 159.91, 2]


def test_corpus_docs_polygon_outside_toggling_and_skeleton(corpus):
    dataset, _ = import_dataset("cvat-video", corpus / "cvat-docs/cvat_xml_video")
    validate_dataset(dataset)
    assert len(dataset["items"]) == 4620  # <size>4620</size>, no start/stop
    polygon, skeleton = dataset["tracks"]
    assert [(s["frame"], s["outside"]) for s in polygon["shapes"]] == [
        (0, False),
        (1, True),
        (6, False),
        (7, True),
        (13, False),
        (14, True),
    ]
    assert len(polygon["shapes"][2]["rings"][0]) == 10  # the frame-6 polygon has 5 points
    assert [(s["frame"], s["outside"], s["keyframe"]) for s in skeleton["shapes"]] == [
        (0, False, True), (1, True, True), (6, False, True), (7, True, True), (13, False, False), (14, True, True),
    ]  # fmt: skip
    assert skeleton["shapes"][2]["keypoints"] == [120.07, 270.59, 2, 140.87, 350.23, 2, 210.37, 260.27, 2]


def test_step_and_absolute_frames_round_trip(tmp_path):
    dataset = video_sample(cvat_path)
    for item in dataset["items"]:
        item["frame"] = 10 + 3 * item["frame"]
        item["path"] = cvat_path(item["frame"])
    for track in dataset["tracks"]:
        for shape in track["shapes"]:
            shape["frame"] = 10 + 3 * shape["frame"]
    assert export_dataset("cvat-video", dataset, tmp_path).lines() == []
    xml = (tmp_path / "annotations.xml").read_text()
    assert "<start_frame>10</start_frame>" in xml and "<stop_frame>25</stop_frame>" in xml and "step=3" in xml
    again, _ = import_dataset("cvat-video", tmp_path)
    assert [i["frame"] for i in again["items"]] == [10, 13, 16, 19, 22, 25]
    assert track_summary(again) == track_summary(dataset)


def test_plain_shapes_become_one_frame_tracks_and_tags_are_counted(tmp_path):
    dataset = video_sample(cvat_path)
    dataset["items"][2]["annotation"]["shapes"].append(
        {"id": "s", "type": "bbox", "label": "car", "bbox": [1, 1, 2, 2], "source": {"type": "human"}}
    )
    dataset["items"][2]["annotation"]["tags"].append({"id": "t", "label": "car", "source": {"type": "human"}})
    report = export_dataset("cvat-video", dataset, tmp_path)
    assert report.lines() == [
        "1 tag dropped: CVAT for video has no tags",
        "shape 's' of frame 2 written as a one-frame track",
        "track 's' written as CVAT track id 8",
    ]
    again, _ = import_dataset("cvat-video", tmp_path)
    one = next(t for t in again["tracks"] if t["id"] == "8")
    assert [(s["frame"], s["outside"]) for s in one["shapes"]] == [(2, False), (3, True)]


def test_malformed_xml_names_the_file(tmp_path):
    (tmp_path / "annotations.xml").write_text("<annotations><track id='0' label='x'>")
    with pytest.raises(FormatError, match="annotations.xml: not readable XML"):
        import_dataset("cvat-video", tmp_path)
    (tmp_path / "annotations.xml").write_text(
        "<annotations><meta><task><size>2</size><original_size><width>4</width><height>4</height></original_size>"
        "<labels><label><name>a</name></label></labels></task></meta>"
        "<track id='0' label='a'><box frame='0' xtl='x' ytl='0' xbr='1' ybr='1' outside='0' occluded='0' keyframe='1'/>"
        "</track></annotations>"
    )
    with pytest.raises(FormatError, match=r"<track> #1 <box frame=0>: xtl='x' is not a number"):
        get_format("cvat-video").import_dataset(tmp_path, ConversionReport())


def test_datumaro_reads_the_export(tmp_path):
    dm = pytest.importorskip("datumaro")
    dataset = video_sample(cvat_path)
    export_dataset("cvat-video", dataset, tmp_path)
    imported = dm.Dataset.import_from(str(tmp_path), "cvat")
    found = sorted(
        (item.id, ann.attributes["track_id"], ann.attributes["outside"], ann.attributes["keyframe"], [round(v, 3) for v in ann.points])
        for item in imported
        for ann in item.annotations
    )
    assert found == [
        ("frame_000000", 1, False, True, [0, 0, 4, 4]),
        ("frame_000001", 7, False, True, [10, 10, 15, 18]),
        ("frame_000002", 1, False, True, [4, 0, 8, 4]),
        ("frame_000002", 7, True, True, [10, 10, 15, 18]),
        ("frame_000004", 1, True, True, [4, 0, 8, 4]),
        ("frame_000004", 7, False, True, [20, 10, 25, 18]),
    ]
