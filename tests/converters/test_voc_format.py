"""VOC export checked with torchvision's VOCDetection; boxes worked out by hand.

VOC boxes are 1-based inclusive pixel indices: our [x, y, w, h] gives
xmin = round(x) + 1, ymin = round(y) + 1, xmax = round(x + w), ymax = round(y + h).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from pycocotools import mask as mask_utils

from annotate.convert_cli import convert
from annotate.converters import FormatError, export_dataset, get_format, import_dataset
from annotate.converters.voc import voc_id_for
from tests.converters.conftest import encode_mask, image_bytes
from tests.converters.contract import box_dataset

torchvision_datasets = pytest.importorskip("torchvision.datasets")


def boxes_of(target) -> list[tuple[str, list[int]]]:
    objects = target["annotation"].get("object", [])
    return [(obj["name"], [int(obj["bndbox"][k]) for k in ("xmin", "ymin", "xmax", "ymax")]) for obj in objects]


@pytest.fixture
def voc_root(tmp_path, dataset, images):
    dataset["items"][0]["annotation"]["shapes"].append(
        # Fractional: 2.5 -> 3 (half up), 5.7 -> 6, 1.4 -> 1, 4.0 -> 4. Truncating would
        # give xmin 3, xmax 5.
        {"id": "s6", "type": "bbox", "label": "cat", "bbox": [2.5, 1.4, 3.2, 2.6], "source": {"type": "human"}, "difficult": True}
    )
    report = export_dataset("voc", dataset, tmp_path / "VOCdevkit" / "VOC2012", images=images)
    return tmp_path, report


def test_torchvision_reads_the_boxes(voc_root):
    root, _ = voc_root
    train = torchvision_datasets.VOCDetection(str(root), year="2012", image_set="train", download=False)
    assert len(train) == 2
    image, target = train[0]
    assert image.size == (20, 10)
    assert target["annotation"]["filename"] == "photos__a.jpg"
    assert target["annotation"]["size"] == {"width": "20", "height": "10", "depth": "3"}
    assert boxes_of(target) == [
        ("cat", [1, 1, 10, 5]),  # x=0, w=10 -> 1..10
        ("dog", [16, 6, 20, 10]),  # clipped to [15, 5, 5, 5]
        ("cat", [4, 2, 6, 4]),
    ]
    first, _, third = target["annotation"]["object"]
    assert (first["pose"], first["occluded"], first["difficult"]) == ("Left", "1", "0")
    assert first["attributes"]["attribute"] == {"name": "color", "value": "black"}
    assert third["difficult"] == "1"
    _, empty = train[1]
    assert "object" not in empty["annotation"] or empty["annotation"]["object"] == []


def test_one_list_per_subset_and_png_is_reencoded(voc_root):
    root, _ = voc_root
    val = torchvision_datasets.VOCDetection(str(root), year="2012", image_set="val", download=False)
    assert len(val) == 1
    image, target = val[0]
    assert image.size == (8, 6)
    assert boxes_of(target) == []
    voc = root / "VOCdevkit" / "VOC2012"
    with Image.open(voc / "JPEGImages" / "b.jpg") as reencoded:
        assert reencoded.format == "JPEG"
    # No trainval.txt beside train and val: Datumaro would read those items twice.
    assert sorted(p.name for p in (voc / "ImageSets/Main").iterdir()) == ["blurry_train.txt", "blurry_val.txt", "train.txt", "val.txt"]
    assert (voc / "ImageSets/Main/train.txt").read_text().split() == ["photos__a", "empty"]


def test_report_counts_what_voc_cannot_hold(voc_root):
    _, report = voc_root
    # The mask and the polygon go into the segmentation PNGs, the tag into a per-class list.
    assert report.lines() == [
        "1 keypoints shape dropped: VOC has no keypoints",
        "1 polyline dropped: VOC has no polylines",
        "1 source dropped: VOC keeps no model or consensus source: an import marks them as made by a person",  # the dog box
        "1 box clipped to the image",
        "1 box dropped: no area inside the image",
        "1 PNG image re-encoded as JPEG (VOC's JPEGImages)",  # b.png
        "polygons written as masks (rasterised) into the segmentation PNGs: 1",
    ]


def test_pngs_reencoded_as_jpeg_are_counted_and_their_alpha_flattened_onto_white(tmp_path, dataset):
    def images(item):
        if item["path"] == "photos/a.jpg":
            return image_bytes(item)
        # b.png (8x6): the left half fully transparent red; empty.jpg: given as an opaque PNG.
        pixels = np.zeros((item["height"], item["width"], 4), np.uint8)
        pixels[...] = (200, 0, 0, 255)
        if item["path"] == "b.png":
            pixels[:, :4, 3] = 0
        buffer = io.BytesIO()
        Image.fromarray(pixels if item["path"] == "b.png" else pixels[..., :3]).save(buffer, format="PNG")
        return buffer.getvalue(), ".png"

    report = export_dataset("voc", dataset, tmp_path, images=images)
    assert "2 PNG images re-encoded as JPEG (VOC's JPEGImages)" in report.lines()
    assert "1 image with transparency flattened onto white (JPEG has no alpha)" in report.lines()
    with Image.open(tmp_path / "JPEGImages" / "b.jpg") as written:
        flat = np.asarray(written.convert("RGB"), dtype=int)
    # JPEG at quality 95 is near, not exact: white where the PNG was transparent, red where opaque.
    assert np.abs(flat[:, :3] - (255, 255, 255)).max() <= 8
    assert np.abs(flat[:, 5:] - (200, 0, 0)).max() <= 8


def test_without_images_only_annotations_and_lists(tmp_path, dataset):
    export_dataset("voc", dataset, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "Annotations",
        "ImageSets",
        "SegmentationClass",
        "SegmentationObject",
        "labelmap.txt",
    ]
    # Segmentation PNGs are written: background comes first, every label gets its class color.
    assert (tmp_path / "labelmap.txt").read_text().splitlines() == [
        "# label:color_rgb:parts:actions",
        "background:0,0,0::",
        "cat:255,0,0::",
        "dog:0,128,0::",
        "road:128,128,0::",
        "blurry:0,0,128::",
    ]


def test_a_box_only_export_writes_no_pngs_and_no_colors(tmp_path):
    export_dataset("voc", box_dataset(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Annotations", "ImageSets", "labelmap.txt"]
    assert (tmp_path / "labelmap.txt").read_text().splitlines() == ["# label:color_rgb:parts:actions", "car:::", "person:::"]


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools decode under numpy 2
def test_import_reads_back_boxes_paths_and_attributes(voc_root, mask_b):
    root, _ = voc_root
    voc = root / "VOCdevkit" / "VOC2012"
    assert get_format("voc").detect(voc)
    dataset, report = import_dataset("voc", voc)
    assert report.lines() == []
    items = {item["path"]: item for item in dataset["items"]}
    assert sorted(items) == ["b.png", "empty.jpg", "photos/a.jpg"]
    assert [items[p]["subset"] for p in ("photos/a.jpg", "b.png", "empty.jpg")] == ["train", "val", "train"]
    *shapes, road = items["photos/a.jpg"]["annotation"]["shapes"]
    assert [s["bbox"] for s in shapes] == [[0.0, 0.0, 10.0, 5.0], [15.0, 5.0, 5.0, 5.0], [3.0, 1.0, 3.0, 3.0]]
    # The polygon [0, 0]..[4, 4] comes back as its mask, rasterised by pycocotools.
    polygon = mask_utils.frPyObjects([[0, 0, 4, 0, 4, 4, 0, 4]], 10, 20)
    assert (road["type"], road["label"], road["rle"]) == ("mask", "road", encode_mask(mask_utils.decode(mask_utils.merge(polygon))))
    (dog,) = items["b.png"]["annotation"]["shapes"]
    assert (dog["label"], dog["rle"]) == ("dog", encode_mask(mask_b))
    assert [t["label"] for t in items["photos/a.jpg"]["annotation"]["tags"]] == ["blurry"]
    assert shapes[0]["attributes"] == {"pose": "Left", "color": "black"}
    assert (shapes[0]["occluded"], shapes[0]["truncated"], shapes[0]["difficult"]) == (True, False, False)
    # The label map keeps order and colors; VOC has no label ids, so they are 0-based positions.
    assert dataset["labels"] == [
        {"id": 0, "name": "background", "kind": "shape", "color": "#000000"},
        {"id": 1, "name": "cat", "kind": "shape", "color": "#ff0000"},
        {"id": 2, "name": "dog", "kind": "shape", "color": "#008000"},
        {"id": 3, "name": "road", "kind": "shape", "color": "#808000"},
        {"id": 4, "name": "blurry", "kind": "tag", "color": "#000080"},
    ]
    assert get_format("voc").find_image(voc, items["b.png"]) == voc / "JPEGImages" / "b.jpg"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("photos/a.jpg", "photos__a"),
        ("été photos/b c.jpeg", "été photos__b c"),
        ("no_extension", "no_extension"),
        ("a/b/c.d.png", "a__b__c.d"),
    ],
)
def test_voc_ids_from_paths(path, expected):
    assert voc_id_for(path) == expected


def test_colliding_ids_get_a_suffix(tmp_path, dataset):
    dataset["items"][1]["path"] = "photos__a.png"  # also becomes photos__a
    export_dataset("voc", dataset, tmp_path)
    assert sorted(p.name for p in (tmp_path / "Annotations").iterdir()) == [
        "empty.xml",
        "photos__a.xml",
        "photos__a_2.xml",
    ]


@pytest.mark.parametrize(("value", "shown"), [("nan", "'nan'"), ("inf", "'inf'"), ("1e999", "'1e999'"), ("12px", "'12px'")])
def test_a_bndbox_value_that_is_not_a_finite_number_is_an_error_naming_file_and_object(voc_root, tmp_path, value, shown):
    root, _ = voc_root
    voc = root / "VOCdevkit" / "VOC2012"
    xml = voc / "Annotations" / "photos__a.xml"
    # The second object's xmin; the first object stays readable.
    text = xml.read_text("utf-8").replace("<xmin>16</xmin>", f"<xmin>{value}</xmin>")
    xml.write_text(text, "utf-8")
    with pytest.raises(FormatError) as raised:
        import_dataset("voc", voc)
    assert str(raised.value) == f"{xml}: object 2: bndbox <xmin> {shown} is not a finite number"
    # Through the command line: exit 1, one line on stderr, nothing written.
    done = CliRunner().invoke(convert, ["--from", "voc", "--to", "coco", str(voc), str(tmp_path / "out")])
    assert done.exit_code == 1 and done.stderr.strip() == f"Error: {xml}: object 2: bndbox <xmin> {shown} is not a finite number"
    assert not (tmp_path / "out").exists()


def test_a_size_that_is_not_a_finite_number_falls_back_to_the_image(voc_root):
    root, _ = voc_root
    voc = root / "VOCdevkit" / "VOC2012"
    xml = voc / "Annotations" / "photos__a.xml"
    xml.write_text(xml.read_text("utf-8").replace("<width>20</width>", "<width>inf</width>"), "utf-8")
    dataset, _ = import_dataset("voc", voc)
    item = next(item for item in dataset["items"] if item["path"] == "photos/a.jpg")
    assert (item["width"], item["height"]) == (20, 10)  # from JPEGImages/photos__a.jpg
