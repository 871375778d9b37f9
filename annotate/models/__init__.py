"""Typed SQLAlchemy 2 models. Import them from here: ``from annotate.models import Item``."""

from annotate.models.accounts import ApiToken, Membership, Organization, User
from annotate.models.annotations import AnnotationRevision
from annotate.models.jobs import Job, JobStatus
from annotate.models.media import Item, ItemKind, Video
from annotate.models.ml import ModelVersion, PrelabelOutcome, PrelabelRecord
from annotate.models.projects import Label, LabelKind, Project, ProjectMember
from annotate.models.quality import GoldAnswer, GoldItem, LabelerPause
from annotate.models.tasks import Task, TaskEvent

__all__ = [
    "AnnotationRevision",
    "ApiToken",
    "GoldAnswer",
    "GoldItem",
    "Item",
    "ItemKind",
    "Job",
    "JobStatus",
    "Label",
    "LabelKind",
    "LabelerPause",
    "Membership",
    "ModelVersion",
    "Organization",
    "PrelabelOutcome",
    "PrelabelRecord",
    "Project",
    "ProjectMember",
    "Task",
    "TaskEvent",
    "User",
    "Video",
]
