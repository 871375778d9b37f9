"""``annotate convert``: exit codes in a real process, the rest through click's CliRunner.

Real corpus data is read in place. Exit status: 0 done, 1 data error, 2 usage error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from annotate.convert_cli import convert
from annotate.converters import import_dataset
from tests.converters.conftest import REPO
from tests.converters.test_output_writers import folder_tree, listing


def run_annotate(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "annotate.cli", "convert", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=120)


def invoke(*args: str):
    return CliRunner().invoke(convert, [str(arg) for arg in args])


def boxes_by_path(dataset):
    return {
        item["path"]: sorted((s["label"], s["bbox"]) for s in item["annotation"]["shapes"] if s["type"] == "bbox")
        for item in dataset["items"]
    }


def malformed_coco(root: Path) -> Path:
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_train.json").write_text('{"images": [', "utf-8")
    return root


def test_exit_status_in_a_real_process(tmp_path, corpus):
    done = run_annotate("--from", "coco", "--to", "voc", str(corpus / "datumaro/coco/coco_instances"), str(tmp_path / "voc"))
    assert done.returncode == 0, done.stderr
    assert "coco -> voc: read 2 items, 3 shapes, 0 tags; 2 images copied into" in done.stdout
    assert (tmp_path / "voc" / "Annotations" / "a.xml").is_file()

    bad = run_annotate("--from", "coco", "--to", "voc", str(malformed_coco(tmp_path / "bad")), str(tmp_path / "out"))
    assert bad.returncode == 1
    assert "instances_train.json: not a readable JSON file" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "out").exists()

    usage = run_annotate("--to", "nonsense", str(tmp_path / "voc"), str(tmp_path / "out"))
    assert usage.returncode == 2
    assert "unknown format 'nonsense'" in usage.stderr


def test_convert_does_not_build_the_app(tmp_path, monkeypatch):
    import annotate
    from annotate.cli import main

    def no_app(*args, **kwargs):
        raise AssertionError("annotate convert built the Flask app")

    monkeypatch.setattr(annotate, "create_app", no_app)
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")  # FlaskGroup sets it; restored after the test
    result = CliRunner().invoke(main, ["convert", "--list"])
    assert result.exit_code == 0, result.output
    # And in a fresh process: neither the app module nor the models are imported.
    code = (
        "import sys\nfrom annotate.cli import main\n"
        "try:\n    main(['convert', '--list'])\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print(code, sorted(m for m in ('annotate.app', 'annotate.models') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stdout + done.stderr


def test_list_prints_names_and_descriptions():
    result = invoke("--list")
    assert result.exit_code == 0
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["coco"] == "COCO instances JSON (annotations/instances_<subset>.json)"
    assert lines["imagenet"].startswith("ImageNet class folders")
    assert {"coco", "imagenet", "native", "voc"} <= set(lines)


def test_coco_to_voc_to_coco_keeps_the_boxes(tmp_path, corpus):
    src = corpus / "datumaro/coco/coco_instances"
    first = invoke("--from", "auto", "--to", "voc", src, tmp_path / "voc", "--report", tmp_path / "report.json")
    assert first.exit_code == 0, first.output
    # The polygon and the crowd mask go into the segmentation PNGs; the mask, drawn later, covers the polygon.
    assert first.stdout.splitlines()[1:] == [
        "2 attributes dropped: VOC segmentation PNGs hold no attributes",
        "1 flag dropped: VOC segmentation PNGs hold no flags (occluded, truncated, difficult, iscrowd)",
        "1 polygon dropped: masks drawn over it hide it entirely (a VOC pixel holds one instance)",
        "polygons written as masks (rasterised) into the segmentation PNGs: 1",
    ]
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["from"], report["to"], report["src"], report["dst"]) == ("coco", "voc", str(src), str(tmp_path / "voc"))
    assert (report["items"], report["shapes"], report["tags"], report["images"], report["lossless"]) == (2, 3, 0, 2, False)
    assert [(entry["kind"], entry["count"]) for entry in report["lost"]] == [("attribute", 2), ("flag", 1), ("polygon", 1)]
    assert report["import"]["lines"] == [] and report["export"]["lines"] == report["lines"]

    second = invoke("--to", "coco", tmp_path / "voc", tmp_path / "coco")
    assert second.exit_code == 0, second.output
    # VOC's label map gives every label a color, which COCO categories keep (as COCO Annotator writes them).
    assert second.stdout.splitlines() == [
        f"voc -> coco: read 2 items, 2 shapes, 0 tags; 2 images copied into {tmp_path / 'coco'}",
        "lossless",
    ]
    original, _ = import_dataset("coco", src)
    again, _ = import_dataset("coco", tmp_path / "coco")
    assert boxes_by_path(again) == boxes_by_path(original) == {"a.jpg": [("b", [2.0, 2.0, 3.0, 1.0])], "b.jpg": []}
    assert (tmp_path / "coco/images/train/a.jpg").read_bytes() == (src / "images/train/a.jpg").read_bytes()


def test_labelme_voc_to_coco(tmp_path, corpus):
    result = invoke("--from", "voc", "--to", "coco", corpus / "labelme/bbox_detection/data_dataset_voc", tmp_path / "coco")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith(f"read 3 items, 9 shapes, 0 tags; 3 images copied into {tmp_path / 'coco'}")
    assert "lossless" in result.stdout.splitlines()
    coco = json.loads((tmp_path / "coco/annotations/instances_default.json").read_text())
    assert len(coco["images"]) == 3
    assert len(coco["annotations"]) == 9
    assert sorted(p.name for p in (tmp_path / "coco/images/default").rglob("*.jpg")) == [
        "2011_000003.jpg",
        "2011_000006.jpg",
        "2011_000025.jpg",
    ]


def test_data_errors_exit_1_with_one_message(tmp_path, corpus):
    bad = invoke("--from", "coco", "--to", "voc", malformed_coco(tmp_path / "bad"), tmp_path / "out")
    assert bad.exit_code == 1
    assert "instances_train.json" in bad.stderr and bad.stdout == ""
    unknown = invoke("--to", "voc", corpus / "datumaro/image_dir", tmp_path / "out")
    assert unknown.exit_code == 1
    assert "cannot tell its format" in unknown.stderr
    strict = invoke("--from", "coco", "--to", "voc", "--strict", corpus / "datumaro/coco/coco_instances", tmp_path / "out")
    assert strict.exit_code == 1
    assert strict.stderr.startswith("Error: conversion would lose data: 2 attributes dropped: VOC segmentation PNGs hold no attributes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_usage_errors_exit_2(tmp_path):
    assert invoke("--from", "nope", "--to", "voc", tmp_path, tmp_path / "out").exit_code == 2
    assert invoke("--to", "voc", tmp_path).exit_code == 2  # DST missing
    no_to = invoke(tmp_path, tmp_path / "out")
    assert no_to.exit_code == 2 and "--to" in no_to.stderr
    assert invoke("--bogus-option").exit_code == 2
    # A SRC that does not exist is a mistake in the arguments, found before anything is read.
    missing = invoke("--to", "voc", tmp_path / "nowhere", tmp_path / "out")
    assert missing.exit_code == 2
    assert missing.stderr.strip().endswith(f"Error: Invalid value for 'SRC': {tmp_path / 'nowhere'}: no such file or folder")
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_overwrite(tmp_path, corpus):
    src = corpus / "datumaro/coco/coco_instances"
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    refused = invoke("--to", "native", src, out)
    assert refused.exit_code == 2  # a usage error, found before SRC is read
    assert "Invalid value for 'DST'" in refused.stderr
    assert "exists and is not empty" in refused.stderr and "--overwrite" in refused.stderr
    assert (out / "old.txt").is_file()
    replaced = invoke("--to", "native", "--overwrite", src, out)
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "images"]


def test_other_image_types_become_png(tmp_path):
    # A class-folder dataset with a BMP and a JPEG; native keeps whatever it is given.
    root = tmp_path / "classes"
    (root / "cat").mkdir(parents=True)
    Image.new("RGB", (4, 3), (1, 2, 3)).save(root / "cat" / "a.bmp")
    Image.new("RGB", (4, 3), (1, 2, 3)).save(root / "cat" / "b.jpeg")
    result = invoke("--to", "native", root, tmp_path / "native")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == ["lossless", "1 image converted to PNG (.bmp): the output keeps JPEG and PNG only"]
    dataset, _ = import_dataset("native", tmp_path / "native")
    assert [item["path"] for item in dataset["items"]] == ["cat/a.png", "cat/b.jpeg"]
    with Image.open(tmp_path / "native/images/cat/a.png") as png:
        assert (png.format, png.size) == ("PNG", (4, 3))
    # And back to class folders, through the CLI.
    back = invoke("--to", "imagenet", tmp_path / "native", tmp_path / "again")
    assert back.exit_code == 0, back.output
    assert sorted(p.relative_to(tmp_path / "again").as_posix() for p in (tmp_path / "again").rglob("*.*")) == ["cat/a.png", "cat/b.jpeg"]


def test_imagenet_export_without_source_images_is_a_data_error(tmp_path):
    item = {
        "id": "1", "name": "a.jpg", "path": "a.jpg", "media": "image", "width": 4, "height": 3,
        "annotation": {"version": 1, "tags": [{"id": "t", "label": "cat", "source": {"type": "human"}}], "shapes": []},
    }  # fmt: skip
    dataset = {"version": 1, "labels": [{"id": 1, "name": "cat", "kind": "tag"}], "items": [item]}
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "dataset.json").write_text(json.dumps(dataset))
    result = invoke("--from", "native", "--to", "imagenet", tmp_path / "src", tmp_path / "out")
    assert result.exit_code == 1
    assert "requires the images" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--help"], ["--list"]])
def test_help_and_list_need_no_arguments(args):
    assert invoke(*args).exit_code == 0


def test_a_source_with_no_readable_items_is_an_error(tmp_path):
    import json

    from click.testing import CliRunner

    from annotate.convert_cli import convert

    src = tmp_path / "bad" / "annotations"
    src.mkdir(parents=True)
    coco = {"images": [], "annotations": [{"id": 1, "image_id": 99, "category_id": 7, "bbox": [1, 2, 3, 4]}], "categories": []}
    (src / "instances_default.json").write_text(json.dumps(coco))
    result = CliRunner().invoke(convert, ["--from", "coco", "--to", "voc", str(tmp_path / "bad"), str(tmp_path / "out")])
    assert result.exit_code == 1 and "no items could be read as coco" in result.output
    assert not (tmp_path / "out").exists()


def test_a_conversion_checks_the_document_once(tmp_path, monkeypatch):
    from annotate.converters import coco, registry

    calls = []

    def counting(check):
        def wrapped(doc):
            calls.append(len(doc["items"]))
            return check(doc)

        return wrapped

    monkeypatch.setattr(coco, "validate_dataset", counting(coco.validate_dataset))
    monkeypatch.setattr(registry, "validate_dataset", counting(registry.validate_dataset))
    (tmp_path / "in" / "annotations").mkdir(parents=True)
    polygon = {
        "id": 1,
        "image_id": 1,
        "category_id": 1,
        "segmentation": [[1, 1, 8, 1, 8, 6]],
        "bbox": [1, 1, 7, 5],
        "area": 17.5,
        "iscrowd": 0,
    }
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [polygon],
    }
    (tmp_path / "in" / "annotations" / "instances_default.json").write_text(json.dumps(doc))
    result = invoke("--from", "coco", "--to", "yolo", tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 0, result.output
    # A polygon is not a plain box, so the import checks the document; the export does not again.
    assert calls == [1]


def test_an_annotations_only_source_is_not_searched_for_images(tmp_path, monkeypatch):
    from annotate.converters import coco

    looked_up = []
    find_image = coco.CocoFormat.find_image
    monkeypatch.setattr(coco.CocoFormat, "find_image", lambda self, src, item: looked_up.append(item["id"]) or find_image(self, src, item))
    (tmp_path / "in" / "annotations").mkdir(parents=True)
    images = [{"id": number, "file_name": f"{number}.jpg", "width": 8, "height": 6} for number in (1, 2, 3)]
    document = {"images": images, "annotations": [], "categories": [{"id": 1, "name": "car"}]}
    (tmp_path / "in" / "annotations" / "instances_default.json").write_text(json.dumps(document))
    result = invoke("--from", "coco", "--to", "voc", tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert looked_up == [] and not (tmp_path / "out" / "JPEGImages").exists()
    # One image beside the annotations: every item is looked up and that image is copied.
    (tmp_path / "in" / "images").mkdir()
    Image.new("RGB", (8, 6)).save(tmp_path / "in" / "images" / "2.jpg")
    result = invoke("--from", "coco", "--to", "voc", tmp_path / "in", tmp_path / "again")
    assert result.exit_code == 0, result.output
    assert sorted(looked_up) == ["1.jpg", "2.jpg", "3.jpg"]
    assert [path.name for path in (tmp_path / "again" / "JPEGImages").iterdir()] == ["2.jpg"]


def copy_of(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def one_box_native(root: Path, bbox: list[float], width: int = 10, height: int = 8) -> Path:
    """A native dataset of one ``width`` x ``height`` image with one car box."""
    shape = {"id": "s", "type": "bbox", "label": "car", "bbox": bbox, "source": {"type": "human"}}
    item = {
        "id": "1", "name": "a.jpg", "path": "a.jpg", "media": "image", "width": width, "height": height,
        "annotation": {"version": 1, "tags": [], "shapes": [shape]},
    }  # fmt: skip
    root.mkdir(parents=True)
    (root / "dataset.json").write_text(json.dumps({"version": 1, "labels": [{"id": 0, "name": "car", "kind": "shape"}], "items": [item]}))
    return root


@pytest.mark.parametrize(
    ("dst_of", "overwrite", "why"),
    [
        (lambda data, src: src, True, "they are the same"),
        (lambda data, src: src / ".." / "coco", True, "they are the same"),
        (lambda data, src: data / "link", True, "they are the same"),  # a symbolic link to SRC
        (lambda data, src: src / "out", True, "DST lies inside SRC"),
        (lambda data, src: src / "out", False, "DST lies inside SRC"),
        (lambda data, src: data, True, "SRC lies inside DST"),
    ],
    ids=["same", "dot-dot", "symlink", "inside", "inside-no-overwrite", "holds"],
)
def test_overlapping_src_and_dst_are_refused_before_anything_is_touched(tmp_path, corpus, dst_of, overwrite, why):
    data = tmp_path / "data"
    src = copy_of(corpus / "datumaro/coco/coco_instances", data / "coco")
    (data / "link").symlink_to(src, target_is_directory=True)
    before = folder_tree(tmp_path)
    dst = dst_of(data, src)
    result = invoke("--to", "native", *(["--overwrite"] if overwrite else []), src, dst)
    assert result.exit_code == 2, result.output
    assert f"SRC {src} and DST {dst} overlap ({why})" in " ".join(result.stderr.split())
    assert folder_tree(tmp_path) == before


@pytest.mark.parametrize(
    ("source", "args", "line"),
    [
        # Corpus row "1,-1,0,4,4,8,1,3,1.0": x = 0 - 1 is left of the 16x16 image, clipped on import.
        ("mot_seq", ("--from", "mot", "--to", "native"), "1 box clipped to the image"),
        # [6, 2, 8, 3] reaches x = 14 in a 10 px wide image: CVAT's export clips it to [6, 2, 4, 3].
        ("outside", ("--from", "native", "--to", "cvat"), "1 box clipped to the image"),
        # [12, 2, 3, 3] starts right of the 10 px wide image: no area left, dropped by COCO's export.
        ("empty", ("--from", "native", "--to", "coco"), "1 box dropped: no area inside the image"),
    ],
)
def test_strict_fails_on_clipping_and_on_dropped_empty_shapes(tmp_path, corpus, source, args, line):
    if source == "mot_seq":
        src = corpus / "datumaro/mot/mot_seq"
    else:
        src = one_box_native(tmp_path / "src", [6, 2, 8, 3] if source == "outside" else [12, 2, 3, 3])
    lenient = invoke(*args, src, tmp_path / "lenient")
    assert lenient.exit_code == 0 and line in lenient.stdout.splitlines()
    before = listing(tmp_path)
    strict = invoke(*args, "--strict", "--report", tmp_path / "report.json", src, tmp_path / "out")
    assert strict.exit_code == 1, strict.output
    assert strict.stderr.strip() == f"Error: conversion would lose data: {line}"
    assert listing(tmp_path) == before  # no output, no report, no hidden folder


def test_a_report_path_that_cannot_be_written_is_refused_before_converting(tmp_path, corpus):
    src = corpus / "datumaro/coco/coco_instances"
    (tmp_path / "a_file").write_text("x")
    for report in (tmp_path / "missing" / "report.json", tmp_path / "a_file" / "report.json", tmp_path / "out" / "report.json"):
        result = invoke("--to", "native", "--report", report, src, tmp_path / "out")
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--report'" in result.stderr and str(report) in " ".join(result.stderr.split())
        assert listing(tmp_path) == ["a_file"]


def test_a_report_that_fails_to_write_leaves_no_output(tmp_path, corpus, monkeypatch):
    (tmp_path / "report.json").write_text("the previous report\n")
    write_text = Path.write_text

    def disk_full_for_the_report(path, *args, **kwargs):
        if path.name.startswith(".report.json."):
            raise OSError(28, "No space left on device")
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full_for_the_report)
    result = invoke("--to", "native", "--report", tmp_path / "report.json", corpus / "datumaro/coco/coco_instances", tmp_path / "out")
    assert result.exit_code == 1
    reason = "cannot write the report: No space left on device; nothing was converted"
    assert result.stderr.strip() == f"Error: {tmp_path / 'report.json'}: {reason}"
    assert listing(tmp_path) == ["report.json"] and (tmp_path / "report.json").read_text() == "the previous report\n"


def test_mot_without_seqinfo_takes_its_values_from_options(tmp_path, corpus):
    original = corpus / "datumaro/mot/mot_seq_with_seqinfo"
    src = copy_of(original, tmp_path / "Test")  # the folder name stands in for seqinfo.ini's name=Test
    (src / "seqinfo.ini").unlink()
    missing = invoke("--from", "mot", "--to", "native", src, tmp_path / "out")
    assert missing.exit_code == 1
    assert "image size unknown" in missing.stderr and "--mot-image-size WIDTHxHEIGHT" in missing.stderr
    assert not (tmp_path / "out").exists()

    given = invoke("--to", "native", "--mot-image-size", "16x16", "--mot-fps", "10", src, tmp_path / "out")
    assert given.exit_code == 0, given.output
    with_seqinfo = invoke("--from", "mot", "--to", "native", original, tmp_path / "reference")
    assert with_seqinfo.exit_code == 0, with_seqinfo.output
    dataset = json.loads((tmp_path / "out/dataset.json").read_text())
    assert dataset == json.loads((tmp_path / "reference/dataset.json").read_text())
    (item,) = dataset["items"]
    # seqinfo.ini holds imWidth=16, imHeight=16, frameRate=10; row "1,-1,0,4,4,8,...": x = 0 - 1, clipped.
    assert (item["width"], item["height"], item["fps"], item["video"]) == (16, 16, 10, "Test")
    assert [s["bbox"] for s in item["annotation"]["shapes"]] == [[0, 3, 3, 8]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--mot-image-size", "16by16"), "'16by16' is not WIDTHxHEIGHT"),
        (("--mot-image-size", "0x16"), "'0x16' is not WIDTHxHEIGHT"),
        (("--mot-fps", "0"), "Invalid value for '--mot-fps': 0.0 is not in the range x>0"),
        (("--from", "coco", "--mot-fps", "5"), "apply to MOT sources only, not to --from coco"),
    ],
)
def test_mot_options_are_checked(tmp_path, corpus, args, message):
    result = invoke("--to", "native", *args, corpus / "datumaro/mot/mot_seq", tmp_path / "out")
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "out").exists()


def test_mot_options_for_a_source_detected_as_another_format(tmp_path, corpus):
    result = invoke("--to", "native", "--mot-fps", "5", corpus / "datumaro/coco/coco_instances", tmp_path / "out")
    assert result.exit_code == 2 and "apply to MOT sources only" in result.stderr and "is coco" in result.stderr
    assert not (tmp_path / "out").exists()


def test_via_layout_writes_via_csv_that_reads_back_the_same(tmp_path, corpus):
    src = corpus / "via/via1_project_json"
    done = invoke("--to", "via", "--via-layout", "csv", src, tmp_path / "csv")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "csv").iterdir() if p.suffix in (".csv", ".json")) == [
        "via_attributes.json",
        "via_region_data.csv",
    ]
    original, _ = import_dataset("via", src)
    again, _ = import_dataset("via", tmp_path / "csv")
    assert again["labels"] == original["labels"]
    assert boxes_by_path(again) == boxes_by_path(original)
    wrong = invoke("--to", "coco", "--via-layout", "csv", src, tmp_path / "coco")
    assert wrong.exit_code == 2 and "--via-layout applies to VIA output only" in wrong.stderr
    assert not (tmp_path / "coco").exists()
