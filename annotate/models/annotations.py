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

    ``document`` obeys ``schemas/annotation/v1.json``. The unique (item, line, number) triple
    is what makes concurrent saves safe: two saves from the same base revision cannot both
    insert. ``line`` 0 is the item's annotation (what review, exports and training read); line
    ``r`` > 0 is the answer of the item's answer task ``replica == r`` (overlap), which only its
    labeler sees until the consensus stage merges the answers into line 0.
    """

    __tablename__ = "annotation_revisions"
    __table_args__ = (UniqueConstraint("item_id", "line", "number", name="uq_revision_item_line_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(default=0, server_default="0")
    number: Mapped[int]
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: ``human``, ``model`` or ``consensus`` (the merge of an item's overlapping answers).
    source: Mapped[str] = mapped_column(String(10), default="human")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    #: Seconds the author actively worked on the item since their previous save, as measured
    #: by the labeling tool (idle time is not counted).
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author: Mapped[User | None] = relationship()  # noqa: F821
