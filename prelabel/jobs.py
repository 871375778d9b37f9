"""RQ jobs: train a detector on a project's accepted boxes; pre-label untouched items.

Training holds out a validation split, scores it with COCOeval, gates the new version on the
project's metric gate, checkpoints every epoch and resumes after a crash (see
:func:`run_training`).

Both run inside the app context that ``annotate worker`` (or the in-process runner) provides
and receive only the id of their job row. Pre-labeling is idempotent per (item, model
version): a :class:`~annotate.models.PrelabelRecord` is written in the same transaction as the
item's new revision, so a rerun or a retry after a killed worker skips what is done and never
leaves half an item.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import uuid
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import exists, select

from annotate.errors import Conflict
from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, Job, JobStatus, LabelKind, ModelVersion, PrelabelRecord, Project, Task
from annotate.services import annotations, media, models, work_saved
from annotate.services.jobs import job_logger, running, set_progress
from annotate.storage import get_storage
from workflows import TaskState

BATCH_SIZE = 4
UNCERTAINTY_FLOOR = 0.05  # detections scoring below this say nothing about uncertainty
# Loaded detectors, once per worker process. The key includes the weights file, not only the
# id: a database restored from a backup (or emptied by tests) can reuse an id for another model.
_LOADED: dict[tuple[int, str, str], object] = {}


def _rgb(item: Item) -> np.ndarray:
    data, _ = media.display_image(item)
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


VAL_FRACTION = 0.2
MIN_ITEMS_FOR_METRICS = 5
EVAL_SCORE_THRESHOLD = 0.01  # keep low-scoring boxes too: AP integrates over the whole ranking


def split_snapshot(entries: list[tuple[int, int]], seed: int) -> tuple[list[list[int]], list[list[int]]]:
    """Split accepted items into train and validation, the same way for the same snapshot.

    Each ``(item id, revision number)`` gets a rank from a SHA-256 of ``seed:item:revision``;
    the lowest-ranked ``round(20 %)`` (at least 1) go to validation. So the split depends only
    on the seed and the sorted snapshot, not on query order, and an item whose accepted
    revision is unchanged tends to stay on its side as the project grows.

    Args:
        entries: ``(item id, revision number)`` of every accepted item.
        seed: Any integer; the job's ``params["seed"]`` (default 0).

    Returns:
        ``(train, val)`` as sorted ``[[item id, revision], ...]`` lists; ``val`` is empty
        when there are fewer than ``MIN_ITEMS_FOR_METRICS`` items (train on all of them).
    """
    ordered = sorted((int(i), int(r)) for i, r in entries)
    if len(ordered) < MIN_ITEMS_FOR_METRICS:
        return [list(e) for e in ordered], []
    n_val = max(1, round(VAL_FRACTION * len(ordered)))
    ranked = sorted(ordered, key=lambda e: hashlib.sha256(f"{seed}:{e[0]}:{e[1]}".encode()).hexdigest())
    val = set(ranked[:n_val])
    return [list(e) for e in ordered if e not in val], [list(e) for e in ordered if e in val]


def checkpoint_key(project_id: int, job_id: str) -> str:
    """Storage key of a training job's checkpoint: ``projects/<pid>/checkpoints/<job id>.pt``."""
    return f"projects/{project_id}/checkpoints/{job_id}.pt"


def run_training(job_id: str) -> None:
    """Train a detector on the accepted boxes of the job's project and register a version.

    Accepted items are split into train and validation (:func:`split_snapshot`); the model
    trains on the train items, is scored on the validation items with COCOeval, and the
    version records the snapshot, the metrics and whether it passed the project's metric
    gate. With ``params["prelabel_after"]`` it pre-labels untouched items only if the new
    version became the latest.

    Resuming: after every epoch the weights, the optimizer and schedule state, the epoch
    count and the losses go to :func:`checkpoint_key`. If the job runs again (RQ's retry
    after a killed worker) with the same snapshot, architecture and labels, training goes on
    from that checkpoint and runs only the remaining epochs, as an unbroken run would.

    Cancelling (``params["cancel"]``, checked before every batch) ends the job as failed
    with the message "cancelled"; the job function then returns normally so RQ doesn't
    retry it.
    """
    from prelabel.detection import TrainingCancelled

    try:
        _train(job_id)
    except TrainingCancelled:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.status, job.message, job.error = JobStatus.FAILED, "cancelled", "cancelled"
        db.session.commit()
        get_storage().delete(checkpoint_key(job.project_id, job_id))
        job_logger(job_id).info("cancelled")


def _train(job_id: str) -> None:
    from flask import current_app

    from prelabel.detection import TrainingCancelled, TrainSample, load_detector, save_model_file, train_detector
    from prelabel.evaluation import evaluate_detections

    log = job_logger(job_id)
    storage = get_storage()
    with running(job_id) as job:
        if job.params.get("cancel"):
            raise TrainingCancelled("cancelled before it started")
        project = db.session.get(Project, job.project_id)
        label_names = [label.name for label in project.labels if label.kind == LabelKind.SHAPE]
        index = {name: i for i, name in enumerate(label_names)}
        seed = int(job.params.get("seed") or 0)
        accepted = list(
            db.session.scalars(
                select(Item)
                .join(Task, Task.item_id == Item.id)
                .where(Item.project_id == project.id, Task.state == TaskState.ACCEPTED)
                .order_by(Item.id)
            )
        )
        documents, boxes = {}, 0
        for item in accepted:
            document, number = annotations.latest_document(item.id)
            shapes = [s for s in document["shapes"] if s["type"] == "bbox" and s["label"] in index]
            documents[item.id] = (number, shapes)
            boxes += len(shapes)
        if boxes == 0:
            raise ValueError("there are no accepted boxes to train on yet: review and accept some labeled items first")
        train_part, val_part = split_snapshot([(i, number) for i, (number, _) in documents.items()], seed)
        snapshot = {"train": train_part, "val": val_part, "seed": seed}
        by_id = {item.id: item for item in accepted}

        def sample(item_id: int) -> TrainSample:
            shapes = documents[item_id][1]
            return TrainSample(_rgb(by_id[item_id]), [tuple(s["bbox"]) for s in shapes], [index[s["label"]] for s in shapes])

        samples = [sample(i) for i, _ in train_part]
        epochs = int(job.params.get("epochs") or current_app.config["TRAIN_EPOCHS"])
        architecture = job.params["architecture"]
        key = checkpoint_key(project.id, job.id)
        resume = _resume_state(storage.path(key), snapshot, architecture, label_names, log) if storage.exists(key) else None
        start_epoch = min(int(resume["epoch"]), epochs) if resume else 0
        set_progress(
            job, 0.05 + 0.8 * start_epoch / epochs,
            f"training on {len(samples)} items ({len(val_part)} held out) with {boxes} boxes"
            + (f", resuming after epoch {start_epoch}" if start_epoch else ""),
        )  # fmt: skip

        def should_stop() -> bool:
            db.session.refresh(job)
            return job.params.get("cancel", False)

        def on_epoch_end(done: int, state: dict) -> None:
            _save_checkpoint(key, state, snapshot, architecture, label_names)
            set_progress(job, 0.05 + 0.8 * done / epochs, f"epoch {done}/{epochs}: loss {state['losses'][-1]:.4f}")

        result = train_detector(
            samples, label_names, architecture=architecture, epochs=epochs, seed=seed, should_stop=should_stop,
            min_size=current_app.config["TRAIN_MIN_SIZE"], max_size=current_app.config["TRAIN_MAX_SIZE"],
            resume_state=resume, on_epoch_end=on_epoch_end,
        )  # fmt: skip
        losses = result.losses
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pt"
            save_model_file(path, result)
            device = result.device
            metrics = {
                "train_loss": losses, "items": len(documents), "train_items": len(train_part), "val_items": len(val_part),
                "boxes": boxes, "epochs": epochs, "device": device, "resumed_from_epoch": start_epoch,
                "map": None, "map50": None,
            }  # fmt: skip
            if val_part:
                set_progress(job, 0.88, f"evaluating on {len(val_part)} held-out items")
                detector = load_detector(path)
                val_items = [by_id[i] for i, _ in val_part]
                predictions = detector.predict([_rgb(item) for item in val_items], score_threshold=EVAL_SCORE_THRESHOLD)
                truth = [[(index[s["label"]], tuple(s["bbox"])) for s in documents[item.id][1]] for item in val_items]
                sizes = [(item.width, item.height) for item in val_items]
                metrics.update(evaluate_detections(truth, predictions, label_names, sizes))
                metrics["val_items"] = len(val_part)
            else:
                metrics["metrics_note"] = (
                    f"held-out metrics need at least {MIN_ITEMS_FOR_METRICS} accepted items; trained on all {len(documents)}"
                )
            passed = models.passes_gate(project, metrics["map50"])
            version = models.add_version(
                project, architecture=architecture, file_format="annotate", label_names=label_names,
                data=path.read_bytes(), origin="trained", user_id=job.created_by_id, metrics=metrics, snapshot=snapshot,
                passed_gate=passed, input_size=current_app.config["TRAIN_MIN_SIZE"],
            )  # fmt: skip
        storage.delete(key)
        latest = models.latest_version(project)
        became_latest = latest is not None and latest.id == version.id
        job.result = {
            "model_version_id": version.id, "version": version.version, "losses": losses, "map": metrics["map"],
            "map50": metrics["map50"], "passed_gate": passed, "became_latest": became_latest,
        }  # fmt: skip
        job.message = _training_message(version, metrics, project, passed, became_latest)
        log.info("registered model version %d (map50 %s, passed gate: %s)", version.version, metrics["map50"], passed)
        if job.params.get("prelabel_after") and became_latest:
            follow = models.start_prelabel(project, None, version)
            job.result = {**job.result, "prelabel_job_id": follow.id}


def _training_message(version: ModelVersion, metrics: dict, project: Project, passed: bool, became_latest: bool) -> str:
    text = f"model v{version.version}: "
    if metrics["map50"] is None:
        text += "no held-out metrics (" + metrics.get("metrics_note", "nothing to measure") + ")"
    else:
        text += f"mAP@.5 {metrics['map50']:.3f}, mAP@[.5:.95] {metrics['map'] or 0:.3f} on {metrics['val_items']} held-out items"
    if not passed:
        text += f"; below the metric gate {project.metric_gate:g}, so it is not the latest"
    elif not became_latest:
        text += "; a pinned version stays the latest"
    return text


def _save_checkpoint(key: str, state: dict, snapshot: dict, architecture: str, label_names: list[str]) -> None:
    """Store the training state after an epoch (``torch.save``, readable with weights_only)."""
    import torch

    buffer = io.BytesIO()
    torch.save({**state, "snapshot": snapshot, "architecture": architecture, "label_names": list(label_names)}, buffer)
    get_storage().put_bytes(key, buffer.getvalue())


def _resume_state(path, snapshot: dict, architecture: str, label_names: list[str], log) -> dict | None:
    """Return a checkpoint's training state, or None when it is unreadable or from another run."""
    from prelabel.registry import read_torch_file

    try:
        payload = read_torch_file(path)
    except Exception as exc:  # a half-written or foreign file: start over rather than fail
        log.warning("ignoring unreadable checkpoint %s: %s", path, exc)
        return None
    same = payload.get("snapshot") == snapshot and payload.get("architecture") == architecture and payload.get("label_names") == label_names
    if not same or not {"model", "optimizer", "scheduler", "epoch", "losses"} <= set(payload):
        log.warning("the accepted items or labels changed since the checkpoint; training from scratch")
        return None
    log.info("resuming from the checkpoint after epoch %d", payload["epoch"])
    return payload


def load_version(version: ModelVersion):
    """Return the loaded detector for ``version``, loading it once per worker process.

    Built-in detectors (``file_format="builtin"``, e.g. OpenCV's HOG people detector) load
    without torch; the others through ``prelabel.detection.load_detector``.
    """
    key = (version.id, version.weights_key, version.architecture)
    if key not in _LOADED:
        if version.file_format == "builtin":
            from prelabel.pretrained import load_builtin

            _LOADED[key] = load_builtin(version.architecture)
        else:
            from prelabel.detection import load_detector

            path = get_storage().path(version.weights_key)
            _LOADED[key] = load_detector(path, architecture=version.architecture, label_names=version.label_names)
    return _LOADED[key]


def untouched_items(project: Project, version: ModelVersion) -> list[Item]:
    """Items of ``project`` that no person has saved, not yet pre-labeled by ``version``,
    whose task nobody has submitted."""
    human = exists().where(AnnotationRevision.item_id == Item.id, AnnotationRevision.source == "human")
    done = exists().where(PrelabelRecord.item_id == Item.id, PrelabelRecord.model_version_id == version.id)
    return list(
        db.session.scalars(
            select(Item)
            .join(Task, Task.item_id == Item.id)
            .where(Item.project_id == project.id, ~human, ~done, Task.state.in_([TaskState.NEW, TaskState.IN_PROGRESS]))
            .order_by(Item.id)
        )
    )


def run_prelabel(job_id: str) -> None:
    """Pre-label the project's untouched items with the job's model version."""
    log = job_logger(job_id)
    with running(job_id) as job:
        project = db.session.get(Project, job.project_id)
        version = db.session.get(ModelVersion, job.params["model_version_id"])
        detector = load_version(version)
        todo = untouched_items(project, version)
        set_progress(job, 0.0, f"{len(todo)} items to pre-label with model v{version.version}")
        written = shapes = skipped = empty = 0
        for start in range(0, len(todo), BATCH_SIZE):
            batch = todo[start : start + BATCH_SIZE]
            # Predict below the threshold too: the weak detections measure the model's uncertainty.
            results = detector.predict([_rgb(item) for item in batch], score_threshold=min(project.prelabel_threshold, UNCERTAINTY_FLOOR))
            for item, detections in zip(batch, results, strict=True):
                count = _write_prelabels(item, project, version, detections)
                if count is None:
                    skipped += 1
                    continue
                written += 1
                shapes += count
                empty += count == 0
            set_progress(job, (start + len(batch)) / max(1, len(todo)), f"{start + len(batch)} of {len(todo)} items")
        job.result = {"items": written, "shapes": shapes, "skipped": skipped, "empty": empty, "model_version": version.version}
        job.message = f"model v{version.version}: {shapes} boxes on {written - empty} of {written} items"
        if empty:
            job.message += f"; {empty} items had no box scoring {project.prelabel_threshold:g} or more"
        if skipped:
            job.message += f"; {skipped} items skipped because a person saved them first"
        log.info("pre-labeled %d items with %d shapes (%d empty, %d skipped)", written, shapes, empty, skipped)


def _write_prelabels(item: Item, project: Project, version: ModelVersion, detections) -> int | None:
    """Write one item's pre-labels and its record in one transaction.

    Returns:
        The number of shapes written (0 when the model found nothing above the threshold:
        then only the record is written, no empty revision), or None when a person saved
        the item first.
    """
    document, base = annotations.latest_document(item.id)
    if annotations.has_human_revision(item.id):
        return None
    shapes = []
    method = project.queue_order if project.queue_order in work_saved.UNCERTAINTY_METHODS else "least_confidence"
    item.uncertainty = work_saved.uncertainty([min(1.0, max(0.0, float(d.score))) for d in detections], method)
    detections = [d for d in detections if d.score >= project.prelabel_threshold]
    for n, det in enumerate(detections):
        x, y, w, h = (round(float(v), 2) for v in det.bbox)
        if w <= 0 or h <= 0:
            continue
        shapes.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"annotate:item/{item.id}/model/{version.id}/{n}")),
            "type": "bbox", "label": version.label_names[det.label_index], "bbox": [x, y, w, h],
            "source": {"type": "model", "model_version": version.version, "score": round(float(det.score), 4)},
        })  # fmt: skip
    revision_id = None
    if shapes or base:
        # A newer version replaces only machine-made shapes; there are no human ones here.
        document = {"version": 1, "tags": document["tags"], "shapes": shapes}
        try:
            revision = annotations.save_revision(item, project, document, base, model_version_id=version.id, commit=False)
        except Conflict:
            db.session.rollback()
            return None
        revision_id = revision.id
    db.session.add(PrelabelRecord(item_id=item.id, model_version_id=version.id, revision_id=revision_id, shape_count=len(shapes)))
    db.session.commit()
    return len(shapes)


def job_row(job_id: str) -> Job | None:
    """Return a job's row (for tests and the CLI)."""
    return db.session.get(Job, job_id)
