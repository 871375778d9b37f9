"""Uploads: real photos and videos, EXIF, odd pixel formats, and every kind of bad input."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from annotate.extensions import db
from annotate.models import Item, Task, Video
from tests.conftest import corpus_file


def _png(mode="RGB", size=(40, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG", **save)
    return buffer.getvalue()


def _jpeg_with_orientation(width=60, height=20, orientation=6) -> bytes:
    img = Image.new("RGB", (width, height), (200, 10, 10))
    exif = img.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def upload(session, project_id, files, **form):
    data = {"files": [(io.BytesIO(content), name) for name, content in files], **form}
    return session.api("POST", f"/api/v1/projects/{project_id}/items", data=data, content_type="multipart/form-data")


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_real_photos_and_dedup(world, login):
    session = login("manager")
    names = ["grace_hopper.jpg", "astronaut.png", "camera.png"]
    files = [(n, corpus_file(f"media-from-packages/images/{n}").read_bytes()) for n in names]
    response = upload(session, world.project.id, files)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["added"] == 3
    sizes = {i.name: (i.width, i.height, i.mime) for i in db.session.scalars(select(Item))}
    # Sizes as read independently with Pillow (grace_hopper is 512 wide, 600 high).
    assert sizes == {
        "grace_hopper.jpg": (512, 600, "image/jpeg"),
        "astronaut.png": (512, 512, "image/png"),
        "camera.png": (512, 512, "image/png"),
    }
    assert count(Task) == 3
    again = upload(session, world.project.id, files[:1])
    assert again.get_json()["added"] == 0 and again.get_json()["duplicates"] == ["grace_hopper.jpg"]
    # The grayscale photo is served as an 8-bit grey image of the same size.
    camera = db.session.scalar(select(Item).where(Item.name == "camera.png"))
    served = Image.open(io.BytesIO(session.client.get(f"/media/items/{camera.id}/image").data))
    assert served.size == (512, 512) and served.mode == "L"
    assert np.array_equal(np.asarray(served), np.asarray(Image.open(corpus_file("media-from-packages/images/camera.png"))))


def test_exif_orientation_swaps_width_and_height(world, login):
    session = login("manager")
    assert upload(session, world.project.id, [("rotated.jpg", _jpeg_with_orientation(60, 20, 6))]).status_code == 201
    item = db.session.scalar(select(Item))
    assert (item.width, item.height) == (20, 60)
    served = Image.open(io.BytesIO(session.client.get(f"/media/items/{item.id}/image").data))
    assert served.size == (20, 60)


def test_16bit_and_cmyk_images_are_shown(world, login):
    session = login("manager")
    grey16 = Image.fromarray(np.array([[0, 1000], [2000, 4000]], dtype=np.uint16))
    buf16 = io.BytesIO()
    grey16.save(buf16, "PNG")
    cmyk = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(cmyk, "JPEG")
    tiff = io.BytesIO()
    Image.new("RGB", (9, 7), (1, 2, 3)).save(tiff, "TIFF")
    webp, bmp = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (5, 6)).save(webp, "WEBP")
    Image.new("RGB", (5, 6)).save(bmp, "BMP")
    files = [
        ("g16.png", buf16.getvalue()),
        ("cmyk.jpg", cmyk.getvalue()),
        ("t.tiff", tiff.getvalue()),
        ("w.webp", webp.getvalue()),
        ("b.bmp", bmp.getvalue()),
    ]
    assert upload(session, world.project.id, files).get_json()["added"] == 5
    items = {i.name: i for i in db.session.scalars(select(Item))}
    grey = np.asarray(Image.open(io.BytesIO(session.client.get(f"/media/items/{items['g16.png'].id}/image").data)))
    # Stretched linearly from 0 to the maximum (4000): 1000 -> 64, 2000 -> 128, 4000 -> 255.
    assert grey.tolist() == [[0, 64], [128, 255]]
    red = Image.open(io.BytesIO(session.client.get(f"/media/items/{items['cmyk.jpg'].id}/image").data))
    assert red.mode == "RGB" and red.getpixel((4, 4))[0] > 200 and red.getpixel((4, 4))[1] < 60


def test_zip_upload_keeps_folders(world, login):
    session = login("manager")
    archive = _zip({"a/x.png": _png(size=(3, 4)), "b/x.png": _png(size=(5, 6)), "__MACOSX/._x.png": b"junk"})
    response = upload(session, world.project.id, [("batch.zip", archive)])
    assert response.get_json()["added"] == 2
    assert sorted(db.session.scalars(select(Item.path))) == ["a/x.png", "b/x.png"]


def test_video_frames_become_items(world, login):
    session = login("manager")
    video = corpus_file("media-from-packages/videos/vtest.avi").read_bytes()
    response = upload(session, world.project.id, [("vtest.avi", video)], frame_step="100")
    assert response.status_code == 201, response.get_json()
    stored = db.session.scalar(select(Video))
    assert (stored.frame_count, round(stored.fps), stored.width, stored.height) == (795, 10, 768, 576)
    frames = list(db.session.scalars(select(Item).order_by(Item.id)))
    assert [f.frame_index for f in frames] == [0, 100, 200, 300, 400, 500, 600, 700]
    image = Image.open(io.BytesIO(session.client.get(f"/media/items/{frames[3].id}/image").data))
    assert image.size == (768, 576)
    import cv2

    capture = cv2.VideoCapture(str(corpus_file("media-from-packages/videos/vtest.avi")))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 300)
    expected = cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB).astype(int)
    # JPEG-encoded, so equal within compression error.
    assert np.abs(np.asarray(image).astype(int) - expected).mean() < 3


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "broken.jpg"),
        ("notes.txt", b"hello", "unsupported file type .txt"),
        ("empty.zip", _zip({}), "the zip holds no files"),
        ("evil.zip", _zip({"../escape.png": _png()}), "'..' is not allowed"),
        ("abs.zip", _zip({"/etc/passwd.png": _png()}), "absolute paths are not allowed"),
        ("fake.mp4", b"\x00\x00\x00\x18ftypmp42 nothing", "fake.mp4"),
    ],
)
def test_bad_files_are_refused_with_their_name(world, login, name, content, needle):
    session = login("manager")
    response = upload(session, world.project.id, [("good.png", _png()), (name, content)])
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert needle in str(body["errors"]["files"])
    assert count(Item) == 0 and count(Task) == 0  # nothing half-imported


def test_truncated_image_is_refused(world, login):
    session = login("manager")
    data = corpus_file("media-from-packages/images/grace_hopper.jpg").read_bytes()
    response = upload(session, world.project.id, [("cut.jpg", data[: len(data) // 2])])
    assert response.status_code == 400 and "truncated" in response.get_json()["errors"]["files"]["cut.jpg"]


def test_skip_invalid_takes_the_good_files(world, login):
    session = login("manager")
    response = upload(session, world.project.id, [("good.png", _png()), ("bad.png", b"nope")], skip_invalid="true")
    assert response.status_code == 201
    assert response.get_json()["added"] == 1 and "bad.png" in response.get_json()["errors"]
    assert count(Item) == 1


def test_decompression_bomb_is_refused(app, world, login):
    app.config["MAX_IMAGE_PIXELS"] = 10_000
    session = login("manager")
    response = upload(session, world.project.id, [("bomb.png", _png(mode="1", size=(200, 200)))])
    assert response.status_code == 400
    assert "more than 10,000 pixels" in response.get_json()["errors"]["files"]["bomb.png"]


def test_only_managers_upload_and_other_tenants_see_nothing(world, login):
    assert upload(login("labeler1"), world.project.id, [("a.png", _png())]).status_code == 403
    outsider = upload(login("outsider"), world.project.id, [("a.png", _png())])
    assert outsider.status_code == 404


def test_folder_import_is_confined_to_roots(app, world, login, tmp_path):
    root = tmp_path / "shared"
    (root / "photos" / "sub").mkdir(parents=True)
    (root / "photos" / "a.png").write_bytes(_png(size=(7, 8)))
    (root / "photos" / "sub" / "b.png").write_bytes(_png(size=(9, 10)))
    session = login("manager")
    url = f"/projects/{world.project.id}/media/folder"
    refused = session.form(url, {"folder": str(root / "photos")}, headers={"Referer": "/"})
    assert refused.status_code == 302 and count(Item) == 0  # no roots configured
    app.config["IMPORT_ROOTS"] = str(root)
    outside = session.form(url, {"folder": str(root / "photos" / ".." / "..")}, headers={"Referer": "/"})
    assert outside.status_code == 302 and count(Item) == 0
    assert session.form(url, {"folder": str(root / "photos")}).status_code == 302
    assert sorted(db.session.scalars(select(Item.path))) == ["a.png", "sub/b.png"]


@pytest.mark.parametrize(
    ("name", "stored", "error"),
    [
        ("bad\x00name.png", None, "NUL character"),
        ("x" * 300 + ".png", None, "too long"),
        ("safe\u202egnp.exe.png", "safegnp.exe.png", None),
        ("  spaced name.png", "spaced name.png", None),
    ],
)
def test_file_names_are_cleaned_or_refused(world, login, name, stored, error):
    response = upload(login("manager"), world.project.id, [(name, _png())])
    if error:
        assert response.status_code == 400 and error in str(response.get_json()["errors"])
    else:
        assert response.status_code == 201, response.get_json()
        assert db.session.scalar(select(Item.path)) == stored


def test_zip_inside_a_zip_says_so(world, login):
    response = upload(login("manager"), world.project.id, [("outer.zip", _zip({"inner.zip": _zip({"a.png": _png()})}))])
    assert response.status_code == 400
    assert "zips inside a zip are not unpacked" in str(response.get_json()["errors"])


def test_page_forms_check_whole_numbers(world, login):
    session = login("manager")
    response = session.form(f"/projects/{world.project.id}/media", {"frame_step": "abc", "files": [(io.BytesIO(_png()), "a.png")]})
    assert response.status_code == 422 and "frame step must be a whole number" in response.get_data(as_text=True)
    response = session.form(f"/projects/{world.project.id}/train", {"epochs": "0"})
    assert response.status_code == 422 and "epochs must be a whole number from 1 to 500" in response.get_data(as_text=True)
    assert count(Item) == 0
