"""Ultralytics data.yaml datasets: detect, segment, obb and pose, by hand, from the corpus, and through Datumaro."""

from __future__ import annotations

import math
import os

import pytest
import yaml
from PIL import Image

from annotate.converters import FormatError, detect_format, export_dataset, get_format, import_dataset
from tests.converters.contract import FormatContract


class TestUltralyticsContract(FormatContract):
    name = "ultralytics"


def human():
    return {"type": "human"}


def dataset_of(width, height, shapes, subset="train", path="a.jpg"):
    return {
        "version": 1,
        "labels": [{"id": 4, "name": "thing", "kind": "shape"}, {"id": 8, "name": "other", "kind": "shape"}],
        "items": [
            {
                "id": "1",
                "name": path,
                "path": path,
                "media": "image",
                "width": width,
                "height": height,
                "subset": subset,
                "annotation": {"version": 1, "tags": [], "shapes": shapes},
            }
        ],
    }


def shapes_of(dataset):
    return [s for item in dataset["items"] for s in item["annotation"]["shapes"]]


def label_text(root, subset="train", stem="a"):
    return (root / "labels" / subset / f"{stem}.txt").read_text()


def test_detect_hand_worked_and_data_yaml(tmp_path):
    box = {"id": "b", "type": "bbox", "label": "other", "bbox": [64, 48, 128, 96], "source": human()}
    report = export_dataset("ultralytics", dataset_of(640, 480, [box]), tmp_path)
    assert report.lines() == ["no val subset: Ultralytics training needs both train and val"]
    assert label_text(tmp_path) == "1 0.200000 0.200000 0.200000 0.200000\n"
    config = yaml.safe_load((tmp_path / "data.yaml").read_text())
    assert config == {"train": "images/train", "task": "detect", "nc": 2, "names": {0: "thing", 1: "other"}}
    again, import_report = import_dataset("ultralytics", tmp_path)
    assert import_report.lines() == []
    assert [(label["id"], label["name"]) for label in again["labels"]] == [(0, "thing"), (1, "other")]
    assert [(s["label"], s["bbox"]) for s in shapes_of(again)] == [("other", [64.0, 48.0, 128.0, 96.0])]


def test_segment_round_trip_clipping_and_split_rings(tmp_path):
    shapes = [
        {"id": "p1", "type": "polygon", "label": "thing", "rings": [[10, 10, 30, 10, 20, 40]], "source": human()},
        # Two rings: written as two lines, noted.
        {"id": "p2", "type": "polygon", "label": "other", "rings": [[0, 0, 4, 0, 4, 4], [50, 50, 60, 50, 60, 60]], "source": human()},
        # Reaches left of the image: cut at x = 0 -> (0,0) (5,0) (5,10) (0,10).
        {"id": "p3", "type": "polygon", "label": "thing", "rings": [[-5, 0, 5, 0, 5, 10, -5, 10]], "source": human()},
        {"id": "b", "type": "bbox", "label": "thing", "bbox": [1, 1, 2, 2], "source": human()},
    ]
    report = export_dataset("ultralytics", dataset_of(100, 80, shapes), tmp_path)
    assert report.lines() == [
        "1 box dropped: the Ultralytics segment task holds polygons only",
        "1 polygon clipped to the image",
        "1 polygons with several rings written as one line per ring: an Ultralytics line holds one ring",
        "no val subset: Ultralytics training needs both train and val",
    ]
    lines = label_text(tmp_path).splitlines()
    assert lines[0] == "0 0.100000 0.125000 0.300000 0.125000 0.200000 0.500000"
    assert len(lines) == 4
    again, _ = import_dataset("ultralytics", tmp_path)
    assert [(s["type"], s["rings"]) for s in shapes_of(again)] == [
        ("polygon", [[10.0, 10.0, 30.0, 10.0, 20.0, 40.0]]),
        ("polygon", [[0.0, 0.0, 4.0, 0.0, 4.0, 4.0]]),
        ("polygon", [[50.0, 50.0, 60.0, 50.0, 60.0, 60.0]]),
        ("polygon", [[0.0, 0.0, 5.0, 0.0, 5.0, 10.0, 0.0, 10.0]]),
    ]


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 200.0, 328.0])
def test_obb_angle_round_trip(tmp_path, angle):
    shape = {"id": "r", "type": "rotated_bbox", "label": "thing", "bbox": [100, 50, 40, 20], "angle": angle, "source": human()}
    report = export_dataset("ultralytics", dataset_of(640, 480, [shape]), tmp_path)
    assert report.lines() == ["no val subset: Ultralytics training needs both train and val"]
    again, import_report = import_dataset("ultralytics", tmp_path)
    assert import_report.lines() == []
    (back,) = shapes_of(again)
    assert back["type"] == "rotated_bbox"
    assert back["angle"] == pytest.approx(angle, abs=1e-6)
    assert back["bbox"] == pytest.approx([100, 50, 40, 20], abs=1e-6)


def test_obb_corners_by_hand(tmp_path):
    # Center (120, 60), half sizes (20, 10), 30 degrees clockwise (y down). The top-left
    # corner offset (-20, -10) turns to (-20 cos30 + 10 sin30, -20 sin30 - 10 cos30).
    shape = {"id": "r", "type": "rotated_bbox", "label": "thing", "bbox": [100, 50, 40, 20], "angle": 30, "source": human()}
    export_dataset("ultralytics", dataset_of(640, 480, [shape]), tmp_path)
    values = [float(v) for v in label_text(tmp_path).split()[1:]]
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    x1, y1 = 120 - 20 * c + 10 * s, 60 - 20 * s - 10 * c
    x2, y2 = 120 + 20 * c + 10 * s, 60 + 20 * s - 10 * c
    assert values[:4] == pytest.approx([x1 / 640, y1 / 480, x2 / 640, y2 / 480], abs=1e-9)
    assert yaml.safe_load((tmp_path / "data.yaml").read_text())["task"] == "obb"


def test_pose_round_trip_and_kpt_shape(tmp_path):
    shapes = [
        {
            "id": "k",
            "type": "keypoints",
            "label": "thing",
            "keypoints": [10, 20, 2, 30, 40, 1, 0, 0, 0],
            "bbox": [5, 10, 40, 40],
            "source": human(),
        },
        # No bbox: the box around the labeled points (10,10)-(20,30).
        {"id": "k2", "type": "keypoints", "label": "other", "keypoints": [10, 10, 2, 20, 30, 2, 0, 0, 0], "source": human()},
        {"id": "k3", "type": "keypoints", "label": "other", "keypoints": [1, 1, 2], "source": human()},
    ]
    report = export_dataset("ultralytics", dataset_of(100, 50, shapes), tmp_path)
    assert report.lines()[0] == "1 keypoints shape dropped: kpt_shape is [3, 3] for the whole dataset; the shape has 1 points"
    config = yaml.safe_load((tmp_path / "data.yaml").read_text())
    assert (config["task"], config["kpt_shape"]) == ("pose", [3, 3])
    assert label_text(tmp_path).splitlines()[0] == (
        "0 0.250000 0.600000 0.400000 0.800000 0.100000 0.400000 2 0.300000 0.800000 1 0.000000 0.000000 0"
    )
    again, _ = import_dataset("ultralytics", tmp_path)
    first, second = shapes_of(again)
    assert first["keypoints"] == [10.0, 20.0, 2, 30.0, 40.0, 1, 0.0, 0.0, 0]
    assert first["bbox"] == [5.0, 10.0, 40.0, 40.0]
    assert second["bbox"] == [10.0, 10.0, 10.0, 20.0]


def test_pose_with_two_dimensions_and_bad_lines(tmp_path):
    (tmp_path / "images/train").mkdir(parents=True)
    (tmp_path / "labels/train").mkdir(parents=True)
    (tmp_path / "data.yaml").write_text("train: images/train\nkpt_shape: [2, 2]\nnames: {0: person}\n")
    (tmp_path / "images.meta").write_text("images/train/a.jpg 10 20\n")
    (tmp_path / "labels/train/a.txt").write_text("0 0.5 0.5 1 1 0.25 0.5 0 0\n")
    dataset, _ = import_dataset("ultralytics", tmp_path)
    (shape,) = shapes_of(dataset)
    assert shape["keypoints"] == [5.0, 5.0, 2, 0.0, 0.0, 0]
    (tmp_path / "labels/train/a.txt").write_text("0 0.5 0.5 1 1 0.25 0.5\n")
    with pytest.raises(FormatError, match=r"a.txt, line 1: expected 9 values for kpt_shape \[2, 2\], got 7"):
        import_dataset("ultralytics", tmp_path)


def test_task_choice_and_option(tmp_path):
    box = {"id": "b", "type": "bbox", "label": "thing", "bbox": [1, 1, 2, 2], "source": human()}
    polygon = {"id": "p", "type": "polygon", "label": "thing", "rings": [[0, 0, 4, 0, 4, 4]], "source": human()}
    dataset = dataset_of(10, 10, [box, polygon, dict(polygon, id="p2")])
    report = export_dataset("ultralytics", dataset, tmp_path / "auto")
    assert "1 box dropped: the Ultralytics segment task holds polygons only" in report.lines()
    fmt = get_format("ultralytics")
    fmt.export_dataset(dataset, tmp_path / "det", task="detect")
    assert label_text(tmp_path / "det") == "0 0.200000 0.200000 0.200000 0.200000\n"
    with pytest.raises(ValueError, match="unknown Ultralytics task 'classify'"):
        fmt.export_dataset(dataset, tmp_path / "x", task="classify")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.5", "line 2: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got 4 values"),
        ("0 0.5 0.5 0.5 x", "line 2: 'x' is not a number"),
        ("2 0.5 0.5 0.5 0.5", "line 2: class index 2 is out of range"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    export_dataset("ultralytics", dataset_of(10, 10, []), tmp_path)
    (tmp_path / "labels/train/a.txt").write_text(f"0 0.5 0.5 0.2 0.2\n{line}\n")
    with pytest.raises(FormatError, match=message):
        import_dataset("ultralytics", tmp_path)


def test_bad_yaml_names_the_line(tmp_path):
    (tmp_path / "data.yaml").write_text("train: images/train\nnames: [a, b\n")
    assert not get_format("ultralytics").detect(tmp_path)
    with pytest.raises(FormatError, match=r"data.yaml, line \d+: not readable YAML"):
        import_dataset("ultralytics", tmp_path)


def test_paths_leaving_the_folder_are_not_followed(tmp_path):
    export_dataset("ultralytics", dataset_of(10, 10, []), tmp_path / "ds")
    (tmp_path / "ds/data.yaml").write_text("path: /somewhere/else\ntrain: ../../elsewhere/images\nval: /abs/images\nnames: [a]\n")
    dataset, report = import_dataset("ultralytics", tmp_path / "ds")
    # The images/train folder is still found; nothing outside was read.
    assert [item["id"] for item in dataset["items"]] == ["train/a.jpg"]
    assert report.lines() == [
        "data.yaml path '/somewhere/else' ignored: the dataset is read from the folder of data.yaml",
        "data.yaml train: '../../elsewhere/images' ignored: it leaves the dataset folder",
        "data.yaml val: '/abs/images' ignored: absolute paths are not followed",
    ]


def test_image_and_label_files_linked_from_outside_the_folder_are_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (10, 10)).save(outside / "o.jpg")
    (outside / "o.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    export_dataset("ultralytics", dataset_of(10, 10, []), tmp_path / "ds")
    images, labels = tmp_path / "ds/images/train", tmp_path / "ds/labels/train"
    os.symlink(outside / "o.jpg", images / "linked.jpg")  # an image file that is a link
    os.symlink(outside, images / "folder")  # a folder that is a link: not walked into at all
    Image.new("RGB", (10, 10)).save(images / "b.jpg")
    os.symlink(outside / "o.txt", labels / "b.txt")  # a label file that is a link
    dataset, report = import_dataset("ultralytics", tmp_path / "ds")
    assert [item["id"] for item in dataset["items"]] == ["train/a.jpg"]
    # linked.jpg and b.jpg (its label is the link); nothing is read from images/train/folder.
    assert report.lines() == ["2 items dropped: its image or label file links to a place outside the dataset folder"]


# -- corpus, counted by hand -----------------------------------------------------------


def test_corpus_roboflow_yolo(corpus):
    src = corpus / "datumaro/roboflow/yolo"
    assert detect_format(src) == "ultralytics"
    dataset, report = import_dataset("ultralytics", src)
    # "../valid/images" exists neither as written nor as "valid/images"; the val folder is found anyway.
    assert report.lines() == ["data.yaml val: '../valid/images' not found"]
    got = [
        (i["id"], i["subset"], i["width"], i["height"], [(s["label"], s["bbox"]) for s in i["annotation"]["shapes"]])
        for i in dataset["items"]
    ]
    # 10 x 5 images. "0 0.35 0.3 0.3 0.2": cx 3.5, w 3 -> x 2; cy 1.5, h 1 -> y 1.
    # "1 0.1 0.4 0.2 0.8": [0, 0, 2, 4]. "0 0.05 0.2 0.1 0.4": [0, 0, 1, 2]. "1 0.45 0.1 0.9 0.2": [0, 0, 9, 1].
    assert got == [
        ("train/train_001.jpg", "train", 10, 5, [("label_0", [2.0, 1.0, 3.0, 1.0])]),
        ("train/train_002.jpg", "train", 10, 5, [("label_1", [0.0, 0.0, 2.0, 4.0])]),
        ("val/val_001.jpg", "val", 10, 5, [("label_0", [0.0, 0.0, 1.0, 2.0]), ("label_1", [0.0, 0.0, 9.0, 1.0])]),
    ]
    assert get_format("ultralytics").find_image(src, dataset["items"][2]) == src / "val/images/val_001.jpg"


def test_corpus_roboflow_obb_is_dota_in_pixels(corpus):
    # labelTxt/*.txt hold "x1 y1 x2 y2 x3 y3 x4 y4 name difficult" in pixels, corners
    # counter-clockwise on screen: "0 0 0 2 2 2 2 0 label_0 0" is the square (0,0)-(2,2).
    dataset, report = import_dataset("ultralytics", corpus / "datumaro/roboflow/yolo_obb")
    assert report.lines() == ["data.yaml val: '../valid/images' not found"]
    got = [(s["label"], s["type"], s["bbox"], s["angle"]) for s in shapes_of(dataset)]
    assert got == [
        ("label_0", "rotated_bbox", [0.0, 0.0, 2.0, 2.0], 0.0),
        ("label_1", "rotated_bbox", [1.0, 1.0, 4.0, 4.0], 0.0),
        ("label_0", "rotated_bbox", [0.0, 0.0, 1.0, 1.0], 0.0),
        # "1 2 1 5 10 5 10 2": x 1..10, y 2..5.
        ("label_1", "rotated_bbox", [1.0, 2.0, 9.0, 3.0], 0.0),
    ]


def test_corpus_label_studio_segmentation(corpus):
    src = corpus / "label-studio/yolo/import_yolo_seg_data_unif_dims"
    assert detect_format(src) == "ultralytics"
    dataset, report = import_dataset("ultralytics", src)
    assert report.lines() == []
    assert [(i["path"], i["width"], i["height"]) for i in dataset["items"]] == [(f"img_{n}.jpg", 640, 329) for n in range(1, 6)]
    shapes = shapes_of(dataset)
    # 4 lines per file, 5 files; the 4-point first lines stay polygons (the dataset has longer ones).
    assert len(shapes) == 20
    assert {s["type"] for s in shapes} == {"polygon"}
    first = dataset["items"][0]["annotation"]["shapes"][0]
    # "3 0.2628992628992629 0.11152351577883492 ...": 0.2628992628992629 * 640 = 168.255528.
    assert first["label"] == "number"
    assert first["rings"][0][:2] == [168.255528, 36.691237]
    assert len(first["rings"][0]) == 8


def test_corpus_labels_only_are_counted(corpus):
    dataset, report = import_dataset("ultralytics", corpus / "label-studio/yolo/import_yolo_seg_data_labels_only")
    assert dataset["items"] == []
    assert report.lines() == ["7 items dropped: the image file is missing and YOLO stores no image size"]


# -- Datumaro reads our detect export --------------------------------------------------


def test_datumaro_reads_our_detect_export(tmp_path, images):
    dm = pytest.importorskip("datumaro")

    def item(item_id, subset, width, height, boxes):
        shapes = [
            {"id": f"{item_id}{n}", "type": "bbox", "label": label, "bbox": b, "source": human()} for n, (label, b) in enumerate(boxes)
        ]
        return {
            "id": item_id,
            "name": f"{item_id}.jpg",
            "path": f"{item_id}.jpg",
            "media": "image",
            "width": width,
            "height": height,
            "subset": subset,
            "annotation": {"version": 1, "tags": [], "shapes": shapes},
        }

    dataset = {
        "version": 1,
        "labels": [{"id": 3, "name": "car", "kind": "shape"}, {"id": 1, "name": "person", "kind": "shape"}],
        "items": [
            item("one", "train", 40, 30, [("car", [1.5, 2.25, 10, 7.3]), ("person", [20, 10, 20, 20])]),
            item("two", "val", 25, 17, [("person", [3, 4, 5, 6])]),
        ],
    }
    assert export_dataset("ultralytics", dataset, tmp_path, images=images).lines() == []
    theirs = dm.Dataset.import_from(str(tmp_path), "yolo")
    names = [label.name for label in theirs.categories()[dm.AnnotationType.label]]
    assert names == ["car", "person"]
    got = {(i.subset, i.id): [(names[a.label], [a.x, a.y, a.w, a.h]) for a in i.annotations] for i in theirs}
    assert sorted(got) == [("train", "one"), ("val", "two")]
    for ours in dataset["items"]:
        theirs_shapes = got[(ours["subset"], ours["id"])]
        expected = [(s["label"], s["bbox"]) for s in ours["annotation"]["shapes"]]
        assert [label for label, _ in theirs_shapes] == [label for label, _ in expected]
        for (_, theirs_box), (_, our_box) in zip(theirs_shapes, expected, strict=True):
            assert theirs_box == pytest.approx(our_box, abs=1e-3)
