"""VOC details: parts, actions and groups; subset and per-class lists; sizes; rounding; the label map.

Expected values are worked out by hand from the devkit's rules (1-based inclusive corners,
``xmin = round(x) + 1``, ``xmax = round(x + w)``) or read by Datumaro and torchvision.
"""

from __future__ import annotations

import pytest
from PIL import Image

from annotate.converters import FormatError, export_dataset, import_dataset
from tests.converters.contract import box_dataset

dm = pytest.importorskip("datumaro", reason="Datumaro is in the test extra: pip install -e '.[test]'")
torchvision_datasets = pytest.importorskip("torchvision.datasets")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def one_item(shapes: list[dict], width: int = 20, height: int = 10, path: str = "a.jpg", subset: str = "train") -> dict:
    return {
        "id": path,
        "name": path,
        "path": path,
        "media": "image",
        "width": width,
        "height": height,
        "subset": subset,
        "annotation": {"version": 1, "tags": [], "shapes": shapes},
    }


def box(shape_id: str, label: str, bbox: list[float], **extra) -> dict:
    return {"id": shape_id, "type": "bbox", "label": label, "bbox": bbox, "source": {"type": "human"}, **extra}


def xml_corners(root, voc_id: str) -> list[tuple[str, list[int]]]:
    """The objects' corners as torchvision's VOCDetection parses the XML."""
    target = torchvision_datasets.VOCDetection.parse_voc_xml(
        __import__("xml.etree.ElementTree", fromlist=["parse"]).parse(root / "Annotations" / f"{voc_id}.xml").getroot()
    )
    objects = target["annotation"].get("object", [])
    return [(o["name"], [int(o["bndbox"][k]) for k in ("xmin", "ymin", "xmax", "ymax")]) for o in objects]


# -- parts, actions, groups ------------------------------------------------------------


def test_parts_and_actions_of_a_datumaro_fixture_survive_export(tmp_path, corpus):
    dataset, _ = import_dataset("voc", corpus / "datumaro/voc/voc_dataset1")
    report = export_dataset("voc", dataset, tmp_path)
    assert report.lines() == []
    text = (tmp_path / "Annotations/2007_000001.xml").read_text()
    # One person object with its head as <part>: 5.5..7.5 x 6..8 is [4.5, 5, 3, 3], rounded to 6..8 x 6..8.
    assert text.count("<object>") == 2
    assert "<part>\n      <name>head</name>\n      <bndbox>\n        <xmin>6</xmin>\n        <ymin>6</ymin>" in text
    assert "<actions>\n      <other>1</other>\n      <jumping>0</jumping>" in text
    assert "<attributes>" not in text
    again, _ = import_dataset("voc", tmp_path)
    item = next(i for i in again["items"] if i["id"] == "2007_000001")
    person, head = (s for s in item["annotation"]["shapes"] if s["label"] in ("person", "head"))
    assert person["group"] == head["group"] == 2
    assert head["bbox"] == [5.0, 5.0, 3.0, 3.0]  # from [4.5, 5, 3, 3]: whole pixels
    assert person["attributes"]["jumping"] is False and person["attributes"]["walking"] is True
    # Datumaro reads the part and the actions back from our file.
    theirs = dm.Dataset.import_from(str(tmp_path), "voc")
    names = theirs.categories()[dm.AnnotationType.label]
    their_item = next(i for i in theirs if i.id == "2007_000001")
    boxes = {names[a.label].name: a for a in their_item.annotations if a.type == dm.AnnotationType.bbox}
    assert boxes["head"].group == boxes["person"].group
    assert boxes["person"].attributes["walking"] is True and boxes["person"].attributes["jumping"] is False


def test_a_group_voc_cannot_express_is_counted(tmp_path):
    labels = [
        {"id": 1, "name": "person", "kind": "shape", "attributes": [{"name": "waving", "type": "checkbox"}]},
        {"id": 2, "name": "hand", "kind": "shape", "parent": "person"},
        {"id": 3, "name": "car", "kind": "shape"},
    ]
    shapes = [
        box("h", "hand", [2, 2, 2, 2], group=1),  # before its object: still written inside it
        box("p", "person", [0, 0, 10, 10], group=1, attributes={"waving": True, "mood": "ok"}),
        box("c", "car", [12, 0, 5, 5], group=1),  # a second object in the group: its membership is lost
    ]
    dataset = {"version": 1, "labels": labels, "items": [one_item(shapes)]}
    report = export_dataset("voc", dataset, tmp_path)
    assert report.lines() == ["1 group membership dropped: a VOC object is one box with its parts and one mask"]
    assert (tmp_path / "labelmap.txt").read_text().splitlines()[1:] == ["person::hand:waving", "car:::"]
    assert xml_corners(tmp_path, "a") == [("person", [1, 1, 10, 10]), ("car", [13, 1, 17, 5])]
    text = (tmp_path / "Annotations/a.xml").read_text()
    assert "<actions>\n      <waving>1</waving>\n    </actions>" in text
    assert "<name>mood</name>" in text
    again, _ = import_dataset("voc", tmp_path)
    person, hand, car = again["items"][0]["annotation"]["shapes"]
    assert (person["label"], hand["label"], person["group"], hand["group"], "group" in car) == ("person", "hand", 1, 1, False)
    assert person["attributes"] == {"waving": True, "mood": "ok"}
    assert next(label for label in again["labels"] if label["name"] == "hand")["parent"] == "person"


# -- subset and per-class lists -------------------------------------------------------


def test_an_id_with_a_space_stays_in_its_subset(tmp_path):
    dataset = box_dataset()
    dataset["items"][0]["path"] = "my photo.jpg"
    dataset["items"][0]["name"] = "my photo.jpg"
    report = export_dataset("voc", dataset, tmp_path)
    assert (tmp_path / "ImageSets/Main/train.txt").read_text() == "my photo\nthree\n"
    again, import_report = import_dataset("voc", tmp_path)
    assert {item["path"]: item["subset"] for item in again["items"]} == {"my photo.jpg": "train", "two.jpg": "val", "three.jpg": "train"}
    assert report.lines() == import_report.lines() == []


def test_per_class_lists_are_tags_as_datumaro_reads_them(corpus):
    src = corpus / "datumaro/voc/voc_dataset1"
    dataset, _ = import_dataset("voc", src)
    ours = {item["id"]: sorted(t["label"] for t in item["annotation"]["tags"]) for item in dataset["items"]}
    theirs = dm.Dataset.import_from(str(src), "voc")
    names = theirs.categories()[dm.AnnotationType.label]
    datumaro = {item.id: sorted(names[a.label].name for a in item.annotations if a.type == dm.AnnotationType.label) for item in theirs}
    assert ours == datumaro
    assert len(ours["2007_000001"]) == 11 and ours["2007_000002"] == []


def test_tags_go_out_as_per_class_lists_and_come_back(tmp_path, dataset):
    export_dataset("voc", dataset, tmp_path)
    assert (tmp_path / "ImageSets/Main/blurry_train.txt").read_text() == "photos__a  1\nempty -1\n"
    assert (tmp_path / "ImageSets/Main/blurry_val.txt").read_text() == "b -1\n"
    again, _ = import_dataset("voc", tmp_path)
    tags = {item["path"]: [t["label"] for t in item["annotation"]["tags"]] for item in again["items"]}
    assert tags == {"photos/a.jpg": ["blurry"], "b.png": [], "empty.jpg": []}
    assert next(label for label in again["labels"] if label["name"] == "blurry")["kind"] == "tag"


def test_datumaro_reads_every_item_once(tmp_path):
    export_dataset("voc", box_dataset(), tmp_path / "split")
    assert sorted(p.name for p in (tmp_path / "split/ImageSets/Main").iterdir()) == ["train.txt", "val.txt"]
    split = dm.Dataset.import_from(str(tmp_path / "split"), "voc")
    assert sorted((item.id, item.subset) for item in split) == [("street__one", "train"), ("three", "train"), ("two", "val")]
    # All in "default": one list, trainval.txt (torchvision's name), read back as "default".
    plain = box_dataset()
    for item in plain["items"]:
        del item["subset"]
    export_dataset("voc", plain, tmp_path / "plain")
    assert sorted(p.name for p in (tmp_path / "plain/ImageSets/Main").iterdir()) == ["trainval.txt"]
    assert len(dm.Dataset.import_from(str(tmp_path / "plain"), "voc")) == 3
    again, _ = import_dataset("voc", tmp_path / "plain")
    assert {item["subset"] for item in again["items"]} == {"default"}


# -- sizes ----------------------------------------------------------------------------


def test_items_without_size_or_image_are_kept(corpus):
    dataset, report = import_dataset("voc", corpus / "datumaro/voc/voc_dataset2")
    theirs = dm.Dataset.import_from(str(corpus / "datumaro/voc/voc_dataset2"), "voc")
    boxes = [a for item in theirs for a in item.annotations if a.type == dm.AnnotationType.bbox]
    assert (len(dataset["items"]), sum(len(i["annotation"]["shapes"]) for i in dataset["items"])) == (len(theirs), len(boxes)) == (5, 4)
    sizes = {item["id"]: (item["width"], item["height"]) for item in dataset["items"]}
    # The extent of the boxes: c is xmin 3..xmax 11, ymin 1..ymax 6, so 11 x 6.
    assert sizes == {"@": (1, 1), "a": (4, 6), "b": (7, 6), "c": (11, 6), "d": (8, 8)}
    assert report.lines() == [
        "5 items have no size in their XML, no image and no PNG: sized to the extent of their boxes (1x1 without boxes)"
    ]
    assert {item["subset"] for item in dataset["items"]} == {"default"}  # a lone trainval.txt


def test_the_size_of_an_image_is_taken_after_exif_orientation(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations/r.xml").write_text("<annotation><filename>r.jpg</filename></annotation>")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: displayed 10 wide, 30 high
    Image.new("RGB", (30, 10)).save(tmp_path / "JPEGImages/r.jpg", exif=exif)
    dataset, _ = import_dataset("voc", tmp_path)
    (item,) = dataset["items"]
    assert (item["width"], item["height"]) == (10, 30)


# -- export rounding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bbox", "corners", "back"),
    [
        ([0, 0, 20, 10], [1, 1, 20, 10], [0, 0, 20, 10]),
        ([2.5, 1.4, 3.2, 2.6], [4, 2, 6, 4], [3, 1, 3, 3]),  # 2.5 -> 3 (half up), 5.7 -> 6, 1.4 -> 1, 4.0 -> 4
        ([18.49, 0, 1.02, 1], [19, 1, 20, 1], [18, 0, 2, 1]),  # 18.49 -> 18, 19.51 -> 20
        # Thinner than the rounding: the pixel the far edge rounds into, always inside the image.
        ([19.6, 0, 0.4, 5], [20, 1, 20, 5], [19, 0, 1, 5]),  # not xmin 21
        ([19.5, 9.5, 0.5, 0.5], [20, 10, 20, 10], [19, 9, 1, 1]),
        ([5.6, 0, 0.3, 1], [6, 1, 6, 1], [5, 0, 1, 1]),  # 5.6..5.9 lies in pixel 5 (0-based), 6 (1-based)
        ([0, 0, 0.3, 10], [1, 1, 1, 10], [0, 0, 1, 10]),  # the far edge rounds to 0: pixel 1 at least
        ([0.5, 2.5, 0.4, 1], [1, 4, 1, 4], [0, 3, 1, 1]),
        ([-3, -2, 5, 4], [1, 1, 2, 2], [0, 0, 2, 2]),  # clipped to [0, 0, 2, 2]
    ],
)
def test_corners_by_hand(tmp_path, bbox, corners, back):
    dataset = {"version": 1, "labels": [{"id": 1, "name": "cat", "kind": "shape"}], "items": [one_item([box("b", "cat", bbox)])]}
    export_dataset("voc", dataset, tmp_path)
    assert xml_corners(tmp_path, "a") == [("cat", corners)]
    again, _ = import_dataset("voc", tmp_path)
    assert again["items"][0]["annotation"]["shapes"][0]["bbox"] == [float(v) for v in back]


# -- bad input ------------------------------------------------------------------------


def test_an_entity_declaration_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "Annotations").mkdir()
    xml = tmp_path / "Annotations/e.xml"
    xml.write_text('<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY e "cat">]>\n<annotation><object><name>&e;</name></object></annotation>')
    with pytest.raises(FormatError) as raised:
        import_dataset("voc", tmp_path)
    assert str(raised.value).startswith(f"{xml}: refused: the XML declares entities or a DTD")


def test_a_flag_that_is_not_0_or_1_is_counted(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations/t.xml").write_text(
        "<annotation><size><width>9</width><height>9</height></size><object><name>cat</name><truncated>2</truncated>"
        "<difficult>1</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox></object></annotation>"
    )
    dataset, report = import_dataset("voc", tmp_path)
    shape = dataset["items"][0]["annotation"]["shapes"][0]
    assert ("truncated" in shape, shape["difficult"]) == (False, True)
    assert report.lines() == ["1 flag dropped: <truncated> is not 0 or 1"]
    with pytest.raises(Exception, match="1 flag dropped"):
        import_dataset("voc", tmp_path, strict=True)


def test_a_label_name_with_a_colon_is_left_out_of_the_label_map_and_counted(tmp_path):
    labels = [{"id": 1, "name": "traffic:light", "kind": "shape", "color": "#ff0000"}, {"id": 2, "name": "car", "kind": "shape"}]
    dataset = {"version": 1, "labels": labels, "items": [one_item([box("b", "traffic:light", [0, 0, 4, 4])])]}
    report = export_dataset("voc", dataset, tmp_path)
    assert report.lines() == [
        "1 label dropped: labelmap.txt cannot hold a name with ':', a line break, a leading '#' or surrounding spaces"
    ]
    assert (tmp_path / "labelmap.txt").read_text().splitlines()[1:] == ["car:::"]
    again, _ = import_dataset("voc", tmp_path)
    assert [label["name"] for label in again["labels"]] == ["car", "traffic:light"]
    assert again["items"][0]["annotation"]["shapes"][0]["label"] == "traffic:light"
    # Datumaro's reader refuses a line with more than 4 fields; ours stays readable.
    from datumaro.plugins.data_formats.voc.format import parse_label_map

    assert list(parse_label_map(str(tmp_path / "labelmap.txt"))) == ["car"]


def test_a_label_map_line_with_too_many_fields_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations/a.xml").write_text("<annotation/>")
    (tmp_path / "labelmap.txt").write_text("# label:color_rgb:parts:actions\ntraffic:light:255,0,0::\n")
    with pytest.raises(FormatError) as raised:
        import_dataset("voc", tmp_path)
    assert (
        str(raised.value) == f"{tmp_path / 'labelmap.txt'}: line 2: 5 ':'-separated fields, expected at most 4 (name:r,g,b:parts:actions)"
    )
