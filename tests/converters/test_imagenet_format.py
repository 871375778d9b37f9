"""ImageNet class folders: the contract, torchvision's ImageFolder on our output, and losses.

ImageNet is ``<class>/<image>``: the only annotation is the folder, read as one tag.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from annotate.converters import ConversionLossError, FormatError, detect_format, export_dataset, get_format, import_dataset
from schemas import validate_dataset
from tests.converters.conftest import image_bytes
from tests.converters.contract import FormatContract


def tagged_item(path: str, tags: list[str], width: int = 6, height: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "id": path,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "media": "image",
        "width": width,
        "height": height,
        "annotation": {
            "version": 1,
            "tags": [{"id": str(n), "label": label, "source": {"type": "human"}} for n, label in enumerate(tags, start=1)],
            "shapes": [],
        },
        **extra,
    }


def classification_dataset() -> dict[str, Any]:
    """Every item has exactly one tag and a path <class>/<file name>: ImageNet holds it completely."""
    return {
        "version": 1,
        "labels": [{"id": 0, "name": "cat", "kind": "tag"}, {"id": 1, "name": "dog house", "kind": "tag"}],
        "items": [
            tagged_item("cat/one.jpg", ["cat"]),
            tagged_item("cat/two.png", ["cat"], width=5, height=7),
            tagged_item("dog house/one.jpg", ["dog house"]),
        ],
    }


def write_image(path: Path, size: tuple[int, int] = (6, 4), fmt: str = "JPEG", exif_orientation: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, exif=exif.tobytes()) if exif_orientation else image.save(buffer, format=fmt)
    path.write_bytes(buffer.getvalue())


class TestImagenetContract(FormatContract):
    name = "imagenet"

    def sample(self) -> dict[str, Any]:
        return classification_dataset()

    def test_export_detect_import(self, tmp_path):
        # The contract's checks, with images: ImageNet is nothing but image files.
        dataset = self.sample()
        report = export_dataset(self.name, dataset, tmp_path / "out", images=image_bytes)
        assert report.lines() == []
        assert detect_format(tmp_path / "out") == self.name
        assert get_format(self.name).detect(tmp_path / "out")
        again, import_report = import_dataset(self.name, tmp_path / "out")
        validate_dataset(again)
        assert import_report.lines() == []
        assert self.geometry(again) == self.geometry(dataset)
        used = {s["label"] for i in dataset["items"] for s in i["annotation"]["shapes"] + i["annotation"]["tags"]}
        assert used <= {label["name"] for label in again["labels"]}
        # Sizes come from the image files.
        assert {item["path"]: (item["width"], item["height"]) for item in again["items"]} == {
            item["path"]: (item["width"], item["height"]) for item in dataset["items"]
        }


def test_torchvision_image_folder_reads_the_export(tmp_path):
    datasets = pytest.importorskip("torchvision.datasets")
    export_dataset("imagenet", classification_dataset(), tmp_path / "out", images=image_bytes)
    folder = datasets.ImageFolder(str(tmp_path / "out"))
    assert folder.classes == ["cat", "dog house"]
    assert folder.class_to_idx == {"cat": 0, "dog house": 1}
    samples = sorted((Path(path).relative_to(tmp_path / "out").as_posix(), target) for path, target in folder.samples)
    assert samples == [("cat/one.jpg", 0), ("cat/two.png", 0), ("dog house/one.jpg", 1)]


def test_import_a_class_folder_tree(tmp_path):
    root = tmp_path / "data"
    write_image(root / "cat" / "a.jpg")
    write_image(root / "cat" / "sub" / "b.PNG", size=(3, 2), fmt="PNG")
    write_image(root / "dog house" / "a.jpg")  # same file name, other class: stays distinct
    write_image(root / "été" / "c.d.e.jpeg")
    # Stored 8 wide and 5 high, displayed rotated by 90 degrees: 5 wide, 8 high.
    write_image(root / "zebra" / "rotated.jpg", size=(8, 5), exif_orientation=6)
    write_image(root / "loose.jpg")  # no class folder
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".ipynb_checkpoints").mkdir()
    write_image(root / ".ipynb_checkpoints" / "x.jpg")
    (root / "cat" / ".DS_Store").write_bytes(b"\0")

    assert not get_format("imagenet").detect(root)  # notes.txt is not an image
    dataset, report = import_dataset("imagenet", root)
    assert [(label["id"], label["name"], label["kind"]) for label in dataset["labels"]] == [
        (0, "cat", "tag"),
        (1, "dog house", "tag"),
        (2, "zebra", "tag"),
        (3, "été", "tag"),
    ]
    items = {item["path"]: item for item in dataset["items"]}
    assert list(items) == ["loose.jpg", "cat/a.jpg", "cat/sub/b.PNG", "dog house/a.jpg", "zebra/rotated.jpg", "été/c.d.e.jpeg"]
    tags = {path: [tag["label"] for tag in item["annotation"]["tags"]] for path, item in items.items()}
    assert tags["loose.jpg"] == []
    assert tags["cat/sub/b.PNG"] == ["cat"]
    assert tags["été/c.d.e.jpeg"] == ["été"]
    assert (items["cat/sub/b.PNG"]["width"], items["cat/sub/b.PNG"]["height"]) == (3, 2)
    assert (items["zebra/rotated.jpg"]["width"], items["zebra/rotated.jpg"]["height"]) == (5, 8)
    assert items["dog house/a.jpg"]["name"] == "a.jpg"
    assert report.lossless
    assert report.lines() == [
        "1 image outside any class folder read without a tag",
        "1 file in cat skipped: not images",
    ]
    assert get_format("imagenet").find_image(root, items["cat/sub/b.PNG"]) == root / "cat" / "sub" / "b.PNG"


def test_detect(tmp_path, corpus):
    fmt = get_format("imagenet")
    # A plain folder of images has no classes.
    assert not fmt.detect(corpus / "datumaro/image_dir")
    with pytest.raises(FormatError, match="no class folders"):
        import_dataset("imagenet", corpus / "datumaro/image_dir")
    # Folders of images next to annotation files are other formats.
    assert not fmt.detect(corpus / "labelme/bbox_detection/data_dataset_voc")
    assert not fmt.detect(corpus / "datumaro/coco/coco_instances")
    assert detect_format(corpus / "labelme/bbox_detection/data_dataset_voc") == "voc"
    # Images only two levels down (images/<subset>/x.jpg) are not <class>/<image>.
    write_image(tmp_path / "nested" / "images" / "train" / "a.jpg")
    assert not fmt.detect(tmp_path / "nested")
    write_image(tmp_path / "classes" / "cat" / "a.jpg")
    assert fmt.detect(tmp_path / "classes")
    assert not fmt.detect(tmp_path / "classes" / "cat" / "a.jpg")


def test_unreadable_image_names_the_file(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(FormatError, match=r"broken\.jpg: not a readable image"):
        import_dataset("imagenet", tmp_path)


def test_links_out_of_the_dataset_are_refused(tmp_path):
    write_image(tmp_path / "outside.jpg")
    write_image(tmp_path / "data" / "cat" / "a.jpg")
    (tmp_path / "data" / "cat" / "escape.jpg").symlink_to(tmp_path / "outside.jpg")
    dataset, report = import_dataset("imagenet", tmp_path / "data")
    assert [item["path"] for item in dataset["items"]] == ["cat/a.jpg"]
    assert report.lines() == ["1 image dropped: it links to a file outside the dataset folder"]


def lossy_dataset() -> dict[str, Any]:
    dataset = classification_dataset()
    dataset["labels"] += [
        {"id": 7, "name": "unused", "kind": "tag"},
        {"id": 8, "name": "bird", "kind": "tag"},
        {"id": 9, "name": "car", "kind": "shape"},
    ]
    box = {"id": "s1", "type": "bbox", "label": "car", "bbox": [0, 0, 2, 2], "source": {"type": "human"}}
    polygon = {"id": "s2", "type": "polygon", "label": "car", "rings": [[0, 0, 2, 0, 2, 2]], "source": {"type": "human"}}
    several = tagged_item("photos/one.jpg", ["cat", "bird"], subset="train")  # collides with cat/one.jpg
    several["annotation"]["tags"][0]["attributes"] = {"pose": "sitting"}
    several["annotation"]["shapes"] = [box, polygon]
    untagged = tagged_item("untagged.jpg", [], subset="val")
    untagged["annotation"]["shapes"] = [dict(box)]
    dataset["items"] += [several, untagged]
    return dataset


def test_export_reports_what_imagenet_cannot_hold(tmp_path):
    report = export_dataset("imagenet", lossy_dataset(), tmp_path / "out", images=image_bytes)
    assert report.lines() == [
        "1 attribute dropped: ImageNet tags have no attributes",
        "2 boxes dropped: ImageNet holds image classes only",
        "1 item dropped: ImageNet cannot hold an image without a class tag",
        "2 labels dropped: ImageNet keeps a class only as a folder of its images, and no image has it",
        "1 polygon dropped: ImageNet holds image classes only",
        "2 subsets dropped: ImageNet class folders have no subsets",
        "1 tag dropped: ImageNet holds one class per image (the first tag is kept)",
        "1 file name given a suffix to stay distinct in the class folder",
    ]
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["cat/one.jpg", "cat/one_2.jpg", "cat/two.png", "dog house/one.jpg"]
    with pytest.raises(ConversionLossError, match="2 subsets dropped"):
        export_dataset("imagenet", lossy_dataset(), tmp_path / "strict", images=image_bytes, strict=True)
    assert not (tmp_path / "strict").exists()


def test_export_requires_images(tmp_path):
    with pytest.raises(FormatError, match="requires the images"):
        export_dataset("imagenet", classification_dataset(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_items_without_an_image_and_unsafe_label_names(tmp_path):
    dataset = classification_dataset()
    dataset["labels"][0]["name"] = "a/b"
    for item in dataset["items"][:2]:
        item["annotation"]["tags"][0]["label"] = "a/b"

    def images(item):
        return None if item["path"] == "dog house/one.jpg" else image_bytes(item)

    report = export_dataset("imagenet", dataset, tmp_path / "out", images=images)
    assert report.lines() == [
        "1 item dropped: its image was not given, and ImageNet holds nothing but images",
        "1 label dropped: ImageNet keeps a class only as a folder of its images, and no image has it",
        "label 'a/b' is written as the folder 'a_b'",
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_b"]
    assert sorted(p.name for p in (tmp_path / "out" / "a_b").iterdir()) == ["one.jpg", "two.png"]


def test_native_round_trip_keeps_everything_imagenet_holds(tmp_path):
    export_dataset("imagenet", classification_dataset(), tmp_path / "first", images=image_bytes)
    dataset, _ = import_dataset("imagenet", tmp_path / "first")
    fmt = get_format("imagenet")

    def images(item):
        return (tmp_path / "first" / item["path"]).read_bytes(), ".png" if item["path"].endswith(".png") else ".jpg"

    export_dataset("native", dataset, tmp_path / "native", images=images)
    again, _ = import_dataset("native", tmp_path / "native")
    # The native export gives each item the checksum of the image it wrote, here the ImageNet file as it is.
    for item in again["items"]:
        assert item.pop("checksum") == f"sha256:{hashlib.sha256(images(item)[0]).hexdigest()}"
    assert again == dataset
    report = export_dataset("imagenet", again, tmp_path / "second", images=images)
    assert report.lines() == []
    third, _ = import_dataset("imagenet", tmp_path / "second")
    assert third == dataset
    assert fmt.find_image(tmp_path / "second", third["items"][0]) == tmp_path / "second" / "cat" / "one.jpg"


def test_nested_images_are_written_flat(tmp_path):
    write_image(tmp_path / "src" / "cat" / "2020" / "a.jpg")
    write_image(tmp_path / "src" / "cat" / "a.jpg")
    dataset, _ = import_dataset("imagenet", tmp_path / "src")
    assert [item["path"] for item in dataset["items"]] == ["cat/a.jpg", "cat/2020/a.jpg"]
    fmt = get_format("imagenet")
    report = export_dataset(
        "imagenet", dataset, tmp_path / "out", images=lambda item: (fmt.find_image(tmp_path / "src", item).read_bytes(), ".jpg")
    )
    assert report.lines() == ["1 file name given a suffix to stay distinct in the class folder"]
    again, _ = import_dataset("imagenet", tmp_path / "out")
    assert [item["path"] for item in again["items"]] == ["cat/a.jpg", "cat/a_2.jpg"]
