"""COCO, VOC and native meet the format contract; round trips through COCO and VOC.

Round trips compare what the format can hold; the report must name the rest.
"""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner

from annotate.convert_cli import convert
from annotate.converters import (
    export_dataset,
    get_format,
    import_dataset,
)
from tests.converters.contract import FormatContract, box_dataset
from tests.test_media import _jpeg_with_orientation

# What every format without model sources counts for the model-made dog box of the sample.
SOURCE_LOST = "keeps no model or consensus source: an import marks them as made by a person"


def geometry(dataset):
    """{path: (subset, [(label, type, geometry)])}, independent of ids."""
    result = {}
    for item in dataset["items"]:
        shapes = []
        for shape in item["annotation"]["shapes"]:
            key = {"bbox": "bbox", "polygon": "rings", "mask": "rle", "keypoints": "keypoints"}[shape["type"]]
            shapes.append((shape["label"], shape["type"], shape[key]))
        result[item["path"]] = (item.get("subset", "default"), shapes)
    return result


class TestCocoContract(FormatContract):
    name = "coco"


class TestVocContract(FormatContract):
    name = "voc"


class TestNativeContract(FormatContract):
    name = "native"


def test_native_round_trip_is_identical(tmp_path, dataset, images):
    export_dataset("native", dataset, tmp_path, images=images)
    again, report = import_dataset("native", tmp_path)
    # Each item whose image was written gains the checksum of the file written.
    for item in again["items"]:
        written = (tmp_path / "images" / item["path"]).read_bytes()
        assert item.pop("checksum") == f"sha256:{hashlib.sha256(written).hexdigest()}"
    assert again == dataset
    assert report.lines() == []
    assert get_format("native").find_image(tmp_path, dataset["items"][1]) == tmp_path / "images/b.png"


def test_native_to_native_gives_a_reencoded_image_the_checksum_of_the_file_written(tmp_path, dataset):
    turned = _jpeg_with_orientation(60, 20, 6)  # re-encoded with the orientation applied on the way
    item = {**dataset["items"][0], "path": "turned.jpg", "width": 20, "height": 60}
    item["checksum"] = f"sha256:{hashlib.sha256(turned).hexdigest()}"
    item["annotation"] = {"version": 1, "tags": [], "shapes": []}
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "images" / "turned.jpg").write_bytes(turned)
    (src / "dataset.json").write_text(json.dumps({**dataset, "items": [item]}), "utf-8")
    done = CliRunner().invoke(convert, ["--from", "native", "--to", "native", str(src), str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    written = (tmp_path / "out" / "images" / "turned.jpg").read_bytes()
    assert written != turned
    (out_item,) = json.loads((tmp_path / "out" / "dataset.json").read_text("utf-8"))["items"]
    assert out_item["checksum"] == f"sha256:{hashlib.sha256(written).hexdigest()}"


def test_native_without_images_keeps_the_checksum_given(tmp_path, dataset):
    dataset["items"][0]["checksum"] = "sha256:" + "ab" * 32
    export_dataset("native", dataset, tmp_path)
    again, _ = import_dataset("native", tmp_path)
    assert again["items"][0]["checksum"] == "sha256:" + "ab" * 32
    assert "checksum" not in again["items"][1]


def test_native_coco_native_keeps_what_coco_holds(tmp_path, dataset):
    report = export_dataset("coco", dataset, tmp_path)
    again, _ = import_dataset("coco", tmp_path)
    # Ids are the category ids, exactly; the tag label is not a COCO category.
    assert sorted((label["id"], label["name"]) for label in again["labels"]) == [(0, "cat"), (3, "road"), (1000, "dog")]
    got = geometry(again)
    assert got["photos/a.jpg"] == (
        "train",
        [
            ("cat", "bbox", [0.0, 0.0, 10.0, 5.0]),
            ("dog", "bbox", [15.0, 5.0, 5.0, 5.0]),  # clipped on export
            ("road", "polygon", [[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]]),
        ],
    )
    original_b = dataset["items"][1]["annotation"]["shapes"]
    assert got["b.png"] == (
        "val",
        [
            ("dog", "mask", original_b[0]["rle"]),
            ("cat", "keypoints", [1.0, 1.0, 2, 3.0, 3.0, 1, 0.0, 0.0, 0]),
        ],
    )
    assert got["empty.jpg"] == ("train", [])
    cat = again["items"][0]["annotation"]["shapes"][0]
    assert (cat["attributes"], cat["occluded"]) == ({"pose": "Left", "color": "black"}, True)
    assert report.to_dict()["lost"] == [
        {
            "kind": "label",
            "reason": "COCO instances has no image-level labels: a tag label that no shape uses is not a category",
            "count": 1,
        },
        {"kind": "polyline", "reason": "COCO instances has no polylines", "count": 1},
        {"kind": "source", "reason": f"COCO {SOURCE_LOST}", "count": 1},
        {"kind": "tag", "reason": "COCO instances has no image-level tags", "count": 1},
    ]
    assert report.to_dict()["dropped_empty"] == {"bbox": 1}


def test_native_voc_native_keeps_boxes(tmp_path, dataset):
    report = export_dataset("voc", dataset, tmp_path)
    again, _ = import_dataset("voc", tmp_path)
    got = geometry(again)
    assert got["photos/a.jpg"][1][:2] == [("cat", "bbox", [0.0, 0.0, 10.0, 5.0]), ("dog", "bbox", [15.0, 5.0, 5.0, 5.0])]
    assert got["photos/a.jpg"][1][2][:2] == ("road", "mask")
    # The mask comes back from the segmentation PNGs; the polygon as a mask, the tag from a per-class list.
    assert got["b.png"] == ("val", [("dog", "mask", dataset["items"][1]["annotation"]["shapes"][0]["rle"])])
    assert got["empty.jpg"] == ("train", [])
    lost = {entry["kind"]: entry["count"] for entry in report.to_dict()["lost"]}
    assert lost == {"polyline": 1, "keypoints": 1, "source": 1}  # the dog box is a model's


def test_voc_rounds_fractional_boxes_to_whole_pixels(tmp_path):
    dataset = box_dataset()
    dataset["items"][1]["annotation"]["shapes"][0]["bbox"] = [2.5, 1.4, 3.2, 2.6]
    export_dataset("voc", dataset, tmp_path)
    again, _ = import_dataset("voc", tmp_path)
    # xmin 4, ymin 2, xmax 6, ymax 4 on disk -> [3, 1, 3, 3].
    assert geometry(again)["two.jpg"][1] == [("person", "bbox", [3.0, 1.0, 3.0, 3.0])]
