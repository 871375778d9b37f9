"""NaN, infinities and numbers beyond a double in COCO input are refused; the writer never writes one.

orjson refuses them, so they reach only the ``json`` fallback of the importer, which would read
them: a NaN bbox then failed the schema with a traceback, and a NaN polygon vertex crashed
pycocotools (signal 11) when the polygon was rasterised for its area.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from annotate.converters import FormatError, export_dataset, import_dataset
from tests.converters.conftest import REPO


def run_annotate(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "annotate.cli", "convert", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=120)


def _annotation(**fields: Any) -> dict[str, Any]:
    return {"id": 17, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16, "iscrowd": 0, "segmentation": [], **fields}


def _write(root: Path, annotation: dict[str, Any], bad: str) -> Path:
    """Write an instances file with one annotation per line; ``1e400`` in ``annotation`` is spelled ``bad``."""
    doc_lines = [
        "{",
        '"categories": [{"id": 1, "name": "person", "keypoints": ["a", "b"], "skeleton": [[1, 2]]}],',
        '"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],',
        '"annotations": [',
        json.dumps(_annotation(bbox=[0, 0, 2, 2])) + ",",
        json.dumps(annotation).replace("Infinity", bad),  # json.dumps spells 1e400 Infinity
        "]}",
    ]
    (root / "annotations").mkdir(parents=True)
    file = root / "annotations" / "instances_val.json"
    file.write_text("\n".join(doc_lines), "utf-8")
    return file


INF = float("inf")
FIELDS = {
    "bbox": _annotation(bbox=[1, INF, 4, 4]),
    "polygon": _annotation(segmentation=[[1, 1, INF, 1, 3, 3]]),
    "keypoints": _annotation(keypoints=[1, 1, 2, INF, 2, 2]),
    "area": _annotation(area=INF),
}
SPELLINGS = ["NaN", "Infinity", "-Infinity", "1e999", "-2.5E+400", "1" + "0" * 400]


@pytest.mark.parametrize("bad", SPELLINGS)
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_import_refuses_the_number_and_names_file_and_line(tmp_path, field, bad):
    file = _write(tmp_path / "in", FIELDS[field], bad)
    with pytest.raises(FormatError) as caught:
        import_dataset("coco", tmp_path / "in")
    message = str(caught.value)
    assert message.startswith(f"{file}: line 6: ")
    assert "is not a number COCO allows" in message
    if bad in ("NaN", "Infinity", "-Infinity"):
        assert f"line 6: {bad} is not a number COCO allows (JSON has no NaN or infinity)" in message
    else:
        assert "(it is beyond the range of a double)" in message


@pytest.mark.parametrize("strict", [False, True])
def test_the_streamed_and_the_strict_reading_refuse_it_too(tmp_path, strict):
    # NaN before the annotations (the streamed head) and after them (the tail).
    text = json.dumps(
        {
            "info": {"year": 2024},
            "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
            "annotations": [_annotation()],
            "categories": [{"id": 1, "name": "a"}],
        },
        indent=1,
    )
    for index, (at, spelled) in enumerate([("2024", "NaN"), ('"name": "a"', '"name": "a", "x": -Infinity')]):
        root = tmp_path / f"in-{index}"
        (root / "annotations").mkdir(parents=True)
        assert at in text
        (root / "annotations" / "instances_val.json").write_text(text.replace(at, spelled))
        with pytest.raises(FormatError, match="is not a number COCO allows"):
            import_dataset("coco", root, strict=strict)


def test_nan_and_infinity_inside_strings_are_text(tmp_path):
    doc = {
        "images": [{"id": 1, "file_name": "NaN Infinity 1e999.jpg", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": 'say "NaN", -Infinity \\"'}],
        "annotations": [_annotation(attributes={"note": "1e999", "n": 1e300, "lone": "\ud800"})],
    }
    text = json.dumps(doc)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)  # a lone surrogate: the json fallback reads this file
    root = tmp_path / "in"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_val.json").write_text(text)
    dataset, _ = import_dataset("coco", root)
    assert dataset["labels"][0]["name"] == 'say "NaN", -Infinity \\"'
    assert dataset["items"][0]["annotation"]["shapes"][0]["attributes"]["note"] == "1e999"


def test_cli_stops_on_a_nan_polygon_without_crashing_or_writing(tmp_path):
    # The case that used to kill the process with signal 11 (pycocotools on a NaN vertex).
    _write(tmp_path / "in", FIELDS["polygon"], "NaN")
    for target in ("voc", "coco"):
        done = run_annotate("--from", "coco", "--to", target, str(tmp_path / "in"), str(tmp_path / target))
        assert done.returncode == 1, done.stderr
        assert "annotations/instances_val.json: line 6: NaN is not a number COCO allows" in done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / target).exists()


def test_cli_auto_detects_then_refuses_a_nan_bbox(tmp_path):
    _write(tmp_path / "in", FIELDS["bbox"], "NaN")
    done = run_annotate("--to", "voc", str(tmp_path / "in"), str(tmp_path / "out"))
    assert done.returncode == 1
    assert "line 6: NaN is not a number COCO allows" in done.stderr
    assert not (tmp_path / "out").exists()


def _extreme_dataset(far: float) -> dict[str, Any]:
    """Valid, finite, and as large as a double goes: every derived number must stay finite.

    ``far`` is where the far polygon's vertices are: pycocotools crashes past about 4e8.
    """
    big = 1.7e308

    def shape(shape_id: str, kind: str, **geometry: Any) -> dict[str, Any]:
        return {"id": shape_id, "type": kind, "label": "thing", "source": {"type": "human"}, **geometry}

    return {
        "version": 1,
        "labels": [{"id": 1, "name": "thing", "kind": "shape", "keypoints": ["a", "b"]}],
        "items": [
            {
                "id": "a",
                "name": "a.jpg",
                "path": "a.jpg",
                "media": "image",
                "width": 40,
                "height": 30,
                "annotation": {
                    "version": 1,
                    "tags": [],
                    "shapes": [
                        shape("box", "bbox", bbox=[-1e308, -1e308, big, big], attributes={"x": big}),
                        shape("kp", "keypoints", keypoints=[-big, -big, 2, big, big, 2]),
                        shape("kp-box", "keypoints", keypoints=[1, 1, 2, 0, 0, 0], bbox=[-1e308, -1e308, big, big]),
                        shape("far", "polygon", rings=[[-far, 0, far, 0, 20, 25], [far, 1, 0, 1, 0, 2]]),
                        shape("inside", "polygon", rings=[[1, 1, 9, 1, 9, 9]], group=3),
                        shape("kp-group", "keypoints", keypoints=[-big, big, 2, 5, 5, 2], group=3),
                    ],
                },
            }
        ],
    }


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool | str) or value is None:
        return []
    if isinstance(value, int | float):
        return [float(value)]
    values = value.values() if isinstance(value, dict) else value
    return [number for element in values for number in _numbers(element)]


def test_export_of_extreme_valid_values_writes_strict_finite_json(tmp_path):
    # 1e5 is far enough to be clipped, and near enough for pycocotools should the clipping go.
    report = export_dataset("coco", _extreme_dataset(1e5), tmp_path / "out")
    text = (tmp_path / "out/annotations/instances_default.json").read_bytes()
    document = orjson.loads(text)  # strict JSON: no NaN or Infinity spelled
    assert b"null" not in text  # orjson would write a non-finite float as null
    annotations = document["annotations"]
    assert all(abs(number) < float("inf") for number in _numbers(annotations))
    box, keypoints, keypoints_with_box, far, group = annotations
    assert box["bbox"] == [0.0, 0.0, 40.0, 30.0]
    # Boxes of keypoints inside the image: the shape's own box clipped, else around the visible points.
    assert keypoints["bbox"] == [0.0, 0.0, 40.0, 30.0] and keypoints["area"] == 1200.0
    assert keypoints_with_box["bbox"] == [0.0, 0.0, 40.0, 30.0]
    assert all(0 <= x <= 40 and 0 <= y <= 30 for ring in far["segmentation"] for x, y in zip(ring[0::2], ring[1::2], strict=True))
    assert far["area"] > 0
    # The polygon and the keypoints of group 3: one annotation, its box around both inside the image.
    assert group["keypoints"] == [-1.7e308, 1.7e308, 2, 5.0, 5.0, 2]
    assert group["bbox"] == [0.0, 1.0, 9.0, 29.0]
    assert report.clipped == {"bbox": 1, "keypoints": 1, "polygon": 1}


@pytest.mark.parametrize("far", [1e9, 1.7e308])
def test_far_outside_polygon_converts_in_a_real_process(tmp_path, far):
    # Run apart: a regression here is a crash of the process (signal 11), not a failed assertion.
    export_dataset("native", _extreme_dataset(far), tmp_path / "native")
    done = run_annotate("--from", "native", "--to", "coco", str(tmp_path / "native"), str(tmp_path / "coco"))
    assert done.returncode == 0, done.stderr
    assert "1 polygon clipped to the image" in done.stdout
