"""Model versions of a project: register a file, find the latest, start training and pre-labeling.

Nothing here imports torch: files are checked by the worker that loads them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select

from annotate.errors import NotFound, ValidationFailed
from annotate.extensions import db
from annotate.models import Job, LabelKind, ModelVersion, Project, User
from annotate.queue import enqueue
from annotate.storage import get_storage

FILE_FORMATS = ("annotate", "state_dict", "torchscript")
DETECTORS = ("fasterrcnn_mobilenet_v3_large_320_fpn", "ssdlite320_mobilenet_v3_large")


def latest_version(project: Project) -> ModelVersion | None:
    """Return the project's pinned version, else its newest, or None."""
    if project.pinned_model_version_id:
        pinned = db.session.get(ModelVersion, project.pinned_model_version_id)
        if pinned is not None and pinned.project_id == project.id:
            return pinned
    return db.session.scalar(
        select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.version.desc()).limit(1)
    )


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
) -> ModelVersion:  # fmt: skip
    """Store a weights file and create the project's next model version (committed).

    Args:
        data: the file's bytes, stored under a key made from its hash; or give ``weights_key``.
        label_names: the model's 0-based class index -> project label name.

    Raises:
        ValidationFailed: unknown architecture or format, or labels not in the project.
    """
    errors = {}
    if architecture not in DETECTORS and file_format != "torchscript":
        errors["architecture"] = f"use one of {', '.join(DETECTORS)}"
    if file_format not in FILE_FORMATS:
        errors["format"] = f"use one of {', '.join(FILE_FORMATS)}"
    shape_labels = {label.name for label in project.labels if label.kind == LabelKind.SHAPE}
    unknown = [name for name in label_names if name not in shape_labels]
    if not label_names:
        errors["labels"] = "give the model's label names, in class order"
    elif unknown:
        errors["labels"] = f"not shape labels of this project: {', '.join(unknown)}"
    if errors:
        raise ValidationFailed("the model cannot be registered", errors)
    if data is not None:
        weights_key = f"projects/{project.id}/models/{hashlib.sha256(data).hexdigest()}.pt"
        get_storage().put_bytes(weights_key, data)
    number = (db.session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project.id)) or 0) + 1
    version = ModelVersion(
        project_id=project.id, version=number, architecture=architecture, file_format=file_format,
        label_names=list(label_names), weights_key=weights_key, metrics=metrics or {}, origin=origin, created_by_id=user_id,
    )  # fmt: skip
    db.session.add(version)
    db.session.commit()
    return version


def start_training(project: Project, user: User, *, epochs: int | None = None, prelabel_after: bool = True) -> Job:
    """Queue a training job on the project's accepted boxes (committed)."""
    params = {"architecture": DETECTORS[0], "epochs": epochs, "prelabel_after": prelabel_after}
    return enqueue("train", org_id=project.org_id, project_id=project.id, user_id=user.id if user else None, params=params)


def start_prelabel(project: Project, user: User | None, version: ModelVersion | None = None) -> Job:
    """Queue a pre-label job with ``version`` (default: the latest) (committed).

    Raises:
        NotFound: the project has no model version yet.
    """
    version = version or latest_version(project)
    if version is None:
        raise NotFound("this project has no model yet: train one or register a model file first")
    return enqueue(
        "prelabel", org_id=project.org_id, project_id=project.id, user_id=user.id if user else None,
        params={"model_version_id": version.id},
    )  # fmt: skip
