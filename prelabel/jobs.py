"""RQ jobs: train a detector on a project's accepted boxes; pre-label untouched items.

Both run inside the app context that ``annotate worker`` (or the in-process runner) provides
and receive only the id of their job row. Pre-labeling is idempotent per (item, model
version): a :class:`~annotate.models.PrelabelRecord` is written in the same transaction as the
item's new revision, so a rerun or a retry after a killed worker skips what is done and never
leaves half an item.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import exists, select

from annotate.errors import Conflict
from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, Job, LabelKind, ModelVersion, PrelabelRecord, Project, Task
from annotate.services import annotations, media, models
from annotate.services.jobs import job_logger, running, set_progress
from annotate.storage import get_storage
from workflows import TaskState

BATCH_SIZE = 4
_LOADED: dict[int, object] = {}  # model version id -> LoadedDetector, once per worker process


def _rgb(item: Item) -> np.ndarray:
    data, _ = media.display_image(item)
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def run_training(job_id: str) -> None:
    """Train a detector on the accepted boxes of the job's project and register a version."""
    from prelabel.detection import TrainingCancelled, TrainSample, save_model_file, train_detector

    log = job_logger(job_id)
    with running(job_id) as job:
        project = db.session.get(Project, job.project_id)
        label_names = [label.name for label in project.labels if label.kind == LabelKind.SHAPE]
        index = {name: i for i, name in enumerate(label_names)}
        samples, boxes = [], 0
        accepted = db.session.scalars(
            select(Item)
            .join(Task, Task.item_id == Item.id)
            .where(Item.project_id == project.id, Task.state == TaskState.ACCEPTED)
            .order_by(Item.id)
        )
        for item in accepted:
            document, _ = annotations.latest_document(item.id)
            shapes = [s for s in document["shapes"] if s["type"] == "bbox" and s["label"] in index]
            samples.append(TrainSample(_rgb(item), [tuple(s["bbox"]) for s in shapes], [index[s["label"]] for s in shapes]))
            boxes += len(shapes)
        if boxes == 0:
            raise ValueError("there are no accepted boxes to train on yet: review and accept some labeled items first")
        set_progress(job, 0.05, f"training on {len(samples)} items with {boxes} boxes")

        def progress(fraction: float, message: str) -> None:
            set_progress(job, 0.05 + 0.85 * fraction, message)

        def should_stop() -> bool:
            db.session.refresh(job)
            return job.params.get("cancel", False)

        from flask import current_app

        epochs = job.params.get("epochs") or current_app.config["TRAIN_EPOCHS"]
        try:
            result = train_detector(
                samples, label_names, architecture=job.params["architecture"], epochs=int(epochs),
                progress=progress, should_stop=should_stop, min_size=current_app.config["TRAIN_MIN_SIZE"],
                max_size=current_app.config["TRAIN_MAX_SIZE"],
            )  # fmt: skip
        except TrainingCancelled:
            raise RuntimeError("training was cancelled") from None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pt"
            save_model_file(path, result)
            metrics = {"train_loss": result.losses, "items": len(samples), "boxes": boxes, "epochs": int(epochs), "device": result.device}
            version = models.add_version(
                project, architecture=result.architecture, file_format="annotate", label_names=label_names,
                data=path.read_bytes(), origin="trained", user_id=job.created_by_id, metrics=metrics,
            )  # fmt: skip
        job.result = {"model_version_id": version.id, "version": version.version, "losses": result.losses}
        log.info("registered model version %d", version.version)
        if job.params.get("prelabel_after"):
            follow = models.start_prelabel(project, None, version)
            job.result = {**job.result, "prelabel_job_id": follow.id}


def load_version(version: ModelVersion):
    """Return the loaded detector for ``version``, loading it once per worker process."""
    from prelabel.detection import load_detector

    if version.id not in _LOADED:
        path = get_storage().path(version.weights_key)
        _LOADED[version.id] = load_detector(
            path,
            architecture=version.architecture,
            label_names=version.label_names,
        )
    return _LOADED[version.id]


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
            results = detector.predict([_rgb(item) for item in batch], score_threshold=project.prelabel_threshold)
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
