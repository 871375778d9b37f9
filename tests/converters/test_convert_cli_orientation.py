"""``annotate convert`` copies images so that readers ignoring EXIF see what the annotations describe.

An image's coordinates are those of the image as shown, after its EXIF orientation. A JPEG
copied byte for byte keeps its orientation tag, and Pillow's ``Image.open`` (so torchvision's
``VOCDetection``) ignores the tag: the loaded pixels would be turned against the boxes.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from annotate.convert_cli import convert

ORIENTATION = 0x0112


def _stored_turned(path) -> np.ndarray:
    """Save a 40x20 JPEG whose stored pixels are red on the left half, blue on the right, tagged Orientation=6."""
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # shown turned 90 degrees clockwise: 20 wide, 40 high
    Image.fromarray(pixels).save(path, quality=95, exif=exif)
    return pixels


def test_a_turned_jpeg_is_written_with_its_orientation_applied_and_a_plain_one_byte_for_byte(tmp_path):
    src = tmp_path / "classes" / "cat"
    src.mkdir(parents=True)
    stored = _stored_turned(src / "turned.jpg")
    Image.new("RGB", (6, 4), (10, 200, 30)).save(src / "plain.jpg")
    done = CliRunner().invoke(convert, ["--from", "imagenet", "--to", "voc", str(tmp_path / "classes"), str(tmp_path / "voc")])
    assert done.exit_code == 0, done.output
    assert "1 image re-encoded with the EXIF orientation applied to the pixels" in done.stdout.splitlines()

    images = tmp_path / "voc" / "JPEGImages"
    assert (images / "cat__plain.jpg").read_bytes() == (src / "plain.jpg").read_bytes()
    with Image.open(images / "cat__turned.jpg") as written:
        assert written.format == "JPEG" and written.size == (20, 40)
        assert written.getexif().get(ORIENTATION) is None
        shown = np.asarray(written.convert("RGB"), np.int16)
    # Turning the stored pixels 90 degrees clockwise puts the red half on top.
    expected = np.rot90(stored, k=-1).astype(np.int16)
    assert expected.shape == shown.shape == (40, 20, 3)
    # Away from the edge between the halves, where JPEG blurs the colours.
    assert np.abs(shown[:16] - expected[:16]).max() <= 12 and np.abs(shown[24:] - expected[24:]).max() <= 12
    assert tuple(shown[5, 10]) == pytest.approx((255, 0, 0), abs=12)
    assert tuple(shown[35, 10]) == pytest.approx((0, 0, 255), abs=12)
    # The annotation's size is the shown one, as Pillow now loads it.
    xml = (tmp_path / "voc" / "Annotations" / "cat__turned.xml").read_text("utf-8")
    assert "<width>20</width>" in xml and "<height>40</height>" in xml
