"""Exports write plain boxes (id, type, label, bbox, source only) from templates; the bytes are the general path's.

Each test compares the template's output with the general code it stands in for, on random
boxes inside, touching and crossing the image border, with integer and float coordinates.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from annotate.converters import coco, export_dataset, voc, yolo
from annotate.converters._yolo_common import box_line, format_number
from annotate.converters.geometry import clip_bbox
from annotate.converters.report import ConversionReport
from schemas import SchemaError

WIDTH, HEIGHT = 640, 480


def _random_box(rng: random.Random) -> list[float]:
    kind = rng.random()
    if kind < 0.2:
        return [rng.randint(0, 600), rng.randint(0, 400), rng.randint(1, 40), rng.randint(1, 80)]
    if kind < 0.3:  # touching the right and bottom edges exactly
        w, h = round(rng.uniform(1, 100), 2), round(rng.uniform(1, 100), 2)
        return [WIDTH - w, HEIGHT - h, w, h]
    if kind < 0.4:  # crossing the border: the general path clips
        return [rng.uniform(-20, 630), rng.uniform(-20, 470), rng.uniform(1, 50), rng.uniform(1, 50)]
    if kind < 0.5:  # tiny and half-pixel boxes, where rounding matters
        return [rng.randint(0, 600) + 0.5, rng.randint(0, 400) - 0.5 + 1, rng.choice([1e-9, 0.5, 1.5]), 0.5]
    return [round(rng.uniform(0, 500), 2), round(rng.uniform(0, 400), 2), round(rng.uniform(1, 100), 2), round(rng.uniform(1, 60), 2)]


def _item(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "a",
        "name": "a.jpg",
        "path": "a.jpg",
        "media": "image",
        "width": WIDTH,
        "height": HEIGHT,
        "annotation": {"version": 1, "tags": [], "shapes": shapes},
    }


def _plain(index: int, bbox: list[float], label: str = "car") -> dict[str, Any]:
    return {"id": f"s{index}", "type": "bbox", "label": label, "bbox": bbox, "source": {"type": "human"}}


@pytest.fixture
def boxes() -> list[list[float]]:
    rng = random.Random(7)
    return [_random_box(rng) for _ in range(400)]


def test_yolo_lines_equal_box_line(boxes):
    classes = {"car": 0, "a & b": 1}
    shapes = [_plain(n, bbox, "car" if n % 2 else "a & b") for n, bbox in enumerate(boxes)]
    expected = []
    for shape in shapes:
        bbox, _ = clip_bbox(shape["bbox"], WIDTH, HEIGHT)
        if bbox is not None:
            expected.append(box_line(classes[shape["label"]], bbox, WIDTH, HEIGHT) + "\n")
    assert yolo._item_lines(_item(shapes), classes, ConversionReport()) == "".join(expected)
    # Worked out by hand: [64, 48, 128, 96] in 640x480 is centered at (0.2, 0.2), 0.2 by 0.2.
    assert yolo._item_lines(_item([_plain(0, [64, 48, 128, 96])]), classes, ConversionReport()) == "0 0.200000 0.200000 0.200000 0.200000\n"


def test_voc_objects_equal_object_xml(boxes):
    shapes = [_plain(n, bbox, "a < b" if n % 3 == 0 else "car") for n, bbox in enumerate(boxes)]
    parts: list[str] = []
    for shape in shapes:
        bbox, _ = clip_bbox(shape["bbox"], WIDTH, HEIGHT)
        if bbox is not None:
            voc._object_xml(parts, shape, bbox)
    text = voc._item_xml(_item(shapes), "a", ConversionReport()).decode("utf-8")
    assert text[text.index("  <object>") : text.rindex("</annotation>")] == "".join(parts)
    # Worked out by hand: pixels 0..9 by 0..4 are xmin 1, xmax 10, ymin 1, ymax 5.
    one = voc._item_xml(_item([_plain(0, [0, 0, 10, 5])]), "a", ConversionReport()).decode("utf-8")
    assert "<xmin>1</xmin>\n      <ymin>1</ymin>\n      <xmax>10</xmax>\n      <ymax>5</ymax>" in one


def _dataset(items: list[dict[str, Any]]) -> dict[str, Any]:
    labels = [{"id": 5, "name": "car", "kind": "shape"}, {"id": 1000, "name": "a < b", "kind": "shape"}]
    return {"version": 1, "labels": labels, "items": items}


def _items(boxes: list[list[float]], subsets: list[str]) -> list[dict[str, Any]]:
    items = []
    for index in range(0, len(boxes), 20):
        item = _item([_plain(n, bbox, "car" if n % 2 else "a < b") for n, bbox in enumerate(boxes[index : index + 20])])
        extra = [
            {"id": "p", "type": "polygon", "label": "car", "rings": [[0, 0, 4, 0, 4, 4, 0, 4]], "source": {"type": "human"}},
            {**_plain(99, [1, 2, 3, 4]), "attributes": {"color": "red"}, "occluded": True},
        ]
        item["annotation"]["shapes"] += extra if index % 40 == 0 else []
        items.append({**item, "id": f"i{index}", "path": f"d/{index}.jpg", "subset": subsets[(index // 20) % len(subsets)]})
    return items


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("subsets", [["train"], ["train", "val"]], ids=["one subset", "subsets apart"])
def test_coco_stream_equals_whole_document(tmp_path, boxes, subsets):
    items = _items(boxes, subsets)
    report = export_dataset("coco", _dataset(items), tmp_path / "out")
    # The whole documents, built as the exporter built them before it streamed: orjson's bytes.
    whole: dict[str, Any] = {}
    annotation_id = 0
    for image_id, item in enumerate(items, start=1):
        document = whole.setdefault(
            item["subset"],
            {"info": coco._INFO, "licenses": [], "categories": [], "images": [], "annotations": []},
        )
        document["images"].append({"id": image_id, "file_name": item["path"], "width": WIDTH, "height": HEIGHT})
        for shape in item["annotation"]["shapes"]:
            annotation = coco._shape_to_annotation(shape, item, ConversionReport())
            if annotation is not None:
                annotation_id += 1
                category = 5 if shape["label"] == "car" else 1000
                document["annotations"].append({"id": annotation_id, "image_id": image_id, "category_id": category, **annotation})
    for subset, document in whole.items():
        document["categories"] = [
            {"id": 5, "name": "car", "supercategory": ""},
            {"id": 1000, "name": "a < b", "supercategory": ""},
        ]
        assert (tmp_path / "out" / "annotations" / f"instances_{subset}.json").read_bytes() == orjson.dumps(document)
    assert report.lines()[0].endswith("boxes clipped to the image")


def test_coco_export_refuses_a_non_finite_box_and_writes_nothing(tmp_path, boxes):
    items = _items(boxes[:60], ["train"])
    items[1]["annotation"]["shapes"][0]["bbox"] = [float("nan"), 1.0, 2.0, 3.0]
    # JSON has no NaN: orjson would write null and json the non-standard NaN token.
    with pytest.raises(SchemaError, match=r"items/1/annotation/shapes/0/bbox/0: NaN is not a finite number"):
        export_dataset("coco", _dataset(items), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_yolo_trailing_zero_cut_equals_format_number():
    rng = random.Random(3)
    values = [0.0, 1.0, 0.2, 0.5, 0.125, 0.1234567, 0.123456789, 1e-7, 5e-13, 0.999999999999, 0.1000001]
    values += [rng.randint(0, 640) / 640 for _ in range(200)] + [rng.random() for _ in range(200)]
    text = "".join(f"{index % 100} {value:.12f} {1 - value:.12f}\n" for index, value in enumerate(values))
    expected = "".join(f"{index % 100} {format_number(value)} {format_number(1 - value)}\n" for index, value in enumerate(values))
    assert yolo._TRAILING_ZEROS.sub("", text) == expected
    assert yolo._TRAILING_ZEROS.sub("", "10 0.100000000000 0.123456789000\n") == "10 0.100000 0.123456789\n"


def test_yolo_plain_item_texts_equal_item_lines(boxes, monkeypatch):
    classes = {"car": 0, "a & b": 1}
    items = [_item([_plain(n, bbox, "car" if n % 2 else "a & b")]) for n, bbox in enumerate(boxes)]
    items.append(_item([]))  # no shapes: an empty file
    items.append({**_item([_plain(0, [1, 2, 3, 4])]), "annotation": {"version": 1, "tags": [{"id": "t", "label": "car"}], "shapes": []}})
    items.append(_item([_plain(0, [1, 2, 3, 4]), {**_plain(1, [5, 6, 7, 8]), "occluded": True}]))
    items.append(_item([_plain(0, [1, 2, 3, 4]), _plain(1, [630, 6, 20, 8])]))  # the second box is clipped
    items.append(_item([_plain(n, bbox) for n, bbox in enumerate(boxes[:50]) if clip_bbox(bbox, WIDTH, HEIGHT)[1] is False]))
    texts = list(yolo._plain_item_texts(items, classes))
    monkeypatch.setattr(yolo, "_GROUP_BOXES", 7)  # many groups, cut inside the multi-box items too
    assert list(yolo._plain_item_texts(items, classes)) == texts
    for item, text in zip(items, texts, strict=True):
        if text is not None:
            assert text == yolo._item_lines(item, classes, ConversionReport()).encode()
    # By hand: a box crossing the border, a tag, an extra key or a clipped box leave the item to _item_lines.
    crossing = [n for n, bbox in enumerate(boxes) if clip_bbox(bbox, WIDTH, HEIGHT)[1] or clip_bbox(bbox, WIDTH, HEIGHT)[0] is None]
    assert crossing and [n for n, text in enumerate(texts[: len(boxes)]) if text is None] == crossing
    assert texts[len(boxes)] == b""
    assert texts[len(boxes) + 1 : len(boxes) + 4] == [None, None, None]
    assert texts[-1] is not None and texts[-1].count(b"\n") > 10
