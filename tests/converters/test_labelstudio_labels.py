"""Label Studio keeps the label list: every label, in order, through the labeling config.

Also holds the helpers that the VIA and LabelMe label tests share: a dataset whose labels
are out of alphabetical order and partly unused, and the YOLO files that show class ids.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from annotate.converters import ConversionLossError, FormatError, export_dataset, import_dataset
from tests.converters.conftest import image_bytes


def label_dataset() -> dict[str, Any]:
    """Labels zebra, apple (unused), mango, sunny (tag), cloudy (unused tag): not alphabetical.

    Ids are 1..5 in list order, which every format without label ids gives back.
    """

    def item(item_id: str, path: str, subset: str, shapes: list[tuple[str, list[float]]], tags: list[str]) -> dict[str, Any]:
        return {
            "id": item_id,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "media": "image",
            "width": 40,
            "height": 30,
            "subset": subset,
            "annotation": {
                "version": 1,
                "tags": [{"id": f"{item_id}-t{n}", "label": label, "source": {"type": "human"}} for n, label in enumerate(tags)],
                "shapes": [
                    {"id": f"{item_id}-{n}", "type": "bbox", "label": label, "bbox": bbox, "source": {"type": "human"}}
                    for n, (label, bbox) in enumerate(shapes)
                ],
            },
        }

    return {
        "version": 1,
        "labels": [
            {"id": 1, "name": "zebra", "kind": "shape"},
            {"id": 2, "name": "apple", "kind": "shape"},
            {"id": 3, "name": "mango", "kind": "shape"},
            {"id": 4, "name": "sunny", "kind": "tag"},
            {"id": 5, "name": "cloudy", "kind": "tag"},
        ],
        "items": [
            # mango is met before zebra: first use would give mango, zebra (and no apple).
            item("1", "one.jpg", "train", [("mango", [1, 2, 3, 4]), ("zebra", [5, 6, 7, 8])], ["sunny"]),
            item("2", "two.jpg", "val", [("zebra", [0, 0, 10, 10])], []),
        ],
    }


def yolo_class_files(dataset: dict[str, Any], dest: Path) -> dict[str, str]:
    """Export to Darknet YOLO and return the files that carry class ids: obj.names and the label files."""
    export_dataset("yolo", dataset, dest, images=image_bytes)
    files = sorted(dest.glob("obj_*_data/**/*.txt"))
    assert files, "the YOLO export wrote no label files"
    return {path.relative_to(dest).as_posix(): path.read_text() for path in [dest / "obj.names", *files]}


def without_colors(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in label.items() if key != "color"} for label in labels]


def test_round_trip_keeps_every_label_in_order(tmp_path):
    dataset = label_dataset()
    dataset["labels"][0]["color"] = "#112233"
    dataset["labels"][1]["color"] = "#AbCdEf"
    report = export_dataset("labelstudio", dataset, tmp_path / "ls")
    assert report.lines() == []
    config = (tmp_path / "ls/label_config.xml").read_text()
    assert config.index('"zebra"') < config.index('"apple"') < config.index('"mango"') < config.index('"sunny"') < config.index('"cloudy"')
    assert '<Label value="apple" background="#AbCdEf"/>' in config
    assert '<Choice value="cloudy"/>' in config
    again, import_report = import_dataset("labelstudio", tmp_path / "ls")
    assert import_report.lines() == []
    assert again["labels"] == dataset["labels"]
    # The tasks file alone finds the config beside it: it names every label the tasks use.
    from_file, _ = import_dataset("labelstudio", tmp_path / "ls/tasks.json")
    assert from_file["labels"] == dataset["labels"]


def test_yolo_class_ids_survive_the_round_trip(tmp_path):
    dataset = label_dataset()
    export_dataset("labelstudio", dataset, tmp_path / "ls")
    again, _ = import_dataset("labelstudio", tmp_path / "ls")
    direct = yolo_class_files(dataset, tmp_path / "direct")
    assert direct["obj.names"] == "zebra\napple\nmango\n"
    assert yolo_class_files(again, tmp_path / "through") == direct


def test_without_config_labels_follow_first_use(tmp_path):
    export_dataset("labelstudio", label_dataset(), tmp_path / "ls")
    (tmp_path / "ls/label_config.xml").unlink()
    again, report = import_dataset("labelstudio", tmp_path / "ls")
    assert report.lines() == []
    assert [(label["id"], label["name"], label["kind"]) for label in again["labels"]] == [
        (1, "mango", "shape"),
        (2, "zebra", "shape"),
        (3, "sunny", "tag"),
    ]


def test_tag_labels_first_are_kept_and_a_mixed_order_is_counted(tmp_path):
    dataset = label_dataset()
    tags_first = copy.deepcopy(dataset)
    tags_first["labels"] = [{**label, "id": n} for n, label in enumerate(dataset["labels"][3:] + dataset["labels"][:3], start=1)]
    report = export_dataset("labelstudio", tags_first, tmp_path / "first")
    assert report.lines() == []
    config = (tmp_path / "first/label_config.xml").read_text()
    assert config.index("<Choices") < config.index("<RectangleLabels")
    assert import_dataset("labelstudio", tmp_path / "first")[0]["labels"] == tags_first["labels"]

    # zebra, sunny, apple, mango, cloudy: two lists give zebra, apple, mango, sunny, cloudy.
    mixed = copy.deepcopy(dataset)
    mixed["labels"] = [{**label, "id": n} for n, label in enumerate([mixed["labels"][i] for i in (0, 3, 1, 2, 4)], start=1)]
    report = export_dataset("labelstudio", mixed, tmp_path / "mixed")
    assert report.lines() == [
        "3 label positions dropped: Label Studio's config lists shape labels and tag labels (Choices) apart: "
        "an order mixing them is not kept",
        "Label Studio has no label ids: an import numbers the labels 1, 2, ... in config order, so 3 label ids change",
    ]
    again, _ = import_dataset("labelstudio", tmp_path / "mixed")
    assert [label["name"] for label in again["labels"]] == ["zebra", "apple", "mango", "sunny", "cloudy"]


def test_what_the_config_cannot_hold_is_counted(tmp_path):
    dataset = label_dataset()
    dataset["labels"][3]["color"] = "#00ff00"  # a tag label: a Choice has no color
    dataset["labels"][0]["attributes"] = [{"name": "striped", "type": "checkbox"}]
    dataset["labels"][2]["parent"] = "zebra"
    for label, new_id in zip(dataset["labels"], (10, 2, 30, 4, 0), strict=True):
        label["id"] = new_id
    report = export_dataset("labelstudio", dataset, tmp_path / "ls")
    assert report.lines() == [
        "1 label attribute dropped: Label Studio declares no attributes per label",
        "1 label color dropped: a Label Studio Choice has no color",
        "1 label parent dropped: Label Studio labels have no parent",
        "Label Studio has no label ids: an import numbers the labels 1, 2, ... in config order, so 3 label ids change",
    ]
    with pytest.raises(ConversionLossError, match="1 label color dropped"):
        export_dataset("labelstudio", dataset, tmp_path / "strict", strict=True)


def test_shape_labels_get_a_control_when_no_shape_is_written(tmp_path):
    dataset = label_dataset()
    for item in dataset["items"]:
        item["annotation"]["shapes"] = []
    export_dataset("labelstudio", dataset, tmp_path / "ls")
    assert '<RectangleLabels name="bbox" toName="image">' in (tmp_path / "ls/label_config.xml").read_text()
    again, _ = import_dataset("labelstudio", tmp_path / "ls")
    assert again["labels"] == dataset["labels"]


def test_corpus_config_with_an_unused_label_and_css_colors(corpus, tmp_path):
    base = corpus / "label-studio/labelstudio_json"
    # label_config.xml names Airplane (red) and Car (blue); the one task uses Airplane only.
    dataset, report = import_dataset("labelstudio", base / "export_json_min_tasks/data.json")
    assert report.lines() == []
    assert dataset["labels"] == [
        {"id": 1, "name": "Airplane", "kind": "shape", "color": "#ff0000"},
        {"id": 2, "name": "Car", "kind": "shape", "color": "#0000ff"},
    ]
    # rgba(218, 1, 238, 1) and rgba(0, 255, 0, 1), alpha dropped.
    dataset, _ = import_dataset("labelstudio", base / "export_yolo_tasks/data.json")
    assert [(label["name"], label.get("color")) for label in dataset["labels"]] == [("parasites", "#da01ee"), ("white", "#00ff00")]
    assert sum(len(item["annotation"]["shapes"]) for item in dataset["items"]) == 4


def test_corpus_config_of_another_export_is_not_read(corpus):
    # label_config.xml beside data_obb.json belongs to data.json: it names neither butterfly.
    dataset, report = import_dataset("labelstudio", corpus / "label-studio/labelstudio_json/export_yolo_tasks/data_obb.json")
    assert report.lines() == []
    assert [label["name"] for label in dataset["labels"]] == ["Butterfly", "butterfly"]
    assert [len(item["annotation"]["shapes"]) for item in dataset["items"]] == [23, 1, 1]


def test_folder_config_comes_first_and_other_labels_follow(corpus, tmp_path):
    src = corpus / "label-studio/labelstudio_json/export_yolo_tasks"
    folder = tmp_path / "tasks"
    folder.mkdir()
    for name in ("data.json", "data_polygons.json", "label_config.xml"):
        shutil.copy(src / name, folder / name)
    dataset, report = import_dataset("labelstudio", folder)
    assert [label["name"] for label in dataset["labels"]] == ["parasites", "white", "Airplane"]
    assert "1 label the tasks use not named in label_config.xml: placed after its labels" in report.lines()


def test_malformed_config_names_the_file_and_line(tmp_path):
    export_dataset("labelstudio", label_dataset(), tmp_path / "ls")
    (tmp_path / "ls/label_config.xml").write_text("<View>\n  <Choices>\n</View>\n")
    with pytest.raises(FormatError, match=r"label_config\.xml: not well-formed XML at line 3"):
        import_dataset("labelstudio", tmp_path / "ls")


def test_config_tags_are_matched_without_case(tmp_path):
    tasks = [{"data": {"image": "a.jpg"}, "meta": {"width": 4, "height": 3}, "annotations": []}]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    (tmp_path / "label_config.xml").write_text(
        '<View><Image name="i" value="$image"/><rectanglelabels name="b" toName="i"><label value="b"/><label value="a"/>'
        '</rectanglelabels><Choices name="c" toName="i"><Choice value="x"/></Choices></View>'
    )
    dataset, _ = import_dataset("labelstudio", tmp_path)
    assert [(label["name"], label["kind"]) for label in dataset["labels"]] == [("b", "shape"), ("a", "shape"), ("x", "tag")]
