"""A project's workflow (stages as data), per-item overlap, and progress by stage."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from marshmallow import Schema, fields

from annotate.api.common import api_blueprint
from annotate.errors import NotFound, ValidationFailed
from annotate.extensions import db
from annotate.models import Item
from annotate.services import access, workflow
from annotate.services.access import MANAGERS
from workflows.definition import schema

blp = api_blueprint("workflow_api", __name__, "A project's workflow: stages, overlap, consensus and review rules.")


class OverlapSchema(Schema):
    """How many labelers answer one item; null returns it to the workflow's overlap."""

    overlap = fields.Int(required=True, allow_none=True, strict=True)


def _workflow_out(project) -> dict:
    return {"workflow": project.flow.to_data(), "progress": workflow.progress_by_stage(project)}


@blp.route("/projects/<int:project_id>/workflow", methods=["GET"])
def get_workflow(project_id: int):
    """Get the project's workflow (every default written out) and its items per stage."""
    project, _ = access.get_project(project_id, current_user)
    return _workflow_out(project)


@blp.route("/projects/<int:project_id>/workflow", methods=["PUT"])
def put_workflow(project_id: int):
    """Replace the project's workflow (managers); the body is a document of ``schemas/workflow/v1.json``.

    Answer tasks are added or removed to match the new overlap on items nobody has labeled yet;
    started answers are kept. A 422 names each invalid field by path (``stages/1/overlap``).
    """
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationFailed("send the workflow as a JSON body", {"body": "not JSON"})
    workflow.set_workflow(project, data)
    return _workflow_out(project)


@blp.route("/workflow-schema", methods=["GET"])
def workflow_schema():
    """Get the workflow JSON Schema (``schemas/workflow/v1.json``)."""
    return schema()


@blp.route("/projects/<int:project_id>/items/<int:item_id>/overlap", methods=["PUT"])
@blp.arguments(OverlapSchema)
def put_overlap(data, project_id: int, item_id: int):
    """Set how many labelers answer one item (managers); only before anybody has labeled it."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    item = db.session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise NotFound(f"item {item_id} not found in project {project.id}")
    workflow.set_item_overlap(project, item, data["overlap"])
    return {"item_id": item.id, "overlap": item.overlap, "effective_overlap": project.flow.overlap_for(item.overlap)}
