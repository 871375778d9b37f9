"""Serving tasks to labelers, saving their work, submitting and reviewing it.

Every change of state goes through :func:`apply_action`, which asks the transition table in
:mod:`workflows` and records a :class:`~annotate.models.TaskEvent`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select, update

from annotate.errors import Conflict, Forbidden, ValidationFailed
from annotate.extensions import db
from annotate.models import Project, Task, TaskEvent, User
from annotate.services import annotations
from workflows import Action, Role, TaskState, TransitionError, next_state

CLAIM_ATTEMPTS = 20


def apply_action(task: Task, user: User, role: Role, action: Action, comment: str = "") -> TaskEvent:
    """Move ``task`` by ``action`` (not committed) and record who did it.

    Raises:
        Conflict: the table does not allow this action in the task's state for this role.
    """
    try:
        new = next_state(task.state, action, role)
    except TransitionError as exc:
        raise Conflict(f"task {task.id}: {exc}", {"state": task.state}) from None
    event = TaskEvent(task_id=task.id, actor_id=user.id, action=action, from_state=task.state, to_state=new, comment=comment)
    task.state = new
    db.session.add(event)
    return event


def next_task(project: Project, user: User, role: Role) -> Task | None:
    """Serve ``user`` their next task in ``project`` (committed), or None when none is left.

    Work already theirs comes first (returned by a reviewer, then in progress); otherwise the
    oldest unassigned new task is taken. On PostgreSQL the row is locked with
    ``FOR UPDATE SKIP LOCKED`` so two labelers asking at once never get the same task.
    """
    own = db.session.scalar(
        select(Task)
        .where(Task.project_id == project.id, Task.assignee_id == user.id, Task.state.in_([TaskState.REJECTED, TaskState.IN_PROGRESS]))
        .order_by(case((Task.state == TaskState.REJECTED, 0), else_=1), Task.id)
        .limit(1)
    )
    if own is not None:
        if own.state == TaskState.REJECTED:
            apply_action(own, user, role, Action.START)
            db.session.commit()
        return own
    query = (
        select(Task)
        .where(Task.project_id == project.id, Task.state == TaskState.NEW, Task.assignee_id.is_(None))
        .order_by(Task.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    for _ in range(CLAIM_ATTEMPTS):
        task = db.session.scalar(query)
        if task is None:
            db.session.rollback()
            return None
        # The conditional UPDATE is the claim: on databases without SKIP LOCKED (SQLite) two
        # callers may pick the same row, and only one of them can match this WHERE.
        claimed = db.session.execute(
            update(Task)
            .where(Task.id == task.id, Task.assignee_id.is_(None), Task.state == TaskState.NEW)
            .values(assignee_id=user.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            db.session.refresh(task)
            apply_action(task, user, role, Action.START)
            db.session.commit()
            return task
        db.session.rollback()
    return None


def save_annotation(task: Task, user: User, role: Role, document: Any, base_revision: int):
    """Save the labeler's document for ``task`` as a new revision (committed).

    Raises:
        Forbidden: the task is not the caller's to edit.
        Conflict: the task is not in progress, or ``base_revision`` is stale.
        ValidationFailed: the document is invalid.
    """
    _check_editor(task, user, role)
    apply_action(task, user, role, Action.SAVE)
    project = db.session.get(Project, task.project_id)
    return annotations.save_revision(task.item, project, document, base_revision, author=user)


def submit(task: Task, user: User, role: Role, base_revision: int | None = None) -> Task | None:
    """Send the task to review (committed) and serve the caller's next task.

    Args:
        base_revision: when given, the submit is refused if the item was saved since.

    Returns:
        The caller's next task, or None.

    Raises:
        Conflict: wrong state or a stale ``base_revision``.
        Forbidden: the task is not the caller's.
    """
    _check_editor(task, user, role)
    if base_revision is not None:
        latest = annotations.latest_document(task.item_id)[1]
        if latest != base_revision:
            raise Conflict(f"the item was saved as revision {latest} since revision {base_revision}", {"latest_revision": latest})
    apply_action(task, user, role, Action.SUBMIT)
    db.session.commit()
    return next_task(db.session.get(Project, task.project_id), user, role)


def review(task: Task, user: User, role: Role, decision: str, comment: str = "") -> TaskEvent:
    """Accept or reject a submitted task (committed). A rejected task returns to its labeler.

    Raises:
        ValidationFailed: an unknown decision, or a rejection without a comment.
        Conflict: the task is not submitted.
    """
    comment = (comment or "").strip()
    if decision not in (Action.ACCEPT, Action.REJECT):
        raise ValidationFailed("decision must be 'accept' or 'reject'", {"decision": "invalid"})
    if decision == Action.REJECT and not comment:
        raise ValidationFailed("say what to fix when you reject", {"comment": "required when rejecting"})
    event = apply_action(task, user, role, Action(decision), comment)
    db.session.commit()
    return event


def review_queue(project: Project, limit: int = 200) -> list[Task]:
    """Return submitted tasks of ``project``, oldest first."""
    return list(
        db.session.scalars(
            select(Task)
            .where(Task.project_id == project.id, Task.state == TaskState.SUBMITTED)
            .order_by(Task.updated_at, Task.id)
            .limit(limit)
        )
    )


def history(task: Task) -> list[TaskEvent]:
    """Return the task's transitions, newest first."""
    return list(db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id.desc())))


def review_comments(task: Task) -> list[TaskEvent]:
    """Return the reviewers' rejection comments on the task, newest first."""
    return [e for e in history(task) if e.action == Action.REJECT and e.comment]


def can_edit(task: Task, user: User, role: Role) -> bool:
    """Whether ``user`` may change the task's annotation now."""
    return task.state == TaskState.IN_PROGRESS and task.assignee_id == user.id and role in (Role.LABELER, Role.MANAGER, Role.ADMIN)


def _check_editor(task: Task, user: User, role: Role) -> None:
    if task.assignee_id != user.id:
        raise Forbidden(f"task {task.id} is assigned to someone else")
