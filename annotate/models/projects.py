"""Projects, their labels and their members."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotate.extensions import db
from annotate.models.types import JSONType, utcnow
from workflows import Workflow, parse


def _default_workflow() -> dict[str, Any]:
    return Workflow.default().to_data()


@lru_cache(maxsize=256)
def parse_cached(document: str) -> Workflow:
    """Return :func:`workflows.parse` of a JSON text, cached (projects read it on every request)."""
    return parse(json.loads(document))


class LabelKind(StrEnum):
    """``shape`` labels go on boxes and other shapes; ``tag`` labels are image-level tags."""

    SHAPE = "shape"
    TAG = "tag"


class Project(db.Model):
    """A set of items labeled with one label spec, inside one organization."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_project_org_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Pre-labels below this score are not stored.
    prelabel_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    #: A pinned model version id; ``None`` means "the newest version that passed the gate".
    pinned_model_version_id: Mapped[int | None] = mapped_column(Integer)
    #: A new model version becomes the latest only if its held-out mAP@.5 is at least this.
    metric_gate: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    #: How "next task" orders new items: ``sequential`` (by id), ``least_confidence`` or
    #: ``entropy`` (active learning: the items the latest model is least sure about first).
    queue_order: Mapped[str] = mapped_column(String(20), default="sequential", server_default="sequential")
    #: The chance (0..1) that "next task" serves a labeler a gold item instead of new work.
    gold_rate: Mapped[float] = mapped_column(Float, default=0.1, server_default="0.1")
    #: A labeler whose gold accuracy upper bound (95 % Wilson) is below this is flagged.
    quality_threshold: Mapped[float] = mapped_column(Float, default=0.6, server_default="0.6")
    #: Whether a flagged labeler is paused (served no new tasks) until a manager unpauses them.
    auto_pause: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    #: The workflow document (``schemas/workflow/v1.json``); read it through :attr:`flow`.
    workflow: Mapped[dict[str, Any]] = mapped_column(JSONType, default=_default_workflow)
    #: The user ids that extra consensus labels are routed to first (the consensus stage's
    #: ``best_share``), best first; refreshed when an item's answers are concluded. None: nobody rated yet.
    best_labeler_ids: Mapped[list[int] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    labels: Mapped[list[Label]] = relationship(back_populates="project", order_by="Label.position", cascade="all, delete-orphan")

    @property
    def flow(self) -> Workflow:
        """The parsed workflow (parsed once per distinct document, then cached)."""
        document = self.workflow
        # Kept on the instance while ``workflow`` is the same object (a reload or a new
        # workflow replaces it): the hot paths read the flow several times per request.
        cached = self.__dict__.get("_flow")
        if cached is not None and cached[0] is document:
            return cached[1]
        flow = parse_cached(json.dumps(document, sort_keys=True))
        self.__dict__["_flow"] = (document, flow)
        return flow

    @property
    def review_rate(self) -> float:
        """The share (0..1) of submits drawn for review; 0 without a review stage."""
        return self.flow.review_rate

    @property
    def max_review_rounds(self) -> int:
        """The rejection that escalates a task to a manager; 0 never does."""
        return self.flow.max_review_rounds


class Label(db.Model):
    """One label of a project's label spec."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_label_project_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(10), default=LabelKind.SHAPE)
    position: Mapped[int] = mapped_column(default=0)
    project: Mapped[Project] = relationship(back_populates="labels")


class ProjectMember(db.Model):
    """A user's role in one project (manager, reviewer or labeler)."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_member_project_user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    project: Mapped[Project] = relationship()
    user: Mapped[User] = relationship()  # noqa: F821 - resolved by the registry
