"""Model versions of a project: register a file, find the latest, pin, gate, train, pre-label.

"Latest" is the version pre-labeling uses: the pinned version if a manager pinned one, else
the newest version that passed the project's metric gate (``Project.metric_gate``, a minimum
held-out mAP@.5). Trained versions get ``passed_gate`` from their held-out metrics when they
are made; registered files and built-in detectors pass (a person chose them). So a demo
project's built-in HOG people detector stays the latest until a trained version passes.

Nothing here imports torch: files are checked by the worker that loads them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select

from annotate.errors import Conflict, NotFound, ValidationFailed
from annotate.extensions import db
from annotate.models import Item, Job, JobStatus, LabelKind, ModelVersion, Project, User
from annotate.queue import enqueue
from annotate.storage import get_storage

FILE_FORMATS = ("annotate", "state_dict", "torchscript")
DETECTORS = ("fasterrcnn_mobilenet_v3_large_320_fpn", "ssdlite320_mobilenet_v3_large")
#: Image classifiers (task type "classification"); mirrors ``prelabel.registry`` without torch.
CLASSIFIERS = ("resnet18", "mobilenet_v3_small")
TASK_TYPES = ("detection", "classification")
#: Detectors built into the worker (no weights file): architecture -> label names, class order.
#: Mirrors ``prelabel.pretrained.BUILTIN_LABELS`` without importing OpenCV into the web process.
BUILTIN = {"opencv_hog_people": ["person"], "mtcnn_faces": ["face"]}


def latest_version(project: Project) -> ModelVersion | None:
    """Return the version pre-labeling uses.

    Returns:
        The pinned version if one is pinned, else the newest version with ``passed_gate``,
        or None when there is none.
    """
    if project.pinned_model_version_id:
        pinned = db.session.get(ModelVersion, project.pinned_model_version_id)
        if pinned is not None and pinned.project_id == project.id:
            return pinned
    return db.session.scalar(
        select(ModelVersion)
        .where(ModelVersion.project_id == project.id, ModelVersion.passed_gate.is_(True))
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )


def passes_gate(project: Project, map50: float | None) -> bool:
    """Whether a held-out mAP@.5 reaches the project's metric gate.

    Args:
        map50: The version's held-out AP at IoU 0.5 in [0, 1], or None when it could not
            be measured (too few accepted items).

    Returns:
        True when the gate is 0 (off), or when ``map50`` is known and at least the gate.
    """
    gate = project.metric_gate or 0.0
    return gate <= 0 or (map50 is not None and map50 >= gate)


def pin_version(project: Project, version_id: int) -> ModelVersion:
    """Pin one of the project's versions as the latest, whatever its gate (committed).

    Rolling back is pinning an older version.

    Raises:
        NotFound: no such version in this project.
    """
    version = get_version(project, version_id)
    project.pinned_model_version_id = version.id
    db.session.commit()
    return version


def unpin(project: Project) -> None:
    """Unpin: the latest becomes the newest version that passed the gate again (committed)."""
    project.pinned_model_version_id = None
    db.session.commit()


def set_metric_gate(project: Project, metric_gate: float) -> None:
    """Set the minimum held-out mAP@.5 a trained version needs to become the latest (committed).

    Versions already made keep their ``passed_gate``; the gate applies to new ones.

    Args:
        metric_gate: In [0, 1]; 0 turns the gate off.

    Raises:
        ValidationFailed: not a number in [0, 1].
    """
    if isinstance(metric_gate, bool) or not isinstance(metric_gate, int | float) or not 0 <= metric_gate <= 1:
        raise ValidationFailed("the metric gate must be a number from 0 to 1", {"metric_gate": "invalid"})
    project.metric_gate = float(metric_gate)
    db.session.commit()


def cancel_training(project: Project, job_id: str) -> Job:
    """Ask a queued or running training job of the project to stop (committed).

    The job checks before every batch and then ends as failed with the message "cancelled".

    Raises:
        NotFound: no training job with that id in this project.
        Conflict: the job has already ended.
    """
    job = db.session.get(Job, job_id)
    if job is None or job.project_id != project.id or job.kind != "train":
        raise NotFound(f"training job {job_id} not found in this project")
    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        raise Conflict(f"the job has already {job.status}", {"status": job.status})
    job.params = {**job.params, "cancel": True}
    db.session.commit()
    return job


def add_builtin_version(project: Project, architecture: str, *, user_id: int | None = None) -> ModelVersion:
    """Register a built-in detector (no weights file) as the project's next version (committed).

    Args:
        architecture: A key of :data:`BUILTIN`, e.g. ``"opencv_hog_people"``.

    Raises:
        ValidationFailed: unknown built-in, or the project lacks one of its shape labels.
    """
    if architecture not in BUILTIN:
        raise ValidationFailed("the model cannot be registered", {"architecture": f"built in: {', '.join(BUILTIN)}"})
    return add_version(
        project, architecture=architecture, file_format="builtin", label_names=BUILTIN[architecture], weights_key="",
        origin="pretrained", user_id=user_id,
    )  # fmt: skip


def versions(project: Project) -> list[ModelVersion]:
    """Return the project's model versions, newest first."""
    return list(db.session.scalars(select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.version.desc())))


def get_version(project: Project, version_id: int) -> ModelVersion:
    """Return one of the project's versions.

    Raises:
        NotFound: no such version in this project.
    """
    version = db.session.get(ModelVersion, version_id)
    if version is None or version.project_id != project.id:
        raise NotFound(f"model version {version_id} not found in this project")
    return version


def add_version(
    project: Project, *, architecture: str, file_format: str, label_names: list[str], data: bytes | None = None,
    weights_key: str | None = None, metrics: dict[str, Any] | None = None, origin: str, user_id: int | None,
    snapshot: dict[str, Any] | None = None, passed_gate: bool = True, input_size: int | None = None,
    task_type: str = "detection",
) -> ModelVersion:  # fmt: skip
    """Store a weights file and create the project's next model version (committed).

    Args:
        data: the file's bytes, stored under a key made from its hash; or give ``weights_key``
            (``""`` for a built-in detector, ``file_format="builtin"``).
        label_names: the model's 0-based class index -> project label name.
        snapshot: what a trained version saw, ``{"train": [[item id, revision], ...], "val": [...], "seed": n}``.
        passed_gate: whether the version reached the project's metric gate (see :func:`passes_gate`).
        input_size: the shorter image side the model resizes to, pixels, if known.
        task_type: ``"detection"`` (labels are the project's shape labels) or
            ``"classification"`` (labels are its tag labels; architecture one of :data:`CLASSIFIERS`).

    Raises:
        ValidationFailed: unknown architecture, format or task type, or labels not in the project.
    """
    errors = {}
    if file_format == "builtin":
        if architecture not in BUILTIN:
            errors["architecture"] = f"built in: {', '.join(BUILTIN)}"
        if data is not None:
            errors["format"] = "a built-in detector has no file; use one of " + ", ".join(FILE_FORMATS)
    elif task_type == "classification" and architecture not in CLASSIFIERS and file_format != "torchscript":
        errors["architecture"] = f"use one of {', '.join(CLASSIFIERS)}"
    elif task_type != "classification" and architecture not in DETECTORS and file_format != "torchscript":
        errors["architecture"] = f"use one of {', '.join(DETECTORS)}"
    if task_type not in TASK_TYPES:
        errors["task_type"] = f"use one of {', '.join(TASK_TYPES)}"
    if file_format not in FILE_FORMATS and file_format != "builtin":
        errors["format"] = f"use one of {', '.join(FILE_FORMATS)}"
    kind = LabelKind.TAG if task_type == "classification" else LabelKind.SHAPE
    own_labels = {label.name for label in project.labels if label.kind == kind}
    unknown = [name for name in label_names if name not in own_labels]
    if not label_names:
        errors["labels"] = "give the model's label names, in class order"
    elif unknown:
        errors["labels"] = f"not {kind} labels of this project: {', '.join(unknown)}"
    if errors:
        raise ValidationFailed("the model cannot be registered", errors)
    if data is not None:
        weights_key = f"projects/{project.id}/models/{hashlib.sha256(data).hexdigest()}.pt"
        get_storage().put_bytes(weights_key, data)
    number = (db.session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project.id)) or 0) + 1
    version = ModelVersion(
        project_id=project.id, version=number, architecture=architecture, file_format=file_format,
        label_names=list(label_names), weights_key=weights_key, metrics=metrics or {}, origin=origin, created_by_id=user_id,
        snapshot=snapshot or {}, passed_gate=passed_gate, input_size=input_size, task_type=task_type,
    )  # fmt: skip
    db.session.add(version)
    db.session.commit()
    return version


def start_training(
    project: Project, user: User, *, epochs: int | None = None, prelabel_after: bool = True, task: str = "detection",
    architecture: str | None = None,
) -> Job:  # fmt: skip
    """Queue a training job (committed).

    Args:
        epochs: passes over the training items; None: the ``TRAIN_EPOCHS`` setting.
        prelabel_after: pre-label untouched items afterwards if the new version becomes the latest.
        task: ``"detection"`` trains on accepted boxes; ``"classification"`` on accepted items'
            image-level tags (items with exactly one of the project's tag labels).
        architecture: a name from :data:`DETECTORS` or :data:`CLASSIFIERS` matching ``task``;
            None: the first of them.

    Raises:
        ValidationFailed: unknown task, an architecture that does not fit it, or a
            classification task on a project with fewer than two tag labels.
    """
    choices = CLASSIFIERS if task == "classification" else DETECTORS
    errors = {}
    if task not in TASK_TYPES:
        errors["task"] = f"use one of {', '.join(TASK_TYPES)}"
    elif architecture is not None and architecture not in choices:
        errors["architecture"] = f"for {task} use one of {', '.join(choices)}"
    elif task == "classification" and sum(label.kind == LabelKind.TAG for label in project.labels) < 2:
        errors["task"] = "classification needs at least two tag labels in the project"
    if errors:
        raise ValidationFailed("the training cannot start", errors)
    params = {"architecture": architecture or choices[0], "epochs": epochs, "prelabel_after": prelabel_after, "task": task}
    return enqueue("train", org_id=project.org_id, project_id=project.id, user_id=user.id if user else None, params=params)


def start_prelabel(project: Project, user: User | None, version: ModelVersion | None = None, *, item_ids: list[int] | None = None) -> Job:
    """Queue a pre-label job with ``version`` (default: the latest) (committed).

    Args:
        version: one of the project's versions; None: :func:`latest_version`.
        item_ids: pre-label only these items (deduplicated, order kept); None: every
            untouched item. Items a person has saved or submitted are skipped either way.

    Raises:
        NotFound: the project has no model version yet, or ``version`` is another project's.
        ValidationFailed: some of ``item_ids`` are not items of the project (``errors["item_ids"]`` names them).
    """
    if version is not None and version.project_id != project.id:
        raise NotFound(f"model version {version.id} not found in this project")
    version = version or latest_version(project)
    if version is None:
        raise NotFound("this project has no model yet: train one or register a model file first")
    params: dict[str, Any] = {"model_version_id": version.id}
    if item_ids is not None:
        wanted = list(dict.fromkeys(int(i) for i in item_ids))
        if not wanted:
            raise ValidationFailed("choose at least one item to pre-label", {"item_ids": "empty"})
        found = set(db.session.scalars(select(Item.id).where(Item.project_id == project.id, Item.id.in_(wanted))))
        bad = [i for i in wanted if i not in found]
        if bad:
            message = f"not items of this project: {', '.join(map(str, bad))}"
            raise ValidationFailed(f"some items are not in this project ({message})", {"item_ids": message})
        params["item_ids"] = wanted
    return enqueue("prelabel", org_id=project.org_id, project_id=project.id, user_id=user.id if user else None, params=params)
