"""``annotate convert``'s summary line tells what it read and copied, for VIA and every other format.

It used to say "12 shapes ... written" for a VIA -> COCO run that wrote 3: the figures were
the imported document's. They still are (a format's report cannot tell whole shapes lost
from parts of shapes lost), so the line now says "read", and the report lines account for
the rest.
"""

from __future__ import annotations

import json

import pytest

from annotate.converters import export_dataset, list_formats
from tests.converters.conftest import image_bytes
from tests.converters.test_convert_cli import invoke
from tests.converters.test_labelstudio_labels import label_dataset


def test_via_to_coco_says_what_it_read_and_the_report_what_coco_lacks(corpus, tmp_path):
    src = corpus / "via/via1_project_json"
    result = invoke("--from", "via", "--to", "coco", src, tmp_path / "coco", "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"via -> coco: read 3 items, 12 shapes, 0 tags; 3 images copied into {tmp_path / 'coco'}"
    assert "4 ellipses dropped: COCO instances has no ellipses" in lines
    assert "5 points shapes dropped: COCO instances has no points shapes" in lines
    coco = json.loads((tmp_path / "coco/annotations/instances_default.json").read_text())
    # 12 read, 4 + 5 reported dropped: the 3 boxes and polygons in the file.
    assert len(coco["annotations"]) == 12 - 4 - 5 == 3
    assert len(coco["images"]) == 3
    assert len(list((tmp_path / "coco/images").rglob("*.jpg"))) == 3
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["items"], report["shapes"], report["tags"], report["images"]) == (3, 12, 0, 3)
    dropped = sum(entry["count"] for entry in report["export"]["lost"] if entry["kind"] in ("ellipse", "points"))
    assert report["shapes"] - dropped == len(coco["annotations"])


# CVAT for video refuses a dataset without video frames (tested with that format).
@pytest.mark.parametrize("target", [name for name in list_formats() if name != "cvat-video"])
def test_every_format_reports_what_was_read_and_the_images_it_holds(tmp_path, target):
    export_dataset("native", label_dataset(), tmp_path / "src", images=image_bytes)
    dst = tmp_path / "out"
    result = invoke("--from", "native", "--to", target, tmp_path / "src", dst)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"native -> {target}: read 2 items, 3 shapes, 1 tags; ")
    copied = int(first.split("; ")[1].split()[0])
    assert copied == len([path for path in dst.rglob("*") if path.suffix in (".jpg", ".png")])
