"""VOC: background and void classes whatever the label map calls them, instance indices, label losses.

Class 0 is the background (``background`` in VOC's map, ``_background_`` in labelme2voc's
``class_names.txt``), 255 is void (labelme's ``__ignore__``). A round trip voc -> voc gives
the segmentation PNGs back pixel for pixel; what VOC cannot hold of the labels is counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from annotate.convert_cli import convert
from annotate.converters import ConversionLossError, export_dataset, import_dataset
from annotate.converters._common import encode_mask

PNG_DIRS = ("SegmentationClass", "SegmentationObject")


def pngs(root: Path) -> dict[str, np.ndarray]:
    return {f"{d}/{p.name}": np.asarray(Image.open(p)) for d in PNG_DIRS for p in sorted((root / d).glob("*.png"))}


def assert_same_pngs(src: Path, out: Path) -> None:
    before, after = pngs(src), pngs(out)
    assert sorted(before) == sorted(after)
    for name, pixels in before.items():
        assert np.array_equal(pixels, after[name]), f"{name}: {int((pixels != after[name]).sum())} pixels differ"


def image_item(item_id: str, width: int, height: int, shapes: list[dict]) -> dict:
    """An item ``<item_id>.jpg`` with these shapes and no tags."""
    return {
        "id": item_id,
        "name": f"{item_id}.jpg",
        "path": f"{item_id}.jpg",
        "media": "image",
        "width": width,
        "height": height,
        "annotation": {"version": 1, "tags": [], "shapes": shapes},
    }


def save_png(path: Path, indices: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    png = Image.fromarray(indices.astype(np.uint8), mode="P")
    png.putpalette([0] * 768)
    png.save(path)


def test_labelme2voc_folder_round_trips_pixel_for_pixel(corpus, tmp_path):
    src = corpus / "labelme/instance_segmentation/data_dataset_voc"
    dataset, report = import_dataset("voc", src)
    assert report.lossless
    out = tmp_path / "voc"
    report = export_dataset("voc", dataset, out, strict=True)
    assert report.lossless
    # _background_ (line 0 of class_names.txt) stays class 0: person 15, chair 9 as in the source.
    lines = (out / "labelmap.txt").read_text().splitlines()
    assert lines[1:3] == ["_background_:0,0,0::", "aeroplane:128,0,0::"]
    assert lines[16] == "person:192,128,128::" and lines[-1] == "__ignore__:224,224,192::"
    assert "background:" not in "\n".join(lines)
    assert_same_pngs(src, out)
    # 2011_000006 numbers its instances 1..5 and 7: the 7 stays 7.
    objects = np.asarray(Image.open(out / "SegmentationObject/2011_000006.png"))
    assert sorted(np.unique(objects).tolist()) == [0, 1, 2, 3, 4, 5, 7]
    # The void pixels (9,460 and 909) are kept as masks of the void label.
    classes = np.asarray(Image.open(out / "SegmentationClass/2011_000003.png"))
    assert int((classes == 255).sum()) == 9460
    again, report = import_dataset("voc", out)
    assert report.lossless
    assert [label["name"] for label in again["labels"]] == [label["name"] for label in dataset["labels"]]


def test_labelme2voc_folder_through_the_cli_strict(corpus, tmp_path):
    src = corpus / "labelme/instance_segmentation/data_dataset_voc"
    result = CliRunner().invoke(convert, ["--strict", "--from", "voc", "--to", "voc", str(src), str(tmp_path / "v1")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(convert, ["--strict", "--from", "voc", "--to", "voc", str(tmp_path / "v1"), str(tmp_path / "v2")])
    assert result.exit_code == 0, result.output
    assert_same_pngs(src, tmp_path / "v1")
    assert_same_pngs(src, tmp_path / "v2")
    assert (tmp_path / "v1/labelmap.txt").read_text() == (tmp_path / "v2/labelmap.txt").read_text()


def _segmentation_folder(root: Path, class_names: str, classes: np.ndarray, objects: np.ndarray | None) -> Path:
    (root / "class_names.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "class_names.txt").write_text(class_names)
    save_png(root / "SegmentationClass/x.png", classes)
    if objects is not None:
        save_png(root / "SegmentationObject/x.png", objects)
    return root


def test_void_in_both_pngs_comes_back_in_both(tmp_path):
    classes = np.array([[1, 1, 255, 2], [1, 1, 255, 2], [0, 0, 0, 0]])
    objects = np.array([[1, 1, 255, 3], [1, 1, 255, 3], [0, 0, 0, 0]])  # instance 2 is missing
    src = _segmentation_folder(tmp_path / "src", "__ignore__\n_background_\ncat\ndog\n", classes, objects)
    dataset, report = import_dataset("voc", src)
    assert report.lossless
    # __ignore__ is void, not class 0: _background_ is class 0, cat 1, dog 2.
    masks = {shape["id"]: shape for shape in dataset["items"][0]["annotation"]["shapes"]}
    assert {key: (m["label"], m.get("group")) for key, m in masks.items()} == {
        "obj1-mask": ("cat", None),
        "obj3-mask": ("dog", 3),  # an export would number it 2: it keeps its index as its group
        "void-mask": ("__ignore__", 255),  # void in SegmentationObject too
    }
    out = tmp_path / "out"
    assert export_dataset("voc", dataset, out, strict=True).lossless
    assert_same_pngs(src, out)


def test_void_only_in_segmentation_object_is_counted(tmp_path):
    classes = np.array([[1, 1, 0], [1, 1, 0]])
    objects = np.array([[1, 255, 255], [1, 1, 0]])
    src = _segmentation_folder(tmp_path / "src", "_background_\ncat\n", classes, objects)
    dataset, report = import_dataset("voc", src)
    assert [(kind, count) for (kind, _), count in report.lost.items()] == [("void pixel", 2)]
    out = tmp_path / "out"
    export_dataset("voc", dataset, out)
    after = pngs(out)
    # The class survives; SegmentationObject differs exactly at the 2 pixels counted.
    assert np.array_equal(after["SegmentationClass/x.png"], classes)
    assert int((after["SegmentationObject/x.png"] != objects).sum()) == 2


def test_a_background_line_of_any_name_stays_class_0(tmp_path):
    root = tmp_path / "src"
    (root).mkdir()
    (root / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbg:0,0,0::\ncat:255,0,0::\n")
    classes = np.array([[1, 0], [0, 1]])
    save_png(root / "SegmentationClass/x.png", classes)
    dataset, _ = import_dataset("voc", root)
    out = tmp_path / "out"
    assert export_dataset("voc", dataset, out, strict=True).lossless
    assert (out / "labelmap.txt").read_text().splitlines()[1:3] == ["bg:0,0,0::", "cat:255,0,0::"]
    assert np.array_equal(pngs(out)["SegmentationClass/x.png"], classes)


def test_a_native_ignore_region_is_void_in_segmentation_class_only(tmp_path):
    """A labelme-style __ignore__ mask: 255 in SegmentationClass, as labelme2voc writes it."""
    void = np.zeros((2, 3), dtype=np.uint8)
    void[:, 2] = 1
    human = {"type": "human"}
    dataset = {
        "version": 1,
        "labels": [{"id": 1, "name": "cat", "kind": "shape"}, {"id": 2, "name": "__ignore__", "kind": "shape"}],
        "items": [
            image_item(
                "x",
                3,
                2,
                [
                    {"id": "c", "type": "polygon", "label": "cat", "rings": [[0, 0, 2, 0, 2, 2, 0, 2]], "source": human},
                    {"id": "v", "type": "mask", "label": "__ignore__", "rle": encode_mask(void), "source": human},
                ],
            )
        ],
    }
    export_dataset("voc", dataset, tmp_path, strict=True)
    written = pngs(tmp_path)
    assert written["SegmentationClass/x.png"].tolist() == [[1, 1, 255], [1, 1, 255]]
    assert written["SegmentationObject/x.png"].tolist() == [[1, 1, 0], [1, 1, 0]]
    assert (tmp_path / "labelmap.txt").read_text().splitlines()[1:] == ["background:0,0,0::", "cat:128,0,0::", "__ignore__:224,224,192::"]


def labelled_dataset() -> dict:
    shape = {"id": "1", "type": "bbox", "label": "p", "bbox": [1, 1, 2, 2], "source": {"type": "human"}}
    return {
        "version": 1,
        "labels": [
            {
                "id": 1,
                "name": "p",
                "kind": "shape",
                "color": "#ff0000",
                "attributes": [{"name": "kind", "type": "select", "values": ["a", "b"]}, {"name": "jumping", "type": "checkbox"}],
            },
            {"id": 2, "name": "pose", "kind": "shape", "keypoints": ["a", "b"], "skeleton": [[0, 1]]},
            {"id": 3, "name": "t", "kind": "tag"},
            {"id": 4, "name": "hand", "kind": "shape", "parent": "nowhere"},
        ],
        "items": [image_item("a", 10, 10, [shape])],
    }


def test_label_metadata_voc_cannot_hold_is_counted_and_the_rest_comes_back(tmp_path):
    report = export_dataset("voc", labelled_dataset(), tmp_path / "out")
    assert dict(report.lost) == {
        ("label attribute", "labelmap.txt declares only checkbox attributes (as actions) of labels that are not parts"): 1,
        ("label skeleton", "VOC has no keypoint skeletons"): 1,
        (
            "label parent",
            "labelmap.txt lists parts of written labels only, and no background, void or comma-named parts",
        ): 1,
    }
    with pytest.raises(ConversionLossError):
        export_dataset("voc", labelled_dataset(), tmp_path / "strict", strict=True)
    again, report = import_dataset("voc", tmp_path / "out")
    assert report.lossless
    labels = {label["name"]: label for label in again["labels"]}
    # The unused tag label t comes back as a tag label, from its per-class list (all -1).
    assert (tmp_path / "out/ImageSets/Main/t_trainval.txt").read_text() == "a -1\n"
    assert {name: label["kind"] for name, label in labels.items()} == {"p": "shape", "pose": "shape", "hand": "shape", "t": "tag"}
    assert labels["p"]["color"] == "#ff0000" and labels["p"]["attributes"] == [{"name": "jumping", "type": "checkbox"}]


def test_an_unused_tag_label_without_items_is_counted(tmp_path):
    dataset = labelled_dataset()
    dataset["labels"] = [{"id": 3, "name": "t", "kind": "tag"}]
    dataset["items"] = []
    report = export_dataset("voc", dataset, tmp_path)
    assert [kind for kind, _ in report.lost] == ["label"]


def test_two_void_shapes_of_an_item_are_noted_as_merged(tmp_path):
    human = {"type": "human"}
    rings = ([[0, 0, 1, 0, 1, 1, 0, 1]], [[2, 0, 3, 0, 3, 1, 2, 1]])
    shapes = [{"id": f"v{n}", "type": "polygon", "label": "__ignore__", "rings": ring, "source": human} for n, ring in enumerate(rings)]
    dataset = {
        "version": 1,
        "labels": [{"id": 1, "name": "__ignore__", "kind": "shape"}],
        "items": [image_item("x", 3, 1, shapes)],
    }
    report = export_dataset("voc", dataset, tmp_path, strict=True)
    assert "__ignore__ shapes merged into their item's void region (VOC void is pixels, not instances): 1" in report.notes
    assert pngs(tmp_path)["SegmentationClass/x.png"].tolist() == [[255, 0, 255]]
    again, _ = import_dataset("voc", tmp_path)
    assert [shape["label"] for shape in again["items"][0]["annotation"]["shapes"]] == ["__ignore__"]
