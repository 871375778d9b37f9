"""The COCO importer's streamed reading and plain-box path give what the general path gives.

The reference is the importer with streaming switched off (the whole file parsed at once),
where every annotation that is not a plain box takes the general path as before. Plain
documents skip the import-time schema check, so they are checked here against jsonschema.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import pytest

import schemas
from annotate.converters import coco, import_dataset
from annotate.converters._json_stream import ArrayStream, NotStreamable
from annotate.converters.geometry import HUMAN
from schemas import validate_dataset


def _write(root: Path, doc: Any, **dump: Any) -> Path:
    (root / "annotations").mkdir(parents=True)
    text = doc if isinstance(doc, str) else json.dumps(doc, **dump)
    (root / "annotations" / "instances_train.json").write_text(text, "utf-8")
    return root


def _coco(annotations: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "info": {"description": 'has "annotations": [ and }, { inside a string'},
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person", "supercategory": "x"}],
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
            {"id": 2, "file_name": "dir/b.jpg", "width": 100, "height": 50},
        ],
        "annotations": annotations,
        **extra,
    }


def _box(annotation_id: Any, image_id: int, bbox: list[Any], **extra: Any) -> dict[str, Any]:
    fields = {"id": annotation_id, "image_id": image_id, "category_id": 1, "bbox": bbox, "area": 1.0, "segmentation": [], "iscrowd": 0}
    return {**fields, **extra}


MIXED = [
    _box(1, 1, [0.1, 0.2, 0.2, 0.1]),  # (x + w) - x is not w in floats: w is kept exactly
    _box(2, 1, [0, 0, 640, 480]),  # ints, the whole image
    _box(3, 2, [90.5, 40.25, 9.5, 9.75]),  # touches the right and bottom edges
    _box(4, 2, [-5, 0, 10, 10]),  # clipped: general path
    _box(5, 2, [200, 0, 10, 10]),  # outside: dropped
    _box(6, 1, [1, 1, 2, 2], iscrowd=1),
    _box(7, 1, [1, 1, 2, 2], attributes={"occluded": True, "color": "red"}),
    _box(8, 1, [1, 1, 2, 2], segmentation=[[1, 1, 3, 1, 3, 3, 1, 3]]),
    _box(9, 1, [1, 1, 2, 2], keypoints=[2, 2, 2]),
    _box(1, 1, [5, 5, 2, 2]),  # the same id again in the same image: renamed coco-1_2
    _box("10", 1, [1, 1, 2, 2]),  # a string id: general path, same shape
    _box(11, 99, [1, 1, 2, 2]),  # an unknown image
    {**_box(12, 1, [1, 1, 2, 2]), "category_id": 77},  # an undeclared category
    _box(14, 1, [1, 2, 3, 4], iscrowd=False, attributes={}),
    {"id": 15, "image_id": 2, "category_id": 2, "bbox": [1.5, 2.5, 3.5, 4.5]},  # no segmentation key at all
]


def _whole_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> ArrayStream:
        raise NotStreamable("switched off for the reference")

    monkeypatch.setattr(coco, "ArrayStream", refuse)


def _both(root: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int = 64) -> tuple[Any, Any]:
    """Import ``root`` streamed in tiny blocks and parsed whole; return both (dataset, report lines)."""
    finished = []
    read_streamed = coco._Reader._read_streamed

    def spy(self, *args):
        read_streamed(self, *args)
        finished.append(True)

    with monkeypatch.context() as patch:
        patch.setattr(coco, "ArrayStream", functools.partial(ArrayStream, block_bytes=block_bytes))
        patch.setattr(coco._Reader, "_read_streamed", spy)
        streamed, report = import_dataset("coco", root)
        streamed_result = (streamed, report.lines())
    assert finished == [True], "the file was not streamed"
    with monkeypatch.context() as patch:
        _whole_file(patch)
        whole, report = import_dataset("coco", root)
        whole_result = (whole, report.lines())
    return streamed_result, whole_result


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and floats never equal to ints (1.0 and 1 differ in JSON)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("block_bytes", [16, 64, 1000, 1 << 20])
def test_streamed_import_equals_whole_file_import(tmp_path, monkeypatch, block_bytes):
    root = _write(tmp_path / "in", _coco(MIXED), indent=2)
    (streamed, streamed_lines), (whole, whole_lines) = _both(root, monkeypatch, block_bytes)
    assert _same(streamed, whole)
    assert streamed_lines == whole_lines
    shapes = {shape["id"]: shape for item in streamed["items"] for shape in item["annotation"]["shapes"]}
    # An unclipped box keeps the file's numbers: (0.1 + 0.2) - 0.1 would be 0.20000000000000004.
    assert shapes["coco-1"]["bbox"] == [0.1, 0.2, 0.2, 0.1]
    assert shapes["coco-1_2"]["bbox"] == [5.0, 5.0, 2.0, 2.0]
    whole_image = {"id": "coco-2", "type": "bbox", "bbox": [0.0, 0.0, 640.0, 480.0], "label": "car", "source": {"type": "human"}}
    assert shapes["coco-2"] == whole_image
    assert shapes["coco-15"]["label"] == "person"
    # One source dict for the plain boxes of an import, not the module's constant.
    assert shapes["coco-1"]["source"] is shapes["coco-2"]["source"]
    assert shapes["coco-1"]["source"] is not HUMAN
    assert shapes["coco-6"]["iscrowd"] is True


def test_plain_documents_match_the_schema(tmp_path):
    annotations = [_box(n, 1 + n % 2, [n % 7, n % 5 + 0.5, 1 + n % 3, 2.25]) for n in range(1, 200)]
    root = _write(tmp_path / "in", _coco(annotations))
    dataset, report = import_dataset("coco", root)
    assert report.lines() == []
    assert sum(len(item["annotation"]["shapes"]) for item in dataset["items"]) == 199
    assert schemas._validator("dataset").is_valid(dataset)
    validate_dataset(dataset)


def test_a_line_break_in_a_path_is_still_refused(tmp_path):
    doc = _coco([_box(1, 1, [1, 1, 2, 2])])
    doc["images"][0]["file_name"] = "a\nb.jpg"
    with pytest.raises(schemas.SchemaError):
        import_dataset("coco", _write(tmp_path / "in", doc))


@pytest.mark.parametrize(
    "layout",
    [
        "categories after the annotations",
        "annotations twice",
        "NaN in an annotation",
        "annotations not a list",
        "no annotations key",
        "an element that is not an object",
    ],
)
def test_unusual_layouts_read_as_the_whole_file_reads_them(tmp_path, monkeypatch, layout):
    doc = _coco(MIXED[:4])
    if layout == "categories after the annotations":
        text = json.dumps({key: doc[key] for key in ("info", "images", "annotations", "categories")})
    elif layout == "annotations twice":
        text = json.dumps(doc)[:-1] + ', "annotations": [' + json.dumps(_box(40, 1, [1, 1, 2, 2])) + "]}"
    elif layout == "NaN in an annotation":
        text = json.dumps(_coco([*MIXED[:2], _box(30, 1, [1, 1, 2, 2], area=float("nan"))]))
    elif layout == "annotations not a list":
        text = json.dumps(_coco([])).replace('"annotations": []', '"annotations": null')
    elif layout == "no annotations key":
        text = json.dumps({key: value for key, value in doc.items() if key != "annotations"})
    else:
        text = json.dumps(_coco([*MIXED[:2], 5]))
    root = _write(tmp_path / "in", text)
    outcomes = []
    for streamed in (True, False):
        with monkeypatch.context() as patch:
            if streamed:
                patch.setattr(coco, "ArrayStream", functools.partial(ArrayStream, block_bytes=32))
            else:
                _whole_file(patch)
            try:
                dataset, report = import_dataset("coco", root)
                outcomes.append((dataset, report.lines()))
            except Exception as exc:  # the same error either way
                outcomes.append((type(exc), str(exc)))
    assert _same(outcomes[0], outcomes[1]), layout


def test_array_stream_parts(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text('{"a": [1, {"b": "}, {"}], "items" :\n [ {"x": 1} , {"y": {"z": []}}, {} ] , "tail": true}')
    stream = ArrayStream(path, "items", block_bytes=4)
    assert stream.head == {"a": [1, {"b": "}, {"}]}
    elements = [element for chunk in stream.chunks() for element in chunk]
    assert elements == [{"x": 1}, {"y": {"z": []}}, {}]
    assert stream.tail == {"tail": True}


def test_array_stream_gives_up_early_on_other_layouts(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps([{"annotations": []}] * 50))  # a list of tasks, as Label Studio writes
    with pytest.raises(NotStreamable, match="not a JSON object"):
        ArrayStream(path, "annotations", block_bytes=16)
    path.write_text(json.dumps({"tasks": [{"annotations": [n]} for n in range(50)], "annotations": [{"a": 1}]}))
    with pytest.raises(NotStreamable, match="below the top level"):
        ArrayStream(path, "annotations", block_bytes=16)


def test_detect_reads_the_head_only(tmp_path, monkeypatch):
    root = _write(tmp_path / "in", _coco(MIXED))
    other = _write(tmp_path / "other", {"annotations": []})
    monkeypatch.setattr(coco, "json", None)  # the whole-file parse would fail now
    assert coco.CocoFormat().detect(root)
    monkeypatch.undo()
    assert not coco.CocoFormat().detect(other)


def test_detect_opens_each_file_once(tmp_path, monkeypatch):
    # A bare file and one found by content in annotations/ are both checked for another task's
    # annotations too: from the same stream as the head, not from a second read.
    bare = _write(tmp_path / "bare", _coco(MIXED)) / "annotations" / "instances_train.json"
    by_content = tmp_path / "folder" / "annotations" / "train.json"
    by_content.parent.mkdir(parents=True)
    by_content.write_text(json.dumps(_coco(MIXED)), "utf-8")
    opened: list[Path] = []

    def counted(path: Path, key: str) -> ArrayStream:
        opened.append(path)
        return ArrayStream(path, key)

    monkeypatch.setattr(coco, "ArrayStream", counted)
    assert coco.CocoFormat().detect(bare)
    assert coco.CocoFormat().detect(tmp_path / "folder")
    assert opened == [bare, by_content]


def test_plain_ids_out_of_order_and_repeated_across_images(tmp_path, monkeypatch):
    # Ids fall within image 1 (3, 1, 2) and 1 comes back there; image 2 reuses ids 1 and 3.
    annotations = [
        _box(3, 1, [1.0, 1.0, 2.0, 2.0]),
        _box(1, 1, [2.0, 2.0, 2.0, 2.0]),
        _box(2, 1, [3.0, 3.0, 2.0, 2.0]),
        _box(1, 1, [4.0, 4.0, 2.0, 2.0]),
        _box(1, 2, [5.0, 5.0, 2.0, 2.0]),
        _box(3, 2, [6.0, 6.0, 2.0, 2.0]),
    ]
    root = _write(tmp_path / "in", _coco(annotations))
    (streamed, _), (whole, _) = _both(root, monkeypatch)
    assert _same(streamed, whole)
    ids = [[shape["id"] for shape in item["annotation"]["shapes"]] for item in streamed["items"]]
    # Shape ids are unique within an item: only the second 1 of image 1 is renamed.
    assert ids == [["coco-3", "coco-1", "coco-2", "coco-1_2"], ["coco-1", "coco-3"]]
    schemas.validate_dataset(streamed)
