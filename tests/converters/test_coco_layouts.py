"""Where COCO files are found: a bare file, Roboflow's export, other names in ``annotations/``.

Detection reads content (``images`` and ``annotations`` lists, ``categories`` for files found by
content alone), so other formats' JSON is never claimed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from annotate.convert_cli import convert
from annotate.converters import FormatError, detect_format, export_dataset, get_format, import_dataset
from tests.converters.coco_files import write_json

COCO = get_format("coco")


def coco_doc(*file_names: str) -> dict[str, Any]:
    return {
        "images": [{"id": n, "file_name": name, "width": 8, "height": 6} for n, name in enumerate(file_names, start=1)],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {"id": n, "image_id": n, "category_id": 1, "bbox": [1.0, 1.0, 2.0, 2.0], "area": 4.0, "segmentation": [], "iscrowd": 0}
            for n in range(1, len(file_names) + 1)
        ],
    }


def write_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), "white").save(path)
    return path


def subsets_and_images(src: Path) -> list[tuple[str, str, Path | None]]:
    dataset, _ = import_dataset("coco", src)
    return [(item["subset"], item["path"], COCO.find_image(src, item)) for item in dataset["items"]]


def test_a_bare_coco_file_with_images_beside_it(tmp_path):
    file = write_json(tmp_path / "export" / "my_export.json", coco_doc("pics/a.jpg", "b.jpg"))
    a, b = write_image(tmp_path / "export/pics/a.jpg"), write_image(tmp_path / "export/b.jpg")
    assert detect_format(file) == "coco"
    assert subsets_and_images(file) == [("default", "pics/a.jpg", a), ("default", "b.jpg", b)]
    result = CliRunner().invoke(convert, ["--to", "coco", str(file), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/images/default/pics/a.jpg").is_file()
    # A bare file named after its task names its subset.
    named = write_json(tmp_path / "named" / "person_keypoints_val2017.json", coco_doc("a.jpg"))
    assert subsets_and_images(named) == [("val2017", "a.jpg", None)]


def roboflow(root: Path) -> Path:
    """Roboflow's COCO export: one folder per subset, each with _annotations.coco.json and its images."""
    for subset, names in {"train": ["a.jpg", "b.jpg"], "valid": ["c.jpg"], "test": ["d.jpg"]}.items():
        write_json(root / subset / "_annotations.coco.json", coco_doc(*names))
        for name in names:
            write_image(root / subset / name)
    (root / "README.roboflow.txt").write_text("exported from roboflow.com")
    return root


def test_roboflow_export(tmp_path):
    root = roboflow(tmp_path / "rf")
    assert detect_format(root) == "coco"
    assert subsets_and_images(root) == [
        ("test", "d.jpg", root / "test/d.jpg"),
        ("train", "a.jpg", root / "train/a.jpg"),
        ("train", "b.jpg", root / "train/b.jpg"),
        ("valid", "c.jpg", root / "valid/c.jpg"),
    ]
    # One subset folder, or its file, is a dataset of that subset.
    assert detect_format(root / "valid") == "coco"
    assert subsets_and_images(root / "valid") == [("valid", "c.jpg", root / "valid/c.jpg")]
    assert subsets_and_images(root / "valid" / "_annotations.coco.json") == [("valid", "c.jpg", root / "valid/c.jpg")]
    result = CliRunner().invoke(convert, ["--to", "native", str(root), str(tmp_path / "native")])
    assert result.exit_code == 0, result.output
    converted, _ = import_dataset("native", tmp_path / "native")
    assert [(item["subset"], item["path"]) for item in converted["items"]] == [
        (subset, path) for subset, path, _ in subsets_and_images(root)
    ]
    assert len(list((tmp_path / "native/images").rglob("*.jpg"))) == 4


@pytest.mark.parametrize("folder", ["datumaro/coco/coco_roboflow", "datumaro/roboflow/coco"])
def test_roboflow_exports_in_the_corpus(corpus, folder):
    src = corpus / folder
    assert detect_format(src) == "coco"
    found = subsets_and_images(src)
    assert {subset for subset, _, _ in found} == {path.name for path in src.iterdir() if (path / "_annotations.coco.json").is_file()}
    assert all(image == src / subset / path for subset, path, image in found)


def test_other_names_in_the_annotations_folder(tmp_path):
    root = tmp_path / "coco2017"
    write_json(root / "annotations/person_keypoints_val2017.json", coco_doc("000001.jpg"))
    write_json(root / "annotations/train.json", coco_doc("000002.jpg"))
    # Not COCO: Datumaro's own format, a Label Studio export, a COCO file without categories.
    write_json(root / "annotations/default.json", {"info": {}, "categories": {"label": {"labels": []}}, "items": []})
    write_json(root / "annotations/tasks.json", [{"data": {"image": "a.jpg"}, "annotations": []}])
    write_json(root / "annotations/captions.json", {"images": [], "annotations": []})
    image = write_image(root / "val2017/000001.jpg")
    assert detect_format(root) == "coco"
    dataset, report = import_dataset("coco", root)
    assert [(item["subset"], item["path"]) for item in dataset["items"]] == [("val2017", "000001.jpg"), ("train", "000002.jpg")]
    assert COCO.find_image(root, dataset["items"][0]) == image
    assert report.lines() == []


def test_one_file_per_subset_instances_first(tmp_path, corpus):
    root = tmp_path / "in"
    write_json(root / "annotations/instances_val.json", coco_doc("a.jpg"))
    write_json(root / "annotations/person_keypoints_val.json", coco_doc("a.jpg"))
    write_json(root / "annotations/val.json", coco_doc("a.jpg"))
    write_json(root / "annotations/captions_val.json", {"images": [], "annotations": []})
    dataset, report = import_dataset("coco", root)
    assert [(item["subset"], item["path"]) for item in dataset["items"]] == [("val", "a.jpg")]
    assert report.lines() == [
        "person_keypoints_val.json not read: subset 'val' is read from instances_val.json",
        "val.json not read: subset 'val' is read from instances_val.json",
    ]
    # Datumaro's folder of all seven COCO tasks: instances are read, the keypoints and stuff noted.
    dataset, report = import_dataset("coco", corpus / "datumaro/coco/coco")
    assert [(item["subset"], item["path"]) for item in dataset["items"]] == [("train", "a.jpg"), ("val", "b.jpg")]
    assert len(report.notes) == 4


def other_formats(tmp_path: Path, corpus: Path) -> dict[str, Path]:
    """JSON datasets of other formats, as files and as folders."""
    from tests.converters.conftest import build_dataset

    native = tmp_path / "native"
    export_dataset("native", build_dataset(), native)
    labelme = tmp_path / "labelme"
    shutil.copytree(corpus / "labelme/instance_segmentation/data_annotated", labelme)
    return {
        "native": native,
        "native file": native / "dataset.json",
        "labelme": labelme,
        "labelme file": labelme / "2011_000003.json",
        "labelstudio file": corpus / "label-studio/labelstudio_json/export_yolo_tasks/data.json",
        "via": corpus / "via/via1_project_json",
        "via file": next((corpus / "via/via1_project_json").glob("*.json")),
        # Datumaro's own JSON in an annotations/ folder, as Datumaro writes it.
        "datumaro": write_json(tmp_path / "dm/annotations/default.json", {"infos": {}, "categories": {}, "items": []}).parents[1],
        "captions file": corpus / "datumaro/coco/coco_captions/annotations/captions_val.json",
    }


def test_detection_claims_no_other_format(tmp_path, corpus):
    for name, path in other_formats(tmp_path, corpus).items():
        assert not COCO.detect(path), name
    assert detect_format(tmp_path / "native") == "native"
    assert detect_format(tmp_path / "labelme") == "labelme"


def test_no_coco_file_says_where_it_looked(tmp_path):
    (tmp_path / "empty" / "annotations").mkdir(parents=True)
    with pytest.raises(FormatError, match="no COCO file .*_annotations.coco.json"):
        import_dataset("coco", tmp_path / "empty")
