"""Projects, labels, members, items and exports."""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from annotate.api.common import api_blueprint
from annotate.api.schemas import (
    ExportSchema,
    IngestReportSchema,
    ItemSchema,
    JobSchema,
    LabelSchema,
    MemberSchema,
    ProjectSchema,
    ProjectSettingsSchema,
)  # fmt: skip
from annotate.errors import Forbidden
from annotate.extensions import db
from annotate.models import Item
from annotate.services import access, exports, media, projects
from annotate.services.access import MANAGERS
from annotate.web import read_uploads

blp = api_blueprint("projects", __name__, "Projects, their labels, members, items and exports.")


def _project_out(project, role) -> dict:
    return {
        "id": project.id, "name": project.name, "description": project.description, "labels": project.labels,
        "role": role, "progress": projects.progress(project), "created_at": project.created_at,
        "prelabel_threshold": project.prelabel_threshold, "review_rate": project.review_rate,
        "max_review_rounds": project.max_review_rounds,
    }  # fmt: skip


@blp.route("/projects")
class Projects(MethodView):
    @blp.response(200, ProjectSchema(many=True))
    def get(self):
        """List the projects the caller can open."""
        return [_project_out(p, r) for p, r in access.visible_projects(current_user)]

    @blp.arguments(ProjectSchema)
    @blp.response(201, ProjectSchema)
    def post(self, data):
        """Create a project with its labels (admins and managers)."""
        if current_user.role not in MANAGERS:
            raise Forbidden("only admins and managers create projects")
        project = projects.create_project(current_user.org_id, data["name"], data["description"], data["labels"])
        if current_user.role != "admin":
            projects.set_member(project, current_user.username, "manager")
        return _project_out(project, "manager" if current_user.role != "admin" else "admin")


@blp.route("/projects/<int:project_id>")
class ProjectById(MethodView):
    @blp.response(200, ProjectSchema)
    def get(self, project_id: int):
        """Get a project with its labels and progress per state."""
        project, role = access.get_project(project_id, current_user)
        return _project_out(project, role)

    @blp.arguments(ProjectSettingsSchema)
    @blp.response(200, ProjectSchema)
    def patch(self, data, project_id: int):
        """Change the description, pre-label threshold, review rate or review-round limit (managers)."""
        project, role = access.get_project(project_id, current_user, MANAGERS)
        projects.update_settings(project, **data)
        return _project_out(project, role)


@blp.route("/projects/<int:project_id>/labels")
class Labels(MethodView):
    @blp.response(200, LabelSchema(many=True))
    def get(self, project_id: int):
        """List the project's labels."""
        project, _ = access.get_project(project_id, current_user)
        return project.labels

    @blp.arguments(LabelSchema)
    @blp.response(201, LabelSchema)
    def post(self, data, project_id: int):
        """Add a label (managers)."""
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        return projects.add_label(project, data)


@blp.route("/projects/<int:project_id>/members")
class Members(MethodView):
    @blp.response(200, MemberSchema(many=True))
    def get(self, project_id: int):
        """List the project's members (managers)."""
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        return [{"username": m.user.username, "role": m.role} for m in projects.members(project)]

    @blp.arguments(MemberSchema)
    @blp.response(200, MemberSchema)
    def put(self, data, project_id: int):
        """Give a user of the organization a role in the project (managers)."""
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        member = projects.set_member(project, data["username"], data["role"])
        return {"username": member.user.username, "role": member.role}


def item_out(item: Item) -> dict:
    """Return an item as the API shows it."""
    return {
        "id": item.id, "name": item.name, "path": item.path, "kind": item.kind, "width": item.width,
        "height": item.height, "frame_index": item.frame_index, "sha256": item.sha256,
        "image_url": url_for("media.image", item_id=item.id), "thumbnail_url": url_for("media.thumbnail", item_id=item.id),
    }  # fmt: skip


@blp.route("/projects/<int:project_id>/items")
class Items(MethodView):
    @blp.response(200, ItemSchema(many=True))
    def get(self, project_id: int):
        """List the project's items (managers and reviewers)."""
        project, _ = access.get_project(project_id, current_user, access.REVIEWERS)
        return [item_out(i) for i in db.session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id))]

    @blp.response(201, IngestReportSchema)
    @blp.doc(
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "skip_invalid": {"type": "boolean"},
                            "frame_step": {"type": "integer", "minimum": 1},
                        },
                    }
                }
            }
        }
    )
    def post(self, project_id: int):
        """Upload images, videos (mp4, avi, ...) and zips as multipart field ``files`` (managers).

        All or nothing unless ``skip_invalid=true``: a refused file refuses the whole upload.
        """
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        uploads = read_uploads(request.files.getlist("files"))
        skip = request.form.get("skip_invalid", "").lower() in ("1", "true", "yes", "on")
        step = request.form.get("frame_step", "1")
        if not step.isdigit():
            from annotate.errors import ValidationFailed

            raise ValidationFailed("frame_step must be a whole number", {"frame_step": "not a number"})
        return media.ingest(project, uploads, skip_invalid=skip, frame_step=int(step)).to_dict()


@blp.route("/projects/<int:project_id>/exports")
class Exports(MethodView):
    @blp.arguments(ExportSchema)
    @blp.response(202, JobSchema)
    def post(self, data, project_id: int):
        """Start an export job (managers); poll ``/api/v1/jobs/<id>``, then download."""
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        return exports.start_export(
            project, current_user, data["format"], include_images=data["include_images"], accepted_only=data["accepted_only"]
        )
