"""Model versions: list, register a file, train, pre-label."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_login import current_user

from annotate.api.common import api_blueprint
from annotate.api.schemas import JobSchema, ModelVersionSchema, TrainSchema
from annotate.errors import ValidationFailed
from annotate.services import access, models
from annotate.services.access import MANAGERS
from annotate.web import read_uploads

blp = api_blueprint("models", __name__, "Model versions, training and pre-labeling.")


@blp.route("/projects/<int:project_id>/models")
class Models(MethodView):
    @blp.response(200, ModelVersionSchema(many=True))
    def get(self, project_id: int):
        """List the project's model versions, newest first (managers)."""
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        return models.versions(project)

    @blp.response(201, ModelVersionSchema)
    def post(self, project_id: int):
        """Register a model file (multipart: ``file``, ``format``, ``architecture``, ``labels``
        as comma-separated names in class order) as the project's newest version (managers)."""
        project, _ = access.get_project(project_id, current_user, MANAGERS)
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed("send the model file as multipart field 'file'", {"file": "required"})
        labels = [n.strip() for n in request.form.get("labels", "").split(",") if n.strip()]
        return models.add_version(
            project, architecture=request.form.get("architecture", ""), file_format=request.form.get("format", "annotate"),
            label_names=labels, data=read_uploads([upload])[0][1], origin="registered", user_id=current_user.id,
        )  # fmt: skip


@blp.route("/projects/<int:project_id>/train", methods=["POST"])
@blp.arguments(TrainSchema)
@blp.response(202, JobSchema)
def train(data, project_id: int):
    """Start training on the project's accepted boxes (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return models.start_training(project, current_user, epochs=data["epochs"], prelabel_after=data["prelabel_after"])


@blp.route("/projects/<int:project_id>/prelabel", methods=["POST"])
@blp.response(202, JobSchema)
def prelabel(project_id: int):
    """Pre-label untouched items with the latest model version (managers)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return models.start_prelabel(project, current_user)
