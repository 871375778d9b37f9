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
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import exists, func, select

import schemas
from annotate.errors import Conflict
from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, Job, JobStatus, LabelKind, ModelVersion, PrelabelRecord, Project, Task
from annotate.services import annotations, media, models, work_saved
from annotate.services.jobs import job_logger, running, set_progress
from annotate.storage import get_storage
from workflows import TaskState

BATCH_SIZE = 8  # images per forward pass and per committed transaction
UNCERTAINTY_FLOOR = 0.05  # detections scoring below this say nothing about uncertainty
# Loaded detectors, once per worker process. The key includes the weights file, not only the
# id: a database restored from a backup (or emptied by tests) can reuse an id for another model.
_LOADED: dict[tuple[int, str, str], object] = {}


def _rgb(item: Item) -> np.ndarray:
    """The item's display image as an ``(H, W, 3)`` uint8 RGB array."""
    return _decode(media.display_image(item)[0])


VAL_FRACTION = 0.2
MIN_ITEMS_FOR_METRICS = 5
EVAL_SCORE_THRESHOLD = 0.01  # keep low-scoring boxes too: AP integrates over the whole ranking


def split_snapshot(
    entries: list[tuple[int, int]], seed: int, *, measurable: set[int] | None = None
) -> tuple[list[list[int]], list[list[int]]]:
    """Split accepted items into train and validation, the same way for the same snapshot.

    Each ``(item id, revision number)`` gets a rank from a SHA-256 of ``seed:item:revision``;
    the lowest-ranked ``round(20 %)`` (at least 1) go to validation. So the split depends only
    on the seed and the sorted snapshot, not on query order, and an item whose accepted
    revision is unchanged tends to stay on its side as the project grows.

    Args:
        entries: ``(item id, revision number)`` of every accepted item.
        seed: Any integer; the job's ``params["seed"]`` (default 0).
        measurable: ids of the items validation can measure (those with boxes); when given,
            validation items are drawn from them only, so mAP never rests on empty images.

    Returns:
        ``(train, val)`` as sorted ``[[item id, revision], ...]`` lists; ``val`` is empty
        when there are fewer than ``MIN_ITEMS_FOR_METRICS`` items (train on all of them).
    """
    ordered = sorted((int(i), int(r)) for i, r in entries)
    if len(ordered) < MIN_ITEMS_FOR_METRICS:
        return [list(e) for e in ordered], []
    n_val = max(1, round(VAL_FRACTION * len(ordered)))
    candidates = [e for e in ordered if measurable is None or e[0] in measurable]
    ranked = sorted(candidates, key=lambda e: hashlib.sha256(f"{seed}:{e[0]}:{e[1]}".encode()).hexdigest())
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

    With ``params["task"] == "classification"`` it trains an image classifier instead
    (:func:`_train_classifier`).

    Cancelling (``params["cancel"]``, checked before every batch) ends the job as failed
    with the message "cancelled"; the job function then returns normally so RQ doesn't
    retry it.
    """
    from prelabel.classification import TrainingCancelled as ClassifierCancelled
    from prelabel.detection import TrainingCancelled

    try:
        job = db.session.get(Job, job_id)
        if job is not None and job.params.get("task") == "classification":
            _train_classifier(job_id)
        else:
            _train(job_id)
    except (TrainingCancelled, ClassifierCancelled):
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
                .join(Task, (Task.item_id == Item.id) & (Task.replica == 0))
                .where(Item.project_id == project.id, Task.state == TaskState.ACCEPTED)
                .order_by(Item.id)
            )
        )
        documents, boxes = {}, 0
        latest = annotations.latest_documents([item.id for item in accepted])
        for item in accepted:
            document, number = latest.get(item.id, (schemas.empty_annotation(), 0))
            shapes = [s for s in document["shapes"] if s["type"] == "bbox" and s["label"] in index]
            documents[item.id] = (number, shapes)
            boxes += len(shapes)
        if boxes == 0:
            raise ValueError("there are no accepted boxes to train on yet: review and accept some labeled items first")
        with_boxes = {i for i, (_, shapes) in documents.items() if shapes}
        train_part, val_part = split_snapshot([(i, number) for i, (number, _) in documents.items()], seed, measurable=with_boxes)
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


def tagged_samples(project: Project) -> tuple[list[str], dict[int, tuple[int, int]], list[Item]]:
    """The accepted items of ``project`` that carry exactly one of its tag labels.

    Returns:
        ``(label names, {item id: (revision number, class index)}, items)``: the label names
        are the project's tag labels in project order; items with no tag or with several of
        them are left out (a single-label classifier cannot learn from them).
    """
    label_names = [label.name for label in project.labels if label.kind == LabelKind.TAG]
    index = {name: i for i, name in enumerate(label_names)}
    accepted = list(
        db.session.scalars(
            select(Item)
            .join(Task, (Task.item_id == Item.id) & (Task.replica == 0))
            .where(Item.project_id == project.id, Task.state == TaskState.ACCEPTED)
            .order_by(Item.id)
        )
    )
    labeled, items = {}, []
    latest = annotations.latest_documents([item.id for item in accepted])
    for item in accepted:
        document, number = latest.get(item.id, (schemas.empty_annotation(), 0))
        names = {t["label"] for t in document["tags"] if t["label"] in index}
        if len(names) == 1:
            labeled[item.id] = (number, index[names.pop()])
            items.append(item)
    return label_names, labeled, items


def _train_classifier(job_id: str) -> None:
    """Train an image classifier on accepted items' tags and register a ``classification`` version.

    The split is :func:`split_snapshot`'s; the held-out accuracy plays the part mAP@.5 plays
    for detectors in the project's metric gate. No checkpoint or resume: these models are small.
    """
    from flask import current_app

    from prelabel.classification import save_classifier, train_classifier

    log = job_logger(job_id)
    with running(job_id) as job:
        project = db.session.get(Project, job.project_id)
        label_names, labeled, items = tagged_samples(project)
        if len(label_names) < 2:
            raise ValueError("classification needs at least two tag labels in the project")
        if len({cls for _, cls in labeled.values()}) < 2 or len(labeled) < 2:
            raise ValueError("there are too few accepted tagged items to train on: accept items with one tag each, of at least two tags")
        seed = int(job.params.get("seed") or 0)
        train_part, val_part = split_snapshot([(i, number) for i, (number, _) in labeled.items()], seed)
        snapshot = {"train": train_part, "val": val_part, "seed": seed}
        by_id = {item.id: item for item in items}
        epochs = int(job.params.get("epochs") or current_app.config["TRAIN_EPOCHS"])
        architecture = job.params.get("architecture") or "resnet18"
        input_size = int(job.params.get("input_size") or current_app.config.get("CLASSIFIER_INPUT_SIZE", 224))
        set_progress(job, 0.05, f"training a {architecture} classifier on {len(train_part)} items ({len(val_part)} held out)")

        def should_stop() -> bool:
            db.session.refresh(job)
            return job.params.get("cancel", False)

        def on_epoch_end(done: int, loss: float) -> None:
            set_progress(job, 0.05 + 0.85 * done / epochs, f"epoch {done}/{epochs}: loss {loss:.4f}")

        result = train_classifier(
            [(_rgb(by_id[i]), labeled[i][1]) for i, _ in train_part], label_names, architecture, epochs, input_size=input_size,
            seed=seed, val_samples=[(_rgb(by_id[i]), labeled[i][1]) for i, _ in val_part], should_stop=should_stop,
            on_epoch_end=on_epoch_end,
        )  # fmt: skip
        accuracy = result.metrics["accuracy"] if result.metrics else None
        metrics = {
            "train_loss": result.losses, "items": len(labeled), "train_items": len(train_part), "val_items": len(val_part),
            "epochs": epochs, "device": result.device, "accuracy": accuracy,
            "macro_f1": result.metrics["macro_f1"] if result.metrics else None,
            "per_class": result.metrics["per_class"] if result.metrics else {},
            "confusion": result.metrics["confusion"] if result.metrics else [],
        }  # fmt: skip
        if not val_part:
            metrics["metrics_note"] = (
                f"held-out metrics need at least {MIN_ITEMS_FOR_METRICS} accepted items; trained on all {len(labeled)}"
            )
        passed = models.passes_gate(project, accuracy)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pt"
            save_classifier(path, result)
            version = models.add_version(
                project, architecture=architecture, file_format="annotate", label_names=label_names, data=path.read_bytes(),
                origin="trained", user_id=job.created_by_id, metrics=metrics, snapshot=snapshot, passed_gate=passed,
                input_size=input_size, task_type="classification",
            )  # fmt: skip
        latest = models.latest_version(project)
        became_latest = latest is not None and latest.id == version.id
        job.result = {
            "model_version_id": version.id, "version": version.version, "losses": result.losses, "accuracy": accuracy,
            "macro_f1": metrics["macro_f1"], "passed_gate": passed, "became_latest": became_latest, "task": "classification",
        }  # fmt: skip
        job.message = f"classifier v{version.version}: " + (
            f"accuracy {accuracy:.3f} on {len(val_part)} held-out items" if accuracy is not None else metrics["metrics_note"]
        )
        if not passed:
            job.message += f"; below the metric gate {project.metric_gate:g}, so it is not the latest"
        log.info("registered classifier v%d (accuracy %s, passed gate: %s)", version.version, accuracy, passed)
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
    without torch; classifiers through ``prelabel.classification.load_classifier``; the
    others through ``prelabel.detection.load_detector``.
    """
    key = (version.id, version.weights_key, version.architecture)
    if key not in _LOADED:
        if version.task_type == "classification":
            from prelabel.classification import load_classifier

            _LOADED[key] = load_classifier(get_storage().path(version.weights_key))
        elif version.file_format == "builtin":
            from prelabel.pretrained import load_builtin

            _LOADED[key] = load_builtin(version.architecture)
        else:
            from prelabel.detection import load_detector

            path = get_storage().path(version.weights_key)
            _LOADED[key] = load_detector(path, architecture=version.architecture, label_names=version.label_names)
    return _LOADED[key]


def untouched_items(project: Project, version: ModelVersion, item_ids: list[int] | None = None) -> list[Item]:
    """Items of ``project`` that no person has saved, not yet pre-labeled by ``version``,
    whose task nobody has submitted.

    Args:
        item_ids: only consider these items (the caller checked they are the project's);
            None: every item of the project.

    Returns:
        The items, by id.
    """
    human = exists().where(AnnotationRevision.item_id == Item.id, AnnotationRevision.source == "human")
    query = (
        select(Item)
        .join(Task, (Task.item_id == Item.id) & (Task.replica == 0))
        .where(Item.project_id == project.id, ~human, ~_done(version), Task.state.in_([TaskState.NEW, TaskState.IN_PROGRESS]))
        .order_by(Item.id)
    )
    if item_ids is not None:
        query = query.where(Item.id.in_(item_ids))
    return list(db.session.scalars(query))


def _done(version: ModelVersion):
    return exists().where(PrelabelRecord.item_id == Item.id, PrelabelRecord.model_version_id == version.id)


def _not_done_count(project: Project, version: ModelVersion, item_ids: list[int]) -> int:
    """How many of ``item_ids`` (of ``project``) ``version`` has not pre-labeled yet."""
    query = select(func.count()).select_from(Item).where(Item.project_id == project.id, Item.id.in_(item_ids), ~_done(version))
    return int(db.session.scalar(query) or 0)


def run_prelabel(job_id: str) -> None:
    """Pre-label items with the job's model version: the chosen ones, or every untouched one.

    ``params["item_ids"]`` (optional) chooses items; those a person has saved or submitted
    are skipped and counted in ``result["skipped"]``, as are items a person saves while the
    job runs. Items the version already pre-labeled are left alone (not counted), so a rerun
    or RQ's retry after a killed worker only does what is left. A classification version
    writes image-level tags (:func:`_write_tag`); a detector writes boxes.

    Items go through in batches of :data:`BATCH_SIZE`: while the model runs on one batch, a
    thread reads and decodes the next one's images, and each batch's revisions, pre-label
    records and the job's progress are committed in one transaction. So a killed worker
    leaves whole items (whole batches) or nothing, and the retry skips what was committed.
    """
    log = job_logger(job_id)
    with running(job_id) as job:
        project = db.session.get(Project, job.project_id)
        version = db.session.get(ModelVersion, job.params["model_version_id"])
        item_ids = job.params.get("item_ids")
        model = load_version(version)
        todo = untouched_items(project, version, item_ids)
        skipped = _not_done_count(project, version, item_ids) - len(todo) if item_ids is not None else 0
        # Read before the first commit expires the rows: ids to reload each batch in one query,
        # display keys for the decoding thread (None for a video frame not rendered yet).
        ids = [item.id for item in todo]
        keys = {item.id: item.display_key for item in todo}
        set_progress(job, 0.0, f"{len(todo)} items to pre-label with model v{version.version}")
        classify = version.task_type == "classification"
        write = _write_tag if classify else _write_prelabels
        # Predict below the threshold too: the weak detections measure the model's uncertainty.
        options = {} if classify else {"score_threshold": min(project.prelabel_threshold, UNCERTAINTY_FLOOR)}
        batches = [ids[start : start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
        written = shapes = empty = done = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prelabel-decode") as decoder:
            upcoming = _decode_later(decoder, batches[0], keys) if batches else None
            for number, batch_ids in enumerate(batches):
                images = upcoming.result()
                if number + 1 < len(batches):
                    upcoming = _decode_later(decoder, batches[number + 1], keys)
                results = model.predict(images, **options)
                batch = list(db.session.scalars(select(Item).where(Item.id.in_(batch_ids)).order_by(Item.id)))
                for count in _write_batch(batch, results, project, version, write):
                    if count is None:
                        skipped += 1
                        continue
                    written += 1
                    shapes += count
                    empty += count == 0
                done += len(batch_ids)
                set_progress(job, done / len(ids), f"{done} of {len(ids)} items")  # commits the batch with it
        job.result = {"items": written, "shapes": shapes, "skipped": skipped, "empty": empty, "model_version": version.version}
        what = "tags" if classify else "boxes"
        job.message = f"model v{version.version}: {shapes} {what} on {written - empty} of {written} items"
        if empty:
            job.message += f"; {empty} items had no {what[:-1] if classify else 'box'} scoring {project.prelabel_threshold:g} or more"
        if skipped:
            job.message += f"; {skipped} items skipped because a person saved or submitted them"
        log.info("pre-labeled %d items with %d %s (%d empty, %d skipped)", written, shapes, what, empty, skipped)


def _decode_later(decoder: ThreadPoolExecutor, item_ids: list[int], keys: dict[int, str | None]) -> Future:
    """Start reading and decoding the images of ``item_ids`` in ``decoder``'s thread.

    Video frames not rendered yet are rendered here, in the calling thread (that writes to
    storage and the database, which the decoding thread must not touch).

    Returns:
        A future of the ``(H, W, 3)`` uint8 RGB arrays, in ``item_ids`` order.
    """
    for item_id in item_ids:
        if keys[item_id] is None:
            item = db.session.get(Item, item_id)
            media.display_image(item)
            keys[item_id] = item.display_key
    storage = get_storage()
    return decoder.submit(lambda names: [_decode(storage.get_bytes(name)) for name in names], [keys[i] for i in item_ids])


def _decode(data: bytes) -> np.ndarray:
    """An image file's bytes -> ``(H, W, 3)`` uint8 RGB array (PIL releases the GIL while decoding)."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))


def _write_batch(batch: list[Item], results: list, project: Project, version: ModelVersion, write) -> list[int | None]:
    """Write a batch's pre-labels into the open transaction; the caller commits.

    The items' latest revisions, and which of them a person has saved, are read in one query
    each. If a person saves one of the items between that read and our write (a
    :class:`~annotate.errors.Conflict`), the batch is rolled back and written again item by
    item, each committed on its own, so only that item is skipped.

    Returns:
        What ``write`` returned for each item: the number of shapes or tags written, or None
        for an item skipped because a person saved it.
    """
    try:
        return _write_items(batch, results, project, version, write)
    except Conflict:
        db.session.rollback()
    counts = []
    for item, result in zip(batch, results, strict=True):
        try:
            counts += _write_items([item], [result], project, version, write)
            db.session.commit()
        except Conflict:
            db.session.rollback()
            counts.append(None)
    return counts


def _write_items(items: list[Item], results: list, project: Project, version: ModelVersion, write) -> list[int | None]:
    """Call ``write(item, project, version, result, document, base)`` for each item no person
    has saved, then set the items' uncertainty and add their pre-label records.

    The records and uncertainties are added after all revisions, so that they reach the
    database in one multi-row INSERT and one batch of UPDATEs rather than one per item.

    Returns:
        The number of shapes or tags written for each item; None for one a person saved.

    Raises:
        Conflict: an item got a new revision since it was read.
    """
    ids = [item.id for item in items]
    # The rule of annotations.has_human_revision, for many items at once.
    saved = set(
        db.session.scalars(
            select(AnnotationRevision.item_id).where(AnnotationRevision.item_id.in_(ids), AnnotationRevision.source == "human")
        )
    )
    latest = annotations.latest_documents(ids)
    counts, records = [], []
    for item, result in zip(items, results, strict=True):
        if item.id in saved:
            counts.append(None)
            continue
        document, base = latest.get(item.id) or (schemas.empty_annotation(), 0)
        count, uncertainty, revision_id = write(item, project, version, result, document, base)
        counts.append(count)
        records.append(
            (item, uncertainty, PrelabelRecord(item_id=item.id, model_version_id=version.id, revision_id=revision_id, shape_count=count))
        )
    for item, uncertainty, record in records:
        item.uncertainty = uncertainty
        db.session.add(record)
    return counts


def _write_prelabels(
    item: Item, project: Project, version: ModelVersion, detections, document: dict, base: int
) -> tuple[int, float, int | None]:
    """Add one item's pre-labels to the open transaction (not committed).

    Args:
        document, base: the item's latest document and its revision number (0: none).

    Returns:
        ``(shapes written, uncertainty, revision id)``: 0 shapes and no revision when the
        model found nothing above the threshold (no empty revision is written); the
        uncertainty is :func:`annotate.services.work_saved.uncertainty` of all the scores.

    Raises:
        Conflict: the item got a new revision since ``base`` (see :func:`_write_batch`).
    """
    shapes = []
    method = project.queue_order if project.queue_order in work_saved.UNCERTAINTY_METHODS else "least_confidence"
    uncertainty = work_saved.uncertainty([min(1.0, max(0.0, float(d.score))) for d in detections], method)
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
    # A version that finds nothing leaves an earlier version's pre-labels in place: an empty
    # answer is no reason to take away boxes a person might keep.
    if shapes:
        # A newer version replaces only machine-made shapes; there are no human ones here.
        document = {"version": 1, "tags": document["tags"], "shapes": shapes}
        revision = annotations.save_revision(item, project, document, base, model_version_id=version.id, commit=False)
        revision_id = revision.id
    return len(shapes), uncertainty, revision_id


def _write_tag(
    item: Item, project: Project, version: ModelVersion, prediction: tuple[int, float], document: dict, base: int
) -> tuple[int, float, int | None]:
    """Add one item's model tag (when its probability reaches the threshold) to the open
    transaction (not committed).

    The tag is ``{"id", "label", "source": {"type": "model", "model_version", "score"}}``; the
    item's uncertainty is 1 - the probability. Model-made tags of older versions are replaced;
    no shapes are written (an untouched item has none but machine-made ones, which are kept).

    Args:
        document, base: the item's latest document and its revision number (0: none).

    Returns:
        ``(tags written, uncertainty, revision id)``: 1 tag when the probability reaches the
        threshold, else 0 (and no revision unless older model tags are taken away).

    Raises:
        Conflict: the item got a new revision since ``base`` (see :func:`_write_batch`).
    """
    label_index, score = prediction
    score = min(1.0, max(0.0, float(score)))
    tags = [t for t in document["tags"] if t.get("source", {}).get("type") != "model"]
    written = 0
    if score >= project.prelabel_threshold:
        tags.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"annotate:item/{item.id}/model/{version.id}/tag")),
            "label": version.label_names[label_index],
            "source": {"type": "model", "model_version": version.version, "score": round(score, 4)},
        })  # fmt: skip
        written = 1
    revision_id = None
    if written or base:
        revision = annotations.save_revision(
            item, project, {"version": 1, "tags": tags, "shapes": document["shapes"]}, base, model_version_id=version.id, commit=False
        )
        revision_id = revision.id
    return written, 1.0 - score, revision_id


def job_row(job_id: str) -> Job | None:
    """Return a job's row (for tests and the CLI)."""
    return db.session.get(Job, job_id)
