"""The labeling tool's pages: start labeling, and one task in the tool."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from annotate.services import access, tasks
from workflows import Role

bp = Blueprint("label", __name__)
LABELING = (Role.LABELER, Role.MANAGER, Role.ADMIN)


@bp.post("/projects/<int:project_id>/label/start")
@login_required
def start(project_id: int):
    """Serve the caller's next task and open it in the tool."""
    project, role = access.get_project(project_id, current_user, LABELING)
    task = tasks.next_task(project, current_user, role)
    if task is None:
        flash(f"No tasks left to label in {project.name}.", "info")
        return redirect(url_for("home.index"))
    return redirect(url_for("label.task", task_id=task.id))


@bp.get("/label/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    """Open one task in the labeling tool."""
    task, _role = access.get_task(task_id, current_user)
    config = {
        "taskId": task.id,
        "apiBase": "/api/v1",
        "csrfToken": generate_csrf(),
        "user": current_user.username,
        "homeUrl": url_for("home.index"),
        "taskUrlTemplate": "/label/tasks/{id}",
    }
    return render_template("tool/label.html", config=config, task=task)
