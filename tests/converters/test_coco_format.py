"""COCO export checked with pycocotools' own loader; import checked on the same files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from annotate.converters import ConversionLossError, export_dataset, get_format, import_dataset
from tests.converters.coco_files import load_coco

# pycocotools' decode (2.0.11) trips numpy 2's copy-keyword DeprecationWarning; it is theirs.
PYCOCOTOOLS_NUMPY2 = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture
def exported(tmp_path, dataset, images):
    report = export_dataset("coco", dataset, tmp_path, images=images)
    return tmp_path, report


def test_one_file_per_subset_and_image_ids_in_item_order(exported):
    root, _ = exported
    assert sorted(p.name for p in (root / "annotations").iterdir()) == [
        "instances_train.json",
        "instances_val.json",
    ]
    train = load_coco(root / "annotations/instances_train.json")
    val = load_coco(root / "annotations/instances_val.json")
    # Ids are 1..N over all items in order: a=1, b=2 (val), c=3.
    assert sorted(train.getImgIds()) == [1, 3]
    assert val.getImgIds() == [2]
    assert train.loadImgs(1)[0] == {"id": 1, "file_name": "photos/a.jpg", "width": 20, "height": 10}


@PYCOCOTOOLS_NUMPY2
def test_boxes_polygons_categories_and_areas(exported):
    root, _ = exported
    coco = load_coco(root / "annotations/instances_train.json")
    assert sorted(coco.getCatIds()) == [0, 3, 1000]
    assert coco.loadCats(1000)[0]["name"] == "dog"
    assert coco.loadCats(0)[0]["name"] == "cat"
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    got = [(a["category_id"], a["bbox"], a["area"], a["iscrowd"]) for a in anns]
    assert got == [
        (0, [0.0, 0.0, 10.0, 5.0], 50.0, 0),
        # [15, 5, 10, 10] cut to the 20x10 image.
        (1000, [15.0, 5.0, 5.0, 5.0], 25.0, 0),
        # A 4x4 square: bbox from its vertices, area 16 pixels.
        (3, [0.0, 0.0, 4.0, 4.0], 16.0, 0),
    ]
    assert anns[2]["segmentation"] == [[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]]
    assert anns[0]["attributes"] == {"pose": "Left", "color": "black", "occluded": True}
    assert int(coco.annToMask(anns[2]).sum()) == 16


def test_empty_image_is_kept(exported):
    root, _ = exported
    coco = load_coco(root / "annotations/instances_train.json")
    assert coco.loadImgs(3)[0]["file_name"] == "empty.jpg"
    assert coco.getAnnIds(imgIds=[3]) == []


@PYCOCOTOOLS_NUMPY2
def test_mask_round_trips_to_identical_pixels(exported, mask_b, tmp_path):
    root, _ = exported
    coco = load_coco(root / "annotations/instances_val.json")
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[2]))
    mask_ann = next(a for a in anns if isinstance(a["segmentation"], dict))
    assert mask_ann["area"] == 6.0
    assert mask_ann["bbox"] == [2.0, 1.0, 3.0, 2.0]
    assert np.array_equal(coco.annToMask(mask_ann), mask_b)
    keypoint_ann = next(a for a in anns if "keypoints" in a)
    assert keypoint_ann["num_keypoints"] == 2
    assert keypoint_ann["bbox"] == [1.0, 1.0, 2.0, 2.0]

    dataset, report = import_dataset("coco", root)
    item = next(i for i in dataset["items"] if i["path"] == "b.png")
    mask_shape = next(s for s in item["annotation"]["shapes"] if s["type"] == "mask")
    rle = {"size": mask_shape["rle"]["size"], "counts": mask_shape["rle"]["counts"].encode()}
    assert np.array_equal(mask_utils.decode(rle), mask_b)
    assert report.lines() == []


def test_images_are_written_per_subset(exported):
    root, _ = exported
    with Image.open(root / "images/train/photos/a.jpg") as image:
        assert (image.format, image.size) == ("JPEG", (20, 10))
    with Image.open(root / "images/val/b.png") as image:
        assert (image.format, image.size) == ("PNG", (8, 6))
    assert (root / "images/train/empty.jpg").is_file()


def test_report_counts_what_coco_cannot_hold(exported):
    _, report = exported
    assert report.lines() == [
        "1 label dropped: COCO instances has no image-level labels: a tag label that no shape uses is not a category",
        "1 polyline dropped: COCO instances has no polylines",
        # The dog box is a model's (version 2, score 0.5): COCO instances has no source.
        "1 source dropped: COCO keeps no model or consensus source: an import marks them as made by a person",
        "1 tag dropped: COCO instances has no image-level tags",
        "1 box clipped to the image",
        "1 box dropped: no area inside the image",
    ]


def test_without_images_only_annotations_are_written(tmp_path, dataset):
    export_dataset("coco", dataset, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotations"]


def test_strict_export_refuses_to_drop(tmp_path, dataset):
    with pytest.raises(ConversionLossError, match="1 source dropped: COCO keeps no model or consensus source"):
        export_dataset("coco", dataset, tmp_path, strict=True)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    for label in dataset["labels"]:
        label.pop("color", None)
    dataset["labels"] = [label for label in dataset["labels"] if label["kind"] == "shape"]
    for item in dataset["items"]:
        item["annotation"]["tags"] = []
        for shape in item["annotation"]["shapes"]:
            shape["source"] = {"type": "human"}
    with pytest.raises(ConversionLossError, match="1 polyline dropped"):
        export_dataset("coco", dataset, tmp_path, strict=True)


def test_import_reads_quirks(tmp_path):
    quirky = {
        "images": [{"id": 0, "file_name": "./pics\\x.jpg", "width": 10, "height": 10, "extra": 1}],
        "categories": [{"id": 0, "name": "thing", "color": "#00ff00", "metadata": {}}],
        "annotations": [
            {"id": 0, "image_id": 0, "category_id": 0, "bbox": [-2, 1, 5, 3], "segmentation": [], "iscrowd": "false", "area": 0},
            {
                "id": 1,
                "image_id": 0,
                "category_id": "0",
                "iscrowd": "1",
                "area": 4,
                "segmentation": [1, 1, 3, 1, 3, 3],
                "bbox": [1, 1, 2, 2],
            },
            {"id": 2, "image_id": 0, "category_id": 9, "bbox": [0, 0, 0, 4], "segmentation": []},
        ],
    }
    (tmp_path / "coco.json").write_text(json.dumps(quirky))
    fmt = get_format("coco")
    assert fmt.detect(tmp_path / "coco.json")
    dataset, report = import_dataset("coco", tmp_path / "coco.json")
    assert [(label["id"], label["name"], label.get("color")) for label in dataset["labels"]] == [
        (0, "thing", "#00ff00"),
        (9, "category_9", None),
    ]
    (item,) = dataset["items"]
    assert item["path"] == "pics/x.jpg"
    box, triangle = item["annotation"]["shapes"]
    assert box["bbox"] == [0.0, 1.0, 3.0, 3.0]
    assert "iscrowd" not in box
    assert triangle["rings"] == [[1.0, 1.0, 3.0, 1.0, 3.0, 3.0]]
    assert triangle["iscrowd"] is True
    assert report.lines() == [
        "1 box clipped to the image",
        "1 box dropped: no area inside the image",
        "category 9 is used but not declared; named 'category_9'",
    ]


def _exact_coco() -> dict:
    # 100.0 + 50.12 - 100.0 is 50.120000000000005 and 12.3 + 30.07 - 12.3 is 30.070000000000004
    # in floats: a box recomputed from its corners would not keep these sizes.
    box = {"image_id": 1, "category_id": 1, "segmentation": [], "area": 1.0, "iscrowd": 0}
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {"id": 1, "bbox": [100.0, 12.3, 50.12, 30.07], **box},  # plain box
            {"id": 2, "bbox": [100.0, 12.3, 50.12, 30.07], **box, "attributes": {"occluded": True}},  # general path
            {"id": 3, "bbox": [-5.0, 12.3, 50.12, 30.07], **box},  # cut on the left only
            {"id": 4, "bbox": [600.5, 470.0, 50.12, 30.07], **box},  # cut on the right and bottom
        ],
    }


def test_unclipped_box_sizes_pass_through_exactly_and_clipped_ones_are_cut(tmp_path):
    assert (100.0 + 50.12) - 100.0 != 50.12  # the test would catch the corner arithmetic
    (tmp_path / "in" / "annotations").mkdir(parents=True)
    (tmp_path / "in" / "annotations" / "instances_default.json").write_text(json.dumps(_exact_coco()))
    dataset, report = import_dataset("coco", tmp_path / "in")
    boxes = {shape["id"]: shape["bbox"] for shape in dataset["items"][0]["annotation"]["shapes"]}
    assert boxes == {
        "coco-1": [100.0, 12.3, 50.12, 30.07],
        "coco-2": [100.0, 12.3, 50.12, 30.07],
        # Cut at x = 0: the width is what is left, -5 + 50.12; the height is kept.
        "coco-3": [0.0, 12.3, -5.0 + 50.12, 30.07],
        # Cut at 640 x 480: 640 - 600.5 = 39.5 and 480 - 470 = 10.
        "coco-4": [600.5, 470.0, 39.5, 10.0],
    }
    assert report.clipped == {"bbox": 2}

    export_dataset("native", dataset, tmp_path / "native")
    native, _ = import_dataset("native", tmp_path / "native")
    assert native == dataset

    export_dataset("coco", dataset, tmp_path / "out")
    text = (tmp_path / "out" / "annotations" / "instances_default.json").read_text()
    assert "50.120000000000005" not in text and "30.070000000000004" not in text
    written = {annotation["id"]: annotation["bbox"] for annotation in json.loads(text)["annotations"]}
    assert written == {
        1: [100.0, 12.3, 50.12, 30.07],
        2: [100.0, 12.3, 50.12, 30.07],
        3: [0.0, 12.3, 45.12, 30.07],
        4: [600.5, 470.0, 39.5, 10.0],
    }
