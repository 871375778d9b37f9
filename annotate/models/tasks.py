"""Tasks (one per item) and the record of every transition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotate.extensions import db
from annotate.models.types import JSONType, utcnow
from workflows import TaskState


class Task(db.Model):
    """The work of labeling one item, moved through states by :mod:`workflows`.

    ``replica`` 0 is the item's own task, whose state is the item's place in the workflow;
    1..N are the answer tasks of an item labeled by N labelers (overlap), each with its own
    line of annotation revisions (``AnnotationRevision.line == replica``); see
    :mod:`workflows.engine`.

    ``lease_expires_at`` is when the assignee's hold on an in-progress task runs out unless the
    tool's heartbeat extends it (None when the task is not leased). An expired lease on a task
    with no saved work by its assignee returns the task to the pool; see
    :func:`annotate.services.tasks.next_task`.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("item_id", "replica", name="uq_task_item_replica"),
        # "Next task" walks a project's open, unassigned tasks in item order, and asks whether
        # an item has answer tasks: both partial, so finished work does not slow them down.
        Index(
            "ix_tasks_pool",
            "project_id",
            "item_id",
            "replica",
            postgresql_where=text("assignee_id IS NULL AND state IN ('new', 'rejected')"),
            sqlite_where=text("assignee_id IS NULL AND state IN ('new', 'rejected')"),
        ),
        Index("ix_tasks_answers", "item_id", postgresql_where=text("replica > 0"), sqlite_where=text("replica > 0")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    replica: Mapped[int] = mapped_column(default=0, server_default="0")
    state: Mapped[str] = mapped_column(String(20), default=TaskState.NEW, index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    #: An extra consensus label routed to the project's best-rated labelers first
    #: (:attr:`Project.best_labeler_ids`); others are served it only when nothing else is left.
    routed: Mapped[bool] = mapped_column(default=False, server_default=false())
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
    #: Where on the item the comment points: ``{"x": px, "y": px}`` in image pixels, or None.
    pin: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[User | None] = relationship()  # noqa: F821
