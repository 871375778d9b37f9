"""The whole story over HTTP on real media: manage, label, review, export, pre-label, train.

It runs twice: on the run's PostgreSQL with jobs on Redis and a real RQ worker, and on SQLite
with jobs in-process (the demo's setup).
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import zipfile
from pathlib import Path

from annotate.extensions import db
from tests.conftest import PASSWORD, Session, corpus_file, make_app, migrate, run_jobs
from tests.helpers import box, document, tag
from tests.test_prelabel_jobs import allow_jit, torchscript_bytes


def make_people(app) -> None:
    runner = app.test_cli_runner()
    for name, role in [
        ("admin", "admin"),
        ("manager", "manager"),
        ("labeler1", "labeler"),
        ("labeler2", "labeler"),
        ("reviewer", "reviewer"),
    ]:
        result = runner.invoke(args=["user", "create", name, "--role", role, "--org", "Acme", "--password", PASSWORD])
        assert result.exit_code == 0, result.output


def story(app, finish_jobs) -> None:
    make_people(app)
    client = app.test_client
    admin = Session(client(), "admin")
    created = admin.form("/projects/new", {"name": "Street scenes", "labels": "person\ncat\noutdoor:tag"})
    project_id = int(re.search(r"/projects/(\d+)/manage", created.headers["Location"]).group(1))
    for name, role in [("manager", "manager"), ("labeler1", "labeler"), ("labeler2", "labeler"), ("reviewer", "reviewer")]:
        assert admin.form(f"/projects/{project_id}/members", {"username": name, "role": role}).status_code == 302

    # Manage: upload real photos and a real video; a corrupt file refuses the whole upload.
    manager = Session(client(), "manager")
    photos = [
        (io.BytesIO(corpus_file(f"media-from-packages/images/{n}").read_bytes()), n)
        for n in ("grace_hopper.jpg", "astronaut.png", "chelsea.png")
    ]
    refused = manager.form(
        f"/projects/{project_id}/media",
        {"files": [*photos[:1], (io.BytesIO(b"junk"), "bad.jpg")]},
        headers={"Referer": f"/projects/{project_id}/manage"},
    )
    assert refused.status_code == 302
    assert "bad.jpg" in manager.client.get(refused.headers["Location"]).get_data(as_text=True)
    photos = [
        (io.BytesIO(corpus_file(f"media-from-packages/images/{n}").read_bytes()), n)
        for n in ("grace_hopper.jpg", "astronaut.png", "chelsea.png")
    ]
    assert manager.form(f"/projects/{project_id}/media", {"files": photos}).status_code == 302
    video = (io.BytesIO(corpus_file("media-from-packages/videos/vtest.avi").read_bytes()), "vtest.avi")
    assert manager.form(f"/projects/{project_id}/media", {"files": [video], "frame_step": "400"}).status_code == 302
    page = manager.client.get(f"/projects/{project_id}/manage").get_data(as_text=True)
    assert 'data-state="new">5<' in page and "vtest.avi (795 frames, 10.0 fps)" in page

    # Label: start labeling, draw, autosave, submit.
    labeler = Session(client(), "labeler1")
    home = labeler.client.get("/").get_data(as_text=True)
    assert "Start labeling" in home and "Manage" not in home
    opened = labeler.form(f"/projects/{project_id}/label/start")
    task_id = int(opened.headers["Location"].rsplit("/", 1)[1])
    assert 'id="tool-config"' in labeler.client.get(opened.headers["Location"]).get_data(as_text=True)
    task = labeler.api("GET", f"/api/v1/tasks/{task_id}").get_json()
    assert task["item"]["name"] == "grace_hopper.jpg" and (task["item"]["width"], task["item"]["height"]) == (512, 600)
    assert labeler.client.get(task["item"]["image_url"]).status_code == 200
    doc = document([box("cat", 120, 60, 260, 420)], [tag("outdoor")])
    assert labeler.api("PUT", f"/api/v1/tasks/{task_id}/annotation", json={"base_revision": 0, "annotation": doc}).status_code == 200
    submitted = labeler.api("POST", f"/api/v1/tasks/{task_id}/submit", json={"base_revision": 1}).get_json()
    assert submitted["next_task_id"] not in (None, task_id)

    # Review: reject with a comment; the same labeler sees it and fixes it; accept.
    reviewer = Session(client(), "reviewer")
    queue = reviewer.client.get(f"/projects/{project_id}/review").get_data(as_text=True)
    assert f"/review/tasks/{task_id}" in queue
    assert "grace_hopper.jpg" in reviewer.client.get(f"/review/tasks/{task_id}").get_data(as_text=True)
    assert reviewer.form(f"/review/tasks/{task_id}/reject", {"comment": "She is a person, not a cat."}).status_code == 302
    back = labeler.api("GET", f"/api/v1/tasks/{task_id}").get_json()
    assert back["state"] == "rejected" and back["comments"][0]["body"] == "She is a person, not a cat."
    reopened = labeler.form(f"/projects/{project_id}/label/start")
    assert reopened.headers["Location"].endswith(f"/label/tasks/{task_id}")
    doc["shapes"][0]["label"] = "person"
    labeler.api("PUT", f"/api/v1/tasks/{task_id}/annotation", json={"base_revision": 1, "annotation": doc})
    labeler.api("POST", f"/api/v1/tasks/{task_id}/submit", json={"base_revision": 2})
    assert reviewer.form(f"/review/tasks/{task_id}/accept").status_code == 302

    # Export COCO as a job, download, open with pycocotools.
    assert (
        manager.form(f"/projects/{project_id}/exports", {"format": "coco", "scope": "accepted", "include_images": "1"}).status_code == 302
    )
    finish_jobs()
    jobs = manager.api("GET", f"/api/v1/projects/{project_id}/jobs").get_json()
    assert jobs[0]["status"] == "finished" and jobs[0]["progress"] == 1.0, jobs[0]
    download = manager.client.get(jobs[0]["download_url"])
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    download.close()
    (ann_name,) = [n for n in archive.namelist() if n.startswith("annotations/")]
    with open_coco(archive, ann_name) as coco:
        (ann,) = coco.loadAnns(coco.getAnnIds())
        assert ann["bbox"] == [120, 60, 260, 420] and coco.loadCats(ann["category_id"])[0]["name"] == "person"

    # Pre-label: register a model file, pre-label, and the next labeler corrects its boxes.
    registered = manager.form(
        f"/projects/{project_id}/models",
        {
            "file": (io.BytesIO(torchscript_bytes()), "fixed.pt"),
            "format": "torchscript",
            "architecture": "fasterrcnn_mobilenet_v3_large_320_fpn",
            "labels": "person, cat",
        },
    )
    assert registered.status_code == 302
    assert manager.form(f"/projects/{project_id}/prelabel").status_code == 302
    finish_jobs()
    second = Session(client(), "labeler2")
    served = second.api("POST", f"/api/v1/tasks/next?project={project_id}").get_json()
    models = [s for s in served["annotation"]["shapes"] if s["source"]["type"] == "model"]
    assert sorted(s["source"]["score"] for s in models) == [0.7, 0.9]

    # Train on the accepted boxes; the new version becomes the latest.
    assert manager.form(f"/projects/{project_id}/train", {"epochs": "1"}).status_code == 302
    finish_jobs()
    versions = manager.api("GET", f"/api/v1/projects/{project_id}/models").get_json()
    assert [(v["version"], v["origin"]) for v in versions[:2]] == [(2, "trained"), (1, "registered")]
    assert "v2 (fasterrcnn_mobilenet_v3_large_320_fpn, trained)" in manager.client.get(f"/projects/{project_id}/manage").get_data(
        as_text=True
    )


@contextlib.contextmanager
def open_coco(archive: zipfile.ZipFile, name: str):
    """Open a COCO json inside a zip with pycocotools."""
    from pycocotools.coco import COCO

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "instances.json"
        path.write_bytes(archive.read(name))
        yield COCO(str(path))


@allow_jit[0]
@allow_jit[1]
def test_story_on_postgresql_with_an_rq_worker(app, redis_connection):
    story(app, lambda: run_jobs(app, redis_connection))


@allow_jit[0]
@allow_jit[1]
def test_story_on_sqlite_with_in_process_jobs(tmp_path):
    from annotate.queue import wait_in_process

    url = f"sqlite:///{tmp_path / 'story.sqlite3'}"
    migrate(url, tmp_path)
    app = make_app(url, tmp_path)
    assert "annotate.executor" in app.extensions  # no Redis configured: jobs run in-process
    with app.app_context():
        story(app, lambda: wait_in_process(timeout=300))
        db.session.remove()
        db.engine.dispose()
    app.extensions["annotate.executor"].shutdown(wait=True)
