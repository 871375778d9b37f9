"""Review pages: the queue of submitted (and, for managers, escalated) items, and deciding on one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from annotate.errors import ValidationFailed
from annotate.extensions import db
from annotate.models import Project
from annotate.services import access, annotations, tasks
from annotate.services.access import MANAGERS, REVIEWERS
from workflows import Action, TaskState

bp = Blueprint("review", __name__)


@bp.get("/projects/<int:project_id>/review")
@login_required
def queue(project_id: int):
    """List the project's submitted items, oldest first; managers see escalated items first."""
    project, role = access.get_project(project_id, current_user, REVIEWERS)
    waiting = tasks.review_queue(project, escalated=role in MANAGERS)
    return render_template("review/queue.html", project=project, tasks=waiting, escalated_state=TaskState.ESCALATED)


@bp.get("/review/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    """Show a submitted item with its shapes, and the accept / reject forms (reject = reopen when escalated)."""
    task, _ = access.get_task(task_id, current_user, REVIEWERS)
    project = db.session.get(Project, task.project_id)
    document, revision = annotations.latest_document(task.item_id)
    history = [
        {
            "action": e.action,
            "actor": e.actor.username if e.actor else "",
            "comment": e.comment,
            "pin": e.pin,
            "created_at": e.created_at.isoformat(),
        }
        for e in tasks.history(task)
    ]
    labels = [{"id": label.id, "name": label.name, "color": label.color, "kind": label.kind} for label in project.labels]
    # A merged item: the reviewer compares the labelers' answers with the consensus.
    answers = tasks.answers_of(task) if task.replica == 0 else []
    return render_template(
        "review/task.html", task=task, item=task.item, project=project, annotation=document, revision=revision, answers=answers,
        labels=labels, history=history, image_url=url_for("media.image", item_id=task.item_id),
        accept_url=url_for("review.decide", task_id=task.id, decision="accept"),
        reject_url=url_for("review.decide", task_id=task.id, decision="reopen" if task.state == TaskState.ESCALATED else "reject"),
        queue_url=url_for("review.queue", project_id=project.id),
    )  # fmt: skip


def _form_pin() -> dict[str, float] | None:
    """The reviewer's pin from the reject form's ``pin_x`` / ``pin_y`` (image pixels), or None."""
    raw_x, raw_y = (request.form.get("pin_x") or "").strip(), (request.form.get("pin_y") or "").strip()
    if not raw_x and not raw_y:
        return None
    try:
        return {"x": float(raw_x), "y": float(raw_y)}
    except ValueError:
        raise ValidationFailed("the pin must be two numbers (pixels)", {"pin": "invalid"}) from None


_OUTCOMES = {
    Action.ACCEPT: "accepted",
    Action.REJECT: "sent back to its labeler",
    Action.ESCALATE: "escalated to a manager (too many review rounds)",
    Action.REOPEN: "sent back to its labeler",
}


@bp.post("/review/tasks/<int:task_id>/<any(accept, reject, reopen):decision>")
@login_required
def decide(task_id: int, decision: str):
    """Accept, reject or reopen the task, then open the next one in the caller's queue."""
    task, role = access.get_task(task_id, current_user, REVIEWERS)
    event = tasks.review(task, current_user, role, decision, request.form.get("comment", ""), _form_pin())
    outcome = _OUTCOMES[Action(event.action)]
    if event.action in (Action.REJECT, Action.REOPEN) and task.assignee_id is None:
        outcome = "sent back for any labeler to fix (it was merged from several answers)"
    flash(f"Item {task.item.name} {outcome}.", "success")
    remaining = tasks.review_queue(db.session.get(Project, task.project_id), limit=1, escalated=role in MANAGERS)
    if remaining:
        return redirect(url_for("review.task", task_id=remaining[0].id))
    return redirect(url_for("review.queue", project_id=task.project_id))
