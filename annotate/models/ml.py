"""Model versions per project and the record of which items each version pre-labeled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
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
    origin: Mapped[str] = mapped_column(String(20))  # trained, registered
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
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
