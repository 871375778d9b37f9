"""An annotation's own ``bbox`` is kept where the schema can hold it, and counted where it cannot.

* a mask shape carries the annotation's ``bbox`` and writes it back unchanged;
* a keypoints shape carries it too: a segmentation + keypoints annotation comes back with
  its own box, not the union of its parts;
* a polygon has no box: a ``bbox`` that differs from its polygon's extent (after clipping,
  by more than 0.01 px) is counted as lost, one with no area inside the image too.

Box-only annotations are written with ``"segmentation": []`` (see the module docstring of
``annotate/converters/coco.py``): what COCO writers of box-only ground truth give (CVAT,
Datumaro, Roboflow), what Detectron2 and MMDetection read as "no mask" (``if segm:``),
and what pycocotools evaluates boxes against.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pycocotools.cocoeval import COCOeval

from annotate.converters import export_dataset, import_dataset
from annotate.converters.geometry import HUMAN
from tests.converters.coco_files import load_coco, write_json

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

POLYGON_BOX = (
    "1 box dropped: a COCO polygon annotation's bbox that differs from its polygon's extent is not kept (a polygon shape has no box)"
)


def one_item(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    """A dataset of one 20x20 item with ``shapes`` and one shape label ``x`` (id 1)."""
    item = {"id": "a", "name": "a.jpg", "path": "a.jpg", "media": "image", "width": 20, "height": 20}
    annotation = {"version": 1, "tags": [], "shapes": shapes}
    return {"version": 1, "labels": [{"id": 1, "name": "x", "kind": "shape"}], "items": [{**item, "annotation": annotation}]}


def coco(annotations: list[dict[str, Any]], *, keypoints: bool = False, size: int = 100) -> dict[str, Any]:
    category: dict[str, Any] = {"id": 1, "name": "x"}
    if keypoints:
        category |= {"keypoints": ["a", "b"], "skeleton": [[1, 2]]}
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": size, "height": size}],
        "categories": [category],
        "annotations": [{"id": number, "image_id": 1, "category_id": 1, "iscrowd": 0, **a} for number, a in enumerate(annotations, 1)],
    }


def coco_to_coco(tmp_path: Path, doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Write ``doc``, convert it COCO -> COCO; return the written annotations and both reports' lines."""
    src = write_json(tmp_path / "in.json", doc)
    dataset, imported = import_dataset("coco", src)
    exported = export_dataset("coco", dataset, tmp_path / "out")
    written = load_coco(tmp_path / "out/annotations/instances_default.json")
    return [written.anns[number] for number in sorted(written.anns)], imported.lines(), exported.lines()


# -- a polygon and an RLE mask whose own bboxes differ from their extents ---------------------


def test_a_polygon_box_is_counted_and_a_mask_box_is_kept(tmp_path):
    doc = coco(
        [
            {"segmentation": [[10, 10, 20, 10, 20, 20]], "bbox": [5, 5, 30, 30], "area": 50},
            {"segmentation": {"size": [100, 100], "counts": [0, 5, 95]}, "bbox": [50, 50, 10, 10], "area": 5, "iscrowd": 1},
        ]
    )
    (polygon, mask), imported, exported = coco_to_coco(tmp_path, doc)
    # The polygon's box is its extent: the file's [5, 5, 30, 30] could not be kept, and says so.
    assert polygon["bbox"] == [10.0, 10.0, 10.0, 10.0]
    assert imported == [POLYGON_BOX]
    # The mask's own box comes back unchanged (the RLE's extent is [0, 0, 1, 5]).
    assert mask["bbox"] == [50.0, 50.0, 10.0, 10.0]
    assert exported == []


def test_the_mask_shape_carries_the_annotation_box(tmp_path):
    # Datumaro's corpus case: the mask covers columns 0-1, rows 0-9 ([0, 0, 2, 10]); its box says [0, 0, 1, 9].
    mask = {"size": [100, 100], "counts": [0, 10, 90, 10, 9890]}
    src = write_json(tmp_path / "in.json", coco([{"segmentation": mask, "bbox": [0, 0, 1, 9]}]))
    dataset, report = import_dataset("coco", src)
    (mask,) = dataset["items"][0]["annotation"]["shapes"]
    assert (mask["type"], mask["bbox"]) == ("mask", [0.0, 0.0, 1.0, 9.0])
    assert report.lines() == []


def test_a_mask_without_a_box_gets_its_extent(tmp_path):
    (mask,), imported, _ = coco_to_coco(tmp_path, coco([{"segmentation": {"size": [100, 100], "counts": [0, 5, 95]}}]))
    assert mask["bbox"] == [0.0, 0.0, 1.0, 5.0]
    assert imported == []


@pytest.mark.parametrize(
    ("bbox", "lines"),
    [
        ([10.004, 9.996, 10.0, 10.008], []),  # rounding: the polygon's extent is written
        ([10, 10, 11, 11], []),  # the rasterised polygon's whole pixels (labelme2coco, COCO Annotator)
        ([10, 10, 10, 11.5], [POLYGON_BOX]),
        ([5, 10, 15, 10], [POLYGON_BOX]),
        ([0, 0, 0, 0], ["1 box dropped: a COCO annotation's bbox with no area inside the image is not kept"]),
        (None, []),
    ],
)
def test_a_polygon_box_is_compared_with_its_extent(tmp_path, bbox, lines):
    annotation: dict[str, Any] = {"segmentation": [[10, 10, 20, 10, 20, 20, 10, 20]]}
    if bbox is not None:
        annotation["bbox"] = bbox
    (written,), imported, _ = coco_to_coco(tmp_path, coco([annotation]))
    assert written["bbox"] == [10.0, 10.0, 10.0, 10.0]
    assert imported == lines


def test_a_polygon_box_cut_to_the_image_is_counted_as_clipped(tmp_path):
    annotation = {"segmentation": [[-5, 0, 10, 0, 10, 10, -5, 10]], "bbox": [-5, 0, 15, 10]}
    (written,), imported, _ = coco_to_coco(tmp_path, coco([annotation], size=20))
    assert written["bbox"] == [0.0, 0.0, 10.0, 10.0]
    assert imported == ["1 box clipped to the image"]


# -- segmentation + keypoints: one annotation, its own box ------------------------------


@pytest.mark.parametrize(
    "segmentation",
    [
        [[0, 0, 2, 0, 2, 10, 0, 10]],  # extent [0, 0, 2, 10]
        {"size": [20, 20], "counts": [0, 10, 10, 10, 370]},  # columns 0 and 1, rows 0-9: extent [0, 0, 2, 10]
    ],
    ids=["polygon", "mask"],
)
def test_segmentation_and_keypoints_keep_the_annotation_box(tmp_path, segmentation):
    annotation = {"segmentation": segmentation, "bbox": [0, 0, 1, 9], "keypoints": [1, 1, 2, 0, 0, 0], "num_keypoints": 1}
    src = write_json(tmp_path / "in.json", coco([annotation], keypoints=True, size=20))
    dataset, imported = import_dataset("coco", src)
    assert imported.lines() == []
    kinds = {shape["type"]: shape for shape in dataset["items"][0]["annotation"]["shapes"]}
    assert kinds["keypoints"]["bbox"] == [0.0, 0.0, 1.0, 9.0]
    # COCO -> native -> COCO -> native -> COCO: the box stays the file's, never the union [0, 0, 2, 10].
    for round_number in range(2):
        exported = export_dataset("coco", dataset, tmp_path / f"out{round_number}")
        assert exported.lines() == []
        (written,) = load_coco(tmp_path / f"out{round_number}/annotations/instances_default.json").anns.values()
        assert written["bbox"] == [0.0, 0.0, 1.0, 9.0]
        assert written["keypoints"] == [1, 1, 2, 0, 0, 0]
        dataset, imported = import_dataset("coco", tmp_path / f"out{round_number}")
        assert imported.lines() == []


def test_a_group_mask_box_that_differs_from_the_keypoints_box_is_counted(tmp_path):
    rle = {"size": [20, 20], "counts": [0, 10, 390]}
    shapes = [
        {"id": "m", "type": "mask", "label": "x", "rle": rle, "bbox": [0.0, 0.0, 1.0, 10.0], "group": 1, "source": HUMAN},
        {"id": "k", "type": "keypoints", "label": "x", "keypoints": [0, 1, 2], "bbox": [0.0, 0.0, 3.0, 10.0], "group": 1, "source": HUMAN},
    ]
    dataset = one_item(shapes)
    report = export_dataset("coco", dataset, tmp_path / "out")
    (written,) = load_coco(tmp_path / "out/annotations/instances_default.json").anns.values()
    assert written["bbox"] == [0.0, 0.0, 3.0, 10.0]
    assert report.lines() == [
        "1 box dropped: a COCO annotation has one box: a grouped mask's box that differs from its keypoints shape's box is not kept"
    ]


@pytest.mark.parametrize(
    ("bbox", "kept", "lines"),
    [
        ([-2, 0, 10, 10], [0.0, 0.0, 8.0, 10.0], ["1 box clipped to the image"]),
        ([0, 0, 0, 0], None, ["1 box dropped: a COCO annotation's bbox with no area inside the image is not kept"]),
    ],
)
def test_a_keypoints_box_that_changes_is_counted(tmp_path, bbox, kept, lines):
    annotation = {"bbox": bbox, "keypoints": [1, 1, 2, 3, 3, 2], "num_keypoints": 2, "segmentation": []}
    dataset, report = import_dataset("coco", write_json(tmp_path / "in.json", coco([annotation], keypoints=True, size=20)))
    (shape,) = dataset["items"][0]["annotation"]["shapes"]
    assert (shape["type"], shape.get("bbox")) == ("keypoints", kept)
    assert report.lines() == lines


# -- the corpus: COCO -> COCO gives every box back --------------------------------------

CORPUS_COCO = [
    "datumaro/coco/coco",
    "datumaro/coco/coco_instances",
    "datumaro/coco/coco_person_keypoints",
    "datumaro/coco/coco_stuff",
    "datumaro/coco/coco_roboflow/train",
    "datumaro/coco/coco_roboflow/val",
    "datumaro/coco/mmdet_coco",
    "datumaro/roboflow/coco/train",
]


def boxes_by_image(coco_file: Path) -> dict[str, list[list[float]]]:
    loaded = load_coco(coco_file)
    names = {image["id"]: image["file_name"] for image in loaded.dataset["images"]}
    result: dict[str, list[list[float]]] = {}
    for annotation in loaded.dataset["annotations"]:
        result.setdefault(names[annotation["image_id"]], []).append([float(value) for value in annotation["bbox"]])
    return {name: sorted(boxes) for name, boxes in result.items()}


@pytest.mark.parametrize("folder", CORPUS_COCO)
def test_corpus_coco_round_trips_with_identical_boxes(tmp_path, corpus, folder):
    from annotate.converters.coco import _annotation_files

    src = corpus / folder
    dataset, imported = import_dataset("coco", src)
    assert not [line for line in imported.lines() if "box" in line]
    export_dataset("coco", dataset, tmp_path / "out")
    written = dict(_annotation_files(tmp_path / "out", check_content=False))
    for subset, file in _annotation_files(src, check_content=False):
        assert boxes_by_image(written[subset]) == boxes_by_image(file), subset


# -- box-only annotations -----------------------------------------------------------------


def test_box_only_annotations_have_an_empty_segmentation_and_evaluate(tmp_path):
    shapes = [
        {"id": "b1", "type": "bbox", "label": "x", "bbox": [1.0, 1.0, 4.0, 4.0], "source": HUMAN},
        {"id": "b2", "type": "bbox", "label": "x", "bbox": [10.0, 10.0, 5.0, 6.0], "source": HUMAN, "occluded": True},
    ]
    dataset = one_item(shapes)
    export_dataset("coco", dataset, tmp_path / "out")
    gt_file = tmp_path / "out/annotations/instances_default.json"
    raw = json.loads(gt_file.read_text())
    # Box-only: "segmentation": [] (the plain path and the general one alike), never a made-up polygon.
    assert [annotation["segmentation"] for annotation in raw["annotations"]] == [[], []]
    gt = load_coco(gt_file)
    with contextlib.redirect_stdout(io.StringIO()):
        detections = gt.loadRes([{"image_id": 1, "category_id": 1, "bbox": bbox, "score": 0.9} for bbox in ([1, 1, 4, 4], [10, 10, 5, 6])])
        evaluation = COCOeval(gt, detections, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)
    # A box has no mask: pycocotools cannot make one of it ([] and a missing key both fail there).
    with pytest.raises(IndexError):
        gt.annToMask(gt.anns[1])
    # And back: boxes, not polygons.
    again, report = import_dataset("coco", tmp_path / "out")
    assert [(shape["type"], shape["bbox"]) for shape in again["items"][0]["annotation"]["shapes"]] == [
        ("bbox", [1.0, 1.0, 4.0, 4.0]),
        ("bbox", [10.0, 10.0, 5.0, 6.0]),
    ]
    assert report.lines() == []
