"""Model versions: list, register a file, pin and unpin, set the metric gate, train, cancel, pre-label."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotate.api.common import api_blueprint
from annotate.api.schemas import JobSchema, ModelVersionSchema, TrainSchema, id_field
from annotate.errors import ValidationFailed
from annotate.services import access, models
from annotate.services.access import MANAGERS
from annotate.web import read_uploads

blp = api_blueprint("models", __name__, "Model versions, training and pre-labeling.")


class ModelVersionDetailSchema(ModelVersionSchema):
    """A model version with what it was trained on and whether it passed the metric gate."""

    input_size = fields.Int(allow_none=True)
    snapshot = fields.Dict()
    passed_gate = fields.Bool()


class ModelStateSchema(Schema):
    """Which version pre-labeling uses: ``latest_version_id`` is the pinned one, else the newest that passed the gate."""

    metric_gate = fields.Float()
    pinned_version_id = fields.Int(allow_none=True)
    latest_version_id = fields.Int(allow_none=True)


class PrelabelRequestSchema(Schema):
    """What to pre-label: chosen items (default: every untouched item) with a chosen version (default: the latest)."""

    item_ids = fields.List(id_field(), load_default=None, validate=validate.Length(1, 10000))
    model_version_id = id_field(load_default=None)


class TrainRequestSchema(TrainSchema):
    """A training request: detection on accepted boxes, or classification on accepted image-level tags."""

    task = fields.Str(load_default="detection", validate=validate.OneOf(models.TASK_TYPES))
    architecture = fields.Str(load_default=None)


class GateSchema(Schema):
    """A new metric gate: the minimum held-out mAP@.5 for a trained version to become the latest."""

    metric_gate = fields.Float(required=True, validate=validate.Range(0, 1))


def _state(project) -> dict:
    latest = models.latest_version(project)
    return {
        "metric_gate": project.metric_gate,
        "pinned_version_id": project.pinned_model_version_id,
        "latest_version_id": latest.id if latest else None,
    }


@blp.route("/projects/<int:project_id>/models")
class Models(MethodView):
    @blp.response(200, ModelVersionDetailSchema(many=True))
    def get(self, project_id: int):
        """List the project's model versions, newest first (managers)."""
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        return models.versions(project)

    @blp.response(201, ModelVersionDetailSchema)
    def post(self, project_id: int):
        """Register a model file (multipart: ``file``, ``format``, ``architecture``, ``labels``
        as comma-separated names in class order) as the project's newest version (managers).

        With ``format=builtin`` and ``architecture`` one of ``opencv_hog_people`` or
        ``mtcnn_faces``, a detector shipped with the packages is registered instead (no file,
        no labels: they come with it; the project needs its shape label).
        """
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        if request.form.get("format") == "builtin":
            return models.add_builtin_version(project, request.form.get("architecture", ""), user_id=current_user.id)
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed("send the model file as multipart field 'file'", {"file": "required"})
        labels = [n.strip() for n in request.form.get("labels", "").split(",") if n.strip()]
        return models.add_version(
            project, architecture=request.form.get("architecture", ""), file_format=request.form.get("format", "annotate"),
            label_names=labels, data=read_uploads([upload])[0][1], origin="registered", user_id=current_user.id,
        )  # fmt: skip


@blp.route("/projects/<int:project_id>/train", methods=["POST"])
@blp.arguments(TrainRequestSchema)
@blp.response(202, JobSchema)
def train(data, project_id: int):
    """Start training a detector on accepted boxes, or a classifier on accepted tags (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return models.start_training(
        project, current_user, epochs=data["epochs"], prelabel_after=data["prelabel_after"], task=data["task"],
        architecture=data["architecture"],
    )  # fmt: skip


@blp.route("/projects/<int:project_id>/prelabel", methods=["POST"])
@blp.arguments(PrelabelRequestSchema)
@blp.response(202, JobSchema)
def prelabel(data, project_id: int):
    """Pre-label chosen items, or every untouched item, with a chosen or the latest version (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    version = models.get_version(project, data["model_version_id"]) if data["model_version_id"] is not None else None
    return models.start_prelabel(project, current_user, version, item_ids=data["item_ids"])


@blp.route("/projects/<int:project_id>/models/state", methods=["GET"])
@blp.response(200, ModelStateSchema)
def state(project_id: int):
    """Show the metric gate, the pinned version and the latest version (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return _state(project)


@blp.route("/projects/<int:project_id>/models/<int:version_id>/pin", methods=["POST"])
@blp.response(200, ModelStateSchema)
def pin(project_id: int, version_id: int):
    """Pin a version as the latest, whatever its gate; pin an older one to roll back (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    models.pin_version(project, version_id)
    return _state(project)


@blp.route("/projects/<int:project_id>/models/pin", methods=["DELETE"])
@blp.response(200, ModelStateSchema)
def unpin(project_id: int):
    """Unpin: the latest is the newest version that passed the gate again (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    models.unpin(project)
    return _state(project)


@blp.route("/projects/<int:project_id>/models/gate", methods=["POST"])
@blp.arguments(GateSchema)
@blp.response(200, ModelStateSchema)
def gate(data, project_id: int):
    """Set the minimum held-out mAP@.5 a newly trained version needs to become the latest (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    models.set_metric_gate(project, data["metric_gate"])
    return _state(project)


@blp.route("/projects/<int:project_id>/train/<job_id>/cancel", methods=["POST"])
@blp.response(202, JobSchema)
def cancel_training(project_id: int, job_id: str):
    """Ask a queued or running training job to stop; it ends as failed, "cancelled" (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return models.cancel_training(project, job_id)
