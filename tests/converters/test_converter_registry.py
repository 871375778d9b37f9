"""The format registry, the report, and the no-Flask rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annotate.converters import (
    ConversionLossError,
    ConversionReport,
    DatasetFormat,
    UnknownFormatError,
    get_format,
    list_formats,
    register_format,
)
from annotate.converters import registry as registry_module

REPO = Path(__file__).resolve().parents[2]


def test_builtin_formats_are_registered():
    assert list_formats() == [
        "coco",
        "cvat",
        "cvat-video",
        "imagenet",
        "labelme",
        "labelstudio",
        "mot",
        "native",
        "ultralytics",
        "via",
        "voc",
        "yolo",
    ]
    assert get_format("coco").name == "coco"
    assert get_format("voc").description


def test_unknown_format_lists_known_names():
    with pytest.raises(UnknownFormatError) as caught:
        get_format("darknet9000")
    assert str(caught.value) == f"unknown dataset format 'darknet9000'; known formats: {', '.join(list_formats())}"
    assert isinstance(caught.value, KeyError)


def test_duplicate_name_is_refused(monkeypatch):
    monkeypatch.setattr(registry_module, "_FORMATS", dict(registry_module._FORMATS))
    with pytest.raises(ValueError, match="'coco' is already registered"):

        @register_format("coco")
        class Again(DatasetFormat):
            pass


def test_register_sets_the_name(monkeypatch):
    monkeypatch.setattr(registry_module, "_FORMATS", dict(registry_module._FORMATS))

    @register_format("dummy")
    class Dummy(DatasetFormat):
        description = "for the test"

    assert Dummy.name == "dummy"
    assert isinstance(get_format("dummy"), Dummy)
    assert "dummy" in list_formats()


def test_importing_converters_does_not_import_flask():
    code = (
        "import sys, annotate.converters;"
        "bad = [m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_report_lines_and_dict():
    report = ConversionReport()
    report.lose("polyline", "VOC has no polylines", 3)
    report.lose("tag", "VOC detection has no image-level tags")
    report.clip("bbox")
    report.clip("bbox")
    report.drop_empty("bbox")
    report.note("no image for item 'x'; annotations only")
    assert report.lines() == [
        "3 polylines dropped: VOC has no polylines",
        "1 tag dropped: VOC detection has no image-level tags",
        "2 boxes clipped to the image",
        "1 box dropped: no area inside the image",
        "no image for item 'x'; annotations only",
    ]
    data = report.to_dict()
    assert data["lost"][0] == {"kind": "polyline", "reason": "VOC has no polylines", "count": 3}
    assert data["clipped"] == {"bbox": 2}
    assert data["dropped_empty"] == {"bbox": 1}
    assert not report.lossless


def test_strict_report_raises_on_loss_and_drop_but_not_on_clip():
    report = ConversionReport(strict=True)
    report.clip("bbox")
    with pytest.raises(ConversionLossError, match="1 polygon dropped: VOC has no polygons"):
        report.lose("polygon", "VOC has no polygons")
    with pytest.raises(ConversionLossError):
        ConversionReport(strict=True).drop_empty("bbox")


def test_every_format_has_a_contract():
    import importlib
    import pkgutil

    import tests.converters as package
    from tests.converters.contract import CONTRACTS

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"tests.converters.{module.name}")
    missing = sorted(set(list_formats()) - set(CONTRACTS))
    assert missing == [], f"formats without a FormatContract subclass in tests/converters: {missing}"


def test_a_checked_document_is_not_checked_again(tmp_path, monkeypatch):
    from annotate.converters import export_dataset, export_to_zip
    from tests.converters.contract import box_dataset

    checked_documents = []
    monkeypatch.setattr(registry_module, "validate_dataset", checked_documents.append)
    dataset = box_dataset()
    export_dataset("voc", dataset, tmp_path / "checked", checked=True)
    export_to_zip("yolo", dataset, tmp_path / "checked.zip", checked=True)
    assert checked_documents == []
    export_dataset("voc", dataset, tmp_path / "unchecked")
    export_to_zip("yolo", dataset, tmp_path / "unchecked.zip")
    assert checked_documents == [dataset, dataset]
    assert (tmp_path / "checked" / "Annotations" / "street__one.xml").read_bytes() == (
        tmp_path / "unchecked" / "Annotations" / "street__one.xml"
    ).read_bytes()
