"""The project's quality page: per-labeler gold accuracy and speed, throughput and labels."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from annotate.services import access, quality
from annotate.services.access import MANAGERS

bp = Blueprint("quality", __name__)


@bp.get("/projects/<int:project_id>/quality")
@login_required
def project(project_id: int):
    """Per-labeler quality with bar plots, per-day throughput and the label distribution (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return render_template(
        "quality/project.html", project=project, labelers=quality.labeler_figures(project),
        figures=quality.project_figures(project), gold=quality.gold_items(project), min_gold=quality.MIN_GOLD_ANSWERS,
    )  # fmt: skip


@bp.post("/projects/<int:project_id>/quality/unpause/<int:user_id>")
@login_required
def unpause(project_id: int, user_id: int):
    """Let a paused labeler work again (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    quality.unpause(project, user_id, current_user)
    flash("The labeler can work again.", "success")
    return redirect(url_for("quality.project", project_id=project.id))
