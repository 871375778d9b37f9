"""COCO import refuses what it cannot read unambiguously, and notes what it repairs.

* two images with one id: an annotation's ``image_id`` would name either (refused);
* two categories with one id: refused unless the second repeats the first (read once, noted);
  a later file may declare an id again only with the same name;
* repeated annotation ids: nothing refers to them, so every annotation is read, with a note
  (pycocotools would keep one per id), and an export numbers them 1, 2, ...;
* files of other COCO tasks (captions, panoptic, image_info, Datumaro's labels), given
  directly: refused, naming the file and the task; found by content in ``annotations/``: not read.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from annotate.converters import FormatError, detect_format, export_dataset, import_dataset
from tests.converters.coco_files import load_coco, write_json
from tests.converters.conftest import REPO


def coco(images=None, categories=None, annotations=None) -> dict[str, Any]:
    return {
        "images": images if images is not None else [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "categories": categories if categories is not None else [{"id": 1, "name": "x"}],
        "annotations": annotations if annotations is not None else [],
    }


def box(annotation_id: Any, image_id: int = 1, bbox=(1.0, 1.0, 2.0, 2.0), category_id: int = 1) -> dict[str, Any]:
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category_id,
        "bbox": list(bbox),
        "area": 4.0,
        "segmentation": [],
        "iscrowd": 0,
    }


@pytest.fixture(params=[False, True], ids=["streamed", "strict"])
def strict(request) -> bool:
    """Strict imports read the whole file at once; the others stream it: both check the same."""
    return request.param


# -- images ---------------------------------------------------------------------------


def test_two_images_with_one_id_are_refused(tmp_path, strict):
    images = [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}, {"id": 1, "file_name": "b.jpg", "width": 20, "height": 20}]
    src = write_json(tmp_path / "dup.json", coco(images=images, annotations=[box(1, bbox=(1, 1, 15, 15))]))
    with pytest.raises(FormatError, match=r"dup\.json: images\[1\]\.id 1 is also images\[0\]\.id"):
        import_dataset("coco", src, strict=strict)


def test_two_images_without_an_id_are_refused(tmp_path):
    images = [{"file_name": "a.jpg", "width": 10, "height": 10}, {"file_name": "b.jpg", "width": 20, "height": 20}]
    with pytest.raises(FormatError, match=r"images\[1\] has no id, nor has images\[0\]"):
        import_dataset("coco", write_json(tmp_path / "c.json", coco(images=images)))


def test_an_image_id_that_is_a_list_is_refused(tmp_path):
    images = [{"id": [1], "file_name": "a.jpg", "width": 10, "height": 10}]
    with pytest.raises(FormatError, match=r"c\.json: images\[0\]\.id is not a number or text"):
        import_dataset("coco", write_json(tmp_path / "c.json", coco(images=images)))


def test_the_cli_exits_1_and_writes_nothing(tmp_path):
    images = [{"id": 7, "file_name": "a.jpg", "width": 10, "height": 10}, {"id": 7, "file_name": "b.jpg", "width": 20, "height": 20}]
    src = write_json(tmp_path / "dup.json", coco(images=images))
    command = [sys.executable, "-m", "annotate.cli", "convert", "--from", "coco", "--to", "native", str(src), str(tmp_path / "out")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 1
    assert f"{src}: images[1].id 7 is also images[0].id" in result.stderr
    assert not (tmp_path / "out").exists()


# -- categories -----------------------------------------------------------------------


@pytest.mark.parametrize("annotations", [[], [box(1)]], ids=["unused", "used"])
def test_two_categories_with_one_id_and_two_names_are_refused(tmp_path, strict, annotations):
    src = write_json(tmp_path / "cats.json", coco(categories=[{"id": 1, "name": "x"}, {"id": 1, "name": "y"}], annotations=annotations))
    with pytest.raises(FormatError, match=r"cats\.json: categories\[1\]\.id 1 is also categories\[0\]\.id \('y' and 'x'\)"):
        import_dataset("coco", src, strict=strict)


def test_an_exact_repeat_of_a_category_is_read_once_with_a_note(tmp_path):
    categories = [{"id": 1, "name": "x", "supercategory": ""}, {"id": 2, "name": "z"}, {"id": "1", "name": "x", "supercategory": ""}]
    dataset, report = import_dataset("coco", write_json(tmp_path / "cats.json", coco(categories=categories, annotations=[box(1)])))
    assert [(label["id"], label["name"]) for label in dataset["labels"]] == [(1, "x"), (2, "z")]
    assert report.lines() == ["cats.json: categories[2] repeats categories[0] (id 1, 'x'); read once"]
    assert report.lossless


def test_a_repeat_with_other_keypoint_names_is_refused(tmp_path):
    categories = [{"id": 1, "name": "p", "keypoints": ["a", "b"]}, {"id": 1, "name": "p", "keypoints": ["b", "a"]}]
    with pytest.raises(FormatError, match=r"categories\[1\]\.id 1 is also categories\[0\]\.id \(both 'p', with different keypoints\)"):
        import_dataset("coco", write_json(tmp_path / "cats.json", coco(categories=categories)))


def test_a_later_file_may_not_rename_a_category(tmp_path):
    write_json(tmp_path / "annotations/instances_train.json", coco(categories=[{"id": 1, "name": "cat"}], annotations=[box(1)]))
    write_json(tmp_path / "annotations/instances_val.json", coco(categories=[{"id": 1, "name": "dog"}], annotations=[box(1)]))
    with pytest.raises(FormatError, match=r"instances_val\.json: categories\[0\]\.id 1 is 'dog' here and 'cat' in .*instances_train\.json"):
        import_dataset("coco", tmp_path)
    # The same categories in every file, as COCO writers give them, are one label list.
    write_json(tmp_path / "annotations/instances_val.json", coco(categories=[{"id": 1, "name": "cat"}], annotations=[box(1)]))
    dataset, report = import_dataset("coco", tmp_path)
    assert [(label["id"], label["name"]) for label in dataset["labels"]] == [(1, "cat")]
    assert report.lines() == []


# -- annotation ids -------------------------------------------------------------------


def test_repeated_annotation_ids_are_read_and_noted(tmp_path, strict):
    images = [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}, {"id": 2, "file_name": "b.jpg", "width": 10, "height": 10}]
    annotations = [box(5, 1), box(5, 2), box(6, 1, (3.0, 3.0, 2.0, 2.0)), box(6, 1, (5.0, 5.0, 2.0, 2.0)), box(6, 2), box(7, 2)]
    src = write_json(tmp_path / "ids.json", coco(images=images, annotations=annotations))
    dataset, report = import_dataset("coco", src, strict=strict)
    a, b = dataset["items"]
    # Every annotation is read; shape ids stay unique within an item.
    assert [shape["id"] for shape in a["annotation"]["shapes"]] == ["coco-5", "coco-6", "coco-6_2"]
    assert [shape["id"] for shape in b["annotation"]["shapes"]] == ["coco-5", "coco-6", "coco-7"]
    assert report.lines() == [
        "ids.json: annotation ids are not unique (id 5 is used 2 times, id 6 is used 3 times);"
        " COCO requires unique ids: every annotation is read, and an export numbers them 1, 2, ..."
    ]
    assert report.lossless
    export_dataset("coco", dataset, tmp_path / "out")
    written = load_coco(tmp_path / "out/annotations/instances_default.json")
    # pycocotools indexes by id: all six are there now.
    assert sorted(written.anns) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("ids", "shown"),
    [
        ([3, 1, 2, 3], "id 3 is used 2 times"),  # out of order, as COCO's own files are
        ([10**12, 2, 10**12], "id 1000000000000 is used 2 times"),  # beyond the byte marks
        (["a", "b", "a"], "id 'a' is used 2 times"),
        ([-1, 2, -1], "id -1 is used 2 times"),
        ([None, None, 1], "2 annotations have no id"),
    ],
)
def test_repeated_ids_of_any_kind_are_noted(tmp_path, ids, shown):
    annotations = [box(annotation_id) for annotation_id in ids]
    for annotation in annotations:
        if annotation["id"] is None:
            del annotation["id"]
    dataset, report = import_dataset("coco", write_json(tmp_path / "ids.json", coco(annotations=annotations)))
    assert len(dataset["items"][0]["annotation"]["shapes"]) == len(ids)
    assert report.notes == [
        f"ids.json: annotation ids are not unique ({shown}); COCO requires unique ids: every annotation is read,"
        " and an export numbers them 1, 2, ..."
    ]


def test_unique_ids_of_any_kind_give_no_note(tmp_path, strict):
    ids = [7, 3, 10**12, -4, "a", 2**70, 1]
    dataset, report = import_dataset("coco", write_json(tmp_path / "ids.json", coco(annotations=[box(i) for i in ids])), strict=strict)
    assert len(dataset["items"][0]["annotation"]["shapes"]) == len(ids)
    assert report.lines() == []


def test_an_annotation_id_that_is_a_list_is_refused(tmp_path, strict):
    src = write_json(tmp_path / "ids.json", coco(annotations=[box(1), box([2])]))
    with pytest.raises(FormatError, match=r"ids\.json: annotations\[1\]\.id is not a number or text"):
        import_dataset("coco", src, strict=strict)


def test_an_image_or_category_id_that_is_a_list_names_none(tmp_path):
    # As any other id that names no image or category (these raised TypeError: unhashable type).
    annotations = [box(1), box(2, image_id=[1]), box(3, category_id=[1]), box(4, category_id={"id": 1})]
    dataset, report = import_dataset("coco", write_json(tmp_path / "ids.json", coco(annotations=annotations)))
    assert [shape["id"] for shape in dataset["items"][0]["annotation"]["shapes"]] == ["coco-1"]
    assert report.lines() == [
        "2 shapes dropped: the annotation has no category",
        "1 shape dropped: the annotation names an image that is not in the file",
    ]


def test_coordinates_that_are_not_numbers_are_counted(tmp_path):
    # Text or null in a bbox or a ring raised ValueError or TypeError (float() of it).
    annotations = [
        {**box(1), "bbox": [1, 1, "x", 3]},
        {**box(2), "bbox": [1, 1, None, 3]},
        {**box(3, bbox=(1, 1, 3, 3)), "segmentation": [[1, 1, "x", 1, 3, 3], [1, 1, 4, 1, 4, 4]]},
    ]
    dataset, report = import_dataset("coco", write_json(tmp_path / "values.json", coco(annotations=annotations)))
    (polygon,) = dataset["items"][0]["annotation"]["shapes"]
    assert (polygon["id"], polygon["rings"]) == ("coco-3", [[1.0, 1.0, 4.0, 1.0, 4.0, 4.0]])
    assert report.lines() == [
        "1 polygon ring dropped: a ring has a value that is not a number",
        "2 shapes dropped: the annotation has no segmentation and no box (a list of 4 numbers)",
    ]


def test_an_annotation_that_is_not_an_object_is_refused(tmp_path):
    with pytest.raises(FormatError, match=r"ids\.json: annotations\[1\] is not an object"):
        import_dataset("coco", write_json(tmp_path / "ids.json", coco(annotations=[box(1), [1, 2]])))


# -- other COCO tasks -----------------------------------------------------------------

IMAGE = {"id": 5, "width": 10, "height": 5, "file_name": "a.jpg"}
CAPTIONS = {"images": [IMAGE], "categories": [], "annotations": [{"id": 1, "image_id": 5, "caption": "hello"}]}
PANOPTIC = {
    "images": [IMAGE],
    "categories": [{"id": 1, "name": "a", "isthing": 0}],
    "annotations": [{"image_id": 5, "file_name": "a.png", "segments_info": [{"id": 7, "category_id": 1, "bbox": [2, 0, 4, 4]}]}],
}
IMAGE_INFO = {"images": [IMAGE], "categories": [{"id": 1, "name": "a"}]}


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("panoptic_train.json", "a COCO panoptic segmentation file"),
        ("captions_train.json", "a COCO captions file"),
        ("image_info_train.json", "a COCO image_info file"),
        ("labels_train.json", "a COCO image labels file"),
    ],
)
def test_other_task_files_given_directly_are_refused(corpus, name, task):
    src = corpus / "datumaro/coco/coco/annotations" / name
    with pytest.raises(FormatError) as error:
        import_dataset("coco", src)
    assert str(error.value).startswith(f"{src}: {task}")
    assert "another COCO task, not read" in str(error.value)


@pytest.mark.parametrize(
    ("doc", "task"),
    [
        (CAPTIONS, "a COCO captions file"),
        # Datumaro writes category_id 0 beside each caption.
        ({**CAPTIONS, "annotations": [{"id": 1, "image_id": 5, "category_id": 0, "caption": "hi"}]}, "a COCO captions file"),
        (PANOPTIC, "a COCO panoptic segmentation file"),
        (IMAGE_INFO, "a COCO image_info file"),
    ],
)
def test_other_tasks_are_told_by_content(tmp_path, strict, doc, task):
    src = write_json(tmp_path / "data.json", doc)
    with pytest.raises(FormatError, match=rf"data\.json: {task}"):
        import_dataset("coco", src, strict=strict)
    assert detect_format(src) != "coco"


def test_an_other_task_file_in_annotations_is_not_read(tmp_path):
    write_json(tmp_path / "annotations/train.json", coco(annotations=[box(1)]))
    write_json(tmp_path / "annotations/val.json", PANOPTIC)
    assert detect_format(tmp_path) == "coco"
    dataset, report = import_dataset("coco", tmp_path)
    assert [item["subset"] for item in dataset["items"]] == ["train"]
    assert report.lines() == [
        "val.json not read: a COCO panoptic segmentation file (its annotations have 'segments_info' and a PNG 'file_name')"
    ]
