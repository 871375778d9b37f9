"""Annotation revisions: every save of an item's document is a new, immutable row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotate.extensions import db
from annotate.models.types import JSONType, utcnow


class AnnotationRevision(db.Model):
    """Revision ``number`` (1, 2, ...) of an item's annotation document.

    ``document`` obeys ``schemas/annotation/v1.json``. The unique (item, number) pair is what
    makes concurrent saves safe: two saves from the same base revision cannot both insert.
    """

    __tablename__ = "annotation_revisions"
    __table_args__ = (UniqueConstraint("item_id", "number", name="uq_revision_item_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: ``human`` or ``model``: who wrote this revision.
    source: Mapped[str] = mapped_column(String(10), default="human")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    #: Seconds the author actively worked on the item since their previous save, as measured
    #: by the labeling tool (idle time is not counted).
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author: Mapped[User | None] = relationship()  # noqa: F821
