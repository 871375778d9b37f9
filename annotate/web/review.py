"""Review pages: the queue of submitted items, and accepting or rejecting one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from annotate.extensions import db
from annotate.models import Project
from annotate.services import access, annotations, tasks
from annotate.services.access import REVIEWERS

bp = Blueprint("review", __name__)


@bp.get("/projects/<int:project_id>/review")
@login_required
def queue(project_id: int):
    """List the project's submitted items, oldest first."""
    project, _ = access.get_project(project_id, current_user, REVIEWERS)
    return render_template("review/queue.html", project=project, tasks=tasks.review_queue(project))


@bp.get("/review/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    """Show a submitted item with its shapes, and the accept / reject forms."""
    task, _ = access.get_task(task_id, current_user, REVIEWERS)
    project = db.session.get(Project, task.project_id)
    document, revision = annotations.latest_document(task.item_id)
    history = [
        {"action": e.action, "actor": e.actor.username if e.actor else "", "comment": e.comment, "created_at": e.created_at.isoformat()}
        for e in tasks.history(task)
    ]
    labels = [{"id": label.id, "name": label.name, "color": label.color, "kind": label.kind} for label in project.labels]
    return render_template(
        "review/task.html", task=task, item=task.item, project=project, annotation=document, revision=revision,
        labels=labels, history=history, image_url=url_for("media.image", item_id=task.item_id),
        accept_url=url_for("review.decide", task_id=task.id, decision="accept"),
        reject_url=url_for("review.decide", task_id=task.id, decision="reject"),
        queue_url=url_for("review.queue", project_id=project.id),
    )  # fmt: skip


@bp.post("/review/tasks/<int:task_id>/<any(accept, reject):decision>")
@login_required
def decide(task_id: int, decision: str):
    """Accept or reject the task, then open the next one in the queue."""
    task, role = access.get_task(task_id, current_user, REVIEWERS)
    tasks.review(task, current_user, role, decision, request.form.get("comment", ""))
    flash(f"Item {task.item.name} {'accepted' if decision == 'accept' else 'sent back to its labeler'}.", "success")
    remaining = tasks.review_queue(db.session.get(Project, task.project_id), limit=1)
    if remaining:
        return redirect(url_for("review.task", task_id=remaining[0].id))
    return redirect(url_for("review.queue", project_id=task.project_id))
