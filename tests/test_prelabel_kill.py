"""Pre-labeling a chosen selection, and a real worker killed in the middle of a pre-label job."""

import io
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from sqlalchemy import func, select

from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, Job, PrelabelRecord, Task
from tests.conftest import REPO, run_jobs
from tests.helpers import add_images, box, document

allow_jit = [
    pytest.mark.filterwarnings(r"ignore:`torch\.jit\.script` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings(r"ignore:`torch\.jit\.save` is deprecated:FutureWarning"),
]


class SlowDetector(torch.nn.Module):
    """Answers one confident box per image after ``rounds`` matrix products (to make a job take a while)."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        outputs: list[dict[str, torch.Tensor]] = []
        for _ in images:
            x = torch.eye(160)
            w = torch.full((160, 160), 1.0 / 160.0)
            for _round in range(self.rounds):
                x = torch.mm(x, w) + torch.eye(160)
            score = torch.clamp(x[0, 0] * 0.0 + 0.9, 0.0, 1.0)
            outputs.append({"boxes": torch.tensor([[2.0, 2.0, 20.0, 20.0]]), "labels": torch.tensor([1]), "scores": score.reshape(1)})
        return outputs


def register(manager, project_id: int, rounds: int = 0) -> dict:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(SlowDetector(rounds)), buffer)
    response = manager.api(
        "POST", f"/api/v1/projects/{project_id}/models", content_type="multipart/form-data",
        data={"file": (io.BytesIO(buffer.getvalue()), "slow.pt"), "format": "torchscript", "labels": "person,cat"},
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@allow_jit[0]
@allow_jit[1]
def test_prelabel_a_chosen_selection_with_a_chosen_version(app, redis_connection, world, login):
    items = add_images(world.project, [(64, 64)] * 4)
    labeler = login("labeler1")
    task = labeler.api("POST", f"/api/v1/tasks/next?project={world.project.id}").get_json()
    touched = db.session.get(Task, task["id"]).item_id
    items = [db.session.get(Item, touched)] + [item for item in items if item.id != touched]
    labeler.api(
        "PUT", f"/api/v1/tasks/{task['id']}/annotation", json={"base_revision": 0, "annotation": document([box("cat", 1, 1, 5, 5)])}
    )
    manager = login("manager")
    first = register(manager, world.project.id)
    register(manager, world.project.id)  # v2 is the latest; the request below asks for v1
    url = f"/api/v1/projects/{world.project.id}/prelabel"
    chosen = [items[0].id, items[2].id, items[3].id]
    job = manager.api("POST", url, json={"item_ids": chosen, "model_version_id": first["id"]})
    assert job.status_code == 202, job.get_json()
    run_jobs(app, redis_connection)
    done = manager.api("GET", f"/api/v1/jobs/{job.get_json()['id']}").get_json()
    assert done["status"] == "finished", done
    assert done["result"] == {"items": 2, "shapes": 2, "skipped": 1, "empty": 0, "model_version": 1}
    assert "1 items skipped because a person saved or submitted them" in done["message"]
    records = db.session.execute(select(PrelabelRecord.item_id, PrelabelRecord.model_version_id)).all()
    assert sorted(records) == [(items[2].id, first["id"]), (items[3].id, first["id"])]
    # The human's work is untouched; the unchosen item was not visited.
    assert [r.source for r in db.session.scalars(select(AnnotationRevision).where(AnnotationRevision.item_id == items[0].id))] == ["human"]
    assert db.session.scalar(select(func.count()).select_from(AnnotationRevision).where(AnnotationRevision.item_id == items[1].id)) == 0
    # Asking again for the same selection writes nothing twice; items already done are not "skipped".
    again = manager.api("POST", url, json={"item_ids": chosen, "model_version_id": first["id"]}).get_json()
    run_jobs(app, redis_connection)
    assert manager.api("GET", f"/api/v1/jobs/{again['id']}").get_json()["result"] == {
        "items": 0, "shapes": 0, "skipped": 1, "empty": 0, "model_version": 1,
    }  # fmt: skip
    # Without a body: every untouched item, with the latest version (v2).
    latest = manager.api("POST", url).get_json()
    run_jobs(app, redis_connection)
    assert manager.api("GET", f"/api/v1/jobs/{latest['id']}").get_json()["result"]["items"] == 3


@allow_jit[0]
@allow_jit[1]
def test_prelabel_selection_refuses_foreign_items_and_versions(app, world, login):
    from annotate.services import projects

    items = add_images(world.project, [(64, 64)])
    other = projects.create_project(world.org.id, "Other", "", [{"name": "person"}, {"name": "cat"}])
    foreign = add_images(other, [(64, 64)])[-1]
    manager = login("manager")
    register(manager, world.project.id)
    url = f"/api/v1/projects/{world.project.id}/prelabel"
    bad = manager.api("POST", url, json={"item_ids": [items[0].id, foreign.id, 999999]})
    assert bad.status_code == 422, bad.get_json()
    assert bad.get_json()["errors"]["item_ids"] == f"not items of this project: {foreign.id}, 999999"
    projects.set_member(other, "manager", world.users["manager"].role)
    foreign_version = register(manager, other.id)
    missing = manager.api("POST", url, json={"model_version_id": foreign_version["id"]})
    assert missing.status_code == 404 and missing.get_json()["code"] == 404
    assert manager.api("POST", url, json={"item_ids": []}).status_code == 422
    assert manager.api("POST", url, json={"item_ids": ["x"]}).status_code == 422
    assert login("labeler1").api("POST", url, json={"item_ids": [items[0].id]}).status_code == 403
    assert login("outsider").api("POST", url, json={"item_ids": [items[0].id]}).status_code in (403, 404)
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def _redis_url(connection) -> str:
    kwargs = connection.connection_pool.connection_kwargs
    return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def _worker(app, redis_connection, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ, "ANNOTATE_DATABASE_URL": app.config["DATABASE_URL"], "ANNOTATE_REDIS_URL": _redis_url(redis_connection),
        "ANNOTATE_MEDIA_ROOT": app.config["MEDIA_ROOT"], "ANNOTATE_SECRET_KEY": "test-secret",
    }  # fmt: skip
    command = [sys.executable, "-c", "from annotate.cli import main; main()", "worker", "prelabel", *extra]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    output, _ = process.communicate(timeout=30)
    return output.decode(errors="replace")[-3000:]


def _per_item(items) -> dict[int, tuple[int, int]]:
    """item id -> (model revisions, pre-label records), read fresh."""
    db.session.expire_all()
    revisions = dict(
        db.session.execute(
            select(AnnotationRevision.item_id, func.count())
            .where(AnnotationRevision.source == "model")
            .group_by(AnnotationRevision.item_id)
        ).all()
    )
    records = dict(db.session.execute(select(PrelabelRecord.item_id, func.count()).group_by(PrelabelRecord.item_id)).all())
    return {item.id: (revisions.get(item.id, 0), records.get(item.id, 0)) for item in items}


@allow_jit[0]
@allow_jit[1]
def test_killed_worker_leaves_no_half_item_and_the_retry_finishes(app, redis_connection, world, login):
    import fakeredis
    from rq.registry import StartedJobRegistry

    from annotate.queue import PRELABEL

    if isinstance(redis_connection, fakeredis.FakeRedis):
        pytest.skip("needs a real Redis: a worker in another process cannot see fakeredis")
    items = add_images(world.project, [(48, 48)] * 40)
    manager = login("manager")
    version = register(manager, world.project.id, rounds=400)
    job_id = manager.api("POST", f"/api/v1/projects/{world.project.id}/prelabel").get_json()["id"]
    worker = _worker(app, redis_connection)
    try:
        deadline = time.monotonic() + 40
        while True:
            db.session.expire_all()
            job = db.session.get(Job, job_id)
            if job.progress > 0.2 or job.status not in ("queued", "running"):
                break
            assert worker.poll() is None, _stop(worker)
            assert time.monotonic() < deadline, (job.status, job.progress, _stop(worker))
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        log = _stop(worker)
    assert job.status == "running", (job.status, job.progress, log)
    state = _per_item(items)
    assert set(state.values()) <= {(0, 0), (1, 1)}, state  # a whole item or nothing
    done = sum(v == (1, 1) for v in state.values())
    assert 0 < done < 40, (done, log)

    # The worker's death leaves the job in RQ's started registry; once its time is up, RQ's
    # clean-up (which every worker runs) moves it back to the queue, as Retry(max=2) allows.
    registry = StartedJobRegistry(PRELABEL, connection=redis_connection)
    assert job_id in registry.get_job_ids(cleanup=False)
    registry.cleanup(timestamp=time.time() + app.config["JOB_TIMEOUT"] + 3600)
    assert job_id in redis_connection.lrange(f"rq:queue:{PRELABEL}", 0, -1)[0].decode()

    second = _worker(app, redis_connection, "--burst")
    try:
        second.wait(timeout=180)
    finally:
        log = _stop(second)
    assert second.returncode == 0, log
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.status == "finished", (job.status, job.error, log)
    assert job.result["items"] == 40 - done and job.result["skipped"] == 0
    assert set(_per_item(items).values()) == {(1, 1)}
    pairs = db.session.execute(select(PrelabelRecord.item_id, PrelabelRecord.model_version_id)).all()
    assert len(pairs) == len(set(pairs)) == 40 and {v for _, v in pairs} == {version["id"]}
    assert db.session.scalar(select(func.count()).select_from(Item)) == 40
