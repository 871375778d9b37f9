"""A project's workflow: editing it, the answer tasks that overlap needs, and progress by stage.

The workflow is data (``Project.workflow``, checked by :func:`workflows.parse`); this module
stores it and keeps the tasks in line with it. With an overlap of N > 1 (a consensus stage),
an item has N *answer tasks* (``Task.replica`` 1..N) besides its own task (replica 0), see
:mod:`workflows.engine`. Which items get answer tasks:

* an item is *open for overlap* while its own task is ``new`` with no assignee and nobody has
  saved its annotation (line 0), i.e. nobody has labeled it alone yet;
* :func:`sync_answer_tasks` gives every open item the answer tasks its overlap asks for
  (the item's own ``overlap`` or the workflow's), and removes answer tasks that nobody has
  started (``new``, never served) when fewer are asked for; started or submitted answers are
  never removed, so no labeler's work is lost;
* it runs when the workflow or an item's overlap changes, and for new items when they are
  added (:func:`tasks_for_new_item`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select

from annotate.errors import Conflict, ValidationFailed
from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, Project, Task, TaskEvent
from workflows import TaskState, Workflow, WorkflowError, parse
from workflows.definition import MAX_OVERLAP
from workflows.engine import stage_name


def set_workflow(project: Project, data: Any) -> Workflow:
    """Replace the project's workflow (committed) and add or remove answer tasks to match.

    Args:
        data: the workflow document (``schemas/workflow/v1.json``).

    Returns:
        The parsed workflow, as stored (defaults written out).

    Raises:
        ValidationFailed: the document is invalid; ``errors`` maps each path
            (``stages/1/overlap``) to its problem, and nothing is changed.
    """
    try:
        workflow = parse(data)
    except WorkflowError as exc:
        raise ValidationFailed(str(exc), exc.errors) from None
    project.workflow = workflow.to_data()
    db.session.flush()
    sync_answer_tasks(project)
    db.session.commit()
    return workflow


def set_item_overlap(project: Project, item: Item, overlap: int | None) -> Item:
    """Set how many labelers answer one item (committed); None returns it to the workflow's.

    Raises:
        ValidationFailed: not a whole number from 1 to 10, or the workflow has no consensus
            stage to merge several answers.
        Conflict: the item is not open for overlap any more (see the module docstring).
    """
    whole = isinstance(overlap, int) and not isinstance(overlap, bool)
    if overlap is not None and not (whole and 1 <= overlap <= MAX_OVERLAP):
        raise ValidationFailed(f"overlap must be a whole number from 1 to {MAX_OVERLAP}", {"overlap": "out of range"})
    if overlap is not None and overlap > 1 and project.flow.consensus is None:
        raise ValidationFailed(
            "an overlap above 1 needs a consensus stage in the project's workflow", {"overlap": "the workflow has no consensus stage"}
        )
    if not _open_for_overlap(item.id):
        raise Conflict(f"item {item.name!r} is already being labeled or reviewed: its overlap can no longer change", {"overlap": "locked"})
    item.overlap = overlap
    db.session.flush()
    sync_answer_tasks(project, [item.id])
    db.session.commit()
    return item


def tasks_for_new_item(project: Project, item: Item) -> list[Task]:
    """Add a new item's own task and the answer tasks its overlap asks for (not committed).

    Returns:
        The tasks added: the item's own task first.
    """
    tasks = [Task(project_id=project.id, item_id=item.id, replica=0)]
    overlap = project.flow.overlap_for(item.overlap)
    if overlap > 1:
        tasks += [Task(project_id=project.id, item_id=item.id, replica=r) for r in range(1, overlap + 1)]
    db.session.add_all(tasks)
    return tasks


def sync_answer_tasks(project: Project, item_ids: list[int] | None = None) -> dict[str, int]:
    """Match the answer tasks of the project's items open for overlap to their overlap (not committed).

    Args:
        item_ids: only these items (default: every item of the project).

    Returns:
        ``{"created": n, "removed": m}`` answer tasks.
    """
    workflow = project.flow
    query = (
        select(Item.id, Item.overlap)
        .join(Task, (Task.item_id == Item.id) & (Task.replica == 0))
        .where(Item.project_id == project.id, Task.state == TaskState.NEW, Task.assignee_id.is_(None), ~_annotated(Item.id))
    )
    if item_ids is not None:
        query = query.where(Item.id.in_(item_ids))
    items = db.session.execute(query).all()
    answers: dict[int, list[Task]] = {}
    if items:
        for task in db.session.scalars(
            select(Task).where(Task.project_id == project.id, Task.replica > 0, Task.item_id.in_([i for i, _ in items]))
        ):
            answers.setdefault(task.item_id, []).append(task)
    created = removed = 0
    for item_id, item_overlap in items:
        overlap = workflow.overlap_for(item_overlap)
        wanted = overlap if overlap > 1 else 0
        mine = sorted(answers.get(item_id, []), key=lambda t: t.replica)
        top = max((t.replica for t in mine), default=0)
        for replica in range(top + 1, top + 1 + max(0, wanted - len(mine))):
            db.session.add(Task(project_id=project.id, item_id=item_id, replica=replica))
            created += 1
        surplus = len(mine) - wanted
        for task in reversed(mine):
            if surplus <= 0:
                break
            if task.state == TaskState.NEW and task.assignee_id is None and not _touched(task):
                db.session.delete(task)
                surplus -= 1
                removed += 1
    db.session.flush()
    return {"created": created, "removed": removed}


def progress_by_stage(project: Project) -> list[dict[str, Any]]:
    """Count the project's items per workflow stage, in stage order (every stage, zero when empty).

    Returns:
        ``[{"stage": name, "kind": kind, "items": n}, ...]``; gold copies are not counted.
    """
    from annotate.services.quality import copy_item_ids  # quality imports tasks, which imports this module

    workflow = project.flow
    counts: dict[str, int] = {stage.name: 0 for stage in workflow.stages}
    rows = db.session.execute(
        select(Task.state, func.count())
        .where(Task.project_id == project.id, Task.replica == 0, Task.item_id.not_in(copy_item_ids()))
        .group_by(Task.state)
    ).all()
    for state, count in rows:
        counts[stage_name(workflow, state)] += count
    return [{"stage": stage.name, "kind": stage.kind, "items": counts[stage.name]} for stage in workflow.stages]


def _annotated(item_id) -> Any:
    return exists().where(AnnotationRevision.item_id == item_id, AnnotationRevision.line == 0, AnnotationRevision.source == "human")


def _open_for_overlap(item_id: int) -> bool:
    task = db.session.scalar(select(Task).where(Task.item_id == item_id, Task.replica == 0))
    if task is None or task.state != TaskState.NEW or task.assignee_id is not None:
        return False
    return not db.session.scalar(select(_annotated(item_id)))


def _touched(task: Task) -> bool:
    if db.session.scalar(select(exists().where(TaskEvent.task_id == task.id))):
        return True
    return bool(
        db.session.scalar(select(exists().where(AnnotationRevision.item_id == task.item_id, AnnotationRevision.line == task.replica)))
    )
