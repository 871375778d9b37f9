"""Quality control: gold items, per-labeler quality figures (JSON or CSV), settings and unpausing."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotate.api.common import api_blueprint, csv_response
from annotate.api.schemas import id_field
from annotate.services import access, quality
from annotate.services.access import MANAGERS

blp = api_blueprint("quality_api", __name__, "Gold items mixed into labelers' queues, quality figures per labeler, and pauses.")


class QualityQuery(Schema):
    """The answer's format."""

    format = fields.Str(load_default="json", validate=validate.OneOf(["json", "csv"]))


class GoldSchema(Schema):
    """An item to make gold, with its answer (default: the item's accepted annotation)."""

    item_id = id_field(required=True)
    annotation = fields.Dict(load_default=None, metadata={"description": "the known answer; default: the latest accepted revision"})


class QualitySettingsSchema(Schema):
    """The project's quality settings."""

    gold_rate = fields.Float(validate=validate.Range(0, 1))
    quality_threshold = fields.Float(validate=validate.Range(0, 1))
    auto_pause = fields.Bool()


@blp.route("/projects/<int:project_id>/quality")
@blp.arguments(QualityQuery, location="query")
def quality_figures(query, project_id: int):
    """Per labeler: gold accuracy with a 95 % Wilson interval, acceptance, speed, flags; per project: throughput and labels (managers).

    ``?format=csv`` returns the per-labeler rows as CSV.
    """
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    rows = quality.labeler_figures(project)
    if query["format"] == "csv":
        return csv_response(quality.figures_csv(rows), f"quality-project-{project.id}.csv")
    return {"project_id": project.id, "labelers": rows, **quality.project_figures(project)}


@blp.route("/projects/<int:project_id>/quality", methods=["PATCH"])
@blp.arguments(QualitySettingsSchema)
def quality_settings(data, project_id: int):
    """Change the gold rate, quality threshold and auto-pause (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    quality.update_settings(project, **data)
    return {"gold_rate": project.gold_rate, "quality_threshold": project.quality_threshold, "auto_pause": project.auto_pause}


@blp.route("/projects/<int:project_id>/gold")
def list_gold(project_id: int):
    """List the project's gold items with their answers and mean scores (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return quality.gold_items(project)


@blp.route("/projects/<int:project_id>/gold", methods=["POST"])
@blp.arguments(GoldSchema)
def mark_gold(data, project_id: int):
    """Make an item gold; 409 when no answer is given and the item is not accepted (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    gold = quality.mark_gold(project, data["item_id"], current_user, data["annotation"])
    return {"item_id": gold.item_id, "revision_id": gold.revision_id, "annotation": gold.document}, 201


@blp.route("/projects/<int:project_id>/gold/<int:item_id>", methods=["DELETE"])
def unmark_gold(project_id: int, item_id: int):
    """Stop using an item as gold; its answers are deleted (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    quality.unmark_gold(project, item_id)
    return "", 204


@blp.route("/projects/<int:project_id>/labelers/<int:user_id>/unpause", methods=["POST"])
def unpause(project_id: int, user_id: int):
    """Let a paused labeler work again, until their next scored gold answer (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    quality.unpause(project, user_id, current_user)
    return {"user_id": user_id, "paused": False}
