"""Darknet YOLO 1.1: normalization worked out by hand, the corpus counted by hand, Datumaro's reading.

A box [x, y, w, h] in a W x H image is written as (x + w/2)/W (y + h/2)/H w/W h/H.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from annotate.converters import ConversionLossError, FormatError, detect_format, export_dataset, get_format, import_dataset
from tests.converters.contract import FormatContract


class TestYoloContract(FormatContract):
    name = "yolo"


def human():
    return {"type": "human"}


def one_item_dataset(width, height, shapes, labels=None, path="a.jpg", subset="train"):
    return {
        "version": 1,
        "labels": labels or [{"id": 0, "name": "thing", "kind": "shape"}],
        "items": [
            {
                "id": "1",
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "media": "image",
                "width": width,
                "height": height,
                "subset": subset,
                "annotation": {"version": 1, "tags": [], "shapes": shapes},
            }
        ],
    }


def box(bbox, label="thing", shape_id="b1", **extra):
    return {"id": shape_id, "type": "bbox", "label": label, "bbox": bbox, "source": human(), **extra}


def jpeg(width, height, orientation=None) -> bytes:
    image = Image.new("RGB", (width, height), (10, 200, 30))
    buffer = io.BytesIO()
    if orientation is None:
        image.save(buffer, format="JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def boxes(dataset):
    return [(s["label"], s["bbox"]) for item in dataset["items"] for s in item["annotation"]["shapes"]]


def write_strict(root: Path, names: list[str], lines: dict[str, str], images: dict[str, bytes] | None = None) -> Path:
    """A hand-made strict dataset: obj.data, obj.names, train.txt, obj_train_data/<name>.jpg+.txt."""
    data = root / "obj_train_data"
    data.mkdir(parents=True)
    (root / "obj.names").write_text("\n".join(names) + "\n")
    (root / "obj.data").write_text(f"classes = {len(names)}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n")
    (root / "train.txt").write_text("".join(f"data/obj_train_data/{name}.jpg\n" for name in lines))
    for name, text in lines.items():
        (data / f"{name}.txt").write_text(text)
        (data / f"{name}.jpg").write_bytes((images or {}).get(name) or jpeg(15, 10))
    return root


# -- normalization by hand ------------------------------------------------------------


def test_hand_worked_box_is_written_and_read_back_exactly(tmp_path):
    # 640x480, box x=64 y=48 w=128 h=96: center (128, 96) -> 0.2 0.2, size 0.2 0.2.
    dataset = one_item_dataset(640, 480, [box([64, 48, 128, 96])])
    report = export_dataset("yolo", dataset, tmp_path)
    assert report.lines() == []
    assert (tmp_path / "obj_train_data/a.txt").read_text() == "0 0.200000 0.200000 0.200000 0.200000\n"
    again, _ = import_dataset("yolo", tmp_path)
    assert boxes(again) == [("thing", [64.0, 48.0, 128.0, 96.0])]


def test_fractional_box_gets_more_decimals_and_round_trips(tmp_path):
    # cx = (10.3 + 2.75) / 640 = 0.020390625, cy = (7.1 + 1.125) / 480 = 0.0171354166...,
    # w = 5.5 / 640 = 0.00859375, h = 2.25 / 480 = 0.0046875.
    dataset = one_item_dataset(640, 480, [box([10.3, 7.1, 5.5, 2.25])])
    export_dataset("yolo", dataset, tmp_path)
    assert (tmp_path / "obj_train_data/a.txt").read_text() == "0 0.020390625 0.017135416667 0.00859375 0.0046875\n"
    again, _ = import_dataset("yolo", tmp_path)
    ((_, bbox),) = boxes(again)
    assert bbox == pytest.approx([10.3, 7.1, 5.5, 2.25], abs=1e-6)


def test_exif_rotated_jpeg_normalizes_against_the_oriented_size(tmp_path):
    # Stored 60 wide x 20 high, EXIF orientation 6 (turn 90 degrees): shown 20 x 60.
    write_strict(tmp_path, ["thing"], {"r": "0 0.5 0.5 0.5 0.5\n"}, {"r": jpeg(60, 20, orientation=6)})
    with Image.open(tmp_path / "obj_train_data/r.jpg") as stored:
        assert stored.size == (60, 20)
    dataset, report = import_dataset("yolo", tmp_path)
    (item,) = dataset["items"]
    assert (item["width"], item["height"]) == (20, 60)
    # Center (10, 30), size 10 x 30.
    assert boxes(dataset) == [("thing", [5.0, 15.0, 10.0, 30.0])]
    assert report.lines() == []


def test_empty_images_are_kept_both_ways(tmp_path, images):
    dataset = one_item_dataset(32, 24, [])
    export_dataset("yolo", dataset, tmp_path, images=images)
    assert (tmp_path / "obj_train_data/a.txt").read_text() == ""
    assert (tmp_path / "train.txt").read_text() == "data/obj_train_data/a.jpg\n"
    again, report = import_dataset("yolo", tmp_path)
    assert [(i["path"], i["annotation"]["shapes"]) for i in again["items"]] == [("a.jpg", [])]
    assert report.lines() == []


def test_layout_and_label_ids(tmp_path, images):
    labels = [
        {"id": 9, "name": "z", "kind": "shape"},
        {"id": 3, "name": "flag", "kind": "tag"},
        {"id": 5, "name": "a", "kind": "shape"},
    ]
    dataset = one_item_dataset(10, 10, [box([0, 0, 5, 5], "a"), box([5, 5, 5, 5], "z", "b2")], labels, path="sub dir/x.y.png")
    report = export_dataset("yolo", dataset, tmp_path, images=images)
    # Label ids change (9, 5 -> classes 0, 1 in label order); that is not a loss. The tag
    # label is: obj.names lists shape labels only.
    assert report.lines() == ["1 label dropped: YOLO has no tag labels"]
    assert (tmp_path / "obj.names").read_text() == "z\na\n"
    assert (tmp_path / "obj.data").read_text() == "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    assert (tmp_path / "obj_train_data/sub dir/x.y.txt").read_text() == (
        "1 0.250000 0.250000 0.500000 0.500000\n0 0.750000 0.750000 0.500000 0.500000\n"
    )
    assert (tmp_path / "obj_train_data/sub dir/x.y.png").is_file()
    again, _ = import_dataset("yolo", tmp_path)
    assert [(label["id"], label["name"]) for label in again["labels"]] == [(0, "z"), (1, "a")]
    (item,) = again["items"]
    assert (item["id"], item["path"], item["subset"]) == ("train/sub dir/x.y.png", "sub dir/x.y.png", "train")
    assert get_format("yolo").find_image(tmp_path, item) == tmp_path / "obj_train_data/sub dir/x.y.png"


def test_report_counts_what_yolo_cannot_hold(tmp_path, dataset):
    report = export_dataset("yolo", dataset, tmp_path)
    assert report.lines() == [
        "3 attributes dropped: YOLO has no shape attributes or flags",  # pose, color, occluded
        "1 keypoints shape dropped: YOLO detection holds boxes only",
        "1 label dropped: YOLO has no tag labels",  # blurry
        "1 label color dropped: YOLO has no label colors",  # cat's
        "1 mask dropped: YOLO detection holds boxes only",
        "1 polygon dropped: YOLO detection holds boxes only",
        "1 polyline dropped: YOLO detection holds boxes only",
        "1 source dropped: YOLO keeps no model or consensus source: an import marks them as made by a person",  # the dog box
        "1 tag dropped: YOLO has no image-level tags",
        "1 box clipped to the image",
        "1 box dropped: no area inside the image",
    ]
    with pytest.raises(ConversionLossError):
        export_dataset("yolo", dataset, tmp_path / "strict", strict=True)


def test_same_stem_in_one_subset_gets_distinct_label_files(tmp_path):
    dataset = one_item_dataset(10, 10, [box([0, 0, 2, 2])])
    second = dict(dataset["items"][0], id="2", path="a.png", name="a.png")
    dataset["items"].append(second)
    report = export_dataset("yolo", dataset, tmp_path)
    assert report.lines() == ["item '2' written as 'a_2.png': its label file name is taken"]
    again, _ = import_dataset("yolo", tmp_path)
    assert sorted(i["path"] for i in again["items"]) == ["a.jpg", "a_2.png"]


# -- import: errors and safety ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.5", "line 2: expected 5 values 'class cx cy w h', got 4"),
        ("0 0.5 abc 0.5 0.5", "line 2: 'abc' is not a number"),
        ("3 0.5 0.5 0.5 0.5", "line 2: class index 3 is out of range"),
        ("1.5 0.5 0.5 0.5 0.5", "line 2: class index '1.5' is not an integer"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    write_strict(tmp_path, ["a", "b", "c"], {"x": f"0 0.5 0.5 0.2 0.2\n{line}\n"})
    with pytest.raises(FormatError, match=message) as caught:
        import_dataset("yolo", tmp_path)
    assert "obj_train_data/x.txt" in str(caught.value)


def test_paths_out_of_the_folder_are_refused(tmp_path):
    write_strict(tmp_path, ["a"], {"x": ""})
    (tmp_path / "train.txt").write_text("data/obj_train_data/x.jpg\n../outside.jpg\n/etc/passwd\n")
    dataset, report = import_dataset("yolo", tmp_path)
    assert len(dataset["items"]) == 1
    assert report.lines() == ["2 items dropped: its path in train.txt leaves the dataset folder"]
    (tmp_path / "obj.data").write_text("classes = 1\ntrain = ../train.txt\nnames = data/obj.names\n")
    with pytest.raises(FormatError, match=r"obj.data, line 2: train path '../train.txt' leaves the dataset folder"):
        import_dataset("yolo", tmp_path)


def test_missing_image_is_counted_not_guessed(tmp_path):
    write_strict(tmp_path, ["a"], {"x": "0 0.5 0.5 0.2 0.2\n", "y": ""})
    (tmp_path / "obj_train_data/y.jpg").unlink()
    dataset, report = import_dataset("yolo", tmp_path)
    assert [i["path"] for i in dataset["items"]] == ["x.jpg"]
    assert report.lines() == ["1 item dropped: the image file is missing and YOLO stores no image size"]


def test_out_of_image_box_on_import_is_clipped_and_counted(tmp_path):
    # 15 x 10 image; center (15, 5), size 10 x 4: the right half is outside.
    write_strict(tmp_path, ["a"], {"x": "0 1.0 0.5 0.666667 0.4\n0 2.0 0.5 0.1 0.1\n"})
    dataset, report = import_dataset("yolo", tmp_path)
    assert boxes(dataset) == [("a", [pytest.approx(9.999998), 3.0, pytest.approx(5.000002), 4.0])]
    assert report.lines() == ["1 box clipped to the image", "1 box dropped: no area inside the image"]


# -- corpus, counted by hand -----------------------------------------------------------


def test_corpus_strict(corpus):
    src = corpus / "datumaro/yolo/strict"
    assert detect_format(src) == "yolo"
    dataset, report = import_dataset("yolo", src)
    assert report.lines() == []
    assert [label["name"] for label in dataset["labels"]] == [f"label_{i}" for i in range(10)]
    (item,) = dataset["items"]
    assert (item["id"], item["path"], item["subset"], item["width"], item["height"]) == ("train/1.jpg", "1.jpg", "train", 15, 10)
    # "2 0.133333 0.300000 0.266667 0.200000" on 15 x 10: x = (0.133333 - 0.1333335) * 15 < 0 by
    # rounding, cut to 0; w = 4.000005 - 0.0000075; y = 2, h = 2.
    # "4 0.266667 0.450000 0.133333 0.300000": x = 3.000007, w = 1.999995, y = 3, h = 3.
    assert boxes(dataset) == [
        ("label_2", [0.0, 2.0, pytest.approx(3.999998), 2.0]),
        ("label_4", [pytest.approx(3.000007), 3.0, pytest.approx(1.999995), 3.0]),
    ]
    assert get_format("yolo").find_image(src, item) == src / "obj_train_data/1.jpg"


def test_corpus_loose_labels_ignores_readme(corpus):
    src = corpus / "datumaro/yolo/labels"
    assert detect_format(src) == "yolo"
    dataset, report = import_dataset("yolo", src)
    assert report.lines() == []
    assert [(i["id"], i["subset"], i["path"]) for i in dataset["items"]] == [
        ("train/1.jpg", "train", "1.jpg"),
        ("val/1.jpg", "val", "1.jpg"),
    ]
    assert [len(i["annotation"]["shapes"]) for i in dataset["items"]] == [2, 2]
    assert not any("README" in i["path"] for i in dataset["items"])


def test_corpus_loose_annotations(corpus):
    dataset, report = import_dataset("yolo", corpus / "datumaro/yolo/annotations")
    assert report.lines() == []
    (item,) = dataset["items"]
    assert ("subset" not in item, item["path"], item["width"], item["height"]) == (True, "1.jpg", 15, 10)
    assert [label for label, _ in boxes(dataset)] == ["label_2", "label_4"]


def test_corpus_label_studio_mixed_extensions(corpus):
    src = corpus / "label-studio/yolo/import_yolo_data"
    assert detect_format(src) == "yolo"
    dataset, report = import_dataset("yolo", src)
    assert report.lines() == []
    assert [label["name"] for label in dataset["labels"]] == ["closed_door", "opened_door", "bus", "number"]
    # Sizes read from the files (img_7.jpeg carries EXIF orientation 1: no turn).
    assert [(i["path"], i["width"], i["height"], len(i["annotation"]["shapes"])) for i in dataset["items"]] == [
        ("img_1.jpg", 640, 329, 4),
        ("img_2.png", 640, 427, 4),
        ("img_3.png", 1280, 720, 4),
        ("img_4.png", 640, 494, 4),
        ("img_5.jpg", 640, 425, 3),
        ("img_6.jpeg", 1280, 720, 4),
        ("img_7.jpeg", 640, 427, 2),
    ]
    # img_1 line 1: "2 0.49765625 0.46200607902735563 0.9640625 0.8693009118541033" on 640 x 329:
    # w = 617, cx = 318.5 -> x = 10; h = 286, cy = 152 -> y = 9.
    first = dataset["items"][0]["annotation"]["shapes"][0]
    assert (first["label"], first["bbox"]) == ("bus", [10.0, 9.0, 617.0, 286.0])


def test_corpus_labels_without_images_are_counted(corpus):
    # Polygon lines: detection leaves the folder to the ultralytics format, yet the items
    # cannot even be placed.
    src = corpus / "label-studio/yolo/import_yolo_seg_data_labels_only"
    assert not get_format("yolo").detect(src)
    dataset, report = import_dataset("yolo", src)
    assert dataset["items"] == []
    assert report.lines() == ["7 items dropped: the image file is missing and YOLO stores no image size"]


# -- Datumaro reads our export ---------------------------------------------------------


def test_datumaro_reads_our_export(tmp_path, images):
    dm = pytest.importorskip("datumaro")
    dataset = {
        "version": 1,
        "labels": [{"id": 7, "name": "car", "kind": "shape"}, {"id": 2, "name": "person", "kind": "shape"}],
        "items": [
            {
                "id": "1",
                "name": "one.jpg",
                "path": "street/one.jpg",
                "media": "image",
                "width": 40,
                "height": 30,
                "subset": "train",
                "annotation": {
                    "version": 1,
                    "tags": [],
                    "shapes": [box([1.5, 2.25, 10, 7.3], "car"), box([20, 10, 20, 20], "person", "b2")],
                },
            },
            {
                "id": "2",
                "name": "two.png",
                "path": "two.png",
                "media": "image",
                "width": 25,
                "height": 17,
                "subset": "val",
                "annotation": {"version": 1, "tags": [], "shapes": [box([3, 4, 5, 6], "person")]},
            },
            {
                "id": "3",
                "name": "empty.jpg",
                "path": "empty.jpg",
                "media": "image",
                "width": 8,
                "height": 8,
                "subset": "train",
                "annotation": {"version": 1, "tags": [], "shapes": []},
            },
        ],
    }
    export_dataset("yolo", dataset, tmp_path, images=images)
    theirs = dm.Dataset.import_from(str(tmp_path), "yolo")
    names = [label.name for label in theirs.categories()[dm.AnnotationType.label]]
    assert names == ["car", "person"]
    got = {}
    for item in theirs:
        assert item.media.size == {"street/one": (30, 40), "two": (17, 25), "empty": (8, 8)}[item.id]
        got[(item.subset, item.id)] = [(names[a.label], [a.x, a.y, a.w, a.h]) for a in item.annotations]
    expected = {
        ("train", "street/one"): [("car", [1.5, 2.25, 10, 7.3]), ("person", [20, 10, 20, 20])],
        ("val", "two"): [("person", [3, 4, 5, 6])],
        ("train", "empty"): [],
    }
    assert got.keys() == expected.keys()
    for key, shapes in expected.items():
        assert [label for label, _ in got[key]] == [label for label, _ in shapes]
        for (_, theirs_box), (_, ours) in zip(got[key], shapes, strict=True):
            assert theirs_box == pytest.approx(ours, abs=1e-3)
