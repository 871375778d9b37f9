"""Label Studio JSON export: contract, hand-worked rotation, the corpus, round trips, errors."""

from __future__ import annotations

import json
import math

import pytest

from annotate.converters import FormatError, detect_format, export_dataset, get_format, import_dataset
from annotate.converters.labelstudio import center_to_corner, corner_to_center
from tests.converters.contract import FormatContract


class TestLabelStudioContract(FormatContract):
    name = "labelstudio"


def shapes_of(item):
    return item["annotation"]["shapes"]


def result(result_type, value, width=200, height=100, **extra):
    return {
        "id": extra.pop("id", "r1"),
        "type": result_type,
        "from_name": "label",
        "to_name": "image",
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": value,
        **extra,
    }


def write_tasks(tmp_path, tasks, name="export.json"):
    (tmp_path / name).write_text(json.dumps(tasks))
    return tmp_path / name


def test_rotation_about_the_corner_becomes_rotation_about_the_center():
    # 40x20 box, top-left (50, 20), turned 90 degrees clockwise about that corner: its corners
    # are (50,20), (50,60), (30,60), (30,20), so its center is (40, 40).
    assert corner_to_center(50, 20, 40, 20, 90) == [20.0, 30.0, 40, 20]
    assert center_to_corner(20, 30, 40, 20, 90) == pytest.approx((50, 20))
    # No rotation: nothing moves.
    assert corner_to_center(3, 4, 5, 6, 0) == [3.0, 4.0, 5, 6]


def test_hand_worked_percent_coordinates(tmp_path):
    # A 200x100 image: x and width are percent of 200, y and height percent of 100.
    tasks = [
        {
            "id": 7,
            "data": {"image": "/data/upload/3/photo.jpg"},
            "annotations": [
                {
                    "id": 1,
                    "was_cancelled": False,
                    "updated_at": "2024-01-01T00:00:00Z",
                    "result": [
                        result(
                            "rectanglelabels", {"x": 25, "y": 20, "width": 20, "height": 20, "rotation": 90, "rectanglelabels": ["car"]}
                        ),
                        result(
                            "rectanglelabels",
                            {"x": 10, "y": 10, "width": 5, "height": 50, "rotation": 0, "rectanglelabels": ["car"]},
                            id="r2",
                        ),
                        result("polygonlabels", {"points": [[0, 0], [50, 0], [50, 50]], "polygonlabels": ["road"]}, id="r3"),
                        result("keypointlabels", {"x": 50, "y": 50, "width": 1, "keypointlabels": ["nose"]}, id="r4", parentID="r2"),
                        result(
                            "ellipselabels",
                            {"x": 50, "y": 50, "radiusX": 10, "radiusY": 10, "rotation": 30, "ellipselabels": ["ball"]},
                            id="r5",
                        ),
                        result("choices", {"choices": ["sunny", "outdoor"]}, id="r6"),
                        {"type": "relation", "from_id": "r2", "to_id": "r4", "direction": "right"},
                        result("brushlabels", {"format": "rle", "rle": [0, 1, 2], "brushlabels": ["car"]}, id="r7"),
                    ],
                }
            ],
            "predictions": [
                {
                    "model_version": "3",
                    "score": 0.8,
                    "result": [result("rectanglelabels", {"x": 0, "y": 0, "width": 50, "height": 50, "rectanglelabels": ["car"]}, id="p1")],
                }
            ],
        }
    ]
    file = write_tasks(tmp_path, tasks)
    assert detect_format(file) == "labelstudio"
    dataset, report = import_dataset("labelstudio", file)
    (item,) = dataset["items"]
    assert (item["path"], item["width"], item["height"]) == ("data/upload/3/photo.jpg", 200, 100)
    rotated, box, road, nose, ball, predicted = shapes_of(item)
    # Corner (50, 20), 40x20 px, 90 degrees -> center (40, 40) -> [20, 30, 40, 20].
    assert (rotated["type"], rotated["bbox"], rotated["angle"]) == ("rotated_bbox", [20.0, 30.0, 40.0, 20.0], 90.0)
    assert box["bbox"] == [20.0, 10.0, 10.0, 50.0]
    assert road["rings"] == [[0.0, 0.0, 100.0, 0.0, 100.0, 50.0]]
    assert (nose["type"], nose["points"]) == ("points", [100.0, 50.0])
    assert nose["group"] == box["group"] == 1
    assert (ball["center"], ball["radii"], ball["angle"]) == ([100.0, 50.0], [20.0, 10.0], 30.0)
    assert predicted["source"] == {"type": "model", "model_version": 3, "score": 0.8}
    assert rotated["source"] == {"type": "human"}
    assert [t["label"] for t in item["annotation"]["tags"]] == ["sunny", "outdoor"]
    assert report.lines() == [
        "1 mask dropped: Label Studio brush RLE is not decoded (no verified sample of its encoding)",
        "1 relation dropped: Label Studio relations have no place in the annotation schema",
    ]

    # Back to Label Studio: the same percent values.
    export_dataset("labelstudio", dataset, tmp_path / "out")
    (task,) = json.loads((tmp_path / "out/tasks.json").read_text())
    assert task["data"] == {"image": "data/upload/3/photo.jpg"}
    assert task["meta"] == {"width": 200, "height": 100}
    value = task["annotations"][0]["result"][0]["value"]
    assert [value[k] for k in ("x", "y", "width", "height", "rotation")] == pytest.approx([25, 20, 20, 20, 90])
    assert task["predictions"][0]["model_version"] == "3"
    assert task["annotations"][0]["result"][-1]["value"] == {"choices": ["sunny", "outdoor"]}
    assert '<RectangleLabels name="bbox" toName="image">' in (tmp_path / "out/label_config.xml").read_text()


def test_newest_annotation_wins_and_cancelled_are_reported(tmp_path):
    def annotation(number, updated, label, cancelled=False):
        box = result("rectanglelabels", {"x": 0, "y": 0, "width": 10, "height": 10, "rectanglelabels": [label]})
        return {"id": number, "updated_at": updated, "was_cancelled": cancelled, "result": [box]}

    tasks = [
        {
            "data": {"image": "a.jpg"},
            "annotations": [
                annotation(1, "2024-01-02T00:00:00Z", "old"),
                annotation(2, "2024-01-03T00:00:00Z", "new"),
                annotation(3, "2024-01-09T00:00:00Z", "skipped", cancelled=True),
            ],
        }
    ]
    dataset, report = import_dataset("labelstudio", write_tasks(tmp_path, tasks))
    assert [s["label"] for s in shapes_of(dataset["items"][0])] == ["new"]
    assert report.lines() == [
        "1 annotation dropped: only the newest non-cancelled annotation of a task is kept",
        "1 annotation dropped: the Label Studio annotation was cancelled (skipped)",
    ]


def test_task_without_size_is_reported(tmp_path):
    tasks = [
        {"data": {"image": "/data/upload/1/a.jpg"}, "annotations": []},
        {"data": {"image": "b.jpg"}, "meta": {"width": 4, "height": 3}},
    ]
    dataset, report = import_dataset("labelstudio", write_tasks(tmp_path, tasks))
    assert [(i["path"], i["width"], i["height"]) for i in dataset["items"]] == [("b.jpg", 4, 3)]
    assert report.lines() == ["1 item dropped: the Label Studio task has no result with original_width/height and no image file to measure"]


def test_corpus_rectangles_keep_the_newest_annotation(corpus):
    file = corpus / "label-studio/labelstudio_json/export_yolo_tasks/data.json"
    raw = json.loads(file.read_text())
    dataset, report = import_dataset("labelstudio", file)
    # 6 rectangles in the file: task 1 has two annotations of 2 boxes each; the older (id 1) goes.
    assert report.lines() == ["1 annotation dropped: only the newest non-cancelled annotation of a task is kept"]
    assert [(i["path"], i["width"], i["height"], len(shapes_of(i))) for i in dataset["items"]] == [
        ("image1", 2800, 2800, 2),
        ("image2", 2800, 2800, 2),
    ]
    kept = raw[0]["annotations"][1]["result"][0]["value"]
    assert shapes_of(dataset["items"][0])[0]["bbox"] == pytest.approx(
        [kept["x"] * 28, kept["y"] * 28, kept["width"] * 28, kept["height"] * 28], abs=1e-8
    )


def test_corpus_rotated_rectangles(corpus):
    file = corpus / "label-studio/labelstudio_json/export_yolo_tasks/data_obb.json"
    raw = json.loads(file.read_text())
    dataset, report = import_dataset("labelstudio", file)
    assert report.lines() == []
    assert [len(shapes_of(i)) for i in dataset["items"]] == [23, 1, 1]
    assert all(s["type"] == "rotated_bbox" for i in dataset["items"] for s in shapes_of(i))
    # Independent check: the center of Label Studio's four corners (label-studio-converter's formula).
    for task, item in zip(raw, dataset["items"], strict=True):
        for res, shape in zip(task["annotations"][0]["result"], shapes_of(item), strict=True):
            v, w_img, h_img = res["value"], res["original_width"], res["original_height"]
            x, y, w, h = v["x"] * w_img / 100, v["y"] * h_img / 100, v["width"] * w_img / 100, v["height"] * h_img / 100
            r = math.radians(v["rotation"])
            corners = [(x, y), (x + w * math.cos(r), y + w * math.sin(r))]
            corners += [(corners[1][0] - h * math.sin(r), corners[1][1] + h * math.cos(r)), (x - h * math.sin(r), y + h * math.cos(r))]
            cx, cy = sum(c[0] for c in corners) / 4, sum(c[1] for c in corners) / 4
            bx, by, bw, bh = shape["bbox"]
            assert (bx + bw / 2, by + bh / 2) == pytest.approx((cx, cy), abs=1e-6)
            assert shape["angle"] == pytest.approx(v["rotation"])
    assert max(s["angle"] for s in shapes_of(dataset["items"][0])) == pytest.approx(
        max(r["value"]["rotation"] for r in raw[0]["annotations"][0]["result"])
    )


def test_corpus_polygon_keypoints_and_coco_tasks(corpus):
    base = corpus / "label-studio/labelstudio_json"
    dataset, report = import_dataset("labelstudio", base / "export_yolo_tasks/data_polygons.json")
    (polygon,) = shapes_of(dataset["items"][0])
    assert (polygon["label"], len(polygon["rings"][0]) // 2) == ("Airplane", 37)
    assert (dataset["items"][0]["width"], dataset["items"][0]["height"]) == (640, 426)

    dataset, report = import_dataset("labelstudio", base / "export_yolo_tasks/data_keypoints.json")
    (item,) = dataset["items"]
    assert item["path"] == "data/upload/18/image1.jpg"
    assert [(s["label"], s["type"], s.get("group")) for s in shapes_of(item)] == [
        ("nose", "points", 1),
        ("left_eye", "points", 1),
        ("right_eye", "points", 1),
        ("person", "bbox", 1),
    ]
    assert report.lines() == ["5 relations dropped: Label Studio relations have no place in the annotation schema"]

    dataset, report = import_dataset("labelstudio", base / "export_coco_tasks")
    assert report.lines() == []
    (item,) = dataset["items"]
    assert (item["path"], item["width"], item["height"]) == ("test_image1.jpg", 500, 320)
    assert [s["type"] for s in shapes_of(item)] == ["bbox", "polygon", "points", "points"]


def test_corpus_predictions_with_text_model_version(corpus):
    dataset, report = import_dataset("labelstudio", corpus / "label-studio/labelstudio_json/export_csv_tasks/csv_test.json")
    sources = [s["source"] for i in dataset["items"] for s in shapes_of(i)]
    assert [s["type"] for s in sources] == ["human", "model", "human", "human", "model"]
    assert {s["model_version"] for s in sources if s["type"] == "model"} == {1}
    assert "prediction model_version 'model 0' is not an integer >= 1; recorded as model version 1" in report.lines()


def test_round_trip_through_native(tmp_path, dataset):
    report = export_dataset("labelstudio", dataset, tmp_path / "ls")
    lost = {entry["kind"]: entry["count"] for entry in report.to_dict()["lost"]}
    # s1 carries two attributes (pose, color) and occluded=True: Label Studio results hold neither.
    assert lost == {"polyline": 1, "mask": 1, "keypoints": 1, "attribute": 2, "occluded flag": 1}
    again, import_report = import_dataset("labelstudio", tmp_path / "ls")
    assert import_report.lines() == []
    by_path = {i["path"]: i for i in again["items"]}
    a = by_path["photos/a.jpg"]
    assert (a["subset"], a["width"], a["height"]) == ("train", 20, 10)
    assert [t["label"] for t in a["annotation"]["tags"]] == ["blurry"]
    got = sorted((s["label"], s["type"], s.get("bbox") or s.get("rings"), s["source"]["type"]) for s in shapes_of(a))
    assert got == [
        ("cat", "bbox", [0.0, 0.0, 10.0, 5.0], "human"),
        ("dog", "bbox", [15.0, 5.0, 5.0, 5.0], "model"),
        ("road", "polygon", [[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]], "human"),
    ]
    model = next(s for s in shapes_of(a) if s["source"]["type"] == "model")
    assert model["source"] == {"type": "model", "model_version": 2, "score": 0.5}
    assert shapes_of(by_path["b.png"]) == [] and shapes_of(by_path["empty.jpg"]) == []
    assert (by_path["empty.jpg"]["width"], by_path["empty.jpg"]["height"]) == (5, 5)


def test_rotated_box_round_trip(tmp_path):
    dataset = {
        "version": 1,
        "labels": [{"id": 1, "name": "x", "kind": "shape"}],
        "items": [
            {
                "id": "1",
                "name": "a.jpg",
                "path": "a.jpg",
                "media": "image",
                "width": 64,
                "height": 48,
                "annotation": {
                    "version": 1,
                    "tags": [],
                    "shapes": [
                        {
                            "id": "s",
                            "type": "rotated_bbox",
                            "label": "x",
                            "bbox": [10, 12, 20, 8],
                            "angle": 328.5,
                            "source": {"type": "human"},
                        }
                    ],
                },
            }
        ],
    }
    export_dataset("labelstudio", dataset, tmp_path)
    again, _ = import_dataset("labelstudio", tmp_path)
    (shape,) = shapes_of(again["items"][0])
    assert shape["bbox"] == pytest.approx([10, 12, 20, 8], abs=1e-9)
    assert shape["angle"] == pytest.approx(328.5)
    assert get_format("labelstudio").find_image(tmp_path, again["items"][0]) is None


def test_malformed_json_names_file_and_line(tmp_path):
    (tmp_path / "tasks.json").write_text('[{"data": {"image": "a.jpg"},\n "annotations": [}]')
    with pytest.raises(FormatError, match=r"tasks\.json: line 2"):
        import_dataset("labelstudio", tmp_path)


def test_malformed_result_names_the_task_and_field(tmp_path):
    tasks = [
        {
            "id": 5,
            "data": {"image": "a.jpg"},
            "annotations": [{"result": [result("rectanglelabels", {"x": "left", "rectanglelabels": ["a"]})]}],
        }
    ]
    with pytest.raises(FormatError, match=r"export\.json: task 0 \(id 5\): result 'r1': field 'value'"):
        import_dataset("labelstudio", write_tasks(tmp_path, tasks))


def test_groups_and_flags_that_results_cannot_hold_are_counted(tmp_path, dataset):
    shapes = dataset["items"][0]["annotation"]["shapes"]
    shapes[0].update(group=3, truncated=True, difficult=False)  # a flag that is not set loses nothing
    shapes[1].update(group=3, z_order=2)
    report = export_dataset("labelstudio", dataset, tmp_path / "ls")
    lost = {entry["kind"]: (entry["count"], entry["reason"]) for entry in report.to_dict()["lost"]}
    # Two boxes and no keypoint: parentID links neither.
    assert lost["group membership"] == (2, "Label Studio links only a keypoint to its parent region")
    assert lost["z_order"] == (1, "Label Studio has no z-order (which shape is drawn over which)")
    assert lost["truncated flag"] == (1, "Label Studio results have no truncated flag")
    assert "difficult flag" not in lost


def test_corpus_keypoint_parents_survive_the_round_trip(corpus, tmp_path):
    src = corpus / "label-studio/labelstudio_json/export_yolo_tasks"
    dataset, _ = import_dataset("labelstudio", src)
    report = export_dataset("labelstudio", dataset, tmp_path / "ls")
    assert "group membership" not in {entry["kind"] for entry in report.to_dict()["lost"]}
    tasks = json.loads((tmp_path / "ls/tasks.json").read_text())
    # Result ids are unique within a task. The three keypoints of data_keypoints.json name the
    # person box, as in the source.
    parents = []
    for task in tasks:
        results = {r["id"]: r for annotation in task["annotations"] for r in annotation["result"]}
        parents += [(r["value"]["keypointlabels"][0], results[r["parentID"]]["value"]) for r in results.values() if "parentID" in r]
    assert [(name, parent["rectanglelabels"]) for name, parent in parents] == [
        ("nose", ["person"]),
        ("left_eye", ["person"]),
        ("right_eye", ["person"]),
    ]
    again, _ = import_dataset("labelstudio", tmp_path / "ls")
    groups = [[(s["label"], s.get("group")) for s in shapes_of(item)] for item in again["items"]]
    assert groups == [[(s["label"], s.get("group")) for s in shapes_of(item)] for item in dataset["items"]]
    assert [("nose", 1), ("left_eye", 1), ("right_eye", 1), ("person", 1)] in groups


def test_parent_links_and_the_memberships_they_cannot_express(tmp_path):
    model = {"type": "model", "model_version": 1, "score": 0.9}

    def shape(label, kind, group, source=None, **geometry):
        return {"id": label, "type": kind, "label": label, "group": group, "source": source or {"type": "human"}, **geometry}

    shapes = [
        # Group 1: one box and two keypoints: both keypoints name the box, nothing lost.
        shape("person", "bbox", 1, bbox=[10, 10, 50, 50]),
        shape("nose", "points", 1, points=[30, 20]),
        shape("eye", "points", 1, points=[25, 15]),
        # Group 2: two regions, so no single parent: 3 memberships lost.
        shape("car", "bbox", 2, bbox=[100, 10, 20, 20]),
        shape("door", "polygon", 2, rings=[[100, 10, 110, 10, 110, 20]]),
        shape("wheel", "points", 2, points=[105, 25]),
        # Group 3: the keypoint is a prediction, the region an annotation: 2 lost.
        shape("dog", "ellipse", 3, center=[150, 50], radii=[10, 5]),
        shape("tail", "points", 3, source=model, points=[160, 50]),
        # Group 4: a box alone, and group 5: a keypoint whose region is a polyline (not written): 1 + 2 lost.
        shape("sign", "bbox", 4, bbox=[0, 80, 10, 10]),
        shape("lane", "polyline", 5, points=[0, 0, 10, 10]),
        shape("cone", "points", 5, points=[5, 5]),
    ]
    item = {"id": "i", "name": "a.jpg", "path": "a.jpg", "media": "image", "width": 200, "height": 100}
    labels = [{"id": n, "name": s["label"], "kind": "shape"} for n, s in enumerate(shapes, start=1)]
    dataset = {"version": 1, "labels": labels, "items": [{**item, "annotation": {"version": 1, "tags": [], "shapes": shapes}}]}
    report = export_dataset("labelstudio", dataset, tmp_path / "ls")
    lost = {entry["kind"]: (entry["count"], entry["reason"]) for entry in report.to_dict()["lost"]}
    assert lost["group membership"] == (3 + 2 + 1 + 2, "Label Studio links only a keypoint to its parent region")
    (task,) = json.loads((tmp_path / "ls/tasks.json").read_text())
    # Result ids are s1, s2, ... in shape order: person is s1.
    linked = {r["value"]["keypointlabels"][0]: r["parentID"] for r in task["annotations"][0]["result"] if "parentID" in r}
    assert linked == {"nose": "s1", "eye": "s1"}
    assert all("parentID" not in r for r in task["predictions"][0]["result"])
    again, _ = import_dataset("labelstudio", tmp_path / "ls")
    grouped = {s["label"]: s["group"] for s in shapes_of(again["items"][0]) if "group" in s}
    assert grouped == {"person": 1, "nose": 1, "eye": 1}


def test_results_that_give_different_image_sizes_are_noted_and_placed_by_their_percentages(tmp_path):
    result = {
        "type": "rectanglelabels",
        "original_height": 50,
        "value": {"x": 10, "y": 10, "width": 5, "height": 20, "rectanglelabels": ["a"]},
    }
    results = [{**result, "id": "r1", "original_width": 100}, {**result, "id": "r2", "original_width": 200}]
    (tmp_path / "tasks.json").write_text(
        json.dumps([{"id": 1, "data": {"image": "/data/upload/1/a.jpg"}, "annotations": [{"id": 1, "result": results}]}])
    )
    dataset, report = import_dataset("labelstudio", tmp_path / "tasks.json")
    (item,) = dataset["items"]
    assert (item["width"], item["height"]) == (100, 50)
    # 10% of 100 px and 20% of 50 px: both results cover the same part of the image.
    assert [shape["bbox"] for shape in item["annotation"]["shapes"]] == [[10.0, 5.0, 5.0, 10.0], [10.0, 5.0, 5.0, 10.0]]
    assert report.lines() == [
        f"{tmp_path / 'tasks.json'}: task 0 (id 1): its results give different image sizes (100x50, 200x50); the item is 100x50"
    ]
