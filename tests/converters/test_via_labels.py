"""VIA keeps the label list in its attribute options; the VIA CSV layout keeps it in VIA's attribute file."""

from __future__ import annotations

import copy
import csv
import json

import pytest

from annotate.converters import ConversionLossError, ConversionReport, detect_format, export_dataset, get_format, import_dataset
from tests.converters.test_labelstudio_labels import label_dataset, without_colors, yolo_class_files


def export_csv(dataset, dest, *, strict=False):
    report = ConversionReport(strict=strict)
    get_format("via").export_dataset(dataset, dest, report=report, layout="csv")
    return report


@pytest.mark.parametrize("layout", ["project", "csv"])
def test_round_trip_keeps_every_label_in_order(tmp_path, layout):
    dataset = label_dataset()
    report = export_csv(dataset, tmp_path / "via") if layout == "csv" else export_dataset("via", dataset, tmp_path / "via")
    assert report.lines() == []
    assert detect_format(tmp_path / "via") == "via"
    again, import_report = import_dataset("via", tmp_path / "via")
    assert import_report.lines() == []
    assert again["labels"] == dataset["labels"]
    assert [len(item["annotation"]["shapes"]) for item in again["items"]] == [2, 1]
    assert yolo_class_files(again, tmp_path / "through") == yolo_class_files(dataset, tmp_path / "direct")


def test_project_lists_every_label_as_an_option(tmp_path):
    export_dataset("via", label_dataset(), tmp_path)
    attributes = json.loads((tmp_path / "via_project.json").read_text())["_via_attributes"]
    assert list(attributes) == ["region", "file"]
    assert list(attributes["region"]["label"]["options"]) == ["zebra", "apple", "mango"]
    assert list(attributes["file"]["tags"]["options"]) == ["sunny", "cloudy"]


def test_csv_is_via_2_csv_with_the_attribute_file(tmp_path):
    export_csv(label_dataset(), tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["via_attributes.json", "via_region_data.csv"]
    rows = list(csv.reader((tmp_path / "via_region_data.csv").read_text("utf-8").splitlines()))
    assert rows[0] == [
        "filename",
        "file_size",
        "file_attributes",
        "region_count",
        "region_id",
        "region_shape_attributes",
        "region_attributes",
    ]
    assert rows[1][:2] + rows[1][3:5] == ["one.jpg", "-1", "2", "0"]
    assert json.loads(rows[1][5]) == {"name": "rect", "x": 1, "y": 2, "width": 3, "height": 4}
    assert json.loads(rows[1][6]) == {"label": "mango"}
    assert json.loads(rows[1][2])["tags"] == {"sunny": True}
    # VIA writes every JSON cell quoted, quotes doubled.
    assert '"{""name"":""rect"",""x"":1' in (tmp_path / "via_region_data.csv").read_text()
    attributes = json.loads((tmp_path / "via_attributes.json").read_text())
    assert set(attributes) == {"region", "file"}
    assert list(attributes["region"]["label"]["options"]) == ["zebra", "apple", "mango"]


def test_csv_alone_has_no_label_list(tmp_path):
    export_csv(label_dataset(), tmp_path)
    (tmp_path / "via_attributes.json").unlink()
    again, report = import_dataset("via", tmp_path)
    assert report.lines() == []
    # First use, unused labels gone: what the CSV alone holds.
    assert [(label["name"], label["kind"]) for label in again["labels"]] == [("sunny", "tag"), ("mango", "shape"), ("zebra", "shape")]


def test_csv_report_lines(tmp_path):
    dataset = label_dataset()
    dataset["labels"][1]["color"] = "#ff0000"
    dataset["labels"] = [dataset["labels"][i] for i in (0, 3, 1, 2, 4)]  # zebra, sunny, apple, mango, cloudy
    # Same path and no image: VIA CSV names an image by file name and size, so these would merge.
    twin = copy.deepcopy(dataset["items"][1])
    twin["id"], twin["subset"] = "3", "train"
    dataset["items"].append(twin)
    report = export_csv(dataset, tmp_path / "csv")
    assert report.lines() == [
        "1 item dropped: VIA CSV names an image by file name and size, and another item has the same ones",
        "1 label color dropped: VIA has no label colors",
        "3 label positions dropped: VIA offers shape labels (region options) and tag labels (file options) apart: "
        "an order mixing them is not kept",
        "1 shape dropped: its item is left out of the VIA CSV (same file name and size as another)",
    ]
    again, _ = import_dataset("via", tmp_path / "csv")
    # The ids were 1, 4, 2, 3, 5 in that order: by name they come back the same, so no note.
    assert [(label["id"], label["name"]) for label in again["labels"]] == [
        (1, "zebra"),
        (2, "apple"),
        (3, "mango"),
        (4, "sunny"),
        (5, "cloudy"),
    ]
    assert [item["id"] for item in again["items"]] == ["one.jpg", "two.jpg"]
    with pytest.raises(ConversionLossError):
        export_csv(dataset, tmp_path / "strict", strict=True)


def test_tag_labels_first_are_kept(tmp_path):
    dataset = label_dataset()
    dataset["labels"] = [{**label, "id": n} for n, label in enumerate(dataset["labels"][3:] + dataset["labels"][:3], start=1)]
    assert export_dataset("via", dataset, tmp_path).lines() == []
    assert list(json.loads((tmp_path / "via_project.json").read_text())["_via_attributes"]) == ["file", "region"]
    assert import_dataset("via", tmp_path)[0]["labels"] == dataset["labels"]


def test_what_via_cannot_hold_is_counted(tmp_path):
    dataset = label_dataset()
    dataset["labels"][0].update(color="#112233", attributes=[{"name": "striped", "type": "checkbox"}])
    dataset["labels"][2]["parent"] = "zebra"
    report = export_dataset("via", dataset, tmp_path)
    assert report.lines() == [
        "1 label attribute dropped: VIA declares no attributes per label",
        "1 label color dropped: VIA has no label colors",
        "1 label parent dropped: VIA labels have no parent",
    ]
    assert without_colors(import_dataset("via", tmp_path)[0]["labels"]) == [
        {key: value for key, value in label.items() if key not in ("color", "attributes", "parent")} for label in dataset["labels"]
    ]


def test_unknown_layout_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown VIA layout 'xml'"):
        get_format("via").export_dataset(label_dataset(), tmp_path, layout="xml")


def test_options_of_other_attributes_are_not_labels(corpus):
    # sherlock_attributes.json: the label attribute "track" is text; "name" and "is_good_track"
    # offer options, but they are other attributes, not labels.
    src = corpus / "via/via2_face_tracks_annotations_only"
    dataset, _ = import_dataset("via", src)
    assert dataset["labels"] == []


def test_radio_label_attribute_offers_labels_by_option_id(tmp_path):
    metadata = {
        "a.jpg-1": {
            "filename": "a.jpg",
            "size": -1,
            "regions": [{"shape_attributes": {"name": "point", "cx": 1, "cy": 1}, "region_attributes": {"who": "mf"}}],
            "file_attributes": {"image_width": "4", "image_height": "4"},
        }
    }
    attributes = {
        "region": {"who": {"type": "radio", "options": {"bc": "Benedict Cumberbatch", "mf": "Martin Freeman", "na": "Unknown"}}},
        "file": {"weather": {"type": "checkbox", "options": {"rain": "", "sun": ""}}, "shot": {"type": "dropdown", "options": {"x": ""}}},
    }
    (tmp_path / "p.json").write_text(json.dumps({"_via_settings": {}, "_via_img_metadata": metadata, "_via_attributes": attributes}))
    dataset, _ = import_dataset("via", tmp_path)
    assert [(label["name"], label["kind"]) for label in dataset["labels"]] == [
        ("bc", "shape"),
        ("mf", "shape"),
        ("na", "shape"),
        ("rain", "tag"),
        ("sun", "tag"),
    ]
