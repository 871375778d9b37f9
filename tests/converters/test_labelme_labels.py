"""LabelMe keeps the label list in labels.txt, the file labelme's own tools read."""

from __future__ import annotations

import json
import shutil

import pytest

from annotate.converters import detect_format, export_dataset, import_dataset
from tests.converters.test_labelstudio_labels import label_dataset, without_colors, yolo_class_files

VOC_CLASSES = [
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "potted plant",
    "sheep",
    "sofa",
    "train",
    "tv/monitor",
]


def test_round_trip_keeps_every_label_in_order(tmp_path):
    dataset = label_dataset()
    report = export_dataset("labelme", dataset, tmp_path / "lm")
    assert report.lines() == []
    # labelme2voc.py wants __ignore__ and _background_ first; then every label, in order.
    assert (tmp_path / "lm/labels.txt").read_text() == "__ignore__\n_background_\nzebra\napple\nmango\nsunny\ncloudy\n"
    assert detect_format(tmp_path / "lm") == "labelme"
    again, import_report = import_dataset("labelme", tmp_path / "lm")
    assert import_report.lines() == []
    assert again["labels"] == dataset["labels"]
    # A single json reads the labels.txt of its folder.
    assert import_dataset("labelme", tmp_path / "lm/one.json")[0]["labels"] == dataset["labels"]


def test_yolo_class_ids_survive_the_round_trip(tmp_path):
    dataset = label_dataset()
    export_dataset("labelme", dataset, tmp_path / "lm")
    again, _ = import_dataset("labelme", tmp_path / "lm")
    assert yolo_class_files(again, tmp_path / "through") == yolo_class_files(dataset, tmp_path / "direct")


def test_without_labels_txt_labels_follow_first_use(tmp_path):
    export_dataset("labelme", label_dataset(), tmp_path / "lm")
    (tmp_path / "lm/labels.txt").unlink()
    again, report = import_dataset("labelme", tmp_path / "lm")
    assert report.lines() == []
    # Every file lists every tag label among its flags, so both tag labels come back.
    assert [(label["name"], label["kind"]) for label in again["labels"]] == [
        ("sunny", "tag"),
        ("cloudy", "tag"),
        ("mango", "shape"),
        ("zebra", "shape"),
    ]


def test_labels_txt_cannot_list_labelme_special_names(tmp_path):
    dataset = label_dataset()
    # An unused label named _background_: dropped. A used __ignore__ second: labels.txt lists
    # it first (labelme2voc.py insists), so it and zebra swap places.
    dataset["labels"][1]["name"] = "_background_"
    dataset["labels"].insert(1, {"id": 6, "name": "__ignore__", "kind": "shape"})
    dataset["items"][1]["annotation"]["shapes"][0]["label"] = "__ignore__"
    report = export_dataset("labelme", dataset, tmp_path / "lm")
    assert report.lines() == [
        "1 label dropped: labels.txt cannot list it (labelme strips each line and reads __ignore__ and _background_ as its "
        "two special first lines) and nothing uses it",
        "2 label positions dropped: labels.txt cannot list every label in place (labelme strips each line and reads "
        "__ignore__ and _background_ as its two special first lines): those come back first, the unlisted ones last",
        "LabelMe has no label ids: an import numbers the labels 1, 2, ... in labels.txt order, so 2 label ids change",
    ]
    assert (tmp_path / "lm/labels.txt").read_text() == "__ignore__\n_background_\nzebra\nmango\nsunny\ncloudy\n"
    again, import_report = import_dataset("labelme", tmp_path / "lm")
    # Two ids change: __ignore__ 6 -> 1 and zebra 1 -> 2; mango, sunny and cloudy keep 3, 4, 5.
    assert [(label["id"], label["name"]) for label in again["labels"]] == [
        (1, "__ignore__"),
        (2, "zebra"),
        (3, "mango"),
        (4, "sunny"),
        (5, "cloudy"),
    ]
    assert import_report.lines() == [
        "1 shapes use the label '__ignore__' (labelme's 'ignore this region' label); kept as an ordinary label"
    ]


def test_special_lines_are_kept_in_place_only_when_used(tmp_path):
    export_dataset("labelme", label_dataset(), tmp_path / "lm")
    (tmp_path / "lm/labels.txt").write_text("zebra\n_background_\n__ignore__\nmango\n")
    shapes = json.loads((tmp_path / "lm/two.json").read_text())
    shapes["shapes"][0]["label"] = "_background_"
    (tmp_path / "lm/two.json").write_text(json.dumps(shapes))
    dataset, _ = import_dataset("labelme", tmp_path / "lm")
    # _background_ is used: second, as listed; __ignore__ is not: skipped. sunny and cloudy
    # follow by first use (the flags of one.json).
    assert [label["name"] for label in dataset["labels"]] == ["zebra", "_background_", "mango", "sunny", "cloudy"]


def test_what_labelme_cannot_hold_is_counted(tmp_path):
    dataset = label_dataset()
    dataset["labels"][0]["color"] = "#112233"
    dataset["labels"][2]["keypoints"] = ["nose"]
    for label, new_id in zip(dataset["labels"], (0, 2, 3, 40, 50), strict=True):
        label["id"] = new_id
    report = export_dataset("labelme", dataset, tmp_path)
    assert report.lines() == [
        "1 label color dropped: LabelMe has no label colors",
        "1 label skeleton dropped: LabelMe has no keypoint skeletons",
        "LabelMe has no label ids: an import numbers the labels 1, 2, ... in labels.txt order, so 3 label ids change",
    ]
    again, _ = import_dataset("labelme", tmp_path)
    assert [label["name"] for label in again["labels"]] == [label["name"] for label in dataset["labels"]]
    assert without_colors(again["labels"])[0] == {"id": 1, "name": "zebra", "kind": "shape"}


def test_corpus_labels_txt_gives_the_voc_classes_in_order(corpus):
    # labels.txt: __ignore__, _background_, then the 20 VOC classes; 5 of them are used, and
    # __ignore__ by 2 polygons (it keeps its listed place; _background_, unused, is skipped).
    dataset, report = import_dataset("labelme", corpus / "labelme/instance_segmentation")
    assert [label["name"] for label in dataset["labels"]] == ["__ignore__", *VOC_CLASSES]
    assert [label["id"] for label in dataset["labels"]] == list(range(1, 22))
    assert {label["kind"] for label in dataset["labels"]} == {"shape"}
    assert [len(item["annotation"]["shapes"]) for item in dataset["items"]] == [5, 10, 3]
    assert report.lines() == ["2 shapes use the label '__ignore__' (labelme's 'ignore this region' label); kept as an ordinary label"]


def test_corpus_video_frames_follow_labels_txt(corpus):
    # labels.txt lists car, track; the first frame draws track first.
    dataset, _ = import_dataset("labelme", corpus / "labelme/video_annotation")
    assert [label["name"] for label in dataset["labels"]] == ["car", "track"]
    assert sum(len(item["annotation"]["shapes"]) for item in dataset["items"]) == 15
    without, _ = import_dataset("labelme", corpus / "labelme/video_annotation/data_annotated")
    assert [label["name"] for label in without["labels"]] == ["track", "car"]


@pytest.mark.parametrize(
    ("folder", "names"),
    [
        # Without labels.txt a used __ignore__ comes first, as in labelme's own labels.txt files.
        ("instance_segmentation/data_annotated", ["__ignore__", "person", "bottle", "chair", "sofa", "bus", "car"]),
        ("classification/data_annotated", ["__ignore__", "cat", "dog"]),
    ],
)
def test_corpus_round_trip_is_lossless(corpus, tmp_path, folder, names):
    dataset, _ = import_dataset("labelme", corpus / "labelme" / folder)
    assert [label["name"] for label in dataset["labels"]] == names
    export_dataset("labelme", dataset, tmp_path / "lm", strict=True)
    assert (tmp_path / "lm/labels.txt").read_text().splitlines()[:2] == ["__ignore__", "_background_"]
    again, _ = import_dataset("labelme", tmp_path / "lm")
    assert again["labels"] == dataset["labels"]


def test_blank_and_repeated_lines_are_skipped(tmp_path, corpus):
    src = corpus / "labelme/bbox_detection/data_annotated"
    shutil.copytree(src, tmp_path / "data")
    (tmp_path / "data/labels.txt").write_text("\ufeff__ignore__\r\n_background_\r\n\r\n  car \r\nbus\r\ncar\r\nperson\r\ndog\r\n")
    dataset, report = import_dataset("labelme", tmp_path / "data")
    assert report.lines() == []
    assert [label["name"] for label in dataset["labels"]] == ["car", "bus", "person", "dog"]
    assert sum(len(item["annotation"]["shapes"]) for item in dataset["items"]) == 9
