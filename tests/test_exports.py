"""Exports as background jobs, checked with pycocotools and torchvision's VOC loader."""

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import select

from annotate.extensions import db
from annotate.models import Item, Job
from annotate.services import annotations, tasks
from tests.conftest import corpus_file, run_jobs
from tests.helpers import box, document, tag
from workflows import Role


def accept_with(world, item, doc):
    """Label ``item`` as labeler1 with ``doc`` and have the reviewer accept it."""
    from annotate.models import Task

    task = db.session.scalar(select(Task).where(Task.item_id == item.id))
    labeler, reviewer = world.users["labeler1"], world.users["reviewer"]
    task.assignee_id = labeler.id
    tasks.apply_action(task, labeler, Role.LABELER, "start")
    db.session.commit()
    tasks.save_annotation(task, labeler, Role.LABELER, doc, annotations.latest_document(item.id)[1])
    tasks.submit(task, labeler, Role.LABELER)
    tasks.review(task, reviewer, Role.REVIEWER, "accept")


@pytest.fixture
def photos(world):
    from annotate.services import media

    names = ["grace_hopper.jpg", "astronaut.png", "chelsea.png"]
    media.ingest(world.project, [(n, corpus_file(f"media-from-packages/images/{n}").read_bytes()) for n in names])
    items = {i.name: i for i in db.session.scalars(select(Item))}
    accept_with(
        world, items["grace_hopper.jpg"], document([box("person", 10.5, 20.25, 300, 500), box("person", 0, 0, 1, 1)], [tag("outdoor")])
    )
    accept_with(world, items["chelsea.png"], document([box("cat", 100, 50, 250, 200)]))
    return items  # astronaut.png stays unlabeled, so it is not exported


def export(app, redis_connection, session, project_id, fmt, with_images=True):
    response = session.api("POST", f"/api/v1/projects/{project_id}/exports", json={"format": fmt, "include_images": with_images})
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    assert response.get_json()["status"] == "queued"
    run_jobs(app, redis_connection)
    job = session.api("GET", f"/api/v1/jobs/{job_id}").get_json()
    assert job["status"] == "finished", job
    assert job["progress"] == 1.0
    download = session.client.get(job["download_url"])
    assert download.status_code == 200 and download.mimetype == "application/zip"
    data = download.data
    download.close()
    return zipfile.ZipFile(io.BytesIO(data)), job


def test_coco_export_opens_in_pycocotools(app, redis_connection, world, photos, login, tmp_path):
    from pycocotools.coco import COCO

    archive, job = export(app, redis_connection, login("manager"), world.project.id, "coco")
    archive.extractall(tmp_path)
    (ann_file,) = list(tmp_path.glob("annotations/instances_*.json"))
    coco = COCO(str(ann_file))
    images = {img["file_name"].rsplit("/", 1)[-1]: img for img in coco.loadImgs(coco.getImgIds())}
    assert set(images) == {"grace_hopper.jpg", "chelsea.png"}
    assert (images["grace_hopper.jpg"]["width"], images["grace_hopper.jpg"]["height"]) == (512, 600)
    cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert cats == {1: "person", 2: "cat"}
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[images["grace_hopper.jpg"]["id"]]))
    assert sorted((cats[a["category_id"]], a["bbox"], a["area"]) for a in anns) == [
        ("person", [0, 0, 1, 1], 1),
        ("person", [10.5, 20.25, 300, 500], 150000),
    ]
    (cat,) = coco.loadAnns(coco.getAnnIds(imgIds=[images["chelsea.png"]["id"]]))
    assert cat["bbox"] == [100, 50, 250, 200] and cats[cat["category_id"]] == "cat"
    # The images travel in the zip, byte-identical for the JPEG original.
    names = archive.namelist()
    assert any(n.endswith("grace_hopper.jpg") for n in names) and any(n.endswith("chelsea.png") for n in names)
    assert any("tag" in line for line in job["result"]["report"])  # the image tag COCO cannot hold


def test_voc_export_loads_in_torchvision(app, redis_connection, world, photos, login, tmp_path):
    from torchvision.datasets import VOCDetection

    archive, _ = export(app, redis_connection, login("manager"), world.project.id, "voc")
    root = tmp_path / "VOCdevkit" / "VOC2012"
    archive.extractall(root)
    assert (root / "Annotations").is_dir() and (root / "JPEGImages").is_dir() and (root / "ImageSets" / "Main").is_dir()
    assert (root / "ImageSets" / "Main" / "trainval.txt").is_file()
    dataset = VOCDetection(str(tmp_path), year="2012", image_set="trainval", download=False)
    found = {}
    for image, target in dataset:
        ann = target["annotation"]
        found[ann["filename"]] = (image.size, [(o["name"], o["bndbox"]) for o in ann["object"]])
    hopper = found["grace_hopper.jpg"]
    assert hopper[0] == (512, 600)
    boxes = [b for _, b in hopper[1]]
    # 1-based inclusive pixel indices: the 1x1 box on pixel (0, 0) is xmin = xmax = 1.
    assert {"xmin": "1", "ymin": "1", "xmax": "1", "ymax": "1"} in boxes
    big = next(b for b in boxes if b["xmax"] != "1")
    # x = 10.5, w = 300: xmin = x + 1 = 11.5 and xmax = x + w = 310.5, rounded; y = 20.25, h = 500: 21.25 -> 21, 520.25 -> 520.
    assert (int(big["ymin"]), int(big["ymax"])) == (21, 520)
    assert {int(big["xmin"]), int(big["xmax"])} <= {11, 12, 310, 311}
    chelsea = next(v for k, v in found.items() if k.startswith("chelsea"))
    assert chelsea[1] == [("cat", {"xmin": "101", "ymin": "51", "xmax": "350", "ymax": "250"})]


def test_export_without_images_and_cli(app, redis_connection, world, photos, login, tmp_path):
    archive, _ = export(app, redis_connection, login("manager"), world.project.id, "coco", with_images=False)
    assert [n for n in archive.namelist() if n.endswith((".jpg", ".png"))] == []
    out = tmp_path / "cli.zip"
    result = app.test_cli_runner().invoke(args=["export", str(world.project.id), "--format", "voc", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 items as voc" in result.output
    assert sorted(n for n in zipfile.ZipFile(out).namelist() if n.startswith("Annotations/")) == [
        "Annotations/chelsea.xml",
        "Annotations/grace_hopper.xml",
    ]


def test_export_permissions_and_bad_format(app, world, photos, login):
    assert login("labeler1").api("POST", f"/api/v1/projects/{world.project.id}/exports", json={"format": "coco"}).status_code == 403
    bad = login("manager").api("POST", f"/api/v1/projects/{world.project.id}/exports", json={"format": "yaml"})
    assert bad.status_code == 422 and "format" in json.dumps(bad.get_json()["errors"])
    assert db.session.scalar(select(Job)) is None


def test_yolo_and_cvat_exports_from_the_platform(app, redis_connection, world, photos, login, tmp_path):
    manager = login("manager")
    archive, _ = export(app, redis_connection, manager, world.project.id, "yolo")
    names = archive.namelist()
    assert "obj.names" in names and archive.read("obj.names").decode().split() == ["person", "cat"]
    (hopper,) = [n for n in names if n.endswith("grace_hopper.txt")]
    rows = sorted(archive.read(hopper).decode().split("\n"))
    # Person box [10.5, 20.25, 300, 500] on 512x600: centre (160.5, 270.25) / (512, 600), size (300, 500) / (512, 600),
    # written with as many decimals (up to 12) as the value needs.
    assert "0 0.3134765625 0.450416666667 0.5859375 0.833333333333" in rows
    archive, _ = export(app, redis_connection, manager, world.project.id, "cvat", with_images=False)
    xml = archive.read("annotations.xml").decode()
    assert 'xtl="100" ytl="50" xbr="350" ybr="250"' in xml and 'label="cat"' in xml


def test_an_export_holds_the_uploaded_images_and_a_turned_jpeg_with_its_orientation_applied(
    app, redis_connection, world, photos, login, tmp_path
):
    from PIL import Image

    from annotate.services import media
    from tests.test_media import _jpeg_with_orientation

    turned = _jpeg_with_orientation(60, 20, 6)  # stored 60x20, shown a quarter turn: 20x60
    media.ingest(world.project, [("turned.jpg", turned)])
    item = db.session.scalar(select(Item).where(Item.name == "turned.jpg"))
    assert (item.width, item.height) == (20, 60)
    accept_with(world, item, document([box("person", 1, 2, 10, 50)]))
    archive, _ = export(app, redis_connection, login("manager"), world.project.id, "native")
    # Byte for byte as uploaded, where the display rendition is a re-encoding (JPEG at quality 92, PNG at level 3).
    assert archive.read("images/grace_hopper.jpg") == corpus_file("media-from-packages/images/grace_hopper.jpg").read_bytes()
    assert archive.read("images/chelsea.png") == corpus_file("media-from-packages/images/chelsea.png").read_bytes()
    # Pillow ignores the EXIF tag on opening, as torchvision does: the stored pixels must be those the box is on.
    with Image.open(io.BytesIO(archive.read("images/turned.jpg"))) as written:
        assert written.format == "JPEG"
        assert written.size == (20, 60)
        assert written.getexif().get(0x0112, 1) == 1
    # The checksum is that of the file in the export, the turned one included.
    for entry in json.loads(archive.read("dataset.json"))["items"]:
        assert entry["checksum"] == f"sha256:{hashlib.sha256(archive.read('images/' + entry['path'])).hexdigest()}"
