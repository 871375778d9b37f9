"""VOC segmentation PNGs both ways, checked against Datumaro, torchvision and the raw PNG pixels.

SegmentationClass/<id>.png holds class indices (0 background, 255 void) into the label map;
SegmentationObject/<id>.png holds instance k, the k-th object of the XML.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from annotate.converters import detect_format, export_dataset, import_dataset

dm = pytest.importorskip("datumaro", reason="Datumaro is in the test extra: pip install -e '.[test]'")
torchvision_datasets = pytest.importorskip("torchvision.datasets")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def rle_of(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def pixels_of(shape: dict) -> np.ndarray:
    rle = dict(shape["rle"])
    rle["counts"] = rle["counts"].encode("ascii")
    return mask_utils.decode(rle)


def masks_of(item: dict) -> list[dict]:
    return [shape for shape in item["annotation"]["shapes"] if shape["type"] == "mask"]


def test_masks_of_a_datumaro_fixture_equal_datumaros_pixel_for_pixel(corpus):
    src = corpus / "datumaro/voc/voc_dataset1"
    dataset, _ = import_dataset("voc", src)
    ours = {item["id"]: item for item in dataset["items"]}
    theirs = dm.Dataset.import_from(str(src), "voc")
    names = theirs.categories()[dm.AnnotationType.label]
    compared = 0
    for item in theirs:
        their_masks = [a for a in item.annotations if a.type == dm.AnnotationType.mask]
        our_masks = masks_of(ours[item.id])
        assert len(our_masks) == len(their_masks)
        for their, our in zip(their_masks, our_masks, strict=True):
            assert our["label"] == names[their.label].name == "bicycle"
            assert np.array_equal(pixels_of(our), their.image.astype(np.uint8))
            compared += 1
    assert compared == 1
    # Instance 1 (the whole 20x10 image) belongs to the first object, the cat: same group.
    cat, *_ = ours["2007_000001"]["annotation"]["shapes"]
    (mask,) = masks_of(ours["2007_000001"])
    assert (cat["label"], cat["group"], mask["group"], int(pixels_of(mask).sum())) == ("cat", 1, 1, 200)


def test_a_segmentation_only_folder_is_detected_and_read(corpus):
    src = corpus / "labelme/instance_segmentation/data_dataset_voc"
    assert detect_format(src) == "voc"
    dataset, report = import_dataset("voc", src)
    assert report.lines() == []
    # class_names.txt (labelme2voc) is the label list: index = line, _background_ first.
    assert [label["name"] for label in dataset["labels"]][:3] == ["_background_", "aeroplane", "bicycle"]
    names = (src / "class_names.txt").read_text().split("\n")
    for item in dataset["items"]:
        voc_id = item["id"]
        classes = np.asarray(Image.open(src / "SegmentationClass" / f"{voc_id}.png"))
        objects = np.asarray(Image.open(src / "SegmentationObject" / f"{voc_id}.png"))
        assert (item["width"], item["height"]) == (objects.shape[1], objects.shape[0])
        expected = []
        for k in sorted(set(np.unique(objects).tolist()) - {0, 255}):
            under = classes[objects == k]
            under = under[(under != 0) & (under != 255)]
            expected.append((names[int(np.bincount(under).argmax())], (objects == k).astype(np.uint8)))
        got = [m for m in masks_of(item) if m["label"] != "__ignore__"]
        assert [m["label"] for m in got] == [label for label, _ in expected]
        for shape, (_, pixels) in zip(got, expected, strict=True):
            assert np.array_equal(pixels_of(shape), pixels)
        # Void (255) in SegmentationClass only (labelme2voc leaves 0 in SegmentationObject):
        # one __ignore__ mask without a group, which an export paints 255 in SegmentationClass only.
        voids = [m for m in masks_of(item) if m["label"] == "__ignore__"]
        if (classes == 255).any():
            (void,) = voids
            assert "group" not in void and np.array_equal(pixels_of(void), (classes == 255).astype(np.uint8))
        else:
            assert voids == []
    counts = {item["id"]: [m["label"] for m in masks_of(item) if m["label"] != "__ignore__"] for item in dataset["items"]}
    assert counts == {
        "2011_000003": ["person", "person", "bottle"],
        "2011_000006": ["person", "person", "person", "chair", "person", "sofa"],
        "2011_000025": ["bus", "bus", "car"],
    }


def test_a_class_png_alone_gives_one_mask_per_class(tmp_path):
    root = tmp_path / "voc"
    (root / "SegmentationClass").mkdir(parents=True)
    classes = np.zeros((4, 6), dtype=np.uint8)
    classes[0, :2] = 8  # cat in VOC's default label map
    classes[3, 3:] = 12  # dog
    classes[2, 0] = 255  # void: a mask of the void label __ignore__
    png = Image.fromarray(classes, mode="P")
    png.putpalette([0] * 768)
    png.save(root / "SegmentationClass" / "x.png")
    dataset, report = import_dataset("voc", root)
    (item,) = dataset["items"]
    assert (item["id"], item["width"], item["height"], item["subset"]) == ("x", 6, 4, "default")
    cat, dog, void = masks_of(item)
    assert (cat["label"], dog["label"], void["label"]) == ("cat", "dog", "__ignore__")
    assert np.argwhere(pixels_of(cat)).tolist() == [[0, 0], [0, 1]]
    assert np.argwhere(pixels_of(dog)).tolist() == [[3, 3], [3, 4], [3, 5]]
    assert np.argwhere(pixels_of(void)).tolist() == [[2, 0]]
    # No SegmentationObject: the void is SegmentationClass's only (no group 255).
    assert "group" not in cat and "group" not in void
    assert dataset["labels"][-1] == {"id": 24, "name": "__ignore__", "kind": "shape"}  # after the 21 classes and 3 parts
    assert report.lines() == []


def _segmented_dataset() -> dict:
    """A 6x4 image: a cat box with its mask (group 1), a dog polygon, a dog mask under it."""
    cat = np.zeros((4, 6), dtype=np.uint8)
    cat[0:2, 0:3] = 1  # 6 pixels
    under = np.zeros((4, 6), dtype=np.uint8)
    under[1:4, 2:6] = 1  # 12 pixels, drawn first (z_order -1): the cat hides the one at row 1, column 2
    human = {"type": "human"}
    shapes = [
        {"id": "m2", "type": "mask", "label": "dog", "rle": rle_of(under), "source": human, "z_order": -1},
        {"id": "b1", "type": "bbox", "label": "cat", "bbox": [0, 0, 3, 2], "source": human, "group": 7},
        {"id": "m1", "type": "mask", "label": "cat", "rle": rle_of(cat), "source": human, "group": 7},
        # Pixels 4..5 in x, 0..0 in y: the polygon covers exactly columns 4, 5 of row 0.
        {"id": "p1", "type": "polygon", "label": "dog", "rings": [[4, 0, 6, 0, 6, 1, 4, 1]], "source": human},
    ]
    return {
        "version": 1,
        "labels": [{"id": 1, "name": "cat", "kind": "shape", "color": "#ff0000"}, {"id": 2, "name": "dog", "kind": "shape"}],
        "items": [
            {
                "id": "i",
                "name": "a.jpg",
                "path": "a.jpg",
                "media": "image",
                "width": 6,
                "height": 4,
                "subset": "train",
                "annotation": {"version": 1, "tags": [], "shapes": shapes},
            }
        ],
    }


def test_export_writes_palette_pngs_that_torchvision_reads(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    report = export_dataset("voc", _segmented_dataset(), root, images=_jpeg)
    assert report.lines() == [
        "polygons written as masks (rasterised) into the segmentation PNGs: 1",
        "masks partly hidden by masks drawn over them (a VOC pixel holds one instance): 1",
    ]
    # background is added first; cat keeps its color, dog takes the VOC colormap's color for index 2.
    assert (root / "labelmap.txt").read_text().splitlines()[1:] == ["background:0,0,0::", "cat:255,0,0::", "dog:0,128,0::"]
    segmentation = torchvision_datasets.VOCSegmentation(str(tmp_path), year="2012", image_set="train", download=False)
    (_, target), *_ = [segmentation[0]]
    classes = np.asarray(target)
    assert target.mode == "P"
    assert classes.tolist() == [
        [1, 1, 1, 0, 2, 2],  # cat mask over the dog mask at (0..1, 2); the polygon at columns 4, 5
        [1, 1, 1, 2, 2, 2],
        [0, 0, 2, 2, 2, 2],
        [0, 0, 2, 2, 2, 2],
    ]
    objects = np.asarray(Image.open(root / "SegmentationObject" / "a.png"))
    # Instance 1 is the cat object's mask (its group); the other two follow in shape order: m2, p1.
    assert objects.tolist() == [
        [1, 1, 1, 0, 3, 3],
        [1, 1, 1, 2, 2, 2],
        [0, 0, 2, 2, 2, 2],
        [0, 0, 2, 2, 2, 2],
    ]
    palette = Image.open(root / "SegmentationObject" / "a.png").getpalette()
    assert palette[:12] == [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]
    assert "<segmented>1</segmented>" in (root / "Annotations" / "a.xml").read_text()
    assert (root / "ImageSets" / "Segmentation" / "train.txt").read_text() == "a\n"


def test_export_then_import_keeps_masks_and_groups(tmp_path):
    dataset = _segmented_dataset()
    export_dataset("voc", dataset, tmp_path)
    again, _ = import_dataset("voc", tmp_path)
    (item,) = again["items"]
    box, cat, dog, polygon = item["annotation"]["shapes"]
    assert (box["label"], box["bbox"], box["group"]) == ("cat", [0.0, 0.0, 3.0, 2.0], 1)
    assert (cat["label"], cat["group"]) == ("cat", 1)
    assert np.array_equal(pixels_of(cat), pixels_of(dataset["items"][0]["annotation"]["shapes"][2]))
    assert (dog["label"], "group" in dog, int(pixels_of(dog).sum())) == ("dog", False, 11)  # 12 less the 1 under the cat
    assert (polygon["label"], np.argwhere(pixels_of(polygon)).tolist()) == ("dog", [[0, 4], [0, 5]])


def test_datumaro_reads_our_masks(tmp_path):
    export_dataset("voc", _segmented_dataset(), tmp_path / "voc", images=_jpeg)
    theirs = dm.Dataset.import_from(str(tmp_path / "voc"), "voc")
    assert len(theirs) == 1
    names = theirs.categories()[dm.AnnotationType.label]
    (item,) = theirs
    masks = sorted((names[a.label].name, a.image.astype(np.uint8).tolist()) for a in item.annotations if a.type == dm.AnnotationType.mask)
    ours, _ = import_dataset("voc", tmp_path / "voc")
    expected = sorted((m["label"], pixels_of(m).tolist()) for m in masks_of(ours["items"][0]))
    assert masks == expected


def test_a_mask_hidden_entirely_is_counted(tmp_path):
    dataset = _segmented_dataset()
    shapes = dataset["items"][0]["annotation"]["shapes"]
    shapes.append({**shapes[0], "id": "m3", "z_order": -2})  # the same pixels as m2, drawn first
    report = export_dataset("voc", dataset, tmp_path)
    assert "1 mask dropped: masks drawn over it hide it entirely (a VOC pixel holds one instance)" in report.lines()


def _jpeg(item):
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (item["width"], item["height"]), (10, 20, 30)).save(buffer, "JPEG")
    return buffer.getvalue(), ".jpg"
