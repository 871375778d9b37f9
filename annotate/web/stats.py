"""The project's statistics page: the work pre-labels save per model version, and the queue order."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from annotate.services import access, work_saved
from annotate.services.access import MANAGERS

bp = Blueprint("stats", __name__)


@bp.get("/projects/<int:project_id>/stats")
@login_required
def project(project_id: int):
    """Figures per model version and per day, with plots, and the queue-order form (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return render_template(
        "stats/project.html", project=project, figures=work_saved.version_figures(project),
        timeline=work_saved.project_timeline(project), queue_orders=work_saved.QUEUE_ORDERS,
    )  # fmt: skip


@bp.post("/projects/<int:project_id>/stats/queue-order")
@login_required
def queue_order(project_id: int):
    """Set how "next task" orders new items (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    work_saved.set_queue_order(project, request.form.get("queue_order", ""))
    flash(f"New items are now served in {project.queue_order.replace('_', ' ')} order.", "success")
    return redirect(url_for("stats.project", project_id=project.id) + "#queue")
