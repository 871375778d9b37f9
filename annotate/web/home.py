"""The home page: each person's projects and what they can do in each."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from annotate.services import access, projects
from workflows import Role

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    """List the caller's projects with progress and the actions their role allows."""
    rows = [
        {"project": project, "role": role, "progress": projects.progress(project)}
        for project, role in access.visible_projects(current_user)
    ]
    can_create = current_user.role in (Role.ADMIN, Role.MANAGER)
    return render_template("home.html", rows=rows, can_create=can_create, Role=Role)
