"""VGG Image Annotator: contract, hand-worked shapes, the corpus (JSON and CSV), round trips, errors."""

from __future__ import annotations

import json
import math

import pytest

from annotate.converters import FormatError, detect_format, export_dataset, get_format, import_dataset
from annotate.converters.via import ViaFormat
from tests.converters.contract import FormatContract


class TestViaContract(FormatContract):
    name = "via"


def shapes_of(item):
    return item["annotation"]["shapes"]


def project(metadata, region_attributes=None):
    return {
        "_via_settings": {},
        "_via_img_metadata": metadata,
        "_via_attributes": {"region": region_attributes or {}, "file": {}},
    }


def test_hand_worked_shapes_and_label_attribute(tmp_path):
    regions = [
        {"shape_attributes": {"name": "rect", "x": 2, "y": 3, "width": 4, "height": 5}, "region_attributes": {"kind": "car", "note": "x"}},
        {"shape_attributes": {"name": "circle", "cx": 10, "cy": 10, "r": 3}, "region_attributes": {"kind": "ball"}},
        {
            "shape_attributes": {"name": "ellipse", "cx": 10, "cy": 10, "rx": 4, "ry": 2, "theta": math.pi / 6},
            "region_attributes": {"kind": 7},
        },
        {
            "shape_attributes": {"name": "polygon", "all_points_x": [0, 4, 4], "all_points_y": [0, 0, 4]},
            "region_attributes": {"kind": "road"},
        },
        {"shape_attributes": {"name": "polyline", "all_points_x": [0, 5], "all_points_y": [1, 1]}, "region_attributes": {"kind": "lane"}},
        {"shape_attributes": {"name": "point", "cx": 1.5, "cy": 2}, "region_attributes": {"kind": "eye", "occluded": "true"}},
        {"shape_attributes": {"name": "rect", "x": 18, "y": 0, "width": 10, "height": 2}, "region_attributes": {}},
    ]
    metadata = {
        "a.jpg-1": {
            "filename": "a.jpg",
            "size": -1,
            "regions": regions,
            "file_attributes": {"image_width": "20", "image_height": "16", "classes": {"sunny": True, "rain": False}, "caption": "hi"},
        }
    }
    (tmp_path / "p.json").write_text(json.dumps(project(metadata, {"kind": {"type": "text"}, "note": {"type": "text"}})))
    assert detect_format(tmp_path) == "via"
    dataset, report = import_dataset("via", tmp_path)
    (item,) = dataset["items"]
    assert (item["width"], item["height"]) == (20, 16)
    rect, circle, ellipse, polygon, polyline, point, unlabeled = shapes_of(item)
    assert (rect["label"], rect["bbox"], rect["attributes"]) == ("car", [2.0, 3.0, 4.0, 5.0], {"note": "x"})
    assert (circle["type"], circle["center"], circle["radii"]) == ("ellipse", [10.0, 10.0], [3.0, 3.0])
    assert (ellipse["label"], ellipse["radii"], ellipse["angle"]) == ("7", [4.0, 2.0], pytest.approx(30.0))
    assert polygon["rings"] == [[0.0, 0.0, 4.0, 0.0, 4.0, 4.0]]
    assert polyline["points"] == [0.0, 1.0, 5.0, 1.0]
    assert (point["points"], point["occluded"]) == ([1.5, 2.0], True)
    # x 18..28 on a 20 wide image: cut to 18..20.
    assert (unlabeled["label"], unlabeled["bbox"]) == ("unlabeled", [18.0, 0.0, 2.0, 2.0])
    assert [t["label"] for t in item["annotation"]["tags"]] == ["sunny"]
    assert report.lines() == [
        "1 attribute dropped: VIA file attribute 'caption' has no place in the annotation schema (items have no attributes)",
        "1 box clipped to the image",
        "regions without a 'kind' attribute, labelled 'unlabeled': 1",
    ]

    # The label attribute can be chosen: with "note", only the first region has a label.
    again = ViaFormat(label_attribute="note").import_dataset(tmp_path)
    assert [s["label"] for s in shapes_of(again["items"][0])][:2] == ["x", "unlabeled"]

    # Export: a VIA 2 project; the ellipse theta back in radians, sizes in file_attributes.
    export_dataset("via", dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out/via_project.json").read_text())
    assert set(written) >= {"_via_settings", "_via_img_metadata", "_via_attributes"}
    (entry,) = written["_via_img_metadata"].values()
    assert entry["filename"] == "a.jpg"
    assert entry["file_attributes"] == {"image_width": "20", "image_height": "16", "tags": {"sunny": True}}
    assert entry["regions"][0] == {
        "shape_attributes": {"name": "rect", "x": 2, "y": 3, "width": 4, "height": 5},
        "region_attributes": {"label": "car", "note": "x"},
    }
    assert entry["regions"][2]["shape_attributes"]["theta"] == pytest.approx(math.pi / 6)
    assert next(iter(written["_via_attributes"]["region"])) == "label"
    back, back_report = import_dataset("via", tmp_path / "out")
    assert back_report.lines() == []
    assert [(s["label"], s["type"]) for s in shapes_of(back["items"][0])] == [(s["label"], s["type"]) for s in shapes_of(item)]


def test_corpus_via1_json(corpus):
    src = corpus / "via/via1_project_json"
    assert detect_format(src) == "via"
    dataset, report = import_dataset("via", src)
    assert [(i["path"], i["width"], i["height"], len(shapes_of(i))) for i in dataset["items"]] == [
        ("test_pattern_qbist.jpg", 640, 480, 8),
        ("sinus_test_pattern.jpg", 640, 480, 1),
        ("a_swan_swimming_in_geneve_lake.jpg", 640, 427, 3),
    ]
    first = shapes_of(dataset["items"][0])
    assert [s["type"] for s in first] == ["ellipse", "bbox", "points", "points", "points", "ellipse", "ellipse", "points"]
    assert [s["label"] for s in first[:5]] == ['ellipse "red"', "rectangle 'black'", 'red "dot"', "unknown 598 fjs £$ *(&£^", "1564865"]
    assert first[1]["bbox"] == [290.0, 208.0, 127.0, 113.0]
    assert (first[5]["center"], first[5]["radii"]) == ([148.0, 268.0], [43.0, 43.0])
    # The polygon keeps VIA's repeated first vertex: 12 points.
    assert len(shapes_of(dataset["items"][1])[0]["rings"][0]) == 24
    assert report.lines() == [
        "3 attributes dropped: VIA file attribute 'caption' has no place in the annotation schema (items have no attributes)",
        "regions without a 'name' attribute, labelled 'unlabeled': 3",
    ]
    assert get_format("via").find_image(src, dataset["items"][0]) == src / "test_pattern_qbist.jpg"


def test_corpus_via1_csv_reads_like_the_json(corpus):
    from_json, _ = import_dataset("via", corpus / "via/via1_project_json")
    from_csv, report = import_dataset("via", corpus / "via/via1_csv")
    assert detect_format(corpus / "via/via1_csv") == "via"
    assert from_csv == from_json
    assert len(report.lines()) == 2


def test_corpus_face_tracks_without_images_are_reported(corpus):
    src = corpus / "via/via2_face_tracks_annotations_only"
    assert detect_format(src) == "via"
    for path in (src, src / "sherlock_ep01_tracks_FRCNN.csv"):
        dataset, report = import_dataset("via", path)
        assert dataset["items"] == []
        # 266 frames and 427 rects in the files, none with a size.
        assert report.to_dict()["lost"] == [
            {"kind": "item", "reason": "VIA stores no image size and the image file is missing", "count": 266},
            {"kind": "shape", "reason": "its item has no image size (VIA stores none and the image file is missing)", "count": 427},
        ]


def test_corpus_coco_snippet_is_not_via(corpus):
    assert not get_format("via").detect(corpus / "via/coco_2017_snippet_annotations_only")
    assert not get_format("via").detect(corpus / "via/coco_2017_snippet_annotations_only/coco_2017_snippet.json")


def test_round_trip_through_native(tmp_path, dataset, images):
    report = export_dataset("via", dataset, tmp_path / "via", images=images)
    lost = {entry["kind"]: entry["count"] for entry in report.to_dict()["lost"]}
    assert lost == {"mask": 1, "keypoints": 1, "label color": 1, "source": 1}  # the dog box is a model's
    assert (tmp_path / "via/photos/a.jpg").is_file()
    again, import_report = import_dataset("via", tmp_path / "via")
    assert import_report.lines() == []
    by_path = {i["path"]: i for i in again["items"]}
    a = by_path["photos/a.jpg"]
    assert (a["subset"], a["width"], a["height"]) == ("train", 20, 10)
    assert [t["label"] for t in a["annotation"]["tags"]] == ["blurry"]
    assert [(s["label"], s["type"]) for s in shapes_of(a)] == [("cat", "bbox"), ("dog", "bbox"), ("road", "polygon"), ("road", "polyline")]
    cat = shapes_of(a)[0]
    assert (cat["attributes"], cat["occluded"]) == ({"pose": "Left", "color": "black"}, True)
    assert shapes_of(a)[1]["bbox"] == [15.0, 5.0, 5.0, 5.0]
    assert shapes_of(by_path["empty.jpg"]) == []


def test_malformed_csv_names_file_and_line(tmp_path):
    header = "#filename,file_size,file_attributes,region_count,region_id,region_shape_attributes,region_attributes\n"
    good = 'a.jpg,1,"{}",1,0,"{""name"":""point"",""cx"":1,""cy"":1}","{}"\n'
    bad = 'a.jpg,1,"{}",1,1,"{""name"":""point"",""cx"":1,","{}"\n'
    (tmp_path / "v.csv").write_text(header + good + bad)
    with pytest.raises(FormatError, match=r"v\.csv: line 3: column region_shape_attributes"):
        import_dataset("via", tmp_path)


def test_malformed_json_names_file_and_line(tmp_path):
    (tmp_path / "v.json").write_text('{"a.jpg1": {"filename": "a.jpg",\n "regions": [,]}}')
    with pytest.raises(FormatError, match=r"v\.json: line 2"):
        import_dataset("via", tmp_path)


def test_region_without_coordinates_names_the_field(tmp_path):
    metadata = {
        "a": {
            "filename": "a.jpg",
            "size": 1,
            "regions": [{"shape_attributes": {"name": "rect", "x": 1}}],
            "file_attributes": {"image_width": 4, "image_height": 4},
        }
    }
    (tmp_path / "v.json").write_text(json.dumps(metadata))
    with pytest.raises(FormatError, match=r"v\.json: 'a\.jpg': field regions\[0\]\.shape_attributes"):
        import_dataset("via", tmp_path)


@pytest.mark.parametrize("width", ["abc", "0", "-4", "12.5", True])
def test_an_image_size_that_is_not_a_whole_number_names_the_field(tmp_path, width):
    metadata = {"a": {"filename": "a.jpg", "size": 1, "regions": [], "file_attributes": {"image_width": width, "image_height": "4"}}}
    (tmp_path / "v.json").write_text(json.dumps(metadata))
    with pytest.raises(FormatError) as raised:
        import_dataset("via", tmp_path)
    expected = f"{tmp_path / 'v.json'}: 'a.jpg': file attribute 'image_width' {width!r} is not a whole number of pixels >= 1"
    assert str(raised.value) == expected


def test_an_empty_image_size_is_absent_and_the_image_gives_it(tmp_path):
    from PIL import Image

    Image.new("RGB", (7, 5)).save(tmp_path / "a.jpg")
    metadata = {"a": {"filename": "a.jpg", "size": 1, "regions": [], "file_attributes": {"image_width": "", "image_height": " "}}}
    (tmp_path / "v.json").write_text(json.dumps(metadata))
    dataset, _ = import_dataset("via", tmp_path)
    assert [(item["width"], item["height"]) for item in dataset["items"]] == [(7, 5)]
