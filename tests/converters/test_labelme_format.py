"""LabelMe JSON (wkentaro/labelme): contract, hand-worked coordinates, the corpus, round trips, errors."""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from annotate.converters import ConversionLossError, FormatError, detect_format, export_dataset, get_format, import_dataset
from annotate.converters._common import decode_mask
from tests.converters.contract import FormatContract


class TestLabelMeContract(FormatContract):
    name = "labelme"


def shapes_of(item):
    return item["annotation"]["shapes"]


def png_b64(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def labelme_file(shapes, *, flags=None, path="a.jpg", width=20, height=10, **extra):
    doc = {"version": "5.7.0", "flags": flags or {}, "shapes": shapes, "imagePath": path, "imageData": None}
    doc.update({"imageHeight": height, "imageWidth": width}, **extra)
    return doc


def shape(label, shape_type, points, **extra):
    return {
        "label": label,
        "points": points,
        "group_id": None,
        "description": "",
        "shape_type": shape_type,
        "flags": {},
        "mask": None,
        **extra,
    }


def test_hand_worked_coordinates(tmp_path):
    patch = np.array([[1, 1, 0], [0, 1, 1]])  # 3 wide, 2 high
    doc = labelme_file(
        [
            # Corners in reverse order: x 10..30, y 20..40 -> [10, 20, 20, 20] (inside the 40x50 image).
            shape("box", "rectangle", [[30, 40], [10, 20]]),
            # Center (5, 5), a point at (8, 9): radius 5.
            shape("ball", "circle", [[5, 5], [8, 9]], group_id=0),
            # The patch goes to columns floor(2.7)=2.., rows floor(1.2)=1..
            shape("blob", "mask", [[2.7, 1.2], [4.7, 2.2]], mask=png_b64(patch)),
            shape("road", "linestrip", [[0, 0], [1, 1], [2, 0]], flags={"occluded": True, "wet": False}, description="north"),
        ],
        width=40,
        height=50,
    )
    (tmp_path / "a.json").write_text(json.dumps(doc))
    dataset, report = import_dataset("labelme", tmp_path)
    assert report.lines() == []
    box, ball, blob, road = shapes_of(dataset["items"][0])
    assert box["bbox"] == [10.0, 20.0, 20.0, 20.0]
    assert (ball["type"], ball["center"], ball["radii"], ball["group"]) == ("ellipse", [5.0, 5.0], [5.0, 5.0], 0)
    assert blob["bbox"] == [2.0, 1.0, 3.0, 2.0]
    expected = np.zeros((50, 40), dtype=np.uint8)
    expected[1:3, 2:5] = patch
    assert np.array_equal(decode_mask(blob["rle"]), expected)
    assert (road["type"], road["points"], road["occluded"]) == ("polyline", [0.0, 0.0, 1.0, 1.0, 2.0, 0.0], True)
    assert road["attributes"] == {"wet": False, "description": "north"}

    # And back: the same pixels, the mask patch cropped to its extent, the circle as center + (cx + r, cy).
    export_dataset("labelme", dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out/a.json").read_text())
    assert [s["shape_type"] for s in written["shapes"]] == ["rectangle", "circle", "mask", "linestrip"]
    assert written["shapes"][0]["points"] == [[10.0, 20.0], [30.0, 40.0]]
    assert written["shapes"][1]["points"] == [[5.0, 5.0], [10.0, 5.0]]
    assert written["shapes"][2]["points"] == [[2.0, 1.0], [4.0, 2.0]]
    with Image.open(io.BytesIO(base64.b64decode(written["shapes"][2]["mask"]))) as image:
        assert np.array_equal(np.asarray(image), patch)
    assert written["shapes"][3]["flags"] == {"occluded": True, "wet": False}
    again, _ = import_dataset("labelme", tmp_path / "out")
    assert [shape_key(s) for s in shapes_of(again["items"][0])] == [shape_key(s) for s in shapes_of(dataset["items"][0])]


def shape_key(s):
    return {k: v for k, v in s.items() if k != "id"}


def test_corpus_instance_segmentation(corpus):
    src = corpus / "labelme/instance_segmentation/data_annotated"
    assert detect_format(src) == "labelme"
    dataset, report = import_dataset("labelme", src)
    assert [(i["path"], i["width"], i["height"]) for i in dataset["items"]] == [
        ("2011_000003.jpg", 500, 338),
        ("2011_000006.jpg", 500, 375),
        ("2011_000025.jpg", 500, 375),
    ]
    # 5 + 10 + 3 polygons in the three files.
    assert [len(shapes_of(i)) for i in dataset["items"]] == [5, 10, 3]
    assert all(s["type"] == "polygon" for i in dataset["items"] for s in shapes_of(i))
    first = shapes_of(dataset["items"][0])
    # group_id 0 joins the two parts of the second person (41 and 4 points).
    assert [(s["label"], s.get("group"), len(s["rings"][0]) // 2) for s in first] == [
        ("person", None, 41),
        ("person", 0, 41),
        ("person", 0, 4),
        ("bottle", None, 9),
        ("__ignore__", None, 12),
    ]
    assert report.lines() == ["2 shapes use the label '__ignore__' (labelme's 'ignore this region' label); kept as an ordinary label"]
    assert get_format("labelme").find_image(src, dataset["items"][0]) == src / "2011_000003.jpg"


def test_corpus_bbox_detection(corpus):
    dataset, report = import_dataset("labelme", corpus / "labelme/bbox_detection/data_annotated")
    assert report.lines() == []
    assert [[s["label"] for s in shapes_of(i)] for i in dataset["items"]] == [
        ["person", "person"],
        ["person", "person", "person", "person"],
        ["bus", "bus", "car"],
    ]
    assert all(s["type"] == "bbox" for i in dataset["items"] for s in shapes_of(i))


def test_corpus_primitives_every_shape_type(corpus):
    src = corpus / "labelme/primitives"
    dataset, report = import_dataset("labelme", src)
    assert report.lines() == []
    (item,) = dataset["items"]
    assert (item["path"], item["width"], item["height"]) == ("primitives.jpg", 560, 450)
    shapes = shapes_of(item)
    assert [(s["label"], s["type"]) for s in shapes] == [
        ("rectangle", "bbox"),
        ("circle", "ellipse"),
        ("rectangle", "bbox"),
        ("polygon", "polygon"),
        ("line", "polyline"),
        ("point", "points"),
        ("line_strip", "polyline"),
        ("octagon", "mask"),
    ]
    assert shapes[0]["bbox"] == [32.0, 35.0, 100.0, 100.0]  # [[32, 35], [132, 135]]
    assert shapes[1]["center"] == [195.0, 84.0]
    assert shapes[1]["radii"][0] == pytest.approx(math.hypot(30, 41))  # to (225, 125)
    assert shapes[5]["points"] == [345.0, 174.0]
    # The 100x100 PNG sits at (417, 305): compare with the PNG read independently.
    raw = json.loads((src / "primitives.json").read_text())["shapes"][7]
    with Image.open(io.BytesIO(base64.b64decode(raw["mask"]))) as image:
        patch = np.asarray(image.convert("L")) > 0
    assert patch.shape == (100, 100)
    pixels = decode_mask(shapes[7]["rle"])
    assert int(pixels.sum()) == int(patch.sum())
    assert np.array_equal(pixels[305:405, 417:517] > 0, patch)


def test_corpus_embedded_image_data(corpus):
    src = corpus / "labelme/tutorial_embedded_imagedata"
    dataset, report = import_dataset("labelme", src)
    assert report.lines() == []
    (item,) = dataset["items"]
    # imagePath names the json itself: the path comes from the embedded JPEG.
    assert (item["path"], item["width"], item["height"]) == ("apc2016_obj3.jpg", 1210, 907)
    assert [s["label"] for s in shapes_of(item)] == [
        "shelf",
        "highland_6539_self_stick_notes",
        "mead_index_cards",
        "kong_air_dog_squeakair_tennis_ball",
    ]


def test_corpus_classification_flags_are_tags(corpus):
    dataset, report = import_dataset("labelme", corpus / "labelme/classification")
    assert report.lines() == []
    assert [(label["name"], label["kind"]) for label in dataset["labels"]] == [("__ignore__", "tag"), ("cat", "tag"), ("dog", "tag")]
    assert [(i["path"], [t["label"] for t in i["annotation"]["tags"]], shapes_of(i)) for i in dataset["items"]] == [
        ("data_annotated/0001.jpg", ["cat"], []),
        ("data_annotated/0002.jpg", ["dog"], []),
    ]


def test_corpus_video_frames(corpus):
    dataset, _ = import_dataset("labelme", corpus / "labelme/video_annotation")
    assert [i["path"] for i in dataset["items"]] == [f"data_annotated/{n:08d}.jpg" for n in range(100, 105)]
    assert sum(len(shapes_of(i)) for i in dataset["items"]) == 15


def test_round_trip_through_native(tmp_path, dataset, images):
    report = export_dataset("labelme", dataset, tmp_path / "lm", images=images)
    lost = {entry["kind"]: entry["reason"] for entry in report.to_dict()["lost"]}
    assert lost == {
        "keypoints": "LabelMe has no keypoints",
        "attribute": "LabelMe shape flags hold only booleans",
        "label color": "LabelMe has no label colors",
        "source": "LabelMe keeps no model or consensus source: an import marks them as made by a person",  # the dog box
    }
    assert report.to_dict()["clipped"] == {"bbox": 1}
    assert report.to_dict()["dropped_empty"] == {"bbox": 1}
    assert (tmp_path / "lm/photos/a.json").is_file()
    assert (tmp_path / "lm/photos/a.jpg").is_file()
    export_dataset("native", import_dataset("labelme", tmp_path / "lm")[0], tmp_path / "native")
    again, import_report = import_dataset("native", tmp_path / "native")
    assert import_report.lines() == []
    by_path = {i["path"]: i for i in again["items"]}
    assert sorted(by_path) == ["b.png", "empty.jpg", "photos/a.jpg"]
    a = by_path["photos/a.jpg"]
    assert (a["subset"], a["width"], a["height"]) == ("train", 20, 10)
    assert [t["label"] for t in a["annotation"]["tags"]] == ["blurry"]
    assert [(s["label"], s["type"]) for s in shapes_of(a)] == [("cat", "bbox"), ("dog", "bbox"), ("road", "polygon"), ("road", "polyline")]
    assert shapes_of(a)[1]["bbox"] == [15.0, 5.0, 5.0, 5.0]
    assert shapes_of(a)[0]["occluded"] is True
    b = by_path["b.png"]
    original = dataset["items"][1]["annotation"]["shapes"][0]["rle"]
    assert [s["type"] for s in shapes_of(b)] == ["mask"]
    assert np.array_equal(decode_mask(shapes_of(b)[0]["rle"]), decode_mask(original))
    assert shapes_of(by_path["empty.jpg"]) == []


def test_strict_export_refuses_keypoints(tmp_path, dataset):
    with pytest.raises(ConversionLossError):
        export_dataset("labelme", dataset, tmp_path, strict=True)


def test_same_stem_different_extensions_stay_distinct(tmp_path):
    dataset = {
        "version": 1,
        "labels": [{"id": 1, "name": "x", "kind": "shape"}],
        "items": [
            {
                "id": name,
                "name": name,
                "path": f"dir with space/{name}",
                "media": "image",
                "width": 4,
                "height": 4,
                "annotation": {"version": 1, "tags": [], "shapes": []},
            }
            for name in ("ü.a.jpg", "ü.a.png")
        ],
    }
    export_dataset("labelme", dataset, tmp_path)
    assert sorted(p.name for p in (tmp_path / "dir with space").iterdir()) == ["ü.a.json", "ü.a.png.json"]
    again, _ = import_dataset("labelme", tmp_path)
    assert sorted(i["path"] for i in again["items"]) == ["dir with space/ü.a.jpg", "dir with space/ü.a.png"]


def test_path_outside_the_folder_is_not_followed(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(labelme_file([], path="../../etc/x.jpg")))
    dataset, report = import_dataset("labelme", tmp_path)
    assert dataset["items"][0]["path"] == "x.jpg"
    assert "leaves the dataset folder" in report.lines()[0]


def test_malformed_json_names_file_and_line(tmp_path):
    (tmp_path / "bad.json").write_text('{"shapes": [\n  {"label": "a",\n  oops}\n]}')
    with pytest.raises(FormatError, match=r"bad\.json: line 3"):
        import_dataset("labelme", tmp_path)


def test_malformed_points_name_the_field(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(labelme_file([shape("a", "polygon", [[1, "x"]])])))
    with pytest.raises(FormatError, match=r"a\.json: field shapes\[0\]\.points"):
        import_dataset("labelme", tmp_path)


def test_size_missing_everywhere_is_reported(tmp_path):
    doc = labelme_file([])
    del doc["imageHeight"], doc["imageWidth"]
    (tmp_path / "a.json").write_text(json.dumps(doc))
    dataset, report = import_dataset("labelme", tmp_path)
    assert dataset["items"] == []
    assert report.lines() == ["1 item dropped: the LabelMe file has no imageWidth/imageHeight and no image to measure"]
