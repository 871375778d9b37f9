"""A project's workflow: editing it, the answer tasks that overlap needs, and progress by stage.

The workflow is data (``Project.workflow``, checked by :func:`workflows.parse`); this module
stores it and keeps the tasks in line with it. With an overlap of N > 1 (a consensus stage),
or of 1 under a consensus stage with a target posterior (adaptive overlap), an item has N
*answer tasks* (``Task.replica`` 1..N) besides its own task (replica 0), see
:mod:`workflows.engine` and :meth:`workflows.Workflow.answer_tasks_for`. Which items get
answer tasks:

* an item is *open for overlap* while its own task is ``new`` with no assignee, nobody has
  saved its annotation (line 0), and none of its answer tasks has been served yet: nobody has
  started labeling it in any way;
* :func:`sync_answer_tasks` gives every open item the answer tasks its overlap asks for
  (the item's own ``overlap`` or the workflow's), and removes the surplus when fewer are asked
  for; items whose answers have started keep their answer tasks as they are (extra answer
  tasks the consensus stage asked for included), so no labeler's work is lost and no item is
  left waiting for an answer that nobody will be served;
* it runs when the workflow or an item's overlap changes, and for new items when they are
  added (:func:`tasks_for_new_item`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased

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
    answers = project.flow.answer_tasks_for(item.overlap)
    tasks += [Task(project_id=project.id, item_id=item.id, replica=r) for r in range(1, answers + 1)]
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
        .where(
            Item.project_id == project.id,
            Task.state == TaskState.NEW,
            Task.assignee_id.is_(None),
            ~_annotated(Item.id),
            ~_answers_started(Item.id),
        )
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
        wanted = workflow.answer_tasks_for(item_overlap)
        mine = sorted(answers.get(item_id, []), key=lambda t: t.replica)
        top = max((t.replica for t in mine), default=0)
        for replica in range(top + 1, top + 1 + max(0, wanted - len(mine))):
            db.session.add(Task(project_id=project.id, item_id=item_id, replica=replica))
            created += 1
        for task in mine[wanted:]:
            db.session.delete(task)  # never served: the item has no started answer
            removed += 1
    db.session.flush()
    return {"created": created, "removed": removed}


def progress_by_stage(project: Project) -> list[dict[str, Any]]:
    """Count the project's items per workflow stage, in stage order (every stage, zero when empty).

    An item is in the consensus stage while some of its overlapping answers are submitted and
    others (extra ones included) are still to come; before that it is in the annotate stage.
    The annotate stage also counts the answer tasks per state (``answers``), since with overlap
    that is where the work is.

    Returns:
        ``[{"stage": name, "kind": kind, "items": n}, ...]``; the annotate stage's entry also
        has ``"answers": {state: n}`` (empty without overlap). Gold copies are not counted.
    """
    from annotate.services.quality import copy_item_ids  # quality imports this module

    workflow = project.flow
    counts: dict[str, int] = {stage.name: 0 for stage in workflow.stages}
    mine = (Task.project_id == project.id, Task.item_id.not_in(copy_item_ids()))
    for state, count in db.session.execute(select(Task.state, func.count()).where(*mine, Task.replica == 0).group_by(Task.state)):
        counts[stage_name(workflow, state)] += count
    answers = dict(db.session.execute(select(Task.state, func.count()).where(*mine, Task.replica > 0).group_by(Task.state)).all())
    if workflow.consensus is not None:
        answer = aliased(Task)
        waiting = db.session.scalar(
            select(func.count()).where(
                *mine,
                Task.replica == 0,
                Task.state == TaskState.NEW,
                exists().where(answer.item_id == Task.item_id, answer.replica > 0, answer.state == TaskState.SUBMITTED),
            )
        )
        counts[workflow.annotate.name] -= waiting
        counts[workflow.consensus.name] += waiting
    out = [{"stage": stage.name, "kind": stage.kind, "items": counts[stage.name]} for stage in workflow.stages]
    out[0]["answers"] = answers
    return out


def _annotated(item_id) -> Any:
    return exists().where(AnnotationRevision.item_id == item_id, AnnotationRevision.line == 0, AnnotationRevision.source == "human")


def _answers_started(item_id) -> Any:
    """Some answer task of the item was ever served: it has an assignee, a state past new, or an event."""
    answer = aliased(Task)
    return exists().where(
        answer.item_id == item_id,
        answer.replica > 0,
        or_(answer.state != TaskState.NEW, answer.assignee_id.is_not(None), exists().where(TaskEvent.task_id == answer.id)),
    )


def _open_for_overlap(item_id: int) -> bool:
    task = db.session.scalar(select(Task).where(Task.item_id == item_id, Task.replica == 0))
    if task is None or task.state != TaskState.NEW or task.assignee_id is not None:
        return False
    return not db.session.scalar(select(_annotated(item_id) | _answers_started(item_id)))
