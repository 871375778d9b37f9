"""Training and pre-labeling as RQ jobs on a real Redis, through the API."""

import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from sqlalchemy import func, select

from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, ModelVersion, PrelabelRecord
from tests.conftest import REPO, run_jobs
from tests.helpers import add_images, box, document
from tests.test_exports import accept_with

allow_jit = [
    pytest.mark.filterwarnings(r"ignore:`torch\.jit\.script` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings(r"ignore:`torch\.jit\.save` is deprecated:FutureWarning"),
]


class FixedDetector(torch.nn.Module):
    """Answers the same boxes for every image, in torchvision's detection output convention."""

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        outputs: list[dict[str, torch.Tensor]] = []
        for _ in images:
            boxes = torch.tensor([[10.0, 10.0, 40.0, 40.0], [60.0, 50.0, 500.0, 90.0], [5.0, 5.0, 9.0, 9.0]])
            outputs.append({"boxes": boxes, "labels": torch.tensor([1, 2, 1]), "scores": torch.tensor([0.9, 0.7, 0.2])})
        return outputs


def torchscript_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(FixedDetector()), buffer)
    return buffer.getvalue()


def test_web_start_up_does_not_import_torch(tmp_path):
    code = (
        "import sys; from annotate import create_app; "
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path)!r}, 'SECRET_KEY': 'x'}}); "
        "c = app.test_client(); assert c.get('/login').status_code == 200; "
        "print(sorted(m for m in ('torch', 'torchvision', 'prelabel.detection') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("_", [None], ids=["torchscript"])
@allow_jit[0]
@allow_jit[1]
def test_registered_model_prelabels_untouched_items_once(app, redis_connection, world, login, _):
    items = add_images(world.project, [(100, 100), (100, 100), (100, 100)])
    labeler = login("labeler1")
    touched = labeler.api("POST", f"/api/v1/tasks/next?project={world.project.id}").get_json()
    labeler.api(
        "PUT", f"/api/v1/tasks/{touched['id']}/annotation", json={"base_revision": 0, "annotation": document([box("cat", 1, 1, 5, 5)])}
    )
    manager = login("manager")
    registered = manager.api(
        "POST",
        f"/api/v1/projects/{world.project.id}/models",
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(torchscript_bytes()), "fixed.pt"),
            "format": "torchscript",
            "architecture": "custom",
            "labels": "person,cat",
        },
    )
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json()["version"] == 1 and registered.get_json()["label_names"] == ["person", "cat"]
    job = manager.api("POST", f"/api/v1/projects/{world.project.id}/prelabel").get_json()
    run_jobs(app, redis_connection)
    done = manager.api("GET", f"/api/v1/jobs/{job['id']}").get_json()
    assert done["status"] == "finished", done
    assert done["result"] == {"items": 2, "shapes": 4, "skipped": 0, "empty": 0, "model_version": 1}
    assert done["message"] == "model v1: 4 boxes on 2 of 2 items"
    # The human's item is untouched; the others hold the model's boxes, clipped to the image,
    # with the 0.2 score dropped by the project's 0.5 threshold.
    human_doc = db.session.scalars(select(AnnotationRevision).where(AnnotationRevision.item_id == items[0].id)).one().document
    assert [s["source"] for s in human_doc["shapes"]] == [{"type": "human"}]
    for item in items[1:]:
        (revision,) = db.session.scalars(select(AnnotationRevision).where(AnnotationRevision.item_id == item.id)).all()
        assert revision.source == "model" and revision.author_id is None
        got = sorted((s["label"], s["bbox"], s["source"]["score"]) for s in revision.document["shapes"])
        assert got == [("cat", [60.0, 50.0, 40.0, 40.0], 0.7), ("person", [10.0, 10.0, 30.0, 30.0], 0.9)]
        assert all(s["source"]["model_version"] == 1 for s in revision.document["shapes"])
        # Least confidence: 1 - the best score (0.9), for active learning.
        assert db.session.get(Item, item.id).uncertainty == pytest.approx(0.1)
    # A second run writes nothing twice.
    again = manager.api("POST", f"/api/v1/projects/{world.project.id}/prelabel").get_json()
    run_jobs(app, redis_connection)
    assert manager.api("GET", f"/api/v1/jobs/{again['id']}").get_json()["result"]["items"] == 0
    assert db.session.scalar(select(func.count()).select_from(PrelabelRecord)) == 2
    assert db.session.scalar(select(func.count()).select_from(AnnotationRevision)) == 3
    # The next labeler is served a pre-labeled item, marked as machine-made with its score.
    task = login("labeler2").api("POST", f"/api/v1/tasks/next?project={world.project.id}").get_json()
    assert task["revision"] == 1
    assert {s["source"]["type"] for s in task["annotation"]["shapes"]} == {"model"}


def _rectangles(n: int, size: int = 96):
    rng = np.random.default_rng(0)
    images = []
    for i in range(n):
        canvas = np.full((size, size, 3), 30, np.uint8)
        x, y = int(rng.integers(5, 40)), int(rng.integers(5, 40))
        w, h = int(rng.integers(20, 45)), int(rng.integers(20, 45))
        canvas[y : y + h, x : x + w] = (240, 240, 240) if i % 2 == 0 else (240, 60, 60)
        buffer = io.BytesIO()
        Image.fromarray(canvas).save(buffer, "PNG")
        images.append((f"r{i}.png", buffer.getvalue(), ("person" if i % 2 == 0 else "cat", x, y, w, h)))
    return images


def test_training_registers_a_version_that_then_prelabels(app, redis_connection, world, login):
    from annotate.services import media

    data = _rectangles(8)
    media.ingest(world.project, [(name, content) for name, content, _ in data])
    items = {i.name: i for i in db.session.scalars(select(Item))}
    for name, _, (label, x, y, w, h) in data[:6]:
        accept_with(world, items[name], document([box(label, x, y, w, h)]))
    manager = login("manager")
    job = manager.api("POST", f"/api/v1/projects/{world.project.id}/train", json={"epochs": 3, "prelabel_after": True})
    assert job.status_code == 202, job.get_json()
    run_jobs(app, redis_connection)
    trained = manager.api("GET", f"/api/v1/jobs/{job.get_json()['id']}").get_json()
    assert trained["status"] == "finished", trained
    losses = trained["result"]["losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    version = db.session.scalar(select(ModelVersion))
    assert (version.version, version.origin, version.architecture) == (1, "trained", "fasterrcnn_mobilenet_v3_large_320_fpn")
    assert version.label_names == ["person", "cat"] and version.metrics["boxes"] == 6
    follow = manager.api("GET", f"/api/v1/jobs/{trained['result']['prelabel_job_id']}").get_json()
    assert follow["status"] == "finished" and follow["kind"] == "prelabel"
    # The two unlabeled items were visited by version 1, whatever it predicted.
    assert db.session.scalar(select(func.count()).select_from(PrelabelRecord)) == 2


def test_training_without_accepted_boxes_fails_with_a_clear_error(app, redis_connection, world, login):
    manager = login("manager")
    job = manager.api("POST", f"/api/v1/projects/{world.project.id}/train", json={}).get_json()
    run_jobs(app, redis_connection)
    failed = manager.api("GET", f"/api/v1/jobs/{job['id']}").get_json()
    assert failed["status"] == "failed" and "no accepted boxes" in failed["error"]


def test_register_refuses_unknown_labels(world, login):
    response = login("manager").api(
        "POST",
        f"/api/v1/projects/{world.project.id}/models",
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(b"x"), "m.pt"),
            "format": "annotate",
            "architecture": "fasterrcnn_mobilenet_v3_large_320_fpn",
            "labels": "person,dog",
        },
    )
    assert response.status_code == 422 and "dog" in response.get_json()["errors"]["labels"]
    assert login("labeler1").api("POST", f"/api/v1/projects/{world.project.id}/prelabel").status_code == 403
    assert login("manager").api("POST", f"/api/v1/projects/{world.project.id}/prelabel").status_code == 404


@allow_jit[0]
@allow_jit[1]
def test_threshold_that_keeps_nothing_writes_no_empty_revisions(app, redis_connection, world, login):
    add_images(world.project, [(100, 100), (100, 100)])
    manager = login("manager")
    changed = manager.api("PATCH", f"/api/v1/projects/{world.project.id}", json={"prelabel_threshold": 0.95})
    assert changed.status_code == 200 and changed.get_json()["prelabel_threshold"] == 0.95
    assert manager.api("PATCH", f"/api/v1/projects/{world.project.id}", json={"prelabel_threshold": 2}).status_code == 422
    manager.api(
        "POST", f"/api/v1/projects/{world.project.id}/models", content_type="multipart/form-data",
        data={"file": (io.BytesIO(torchscript_bytes()), "fixed.pt"), "format": "torchscript", "labels": "person,cat"},
    )  # fmt: skip
    job = manager.api("POST", f"/api/v1/projects/{world.project.id}/prelabel").get_json()
    run_jobs(app, redis_connection)
    done = manager.api("GET", f"/api/v1/jobs/{job['id']}").get_json()
    assert done["result"]["shapes"] == 0 and done["result"]["empty"] == 2
    assert "2 items had no box scoring 0.95 or more" in done["message"]
    assert db.session.scalar(select(func.count()).select_from(AnnotationRevision)) == 0
    assert db.session.scalar(select(func.count()).select_from(PrelabelRecord)) == 2


@allow_jit[0]
@allow_jit[1]
def test_a_version_that_finds_nothing_keeps_earlier_prelabels(app, redis_connection, world, login):
    items = add_images(world.project, [(100, 100)])
    manager = login("manager")
    for _ in range(2):  # v1, then v2 (the same file)
        manager.api(
            "POST", f"/api/v1/projects/{world.project.id}/models", content_type="multipart/form-data",
            data={"file": (io.BytesIO(torchscript_bytes()), "fixed.pt"), "format": "torchscript", "labels": "person,cat"},
        )  # fmt: skip
        manager.api("POST", f"/api/v1/projects/{world.project.id}/prelabel")
        run_jobs(app, redis_connection)
        # v2 runs with a threshold none of its boxes reach.
        manager.api("PATCH", f"/api/v1/projects/{world.project.id}", json={"prelabel_threshold": 0.99})
    (revision,) = db.session.scalars(select(AnnotationRevision).where(AnnotationRevision.item_id == items[0].id)).all()
    assert {s["source"]["model_version"] for s in revision.document["shapes"]} == {1}
    assert db.session.scalar(select(func.count()).select_from(PrelabelRecord)) == 2
