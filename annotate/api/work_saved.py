"""Work saved by pre-labels, per model version, and the queue order (active learning)."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotate.api.common import api_blueprint, csv_response
from annotate.services import access, work_saved
from annotate.services.access import MANAGERS

blp = api_blueprint("work_saved", __name__, "What pre-labels save per model version, and how the queue is ordered.")


class WorkSavedQuery(Schema):
    """The answer's format."""

    format = fields.Str(load_default="json", validate=validate.OneOf(["json", "csv"]))


class QueueOrderSchema(Schema):
    """How "next task" orders new items."""

    queue_order = fields.Str(
        required=True, validate=validate.OneOf(work_saved.QUEUE_ORDERS),
        metadata={"description": "sequential (oldest first), least_confidence or entropy (least sure items first)"},
    )  # fmt: skip


@blp.route("/projects/<int:project_id>/work-saved")
@blp.arguments(WorkSavedQuery, location="query")
def work_saved_figures(query, project_id: int):
    """Figures per model version (precision, recall, edits and active seconds per item) and per day (managers).

    ``?format=csv`` returns the per-version figures as CSV.
    """
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    figures = work_saved.version_figures(project)
    if query["format"] == "csv":
        return csv_response(work_saved.figures_csv(figures), f"work-saved-project-{project.id}.csv")
    timeline = work_saved.project_timeline(project)
    return {"project_id": project.id, "queue_order": project.queue_order, "versions": figures, "timeline": timeline}


@blp.route("/projects/<int:project_id>/queue-order", methods=["POST"])
@blp.arguments(QueueOrderSchema)
def set_queue_order(data, project_id: int):
    """Set how "next task" orders the project's new items (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    work_saved.set_queue_order(project, data["queue_order"])
    return {"queue_order": project.queue_order}
