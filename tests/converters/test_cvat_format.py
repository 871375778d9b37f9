"""CVAT for images 1.1 XML: contract, exact round trip, Datumaro cross-check, corpus, safety.

Corpus counts were worked out by hand from the XML files (see the comments).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotate.converters import ConversionLossError, FormatError, detect_format, export_dataset, get_format, import_dataset
from annotate.converters._cvat_common import array_to_cvat_rle, coco_to_cvat_rle, cvat_rle_to_coco
from tests.converters.conftest import encode_mask, image_bytes
from tests.converters.contract import FormatContract

# pycocotools' decode trips numpy 2's __array__(copy=...) DeprecationWarning (see test_converter_corpus.py).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

HUMAN = {"type": "human"}

# 6 x 5 mask inside a 12 x 10 image: an L shape, 7 pixels, extent [2, 3, 3, 3].
MASK = np.zeros((10, 12), dtype=np.uint8)
MASK[3:6, 2] = 1
MASK[5, 2:5] = 1
MASK[4, 3] = 1


def rich_dataset() -> dict[str, Any]:
    """Every shape type CVAT holds, typed attributes, tags, flags, groups, two subsets.

    Label ids are 0, 1, ... in order, as a CVAT import numbers them, so nothing changes.
    """
    shapes = [
        {
            "id": "b",
            "type": "bbox",
            "label": "car",
            "bbox": [1.25, 2, 3.5, 4],
            "source": HUMAN,
            "occluded": True,
            "z_order": 2,
            "group": 7,
            "attributes": {"count": 3, "speed": 2.5, "parked": True, "color": "red", "kind": "0003"},
        },
        {"id": "r", "type": "rotated_bbox", "label": "car", "bbox": [2, 2, 4, 2], "angle": 30.5, "source": HUMAN, "truncated": True},
        {"id": "p", "type": "polygon", "label": "road", "rings": [[0, 0, 4.5, 0, 4.5, 4, 0, 4]], "source": HUMAN, "group": 7},
        {"id": "l", "type": "polyline", "label": "road", "points": [0, 0, 5.125, 5, 11, 9], "source": HUMAN},
        {"id": "pt", "type": "points", "label": "road", "points": [1, 1], "source": HUMAN},
        {"id": "e", "type": "ellipse", "label": "car", "center": [6, 5], "radii": [2, 1.5], "angle": 45, "source": HUMAN},
        {"id": "m", "type": "mask", "label": "road", "rle": encode_mask(MASK), "bbox": [2.0, 3.0, 3.0, 3.0], "source": HUMAN},
        {"id": "k", "type": "keypoints", "label": "person", "keypoints": [1, 2, 2, 3.5, 4, 1, 0, 0, 0], "source": HUMAN, "z_order": 1},
    ]
    return {
        "version": 1,
        "labels": [
            {
                "id": 0,
                "name": "car",
                "kind": "shape",
                "color": "#ff0000",
                "attributes": [
                    {"name": "count", "type": "number", "values": [0, 10, 1]},
                    {"name": "speed", "type": "number"},
                    {"name": "parked", "type": "checkbox", "values": [False], "mutable": True},
                    {"name": "color", "type": "select", "values": ["red", "blue"]},
                    {"name": "kind", "type": "text"},
                ],
            },
            {"id": 1, "name": "road", "kind": "shape"},
            {"id": 2, "name": "person", "kind": "shape", "keypoints": ["head", "hand", "foot"], "skeleton": [[0, 1], [0, 2]]},
            {"id": 3, "name": "blurry", "kind": "tag", "attributes": [{"name": "level", "type": "radio", "values": ["low", "high"]}]},
        ],
        "items": [
            {
                "id": "a",
                "name": "a b.jpg",
                "path": "street/a b.jpg",
                "media": "image",
                "width": 12,
                "height": 10,
                "subset": "train",
                "annotation": {
                    "version": 1,
                    "tags": [{"id": "t", "label": "blurry", "source": HUMAN, "attributes": {"level": "high"}}],
                    "shapes": shapes,
                },
            },
            # The same path in another subset must stay a distinct item.
            {
                "id": "a-val",
                "name": "a b.jpg",
                "path": "street/a b.jpg",
                "media": "image",
                "width": 12,
                "height": 10,
                "subset": "val",
                "annotation": {
                    "version": 1,
                    "tags": [],
                    "shapes": [{"id": "x", "type": "bbox", "label": "car", "bbox": [0, 0, 12, 10], "source": HUMAN}],
                },
            },
            {
                "id": "empty",
                "name": "ünï.cödé.png",
                "path": "ünï.cödé.png",
                "media": "image",
                "width": 4,
                "height": 3,
                "subset": "train",
                "annotation": {"version": 1, "tags": [], "shapes": []},
            },
        ],
    }


class TestCvatContract(FormatContract):
    name = "cvat"

    def sample(self):
        return rich_dataset()


def _without_ids(item: dict[str, Any]) -> tuple[Any, Any]:
    shapes = [{k: v for k, v in s.items() if k != "id"} for s in item["annotation"]["shapes"]]
    tags = [{k: v for k, v in t.items() if k != "id"} for t in item["annotation"]["tags"]]
    return shapes, tags


def test_round_trip_keeps_every_shape_exactly(tmp_path):
    dataset = rich_dataset()
    report = export_dataset("cvat", dataset, tmp_path / "out")
    assert report.lines() == []
    again, import_report = import_dataset("cvat", tmp_path / "out")
    assert import_report.lines() == []
    assert [(i["path"], i["subset"], i["width"], i["height"]) for i in again["items"]] == [
        (i["path"], i["subset"], i["width"], i["height"]) for i in dataset["items"]
    ]
    assert len({i["id"] for i in again["items"]}) == 3
    for before, after in zip(dataset["items"], again["items"], strict=True):
        assert _without_ids(after) == _without_ids(before)
    # Typed attributes: numbers stay numbers, checkboxes booleans, text "0003" stays text.
    box = again["items"][0]["annotation"]["shapes"][0]
    assert box["attributes"] == {"count": 3, "speed": 2.5, "parked": True, "color": "red", "kind": "0003"}
    labels = {label["name"]: label for label in again["labels"]}
    assert labels["car"]["attributes"] == rich_dataset()["labels"][0]["attributes"]
    assert labels["car"]["color"] == "#ff0000"
    assert labels["blurry"]["kind"] == "tag"
    assert (labels["person"]["keypoints"], labels["person"]["skeleton"]) == (["head", "hand", "foot"], [[0, 1], [0, 2]])


def test_export_writes_cvat_xml(tmp_path):
    export_dataset("cvat", rich_dataset(), tmp_path / "out", images=image_bytes)
    xml = (tmp_path / "out/annotations.xml").read_text("utf-8")
    assert '<box label="car" source="manual" occluded="1" xtl="1.25" ytl="2" xbr="4.75" ybr="6" z_order="2" group_id="7">' in xml
    assert 'rotation="30.5"' in xml
    assert 'points="0,0;4.5,0;4.5,4;0,4"' in xml
    # The L-shaped mask row by row inside its 3 x 3 extent: 100 / 110 / 111.
    assert 'rle="0, 1, 2, 2, 1, 3" left="2" top="3" width="3" height="3"' in xml
    assert '<points label="foot" source="manual" outside="1" occluded="0" points="0,0" />' in xml
    assert (tmp_path / "out/images/train/street/a b.jpg").is_file()
    assert (tmp_path / "out/images/val/street/a b.jpg").is_file()
    assert (tmp_path / "out/images/train/ünï.cödé.png").is_file()
    assert get_format("cvat").find_image(tmp_path / "out", rich_dataset()["items"][1]) == tmp_path / "out/images/val/street/a b.jpg"


def test_losses_are_counted(tmp_path):
    dataset = rich_dataset()
    shapes = dataset["items"][0]["annotation"]["shapes"]
    shapes[2]["rings"].append([6, 6, 8, 6, 8, 8])
    shapes[7]["bbox"] = [0, 0, 4, 4]
    shapes.append({"id": "out", "type": "bbox", "label": "car", "bbox": [20, 0, 2, 2], "source": HUMAN})
    shapes.append({"id": "half", "type": "bbox", "label": "car", "bbox": [10, 8, 4, 4], "source": HUMAN})
    dataset["labels"][1]["parent"] = "car"
    report = export_dataset("cvat", dataset, tmp_path / "out")
    assert report.lines() == [
        "1 box dropped: CVAT skeletons have no box (the keypoints themselves are written)",
        "1 label parent dropped: CVAT has label parents only for skeleton nodes",
        "1 polygon ring dropped: CVAT polygons have one ring; each extra ring is written as its own polygon in the shape's group",
        "1 box clipped to the image",
        "1 box dropped: no area inside the image",
    ]
    again, _ = import_dataset("cvat", tmp_path / "out")
    polygons = [s for s in again["items"][0]["annotation"]["shapes"] if s["type"] == "polygon"]
    assert [(p["rings"], p["group"]) for p in polygons] == [([[0, 0, 4.5, 0, 4.5, 4, 0, 4]], 7), ([[6, 6, 8, 6, 8, 8]], 7)]
    half = again["items"][0]["annotation"]["shapes"][-1]
    assert half["bbox"] == [10, 8, 2, 2]
    with pytest.raises(ConversionLossError):
        export_dataset("cvat", dataset, tmp_path / "strict", strict=True)


def test_model_shapes_are_written_auto_and_read_back_human(tmp_path):
    dataset = rich_dataset()
    dataset["items"][1]["annotation"]["shapes"][0]["source"] = {"type": "model", "model_version": 3, "score": 0.9}
    export_dataset("cvat", dataset, tmp_path / "out")
    assert 'source="auto"' in (tmp_path / "out/annotations.xml").read_text("utf-8")
    again, report = import_dataset("cvat", tmp_path / "out")
    assert again["items"][1]["annotation"]["shapes"][0]["source"] == HUMAN
    assert report.lines() == ["1 shapes or tags marked source=auto were read as made by a human: CVAT gives no model version or score"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_datumaro_reads_our_export(tmp_path):
    dm = pytest.importorskip("datumaro")
    dataset = rich_dataset()
    export_dataset("cvat", dataset, tmp_path / "out", images=image_bytes)
    imported = dm.Dataset.import_from(str(tmp_path / "out"), "cvat")
    names = [label.name for label in imported.categories()[dm.AnnotationType.label]]
    assert {"car", "road", "person", "blurry"} <= set(names)
    found = {}
    for item in imported:
        boxes = sorted((names[a.label], [a.x, a.y, a.w, a.h]) for a in item.annotations if a.type == dm.AnnotationType.bbox)
        polygons = sorted((names[a.label], list(a.points)) for a in item.annotations if a.type == dm.AnnotationType.polygon)
        found[(item.subset, item.id)] = (boxes, polygons)
    assert found == {
        ("train", "street/a b"): ([("car", [1.25, 2.0, 3.5, 4.0])], [("road", [0.0, 0.0, 4.5, 0.0, 4.5, 4.0, 0.0, 4.0])]),
        ("val", "street/a b"): ([("car", [0.0, 0.0, 12.0, 10.0])], []),
        ("train", "ünï.cödé"): ([], []),
    }


# -- masks ------------------------------------------------------------------------------


def test_mask_rle_conversion_is_exact():
    runs, left, top, width, height = coco_to_cvat_rle(encode_mask(MASK))
    assert (runs, left, top, width, height) == ([0, 1, 2, 2, 1, 3], 2, 3, 3, 3)
    rle, clipped = cvat_rle_to_coco(runs, left, top, width, height, 12, 10, "test")
    assert not clipped
    assert np.array_equal(mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}), MASK)
    assert array_to_cvat_rle(np.ones((2, 2))) == [0, 4]
    assert array_to_cvat_rle(np.zeros((2, 2))) == [4]
    with pytest.raises(FormatError, match="sum to 5"):
        cvat_rle_to_coco([2, 3], 0, 0, 2, 2, 4, 4, "f.xml: image 'a'")


# -- corpus -----------------------------------------------------------------------------


def shapes_of(item):
    return [(s["type"], s["label"]) for s in item["annotation"]["shapes"]]


def test_corpus_task_export(corpus):
    src = corpus / "datumaro/cvat/for_images/export_task"
    assert detect_format(src) == "cvat"
    dataset, report = import_dataset("cvat", src)
    # a3 (text, default 0000) and a4 (number, default 0) have defaults our schema cannot keep;
    # img0's polyline and img1's polygon have label="".
    assert report.lines() == [
        "2 attribute defaults dropped: label 'label1': the label schema has no default values",
        '1 polygon dropped: the shape has no label (label="")',
        '1 polyline dropped: the shape has no label (label="")',
    ]
    assert [(label["id"], label["name"]) for label in dataset["labels"]] == [(0, "label1"), (1, "label2")]
    assert [spec["type"] for spec in dataset["labels"][0]["attributes"]] == ["checkbox", "radio", "text", "number"]
    assert dataset["labels"][0]["attributes"][1]["values"] == ["v1", "v2", "v3"]
    img0, img1 = dataset["items"]
    assert (img0["path"], img0["subset"], img0["width"], img0["height"]) == ("img0.jpg", "train", 8, 8)
    (box,) = img0["annotation"]["shapes"]
    # xtl=0 ytl=2 xbr=4 ybr=4
    assert (box["bbox"], box["occluded"], box["z_order"]) == ([0.0, 2.0, 4.0, 2.0], True, 1)
    assert box["attributes"] == {"a1": True, "a2": "v3", "a3": "0003", "a4": 2.4}
    (points,) = img1["annotation"]["shapes"]
    assert (points["type"], points["points"], points["z_order"]) == ("points", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2)
    assert get_format("cvat").find_image(src, img1) == src / "images/img1.jpg"


def test_corpus_project_export(corpus):
    src = corpus / "datumaro/cvat/for_images/export_project"
    dataset, report = import_dataset("cvat", src)
    assert report.lines() == ["2 attribute defaults dropped: label 'label1': the label schema has no default values"]
    # 6 <image> entries: img0/img1 in each of Test, Train, Validation.
    assert [(i["id"], i["path"], i["subset"]) for i in dataset["items"]] == [
        ("img0.jpg", "img0.jpg", "Test"),
        ("img1.jpg", "img1.jpg", "Test"),
        ("Train/img0.jpg", "img0.jpg", "Train"),
        ("Train/img1.jpg", "img1.jpg", "Train"),
        ("Validation/img0.jpg", "img0.jpg", "Validation"),
        ("Validation/img1.jpg", "img1.jpg", "Validation"),
    ]
    assert [shapes_of(i) for i in dataset["items"]] == [
        [("bbox", "label1"), ("polyline", "label2")],
        [("polygon", "label1"), ("points", "label2")],
    ] * 3
    polygon = dataset["items"][1]["annotation"]["shapes"][0]
    assert polygon["rings"] == [[1.0, 2.0, 3.0, 4.0, 6.0, 5.0]]
    fmt = get_format("cvat")
    assert fmt.find_image(src, dataset["items"][2]) == src / "images/Train/img0.jpg"
    assert fmt.find_image(src, dataset["items"][5]) == src / "images/Validation/img1.jpg"


def test_corpus_fork_skeletons(corpus):
    src = corpus / "datumaro-cvat-fork/cvat/for_images"
    dataset, report = import_dataset("cvat", src)
    assert report.lines() == [
        "2 attribute defaults dropped: label 'label1': the label schema has no default values",
        "4 labels dropped: skeleton 'skeleton': its node labels become keypoint names; their colors and attributes are not kept",
        '1 polygon dropped: the shape has no label (label="")',
        '1 polyline dropped: the shape has no label (label="")',
    ]
    assert [label["name"] for label in dataset["labels"]] == ["label1", "label2", "skeleton"]
    # The <svg> draws edges 3-2 and 1-4 between nodes named "1".."4" (node ids = names here).
    assert dataset["labels"][2] == {
        "id": 2,
        "name": "skeleton",
        "kind": "shape",
        "color": "#0c81b5",
        "keypoints": ["1", "2", "3", "4"],
        "skeleton": [[2, 1], [0, 3]],
    }
    assert [shapes_of(i) for i in dataset["items"]] == [
        [("bbox", "label1"), ("keypoints", "skeleton")],
        [("points", "label2"), ("keypoints", "skeleton")],
    ]
    first = dataset["items"][0]["annotation"]["shapes"][1]["keypoints"]
    second = dataset["items"][1]["annotation"]["shapes"][1]["keypoints"]
    # Node 1 of the first skeleton and node 3 of the second are outside=1 -> visibility 0.
    assert first == [1, 1, 0, 2, 2, 2, 3, 3, 2, 4, 4, 2]
    assert second == [3, 3, 2, 4, 4, 2, 5, 5, 0, 6, 6, 2]


def test_corpus_docs_example(corpus):
    src = corpus / "cvat-docs/cvat_xml_images/annotations.xml"
    assert detect_format(src) == "cvat"
    dataset, report = import_dataset("cvat", src)
    assert report.lines() == [
        "label 'good_frame' is used but not declared in <meta>; added as a tag label",
    ]
    assert dataset["labels"][-1] == {"id": 5, "name": "good_frame", "kind": "tag"}
    # s1's <svg>: edges 2-3 and 1-2 between nodes "1", "2", "3".
    assert dataset["labels"][4] == {"id": 4, "name": "s1", "kind": "shape", "keypoints": ["1", "2", "3"], "skeleton": [[1, 2], [0, 1]]}
    (item,) = dataset["items"]
    assert (item["path"], item["width"], item["height"]) == ("filename000.jpg", 1600, 1200)
    assert shapes_of(item) == [
        ("bbox", "plate"),
        ("polygon", "car"),
        ("polyline", "traffic_line"),
        ("polyline", "traffic_line"),
        ("points", "wheel"),
        ("keypoints", "s1"),
        ("mask", "car"),
    ]
    assert [t["label"] for t in item["annotation"]["tags"]] == ["good_frame"]
    box, polygon, _, _, points, skeleton, mask = item["annotation"]["shapes"]
    assert box["bbox"] == pytest.approx([797.33, 870.92, 965.52 - 797.33, 928.94 - 870.92])
    assert len(polygon["rings"][0]) == 69 * 2
    assert len(points["points"]) == 8
    assert skeleton["keypoints"] == [54.47, 94.81, 2, 68.02, 162.34, 2, 125.87, 62.85, 2]
    runs = [3, 5, 7, 7, 5, 9, 3, 11, 2, 11, 2, 12, 1, 12, 1, 26, 1, 12, 1, 12, 2, 11, 3, 9, 5, 7, 7, 5, 3]
    assert sum(runs) == 13 * 15
    pixels = mask_utils.decode({"size": mask["rle"]["size"], "counts": mask["rle"]["counts"].encode()})
    assert pixels.shape == (1200, 1600)
    assert int(pixels.sum()) == sum(runs[1::2])
    assert mask["bbox"] == [707.0, 888.0, 13.0, 15.0]
    # Row-major: the first row of the rectangle has 3 zeros then 5 ones.
    assert pixels[888, 707:720].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]


def test_corpus_video_is_not_cvat_for_images(corpus):
    src = corpus / "cvat-docs/cvat_xml_video/annotations.xml"
    assert not get_format("cvat").detect(src)
    with pytest.raises(FormatError, match="CVAT for video"):
        import_dataset("cvat", src)


# -- malformed and hostile input --------------------------------------------------------


def test_malformed_xml_names_file_and_line(tmp_path):
    file = tmp_path / "annotations.xml"
    file.write_text('<annotations>\n  <version>1.1</version>\n  <image name="a.jpg" width="4" height="4">\n</annotations>\n', "utf-8")
    with pytest.raises(FormatError) as caught:
        import_dataset("cvat", tmp_path)
    assert str(file) in str(caught.value)
    assert "line 4" in str(caught.value)


def test_entity_expansion_bomb_is_refused(tmp_path):
    file = tmp_path / "annotations.xml"
    file.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        '<annotations><version>1.1</version><image id="0" name="&lol2;" width="2" height="2"/></annotations>\n',
        "utf-8",
    )
    with pytest.raises(FormatError, match="refused: the XML declares entities"):
        import_dataset("cvat", tmp_path)


def test_bad_values_and_unsafe_names(tmp_path):
    file = tmp_path / "annotations.xml"
    file.write_text(
        '<annotations><version>1.1</version><image id="0" name="../../etc/a.jpg" width="4" height="4">'
        '<box label="x" xtl="0" ytl="0" xbr="2" ybr="2"/><cuboid label="x"/></image></annotations>',
        "utf-8",
    )
    dataset, report = import_dataset("cvat", tmp_path)
    assert dataset["items"][0]["path"] == "a.jpg"
    assert report.lines() == [
        "1 cuboid dropped: CVAT <cuboid> is not part of the annotation schema",
        "image name '../../etc/a.jpg' points outside the dataset folder; read as 'a.jpg'",
        "label 'x' is used but not declared in <meta>; added as a shape label",
    ]
    file.write_text('<annotations><image id="0" name="a.jpg" width="4" height="4"><box label="x" xtl="zero"/></image></annotations>')
    with pytest.raises(FormatError, match=r"image 'a.jpg', <box> 1: xtl: expected a number"):
        import_dataset("cvat", tmp_path)


def test_detects_only_cvat(tmp_path):
    assert not get_format("cvat").detect(tmp_path)
    (tmp_path / "other.xml").write_text("<annotation><object/></annotation>", "utf-8")
    assert not get_format("cvat").detect(tmp_path)
    dataset = copy.deepcopy(rich_dataset())
    dataset["items"] = []
    export_dataset("cvat", dataset, tmp_path / "empty")
    assert get_format("cvat").detect(tmp_path / "empty")
    again, _ = import_dataset("cvat", tmp_path / "empty")
    assert again["items"] == []


@pytest.mark.parametrize(("orientation", "size"), [(1, (6, 4)), (6, (4, 6)), (8, (4, 6)), (3, (6, 4))])
def test_an_image_without_width_and_height_takes_its_size_after_exif_orientation(tmp_path, orientation, size):
    from tests.converters.test_imagenet_format import write_image

    # Stored 6 wide, 4 high; orientations 5 to 8 show it turned a quarter: 4 wide, 6 high.
    write_image(tmp_path / "images" / "a.jpg", (6, 4), exif_orientation=orientation)
    (tmp_path / "annotations.xml").write_text(
        '<annotations><version>1.1</version><image id="0" name="a.jpg">'
        '<box label="x" xtl="0" ytl="0" xbr="5" ybr="5"/></image></annotations>'
    )
    dataset, report = import_dataset("cvat", tmp_path)
    item = dataset["items"][0]
    assert (item["width"], item["height"]) == size
    # The box is clipped to the image as shown: 5 x 5 from the corner leaves 5 x 4, or 4 x 5 when turned.
    assert item["annotation"]["shapes"][0]["bbox"] == [0, 0, min(5, size[0]), min(5, size[1])]
    assert report.clipped == {"bbox": 1}


# -- attribute types and label ids --------------------------------------------------------


def _one_box(attributes: dict[str, Any], label_attributes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    label: dict[str, Any] = {"id": 0, "name": "car", "kind": "shape"}
    if label_attributes is not None:
        label["attributes"] = label_attributes
    box = {"id": "b", "type": "bbox", "label": "car", "bbox": [1, 1, 5, 5], "source": HUMAN, "attributes": attributes}
    item = {"id": "a", "name": "a.jpg", "path": "a.jpg", "media": "image", "width": 40, "height": 30}
    return {"version": 1, "labels": [label], "items": [{**item, "annotation": {"version": 1, "tags": [], "shapes": [box]}}]}


def test_undeclared_attributes_are_declared_with_the_type_of_their_values(tmp_path):
    attributes = {"code": "0003", "flag": "true", "neg": "-0", "spaced": " x ", "count": 3, "ratio": 2.0, "parked": True}
    report = export_dataset("cvat", _one_box(attributes), tmp_path / "out")
    assert report.lossless
    assert report.notes == [
        "<labels> declares 7 attributes that shapes or tags use but their label does not declare "
        "(CVAT types attribute values by the declaration); an import reads them back declared"
    ]
    xml = (tmp_path / "out/annotations.xml").read_text("utf-8")
    assert "<name>code</name>\n              <mutable>False</mutable>\n              <input_type>text</input_type>" in xml
    assert '<attribute name="ratio">2.0</attribute>' in xml
    again, import_report = import_dataset("cvat", tmp_path / "out")
    assert import_report.lines() == []
    (box,) = again["items"][0]["annotation"]["shapes"]
    # Equal and of the same type: "0003" is not 3, "true" is not True, 2.0 is not 2.
    assert [(name, type(value)) for name, value in box["attributes"].items()] == [(name, type(value)) for name, value in attributes.items()]
    assert box["attributes"] == attributes
    assert [(spec["name"], spec["type"]) for spec in again["labels"][0]["attributes"]] == [
        ("code", "text"),
        ("flag", "text"),
        ("neg", "text"),
        ("spaced", "text"),
        ("count", "number"),
        ("ratio", "number"),
        ("parked", "checkbox"),
    ]


def test_values_their_label_spec_types_otherwise_are_counted(tmp_path):
    # A text "3" under a number spec reads back 3; True under a text spec reads back "true";
    # a number next to text in one undeclared attribute is declared text and reads back "5".
    dataset = _one_box({"count": "3", "note": True, "mixed": 5}, [{"name": "count", "type": "number"}, {"name": "note", "type": "text"}])
    dataset["items"][0]["annotation"]["shapes"].append(
        {"id": "c", "type": "bbox", "label": "car", "bbox": [2, 2, 5, 5], "source": HUMAN, "attributes": {"count": 4, "mixed": "red"}}
    )
    report = export_dataset("cvat", dataset, tmp_path / "out")
    assert report.lines() == [
        "3 attribute values dropped: label 'car': CVAT types an attribute value by the input_type its label declares",
        "<labels> declares 1 attribute that shapes or tags use but their label does not declare "
        "(CVAT types attribute values by the declaration); an import reads them back declared",
    ]
    again, _ = import_dataset("cvat", tmp_path / "out")
    first, second = again["items"][0]["annotation"]["shapes"]
    assert (first["attributes"], second["attributes"]) == ({"count": 3, "note": "true", "mixed": "5"}, {"count": 4, "mixed": "red"})
    with pytest.raises(ConversionLossError):
        export_dataset("cvat", dataset, tmp_path / "strict", strict=True)


def test_corpus_text_attribute_stays_text_through_two_round_trips(corpus, tmp_path):
    dataset, _ = import_dataset("cvat", corpus / "datumaro/cvat/for_images/export_task")
    export_dataset("cvat", dataset, tmp_path / "once")
    again, _ = import_dataset("cvat", tmp_path / "once")
    (box,) = again["items"][0]["annotation"]["shapes"]
    # train.xml declares a3 as text (default 0000) and the box holds 0003; a4 is a number.
    assert box["attributes"] == {"a1": True, "a2": "v3", "a3": "0003", "a4": 2.4}
    assert again["labels"] == dataset["labels"]


def test_changed_label_ids_are_noted(tmp_path):
    dataset = _one_box({})
    dataset["labels"] = [
        {"id": 0, "name": "car", "kind": "shape"},
        {"id": 7, "name": "road", "kind": "shape"},
        {"id": 1000, "name": "sky", "kind": "shape"},
    ]
    report = export_dataset("cvat", dataset, tmp_path / "out")
    assert report.notes == ["CVAT has no label ids: an import numbers the labels 0, 1, ... in <labels> order, so 2 label ids change"]
    again, _ = import_dataset("cvat", tmp_path / "out")
    assert [(label["id"], label["name"]) for label in again["labels"]] == [(0, "car"), (1, "road"), (2, "sky")]
    dataset["labels"] = [{**label, "id": number} for number, label in enumerate(dataset["labels"])]
    assert export_dataset("cvat", dataset, tmp_path / "same").notes == []
