"""Model versions per project and the record of which items each version pre-labeled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from annotate.extensions import db
from annotate.models.types import JSONType, utcnow


class ModelVersion(db.Model):
    """Version ``version`` (1, 2, ...) of a project's model.

    ``label_names`` maps the model's 0-based class index to a project label name.
    ``weights_key`` names the file in the platform's storage.
    """

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "version", name="uq_model_project_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    task_type: Mapped[str] = mapped_column(String(20), default="detection")
    architecture: Mapped[str] = mapped_column(String(100))
    file_format: Mapped[str] = mapped_column(String(20))  # annotate, state_dict, torchscript
    label_names: Mapped[list[str]] = mapped_column(JSONType)
    weights_key: Mapped[str] = mapped_column(String(500))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    origin: Mapped[str] = mapped_column(String(20))  # trained, registered, pretrained
    #: Input size in pixels (shorter side) the model was trained or built for, if known.
    input_size: Mapped[int | None]
    #: What the version saw: {"train": [[item id, revision], ...], "val": [...], "seed": int}.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    #: Whether the version's held-out metric reached the project's gate when it was made.
    passed_gate: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PrelabelOutcome(db.Model):
    """What a person did with one pre-label (or one shape they added) when they submitted an item.

    ``outcome`` is ``kept`` (unchanged), ``edited`` (moved or resized; ``iou`` between the
    pre-label and the final shape), ``relabeled`` (label changed, maybe moved too),
    ``deleted``, or ``added`` (a shape no model proposed; no pre-label id).
    """

    __tablename__ = "prelabel_outcomes"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("annotation_revisions.id", ondelete="CASCADE"))
    shape_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    iou: Mapped[float | None] = mapped_column(Float)
    label_before: Mapped[str | None] = mapped_column(String(100))
    label_after: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PrelabelRecord(db.Model):
    """Marks that ``model_version_id`` pre-labeled ``item_id``; unique, so reruns write nothing twice."""

    __tablename__ = "prelabel_records"
    __table_args__ = (UniqueConstraint("item_id", "model_version_id", name="uq_prelabel_item_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("annotation_revisions.id", ondelete="SET NULL"))
    shape_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
