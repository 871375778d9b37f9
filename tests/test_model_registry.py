"""The model registry: held-out metrics, the metric gate, pinning, cancel and resume, the CLI,
and the built-in HOG people detector."""

import json
import subprocess
import sys
import uuid

import numpy as np
import pytest
from sqlalchemy import func, select

from annotate.extensions import db
from annotate.models import Item, Job, ModelVersion, PrelabelRecord
from annotate.services import media, models
from prelabel.evaluation import evaluate_detections
from prelabel.pretrained import Detection, HogPeopleDetector, hog_score
from tests.conftest import REPO, corpus_file, run_jobs
from tests.helpers import box, document
from tests.test_exports import accept_with
from tests.test_prelabel_jobs import _rectangles, allow_jit, torchscript_bytes

# --- evaluate_detections: hand-made cases --------------------------------------------------


def test_perfect_predictions_score_one():
    truth = [[(0, (10, 10, 50, 50)), (1, (100, 100, 40, 40))], [(0, (0, 0, 30, 30))]]
    found = [[Detection(0, (10, 10, 50, 50), 0.9), Detection(1, (100, 100, 40, 40), 0.8)], [Detection(0, (0, 0, 30, 30), 0.7)]]
    metrics = evaluate_detections(truth, found, ["person", "cat"], [(200, 200), (100, 100)])
    assert metrics["map50"] == 1.0 and metrics["map"] == 1.0
    assert metrics["ap50_per_label"] == {"person": 1.0, "cat": 1.0}
    assert (metrics["val_images"], metrics["val_boxes"], metrics["predictions"]) == (2, 3, 3)


def test_box_with_iou_0_4_does_not_count_at_0_5():
    # A 50x50 box shifted right by d overlaps (50 - d) * 50 of a union 2500 + 50 d: IoU 0.4 at d = 30 / 1.4.
    shift = 30 / 1.4
    metrics = evaluate_detections([[(0, (10, 10, 50, 50))]], [[Detection(0, (10 + shift, 10, 50, 50), 0.9)]], ["person"], [(200, 200)])
    assert metrics["map50"] == 0.0 and metrics["map"] == 0.0
    # The same box with the wrong label doesn't count either; a right one among false ones does.
    wrong = evaluate_detections([[(0, (10, 10, 50, 50))]], [[Detection(1, (10, 10, 50, 50), 0.9)]], ["person", "cat"], [(200, 200)])
    assert wrong["map50"] == 0.0 and wrong["ap50_per_label"] == {"person": 0.0, "cat": None}


def test_no_predictions_and_no_ground_truth():
    assert evaluate_detections([[(0, (1, 1, 5, 5))]], [[]], ["person"], [(20, 20)])["map50"] == 0.0
    empty = evaluate_detections([[]], [[Detection(0, (1, 1, 5, 5), 0.9)]], ["person"], [(20, 20)])
    assert empty["map50"] is None and empty["map"] is None
    with pytest.raises(ValueError, match="out of range"):
        evaluate_detections([[(3, (1, 1, 5, 5))]], [[]], ["person"], [(20, 20)])


# --- the split -------------------------------------------------------------------------------


def test_split_is_fixed_per_snapshot():
    from prelabel.jobs import split_snapshot

    entries = [(i, 1 + i % 3) for i in range(1, 11)]
    train, val = split_snapshot(entries, seed=0)
    assert len(val) == 2 and len(train) == 8 and sorted(train + val) == [list(e) for e in entries]
    assert split_snapshot(list(reversed(entries)), seed=0) == (train, val)
    assert split_snapshot(entries[:5], seed=0)[1] and len(split_snapshot(entries[:5], seed=0)[1]) == 1
    assert split_snapshot(entries[:4], seed=0) == ([list(e) for e in entries[:4]], [])
    assert any(split_snapshot(entries, seed=s)[1] != val for s in range(1, 6))


# --- the built-in HOG people detector --------------------------------------------------------


def _frame(path, index: int = 0) -> np.ndarray:
    import cv2

    capture = cv2.VideoCapture(str(path))
    for _ in range(index + 1):
        ok, frame = capture.read()
        assert ok
    capture.release()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def test_hog_finds_pedestrians_and_no_cat():
    import cv2

    detector = HogPeopleDetector()
    (people,) = detector.predict([_frame(corpus_file("media-from-packages/videos/vtest.avi"), 60)], score_threshold=0.5)
    assert len(people) >= 1 and all(d.label_index == 0 and 0.5 <= d.score < 1 for d in people)
    cat = cv2.cvtColor(cv2.imread(str(corpus_file("media-from-packages/images/chelsea.png"))), cv2.COLOR_BGR2RGB)
    assert detector.predict([cat], score_threshold=0.5) == [[]]
    # Small images are upscaled x2 and boxes come back in the image's own pixels.
    small = cv2.resize(_frame(corpus_file("media-from-packages/videos/vtest.avi"), 60), (288, 216))
    for det in detector.predict([small], score_threshold=0.0)[0]:
        x, y, w, h = det.bbox
        assert x >= 0 and y >= 0 and x + w <= 288 and y + h <= 216
    assert detector.predict([np.zeros((40, 20, 3), np.uint8)]) == [[]]
    assert round(hog_score(0.7), 2) == 0.5 and hog_score(-1.0) == 0.0


def test_builtin_version_loads_without_torch():
    code = (
        "import sys; import numpy as np; from prelabel.jobs import load_version; from annotate.models import ModelVersion; "
        "d = load_version(ModelVersion(id=-1, file_format='builtin', architecture='opencv_hog_people', label_names=['person'])); "
        "assert d.predict([np.zeros((300, 200, 3), np.uint8)]) == [[]]; "
        "print(sorted(m for m in ('torch', 'torchvision', 'prelabel.detection') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


# --- latest, gate, pin ---------------------------------------------------------------------


def _versions(world):
    hog = models.add_builtin_version(world.project, "opencv_hog_people")
    good = models.add_version(world.project, architecture="torchscript", file_format="torchscript", label_names=["person", "cat"],
                              data=torchscript_bytes(), origin="registered", user_id=None)  # fmt: skip
    bad = models.add_version(world.project, architecture="torchscript", file_format="torchscript", label_names=["person", "cat"],
                             data=b"x", origin="trained", user_id=None, passed_gate=False, metrics={"map50": 0.1})  # fmt: skip
    return hog, good, bad


@allow_jit[0]
@allow_jit[1]
def test_latest_is_pinned_else_newest_that_passed_the_gate(world, login):
    hog, good, bad = _versions(world)
    assert (hog.version, hog.weights_key, hog.origin, hog.passed_gate) == (1, "", "pretrained", True)
    assert models.latest_version(world.project).id == good.id  # v3 is below the gate
    manager = login("manager")
    url = f"/api/v1/projects/{world.project.id}/models"
    listed = manager.api("GET", url).get_json()
    assert [(v["version"], v["passed_gate"]) for v in listed] == [(3, False), (2, True), (1, True)]
    pinned = manager.api("POST", f"{url}/{hog.id}/pin")
    assert pinned.status_code == 200 and pinned.get_json() == {"metric_gate": 0.0, "pinned_version_id": hog.id, "latest_version_id": hog.id}
    assert manager.api("POST", f"{url}/{bad.id}/pin").get_json()["latest_version_id"] == bad.id  # a manager may pin any
    assert manager.api("DELETE", f"{url}/pin").get_json() == {"metric_gate": 0.0, "pinned_version_id": None, "latest_version_id": good.id}
    assert manager.api("POST", f"{url}/gate", json={"metric_gate": 0.3}).get_json()["metric_gate"] == 0.3
    assert manager.api("POST", f"{url}/gate", json={"metric_gate": 1.5}).status_code == 422
    assert manager.api("GET", f"{url}/state").get_json()["latest_version_id"] == good.id
    other = login("outsider")
    assert manager.api("POST", f"{url}/999999/pin").status_code == 404
    assert login("labeler1").api("POST", f"{url}/{hog.id}/pin").status_code == 403
    assert login("reviewer").api("POST", f"{url}/gate", json={"metric_gate": 0.1}).status_code == 403
    assert other.api("DELETE", f"{url}/pin").status_code == 404
    # The page shows the gate and offers a roll-back; its buttons work.
    page = manager.client.get(f"/projects/{world.project.id}/manage").get_data(as_text=True)
    assert "below gate" in page and "Pin (roll back)" in page
    assert manager.form(f"/projects/{world.project.id}/models/{hog.id}/pin").status_code == 302
    assert models.latest_version(world.project).id == hog.id
    assert manager.form(f"/projects/{world.project.id}/models/unpin").status_code == 302
    assert manager.form(f"/projects/{world.project.id}/models/gate", {"metric_gate": "0.5"}).status_code == 302
    db.session.refresh(world.project)
    assert world.project.pinned_model_version_id is None and world.project.metric_gate == 0.5


# --- training: held-out metrics, gate, cancel, resume -----------------------------------------


def _accepted_rectangles(world, n_accepted: int, n_total: int):
    data = _rectangles(n_total)
    media.ingest(world.project, [(name, content) for name, content, _ in data])
    items = {i.name: i for i in db.session.scalars(select(Item))}
    for name, _, (label, x, y, w, h) in data[:n_accepted]:
        accept_with(world, items[name], document([box(label, x, y, w, h)]))


def test_training_holds_out_items_and_a_version_below_the_gate_does_not_prelabel(app, redis_connection, world, login):
    _accepted_rectangles(world, 5, 7)
    hog = models.add_builtin_version(world.project, "opencv_hog_people")
    models.set_metric_gate(world.project, 0.99)
    manager = login("manager")
    job = manager.api("POST", f"/api/v1/projects/{world.project.id}/train", json={"epochs": 1, "prelabel_after": True}).get_json()
    run_jobs(app, redis_connection)
    done = manager.api("GET", f"/api/v1/jobs/{job['id']}").get_json()
    assert done["status"] == "finished", done
    assert done["result"]["passed_gate"] is False and done["result"]["became_latest"] is False
    assert "prelabel_job_id" not in done["result"] and "below the metric gate 0.99" in done["message"]
    version = db.session.scalar(select(ModelVersion).where(ModelVersion.origin == "trained"))
    assert len(version.snapshot["train"]) == 4 and len(version.snapshot["val"]) == 1 and version.snapshot["seed"] == 0
    assert all(revision >= 1 for _, revision in version.snapshot["train"] + version.snapshot["val"])
    metrics = version.metrics
    assert metrics["val_items"] == 1 and 0.0 <= metrics["map50"] < 0.99 and metrics["map"] is not None and len(metrics["train_loss"]) == 1
    assert version.passed_gate is False and version.input_size == app.config["TRAIN_MIN_SIZE"]
    assert models.latest_version(world.project).id == hog.id
    assert db.session.scalar(select(func.count()).select_from(PrelabelRecord)) == 0


def test_cancel_ends_the_job_as_failed_without_retry(app, redis_connection, world, login):
    _accepted_rectangles(world, 1, 1)
    manager = login("manager")
    job = manager.api("POST", f"/api/v1/projects/{world.project.id}/train", json={"epochs": 1}).get_json()
    assert login("labeler1").api("POST", f"/api/v1/projects/{world.project.id}/train/{job['id']}/cancel").status_code == 403
    assert login("outsider").api("POST", f"/api/v1/projects/{world.project.id}/train/{job['id']}/cancel").status_code == 404
    cancelled = manager.api("POST", f"/api/v1/projects/{world.project.id}/train/{job['id']}/cancel")
    assert cancelled.status_code == 202 and cancelled.get_json()["params"]["cancel"] is True
    run_jobs(app, redis_connection)
    done = manager.api("GET", f"/api/v1/jobs/{job['id']}").get_json()
    assert (done["status"], done["message"], done["error"]) == ("failed", "cancelled", "cancelled")
    assert db.session.scalar(select(func.count()).select_from(ModelVersion)) == 0
    assert manager.api("POST", f"/api/v1/projects/{world.project.id}/train/{job['id']}/cancel").status_code == 409
    assert manager.api("POST", f"/api/v1/projects/{world.project.id}/train/not-a-job/cancel").status_code == 404


def test_a_retried_job_resumes_from_the_last_checkpoint(app, world, monkeypatch):
    import prelabel.detection
    from annotate.storage import get_storage
    from prelabel.jobs import checkpoint_key, run_training

    _accepted_rectangles(world, 2, 2)
    # A job row only (not queued), as RQ's retry would run it again by id.
    params = {"architecture": models.DETECTORS[0], "epochs": 2, "prelabel_after": False}
    job = Job(id=str(uuid.uuid4()), org_id=world.org.id, project_id=world.project.id, kind="train", queue="train", params=params)
    db.session.add(job)
    db.session.commit()
    real = prelabel.detection.train_detector
    resumed_from = []

    def crash_after_first_checkpoint(*args, **kwargs):
        resumed_from.append(kwargs["resume_state"]["epoch"] if kwargs["resume_state"] else 0)
        save = kwargs["on_epoch_end"]

        def save_then_die(done, state):
            save(done, state)
            raise MemoryError("worker killed")  # what a crash looks like to the job: after epoch 1's checkpoint

        if len(resumed_from) == 1:
            kwargs["on_epoch_end"] = save_then_die
        return real(*args, **kwargs)

    monkeypatch.setattr(prelabel.detection, "train_detector", crash_after_first_checkpoint)
    with pytest.raises(MemoryError):
        run_training(job.id)
    key = checkpoint_key(world.project.id, job.id)
    assert db.session.get(Job, job.id).status == "failed" and get_storage().exists(key)
    # The retry (RQ runs the same function again) goes on after epoch 1 with the saved optimizer state.
    run_training(job.id)
    done = db.session.get(Job, job.id)
    assert done.status == "finished", done.error
    assert resumed_from == [0, 1]
    version = db.session.get(ModelVersion, done.result["model_version_id"])
    assert version.metrics["resumed_from_epoch"] == 1 and len(version.metrics["train_loss"]) == 2
    assert version.metrics["map50"] is None and "at least 5" in version.metrics["metrics_note"]
    assert not get_storage().exists(key)


# --- the CLI and the demo --------------------------------------------------------------------


@allow_jit[0]
@allow_jit[1]
def test_cli_registers_a_model_file(app, world, tmp_path):
    model_file, labels = tmp_path / "model.pt", tmp_path / "labels.json"
    model_file.write_bytes(torchscript_bytes())
    labels.write_text(json.dumps(["person", "cat"]))
    runner = app.test_cli_runner()
    args = ["model", "register", "--project", str(world.project.id), "--file", str(model_file), "--labels", str(labels)]
    result = runner.invoke(args=[*args, "--format", "torchscript"])
    assert result.exit_code == 0, result.output
    assert "Registered model v1" in result.output and "person, cat" in result.output
    labels.write_text(json.dumps(["person", "dog"]))
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0 and "dog" in refused.output
    labels.write_text('{"person": 0}')
    assert "JSON list" in runner.invoke(args=args).output
    assert "not found" in runner.invoke(args=[*args[:2], "--project", "999999", *args[4:]]).output


def test_demo_registers_hog_as_version_1_and_it_prelabels(app, redis_connection):
    from annotate.demo import setup_demo
    from annotate.models import Project

    folder = corpus_file("media-from-packages/images")
    result = setup_demo(folder)
    project = db.session.get(Project, result.project_id)
    latest = models.latest_version(project)
    assert (latest.version, latest.architecture, latest.file_format, latest.label_names) == (1, "opencv_hog_people", "builtin", ["person"])
    job = models.start_prelabel(project, None)
    run_jobs(app, redis_connection)
    done = db.session.get(Job, job.id)
    assert done.status == "finished", done.error
    assert done.result["items"] == 6 and done.result["model_version"] == 1


def test_builtin_format_refuses_a_file(world):
    from annotate.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        models.add_version(world.project, architecture="opencv_hog_people", file_format="builtin", label_names=["person"],
                           data=b"x", origin="registered", user_id=None)  # fmt: skip
    assert "format" in refused.value.errors
    with pytest.raises(ValidationFailed):
        models.add_builtin_version(world.project, "yolo")


def test_mtcnn_registers_like_hog_and_prelabels_faces(app, redis_connection):
    pytest.importorskip("facenet_pytorch")
    from annotate.demo import setup_demo
    from annotate.models import AnnotationRevision, Project

    project = db.session.get(Project, setup_demo(corpus_file("media-from-packages/images")).project_id)
    version = models.add_builtin_version(project, "mtcnn_faces")
    assert (version.version, version.file_format, version.label_names, version.weights_key) == (2, "builtin", ["face"], "")
    assert models.latest_version(project).id == version.id
    job = models.start_prelabel(project, None)
    run_jobs(app, redis_connection)
    done = db.session.get(Job, job.id)
    assert done.status == "finished", done.error
    faces = {
        item.name: [s["bbox"] for s in revision.document["shapes"] if s["label"] == "face"]
        for item, revision in db.session.execute(
            select(Item, AnnotationRevision).join(AnnotationRevision, AnnotationRevision.item_id == Item.id)
        )
    }
    # Faces in the two portraits (the astronaut's by hand at [180, 65, 88, 105]), none on the cat.
    assert len(faces["astronaut.png"]) == 1 and len(faces["grace_hopper.jpg"]) == 1 and "chelsea.png" not in faces
    x, y, w, h = faces["astronaut.png"][0]
    assert abs(x - 180) < 10 and abs(y - 65) < 10 and abs(w - 88) < 12 and abs(h - 105) < 12


def test_builtin_detectors_register_from_the_cli_and_the_api(app, world, login):
    runner = app.test_cli_runner()
    base = ["model", "register", "--project", str(world.project.id)]
    hog = runner.invoke(args=[*base, "--builtin", "opencv_hog_people"])
    assert hog.exit_code == 0 and "Registered built-in opencv_hog_people as model v1 (labels person)" in hog.output
    # The project has no "face" label yet: refused, naming the label.
    faces = runner.invoke(args=[*base, "--builtin", "mtcnn_faces"])
    assert faces.exit_code != 0 and "face" in faces.output
    assert runner.invoke(args=[*base, "--builtin", "mtcnn_faces", "--labels", "x.json"]).exit_code != 0
    assert "give --file and --labels" in runner.invoke(args=base).output
    from annotate.services import projects

    projects.add_label(world.project, {"name": "face"})
    url = f"/api/v1/projects/{world.project.id}/models"
    assert login("labeler1").api("POST", url, data={"format": "builtin", "architecture": "mtcnn_faces"}).status_code == 403
    made = login("manager").api("POST", url, data={"format": "builtin", "architecture": "mtcnn_faces"})
    assert made.status_code == 201 and made.get_json()["version"] == 2 and made.get_json()["label_names"] == ["face"]
    unknown = login("manager").api("POST", url, data={"format": "builtin", "architecture": "yolo_faces"})
    assert unknown.status_code == 422 and "mtcnn_faces" in unknown.get_json()["errors"]["architecture"]
