"""Background jobs: status and progress."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from annotate.api.common import api_blueprint
from annotate.api.schemas import JobSchema
from annotate.extensions import db
from annotate.models import Job
from annotate.services import access
from annotate.services.access import MANAGERS

blp = api_blueprint("jobs", __name__, "Background jobs (export, train, pre-label).")


@blp.route("/jobs/<job_id>")
@blp.response(200, JobSchema)
def get_job(job_id: str):
    """Get a job's status, progress, error and result."""
    return access.get_job(job_id, current_user)


@blp.route("/projects/<int:project_id>/jobs")
@blp.response(200, JobSchema(many=True))
def project_jobs(project_id: int):
    """List a project's jobs, newest first (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return db.session.scalars(select(Job).where(Job.project_id == project.id).order_by(Job.created_at.desc()).limit(100)).all()
