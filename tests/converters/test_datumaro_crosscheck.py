"""Our COCO and VOC output, read back by Datumaro 1.13, holds the same annotations.

(CVAT, CVAT-video and YOLO have the same check in their own test modules.)
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from annotate.converters import export_dataset
from tests.converters.contract import box_dataset

dm = pytest.importorskip("datumaro", reason="Datumaro is in the test extra: pip install -e '.[test]'")


def _images(item):
    buffer = io.BytesIO()
    Image.new("RGB", (item["width"], item["height"]), (40, 80, 120)).save(buffer, "PNG")
    return buffer.getvalue(), ".png"


def _ours(dataset) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    return {
        item["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]: sorted(
            (s["label"], tuple(float(v) for v in s["bbox"])) for s in item["annotation"]["shapes"]
        )
        for item in dataset["items"]
    }


def _theirs(dm_dataset) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    labels = dm_dataset.categories()[dm.AnnotationType.label]
    result = {}
    for item in dm_dataset:
        boxes = [a for a in item.annotations if a.type == dm.AnnotationType.bbox]
        key = item.id.rsplit("/", 1)[-1].replace("street__", "")
        result[key] = sorted((labels[b.label].name, tuple(float(v) for v in b.get_bbox())) for b in boxes)
    return result


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_datumaro_reads_our_coco(tmp_path):
    dataset = box_dataset()
    export_dataset("coco", dataset, tmp_path / "coco", images=_images)
    theirs = dm.Dataset.import_from(str(tmp_path / "coco"), "coco_instances")
    assert _theirs(theirs) == _ours(dataset)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_datumaro_reads_our_voc(tmp_path):
    dataset = box_dataset()
    export_dataset("voc", dataset, tmp_path / "voc", images=_images)
    theirs = dm.Dataset.import_from(str(tmp_path / "voc"), "voc_detection")
    # We write the devkit's 1-based inclusive corners: xmin = x + 1, xmax = x + w. Datumaro
    # reads xmin..xmax as a 0-based half-open range (x = xmin, w = xmax - xmin), so every box
    # it reads is ours moved by one pixel and one pixel smaller: the same file, read two ways.
    shifted = {key: [(label, (x + 1, y + 1, w - 1, h - 1)) for label, (x, y, w, h) in boxes] for key, boxes in _ours(dataset).items()}
    assert _theirs(theirs) == shifted
