"""YOLO and Ultralytics: an item renamed because its label file name is taken keeps its image.

``a.jpg``, ``a.png`` and ``A.jpg`` would share the label file ``a.txt`` (Windows and macOS
fold case), so the second and third are written as ``a_2.png`` and ``A_3.jpg``. The image
source finds an image by the item's own path (as ``annotate convert`` does, through the
source format's ``find_image``): it must be asked with the item, not with the renamed copy.
"""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from PIL import Image

from annotate.convert_cli import convert
from annotate.converters import export_dataset, import_dataset

PATHS = ("a.jpg", "a.png", "A.jpg")


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def colliding_dataset() -> dict:
    items = []
    for number, path in enumerate(PATHS):
        shape = {"id": "1", "type": "bbox", "label": "x", "bbox": [1 + 4 * number, 1, 2, 2], "source": {"type": "human"}}
        items.append(
            {
                "id": path,
                "name": path,
                "path": path,
                "media": "image",
                "width": 20,
                "height": 10,
                "annotation": {"version": 1, "tags": [], "shapes": [shape]},
            }
        )
    return {"version": 1, "labels": [{"id": 1, "name": "x", "kind": "shape"}], "items": items}


IMAGES = {
    "a.jpg": (jpeg(20, 10, (200, 0, 0)), ".jpg"),
    "a.png": (png(20, 10, (0, 200, 0)), ".png"),
    "A.jpg": (jpeg(20, 10, (0, 0, 200)), ".jpg"),
}


def by_path(item: dict) -> tuple[bytes, str] | None:
    """An image source that looks images up by the item path, as find_image does."""
    return IMAGES.get(item["path"])


EXPECTED = {
    "yolo": {"a.jpg": "obj_default_data/a.jpg", "a.png": "obj_default_data/a_2.png", "A.jpg": "obj_default_data/A_3.jpg"},
    "ultralytics": {"a.jpg": "images/default/a.jpg", "a.png": "images/default/a_2.png", "A.jpg": "images/default/A_3.jpg"},
}


@pytest.mark.parametrize("fmt", ["yolo", "ultralytics"])
def test_renamed_items_keep_their_images(tmp_path, fmt):
    report = export_dataset(fmt, colliding_dataset(), tmp_path, images=by_path, strict=True)
    assert report.lossless
    assert not [line for line in report.lines() if "no image" in line]
    for source, written in EXPECTED[fmt].items():
        assert (tmp_path / written).read_bytes() == IMAGES[source][0], written
    again, import_report = import_dataset(fmt, tmp_path)
    assert import_report.lossless
    boxes = {item["path"]: item["annotation"]["shapes"][0]["bbox"] for item in again["items"]}
    assert boxes == {"a.jpg": [1.0, 1.0, 2.0, 2.0], "a_2.png": [5.0, 1.0, 2.0, 2.0], "A_3.jpg": [9.0, 1.0, 2.0, 2.0]}


@pytest.mark.parametrize("fmt", ["yolo", "ultralytics"])
def test_renamed_items_keep_their_images_through_the_cli(tmp_path, fmt):
    source = tmp_path / "native"
    (source / "images").mkdir(parents=True)
    (source / "dataset.json").write_text(json.dumps(colliding_dataset()), "utf-8")
    for path, (data, _) in IMAGES.items():
        (source / "images" / path).write_bytes(data)
    if (source / "images" / "A.jpg").read_bytes() != IMAGES["A.jpg"][0]:
        pytest.skip("the file system folds case: a.jpg and A.jpg are one file")
    out = tmp_path / "out"
    result = CliRunner().invoke(convert, ["--strict", "--from", "native", "--to", fmt, str(source), str(out)])
    assert result.exit_code == 0, result.output
    assert "no image" not in result.output and "dropped" not in result.output
    for source_path, written in EXPECTED[fmt].items():
        assert (out / written).read_bytes() == IMAGES[source_path][0], written
