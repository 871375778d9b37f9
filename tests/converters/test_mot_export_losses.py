"""MOT export: subsets and item paths it cannot hold are counted, frames take imExt's type, boxes are clipped on export."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from annotate.converters import ConversionLossError, export_dataset, import_dataset
from annotate.converters._common import new_item
from tests.converters.test_mot_format import mot_path
from tests.converters.test_tracks import HUMAN, key, video_sample


def image_item(item_id: str, path: str, subset: str) -> dict:
    return new_item(item_id, path, 40, 30, subset)


def encoded(kind: str, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, format=kind)
    return buffer.getvalue()


def images_by_suffix(item: dict) -> tuple[bytes, str]:
    """A red JPEG for ``.jpg`` items, a blue PNG for ``.png`` ones."""
    if item["path"].endswith(".png"):
        return encoded("PNG", (0, 0, 255)), ".png"
    return encoded("JPEG", (255, 0, 0)), ".jpg"


def subset_dataset() -> dict:
    items = [image_item("a", "train/ünï cødé.jpg", "train"), image_item("b", "x.y.z.png", "val")]
    return {"version": 1, "labels": [{"id": 1, "name": "car", "kind": "shape"}], "items": items}


def test_subsets_and_item_paths_are_counted(tmp_path):
    with pytest.raises(ConversionLossError, match="2 subsets dropped: a MOT sequence has no subsets"):
        export_dataset("mot", subset_dataset(), tmp_path / "strict", images=images_by_suffix, strict=True)
    report = export_dataset("mot", subset_dataset(), tmp_path / "mot", images=images_by_suffix)
    assert dict(report.lost) == {
        ("subset", "a MOT sequence has no subsets"): 2,
        ("item path", "MOT names each frame by its number (img1/000001.jpg)"): 2,
    }
    again, _ = import_dataset("mot", tmp_path / "mot")
    assert [(item["path"], "subset" in item) for item in again["items"]] == [("img1/000001.jpg", False), ("img1/000002.jpg", False)]


def test_a_frame_of_another_type_is_re_encoded_as_im_ext(tmp_path):
    report = export_dataset("mot", subset_dataset(), tmp_path, images=images_by_suffix)
    assert "frames re-encoded as .jpg, the type imExt names (readers build frame paths from it): 1" in report.notes
    assert "imExt=.jpg" in (tmp_path / "seqinfo.ini").read_text().splitlines()
    assert sorted(path.name for path in (tmp_path / "img1").iterdir()) == ["000001.jpg", "000002.jpg"]
    with Image.open(tmp_path / "img1/000002.jpg") as frame:
        assert frame.format == "JPEG"
        pixels = np.asarray(frame.convert("RGB"), dtype=int)
    # The blue PNG, through JPEG at quality 95: within a few levels of (0, 0, 255) everywhere.
    assert pixels.shape == (30, 40, 3)
    assert np.abs(pixels - [0, 0, 255]).max() <= 4


def test_frame_paths_are_not_counted(tmp_path):
    report = export_dataset("mot", video_sample(mot_path), tmp_path, strict=True)
    assert report.lost == {}


def test_boxes_are_clipped_on_export(tmp_path):
    dataset = video_sample(mot_path, frames=3)
    shapes = dataset["items"][0]["annotation"]["shapes"]
    shapes.append({"id": "in", "type": "bbox", "label": "car", "bbox": [-2, 25, 10, 10], "source": HUMAN})  # cut to [0, 25, 8, 5]
    shapes.append({"id": "out", "type": "bbox", "label": "car", "bbox": [50, 0, 5, 5], "source": HUMAN})  # nothing left
    # Keyframes at x = 30 and 36 (width 10): frame 1 is interpolated to x = 33, past the 40 px edge by 3.
    track = {"id": "9", "item": "clip", "label": "car", "type": "bbox", "source": HUMAN}
    dataset["tracks"] = [{**track, "shapes": [key(0, [30, 0, 10, 10]), key(2, [36, 0, 10, 10])]}]
    report = export_dataset("mot", dataset, tmp_path)
    assert dict(report.clipped) == {"bbox": 3}
    assert dict(report.dropped_empty) == {"bbox": 1}
    # 1-based pixels: x + 1, y + 1; width and height as clipped.
    assert (tmp_path / "gt/gt.txt").read_text().splitlines() == [
        "1,-1,1,26,8,5,1,1,1",
        "1,9,31,1,10,10,1,1,1",
        "2,9,34,1,7,10,1,1,1",
        "3,9,37,1,4,10,1,1,1",
    ]
