"""CVAT for video 1.1: absolute frame numbers, tracks kept as stored, the corpus counted by hand."""

from __future__ import annotations

import pytest

from annotate.converters import ConversionLossError, ConversionReport, FormatError, export_dataset, get_format, import_dataset
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
    with pytest.raises(FormatError, match=r"<track> #1 id=\"0\" <box frame=0>: xtl='x' is not a number"):
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


def video_xml(tracks: str, *, size: int = 10, stop: int | None = 9, width: int = 100, height: int = 100) -> str:
    """A CVAT for video file of frames 0..stop (100 x 100 unless told) with label "c" and ``tracks``."""
    stop_element = f"<stop_frame>{stop}</stop_frame>" if stop is not None else ""
    return (
        f"<annotations><version>1.1</version><meta><task><name>t</name><size>{size}</size><mode>interpolation</mode>"
        f"<start_frame>0</start_frame>{stop_element}<labels><label><name>c</name></label></labels>"
        f"<original_size><width>{width}</width><height>{height}</height></original_size></task></meta>{tracks}</annotations>"
    )


def box(frame: int, xtl: float, ytl: float, xbr: float, ybr: float, outside: int = 0) -> str:
    return f'<box frame="{frame}" outside="{outside}" occluded="0" keyframe="1" xtl="{xtl}" ytl="{ytl}" xbr="{xbr}" ybr="{ybr}"/>'


def test_two_shapes_of_a_track_on_one_frame_are_refused_naming_the_track_and_frame(tmp_path):
    (tmp_path / "annotations.xml").write_text(video_xml(f'<track id="4" label="c">{box(2, 1, 1, 5, 5)}{box(2, 2, 2, 6, 6)}</track>'))
    with pytest.raises(FormatError, match=r'annotations.xml: <track> #1 id="4": two shapes on frame 2'):
        import_dataset("cvat-video", tmp_path)


def test_two_skeletons_of_a_track_on_one_frame_are_refused(tmp_path):
    skeleton = '<skeleton frame="1" keyframe="1"><points label="a" points="1,1" outside="0" occluded="0"/></skeleton>'
    xml = video_xml(f'<track id="0" label="c">{skeleton}{skeleton}</track>')
    (tmp_path / "annotations.xml").write_text(
        xml.replace("<label><name>c</name></label>", "<label><name>c</name><type>skeleton</type></label>")
    )
    with pytest.raises(FormatError, match=r"two <skeleton> shapes on frame 1"):
        import_dataset("cvat-video", tmp_path)


def test_a_track_id_used_twice_is_refused_naming_both_tracks(tmp_path):
    one = f'<track id="0" label="c">{box(1, 1, 1, 5, 5)}</track>'
    (tmp_path / "annotations.xml").write_text(video_xml(one + one))
    with pytest.raises(FormatError, match=r"<track> #2 id=\"0\": track id '0' is already used by <track> #1"):
        import_dataset("cvat-video", tmp_path)


def test_a_stop_frame_beyond_the_task_size_is_refused_before_any_frame_is_made(tmp_path):
    # <size>10</size> from frame 0: the last frame is 9. 999999999 frames would take gigabytes.
    (tmp_path / "annotations.xml").write_text(video_xml(f'<track id="0" label="c">{box(1, 1, 1, 5, 5)}</track>', stop=999_999_999))
    with pytest.raises(FormatError, match=r"<stop_frame>: 999999999 is beyond the last of the task's <size> 10 frames \(9\)"):
        import_dataset("cvat-video", tmp_path)


def test_a_frame_count_over_the_limit_is_refused_naming_the_field(tmp_path):
    (tmp_path / "annotations.xml").write_text(video_xml("", size=999_999_999, stop=None))
    with pytest.raises(FormatError, match=r"<size>: 999999999 frames: expected 1 to 1000000"):
        import_dataset("cvat-video", tmp_path)
    # No <size> and no <stop_frame>: the largest shape frame decides, and is bounded too.
    xml = video_xml(f'<track id="0" label="c">{box(999_999_999, 1, 1, 5, 5)}</track>', stop=None).replace("<size>10</size>", "")
    (tmp_path / "annotations.xml").write_text(xml)
    with pytest.raises(FormatError, match=r"the largest shape frame: 1000000000 frames from frame 0 to 999999999"):
        import_dataset("cvat-video", tmp_path)


def test_a_visible_shape_after_the_last_frame_is_refused_an_outside_one_is_kept(tmp_path):
    (tmp_path / "annotations.xml").write_text(video_xml(f'<track id="0" label="c">{box(2, 1, 1, 5, 5)}{box(50, 2, 2, 6, 6)}</track>'))
    with pytest.raises(FormatError, match=r'<track> #1 id="0" frame=50: the shape is after the task\'s last frame 9 \(<stop_frame>\)'):
        import_dataset("cvat-video", tmp_path)
    # An outside shape past the end changes no frame of the task: kept as written.
    (tmp_path / "annotations.xml").write_text(video_xml(f'<track id="0" label="c">{box(2, 1, 1, 5, 5)}{box(10, 1, 1, 5, 5, 1)}</track>'))
    dataset, report = import_dataset("cvat-video", tmp_path)
    assert [(s["frame"], s["outside"]) for s in dataset["tracks"][0]["shapes"]] == [(2, False), (10, True)]
    assert report.lossless


def test_track_boxes_are_clipped_to_the_frame_and_one_entirely_outside_is_marked_outside(tmp_path):
    track = f'<track id="0" label="c">{box(1, -10, 1, 500, 5)}{box(3, 200, 200, 300, 300)}{box(5, 10, 10, 20, 20)}</track>'
    (tmp_path / "annotations.xml").write_text(video_xml(track))
    dataset, report = import_dataset("cvat-video", tmp_path)
    # [-10, 1, 510, 4] on 100 x 100: x from 0 to 100, so [0, 1, 100, 4]. [200, 200, 100, 100] has
    # nothing inside: hidden on frame 3 (geometry kept, so frame 4 still moves towards it); frame 5 as read.
    assert [(s["frame"], s["outside"], s["bbox"]) for s in dataset["tracks"][0]["shapes"]] == [
        (1, False, [0, 1, 100, 4]),
        (3, True, [200, 200, 100, 100]),
        (5, False, [10, 10, 10, 10]),
    ]
    assert report.clipped == {"bbox": 1} and report.dropped_empty == {"bbox": 1}
    assert "1 track shape with no area inside the frame marked outside on that frame" in report.lines()
    with pytest.raises(ConversionLossError):
        get_format("cvat-video").import_dataset(tmp_path, ConversionReport(strict=True))


def test_a_track_polygon_outside_the_frame_is_hidden_and_shapes_without_size_are_dropped(tmp_path):
    polygon = '<polygon frame="0" outside="0" occluded="0" keyframe="1" points="110,110;120,110;120,120"/>'
    flat = '<ellipse frame="0" outside="0" occluded="0" keyframe="1" cx="5" cy="5" rx="0" ry="2"/>'
    round_ = '<ellipse frame="2" outside="0" occluded="0" keyframe="1" cx="5" cy="5" rx="3" ry="2"/>'
    tracks = f'<track id="0" label="c">{polygon}</track><track id="1" label="c">{flat}{round_}</track>'
    (tmp_path / "annotations.xml").write_text(video_xml(tracks))
    dataset, report = import_dataset("cvat-video", tmp_path)
    polygon_track, ellipse_track = dataset["tracks"]
    assert [(s["frame"], s["outside"]) for s in polygon_track["shapes"]] == [(0, True)]
    # rx = 0 cannot be drawn on any frame (nor stored): the shape goes, the frame-2 ellipse stays.
    assert [(s["frame"], s["radii"]) for s in ellipse_track["shapes"]] == [(2, [3, 2])]
    assert report.dropped_empty == {"polygon": 1, "ellipse": 1}


def test_export_clips_track_boxes_and_leaves_out_visible_shapes_after_the_last_frame(tmp_path):
    dataset = video_sample(cvat_path)  # 40 x 30, frames 0..5
    dataset["tracks"][0]["shapes"][0]["bbox"] = [-4, 0, 8, 4]  # half outside on frame 0: [0, 0, 4, 4]
    dataset["tracks"][1]["shapes"].append(key(9, bbox=[20, 10, 5, 8]))  # frame 9: no such frame
    report = export_dataset("cvat-video", dataset, tmp_path)
    assert report.clipped == {"bbox": 1}
    assert report.lost == {("bbox", "the track shape is on frame 9, outside the video's frames 0-5"): 1}
    again, _ = import_dataset("cvat-video", tmp_path)
    car, person = sorted(again["tracks"], key=lambda t: t["id"])
    assert car["shapes"][0]["bbox"] == [0, 0, 4, 4]
    assert [s["frame"] for s in person["shapes"]] == [1, 2, 4]


@pytest.mark.parametrize(
    ("items", "found"),
    [(1, "none of the 1 item is a video or video frame"), (0, "the dataset has no items")],
)
def test_a_dataset_without_video_frames_is_refused_and_nothing_is_written(tmp_path, items, found):
    image = {"name": "a.jpg", "path": "a.jpg", "media": "image", "width": 4, "height": 3}
    dataset = {
        "version": 1,
        "labels": [{"id": 0, "name": "car", "kind": "shape"}],
        "items": [{"id": str(n), **image, "annotation": {"version": 1, "tags": [], "shapes": []}} for n in range(items)],
    }
    with pytest.raises(FormatError) as caught:
        export_dataset("cvat-video", dataset, tmp_path / "out")
    assert str(caught.value) == f"no video frames to write: {found}; cvat-video holds videos, use cvat for images"
    assert list(tmp_path.iterdir()) == []


def test_undeclared_attributes_are_declared_so_text_stays_text_and_per_frame_values_stay_per_frame(tmp_path):
    dataset = video_sample(cvat_path)
    track = dataset["tracks"][0]  # a car track with keyframes on frames 0, 2 and 4 (outside), nothing declared
    track["attributes"] = {"code": "0003", "flag": "true", "neg": "-0", "pad": " x ", "n": 2.0, "on": True}
    for shape, state in zip(track["shapes"], ("a", "b", "b"), strict=True):
        shape["attributes"] = {"state": state}  # changes along the track
    report = export_dataset("cvat-video", dataset, tmp_path / "out", strict=True)
    xml = (tmp_path / "out" / "annotations.xml").read_text("utf-8")
    assert "<name>code</name>\n" in xml and "<input_type>text</input_type>" in xml and "<input_type>number</input_type>" in xml
    assert report.lines() == []
    again, _ = import_dataset("cvat-video", tmp_path / "out")
    (back,) = [t for t in again["tracks"] if t["id"] == track["id"]]
    assert back["attributes"] == {"code": "0003", "flag": "true", "neg": "-0", "pad": " x ", "n": 2.0, "on": True}
    assert [shape.get("attributes") for shape in back["shapes"]][:2] == [{"state": "a"}, {"state": "b"}]
    # The label now declares them: text, checkbox and number as their values are, "state" mutable.
    (car,) = [label for label in again["labels"] if label["name"] == track["label"]]
    assert {spec["name"]: (spec["type"], spec.get("mutable", False)) for spec in car["attributes"]} == {
        "code": ("text", False),
        "flag": ("text", False),
        "neg": ("text", False),
        "pad": ("text", False),
        "n": ("number", False),
        "on": ("checkbox", False),
        "state": ("text", True),
    }


def test_an_attribute_declared_immutable_that_a_track_changes_per_frame_is_written_mutable(tmp_path):
    dataset = video_sample(cvat_path)
    track = dataset["tracks"][0]
    (label,) = [label for label in dataset["labels"] if label["name"] == track["label"]]
    label["attributes"] = [{"name": "t", "type": "text"}]  # not mutable
    track["attributes"] = {"t": "007"}
    track["shapes"][0]["attributes"] = {"t": "true"}  # frame 0 only
    report = export_dataset("cvat-video", dataset, tmp_path / "out", strict=True)
    assert f"label {label['name']!r}: attribute 't' written as mutable, as a track changes it per frame" in report.lines()
    again, _ = import_dataset("cvat-video", tmp_path / "out")
    (back,) = [t for t in again["tracks"] if t["id"] == track["id"]]
    # Per frame now: "true" on frame 0, then the track's "007" again.
    assert [shape.get("attributes", {}).get("t") for shape in back["shapes"]][:2] == ["true", "007"]
