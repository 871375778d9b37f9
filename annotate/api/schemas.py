"""Marshmallow schemas of the API's resources."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from annotate.app import MAX_URL_ID


def id_field(**kwargs) -> fields.Int:
    """An id given in a body or query: an integer from 1 to :data:`annotate.app.MAX_URL_ID`.

    A larger number would crash the database driver (SQLite's OverflowError) instead of
    finding nothing, so it is refused with a 422 naming the field.
    """
    return fields.Int(validate=validate.Range(1, MAX_URL_ID), **kwargs)


def revision_field(**kwargs) -> fields.Int:
    """A revision number given in a body: an integer from 0 (no revision) to :data:`annotate.app.MAX_URL_ID`."""
    return fields.Int(validate=validate.Range(0, MAX_URL_ID), **kwargs)


class LabelSchema(Schema):
    """A project label."""

    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(1, 100))
    color = fields.Str(load_default=None, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"))
    kind = fields.Str(load_default="shape", validate=validate.OneOf(["shape", "tag"]))


class ProjectSchema(Schema):
    """A project; ``progress`` counts tasks per state."""

    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    description = fields.Str(load_default="")
    labels = fields.List(fields.Nested(LabelSchema), load_default=list)
    prelabel_threshold = fields.Float(dump_only=True)
    review_rate = fields.Float(dump_only=True)
    max_review_rounds = fields.Int(dump_only=True)
    role = fields.Str(dump_only=True)
    progress = fields.Dict(keys=fields.Str(), values=fields.Int(), dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ProjectSettingsSchema(Schema):
    """Settings a manager may change."""

    description = fields.Str()
    prelabel_threshold = fields.Float(validate=validate.Range(0, 1))
    #: The share of submitted items that go to review; the rest are accepted by the system.
    review_rate = fields.Float(validate=validate.Range(0, 1))
    #: The rejection that escalates a task to a manager; 0 never escalates.
    max_review_rounds = fields.Int(strict=True, validate=validate.Range(0, 20))


class MemberSchema(Schema):
    """A project member."""

    username = fields.Str(required=True)
    role = fields.Str(required=True, validate=validate.OneOf(["manager", "reviewer", "labeler"]))


class ItemSchema(Schema):
    """An item: an image or a video frame. Sizes are pixels after EXIF orientation."""

    id = fields.Int()
    name = fields.Str()
    path = fields.Str()
    kind = fields.Str()
    width = fields.Int()
    height = fields.Int()
    frame_index = fields.Int(allow_none=True)
    sha256 = fields.Str()
    image_url = fields.Str()
    thumbnail_url = fields.Str()


class IngestReportSchema(Schema):
    """What an upload did."""

    added = fields.Int()
    duplicates = fields.List(fields.Str())
    videos = fields.List(fields.Str())
    errors = fields.Dict(keys=fields.Str(), values=fields.Str())


class NextTaskQuery(Schema):
    """Which project to take the next task from."""

    project = id_field(required=True)


class AnnotationPutSchema(Schema):
    """A save: the whole document and the revision it was based on (0 for none)."""

    base_revision = revision_field(required=True)
    annotation = fields.Dict(required=True)
    active_seconds = fields.Float(
        load_default=0.0, validate=validate.Range(0, 86400),
        metadata={"description": "seconds the person actively worked since their previous save, as the tool measured them"},
    )  # fmt: skip


class SubmitSchema(Schema):
    """A submit; with ``base_revision`` it is refused if the item was saved since."""

    base_revision = revision_field(load_default=None)


class ReviewSchema(Schema):
    """A review decision; rejecting needs a comment."""

    decision = fields.Str(required=True, validate=validate.OneOf(["accept", "reject"]))
    comment = fields.Str(load_default="")
    pin = fields.Dict(
        keys=fields.Str(), values=fields.Raw(), load_default=None, allow_none=True,
        metadata={"description": 'where the comment points: {"x": px, "y": px} in image pixels'},
    )  # fmt: skip


class ExportSchema(Schema):
    """An export request."""

    format = fields.Str(
        required=True, metadata={"description": "coco, voc, yolo, ultralytics, cvat, labelme, labelstudio, via, imagenet or native"}
    )
    include_images = fields.Bool(load_default=True)
    accepted_only = fields.Bool(load_default=True)


class JobSchema(Schema):
    """A background job; ``progress`` runs from 0 to 1."""

    id = fields.Str()
    kind = fields.Str()
    queue = fields.Str()
    status = fields.Str()
    progress = fields.Float()
    message = fields.Str()
    error = fields.Str()
    params = fields.Dict()
    result = fields.Dict()
    project_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    download_url = fields.Method("_download_url")

    def _download_url(self, job) -> str | None:
        if job.kind == "export" and job.status == "finished":
            return f"/jobs/{job.id}/download"
        return None


class ModelVersionSchema(Schema):
    """A model version."""

    id = fields.Int()
    version = fields.Int()
    task_type = fields.Str()
    architecture = fields.Str()
    file_format = fields.Str()
    label_names = fields.List(fields.Str())
    metrics = fields.Dict()
    origin = fields.Str()
    created_at = fields.DateTime()


class TrainSchema(Schema):
    """A training request."""

    epochs = fields.Int(load_default=None, validate=validate.Range(1, 500))
    prelabel_after = fields.Bool(load_default=True)


class TokenCreateSchema(Schema):
    """A new API token's name."""

    name = fields.Str(load_default="token", validate=validate.Length(1, 100))


class TokenSchema(Schema):
    """An API token; ``token`` (the secret) appears only in the response that creates it."""

    id = fields.Int()
    name = fields.Str()
    prefix = fields.Str()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    token = fields.Str()


class SkipSchema(Schema):
    """A skip: the task goes back to the pool and is not served to the caller again."""

    reason = fields.Str(required=True, validate=validate.Length(1, 2000), metadata={"description": "why the task is skipped"})


class LeaseSchema(Schema):
    """The caller's lease on a task after a heartbeat."""

    task_id = fields.Int()
    lease_expires_at = fields.DateTime(metadata={"description": "when the task goes back to the pool unless renewed (UTC)"})
    lease_seconds = fields.Float(metadata={"description": "how long each renewal lasts"})
