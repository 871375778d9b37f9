"""Tasks (one per item) and the record of every transition."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotate.extensions import db
from annotate.models.types import utcnow
from workflows import TaskState


class Task(db.Model):
    """The work of labeling one item, moved through states by :mod:`workflows`.

    ``lease_expires_at`` is when the assignee's hold on an in-progress task runs out unless the
    tool's heartbeat extends it (None when the task is not leased). An expired lease on a task
    with no saved work by its assignee returns the task to the pool; see
    :func:`annotate.services.tasks.next_task`.
    """

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=TaskState.NEW, index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    item: Mapped[Item] = relationship()  # noqa: F821
    assignee: Mapped[User | None] = relationship()  # noqa: F821


class TaskEvent(db.Model):
    """One transition of a task: who did what, when, from which state to which, and why."""

    __tablename__ = "task_events"
    # Per-labeler counts (how many tasks they started, what they skipped) read by actor and action.
    __table_args__ = (Index("ix_task_events_actor_action", "actor_id", "action"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[User | None] = relationship()  # noqa: F821
