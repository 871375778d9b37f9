"""Quality control: gold items with known answers, labelers' answers to them, and pauses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotate.extensions import db
from annotate.models.types import JSONType, utcnow


class GoldItem(db.Model):
    """An item whose annotation is known: ``document`` is the answer labelers are scored against."""

    __tablename__ = "gold_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: The accepted revision the answer was taken from; None when a manager gave the document.
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("annotation_revisions.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    item: Mapped[Item] = relationship()  # noqa: F821


class GoldAnswer(db.Model):
    """One labeler's answer to one gold item (at most one per pair, so a gold item is never repeated).

    While the labeler works, ``copy_item_id`` is a transient copy of the gold item with its own
    task (``tasks.item_id`` is unique, so the gold item's own task cannot be served again); the
    copy is deleted when the answer is submitted or skipped, and ``document``, ``score`` and
    ``active_seconds`` keep what counts. ``status``: ``serving``, ``scored`` or ``skipped``.
    """

    __tablename__ = "gold_answers"
    __table_args__ = (UniqueConstraint("gold_item_id", "labeler_id", name="uq_gold_answer_gold_labeler"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    gold_item_id: Mapped[int] = mapped_column(ForeignKey("gold_items.id", ondelete="CASCADE"), index=True)
    labeler_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    copy_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="serving")
    document: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: In [0, 1]: box F1 and tag Jaccard combined; None until submitted.
    score: Mapped[float | None] = mapped_column(Float)
    #: Seconds the labeler actively worked on the copy, as the tool measured them.
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LabelerPause(db.Model):
    """A labeler paused in a project: not served new tasks until a manager unpauses them.

    The row stays after an unpause (``paused`` False) as the record of who did what.
    """

    __tablename__ = "labeler_pauses"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_labeler_pause_project_user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    paused: Mapped[bool] = mapped_column(default=True, server_default=true())
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Who unpaused them last; None while paused by the system.
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
