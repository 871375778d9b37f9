"""Projects, label specs, members and progress."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select

from annotate.errors import Conflict, NotFound, ValidationFailed
from annotate.extensions import db
from annotate.models import Label, LabelKind, Project, ProjectMember, Task, User
from workflows import ReviewStage, Role, TaskState, Workflow

# A qualitative palette with good contrast on photos (Sasha Trubetskoy's 20 colours).
PALETTE = [
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
]  # fmt: skip
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: The highest ``Project.max_review_rounds`` a manager may set.
MAX_REVIEW_ROUNDS = 20


def create_project(org_id: int, name: str, description: str = "", labels: Iterable[dict] = ()) -> Project:
    """Create a project with its labels (committed).

    Args:
        org_id: the owning organization.
        name: unique within the organization.
        description: free text.
        labels: dicts ``{"name", "kind": "shape"|"tag", "color"?}``.

    Raises:
        ValidationFailed: empty name or a bad label.
        Conflict: the name is taken in this organization.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("a project needs a name", {"name": "required"})
    if db.session.scalar(select(Project).where(Project.org_id == org_id, Project.name == name)):
        raise Conflict(f"a project named {name!r} already exists", {"name": "taken"})
    project = Project(org_id=org_id, name=name, description=description or "")
    db.session.add(project)
    db.session.flush()
    for spec in labels:
        _add_label(project, spec)
    db.session.commit()
    return project


def add_label(project: Project, spec: dict) -> Label:
    """Add one label to ``project`` (committed).

    Raises:
        ValidationFailed: bad name, kind or color.
        Conflict: the project already has a label with this name.
    """
    label = _add_label(project, spec)
    db.session.commit()
    return label


def _add_label(project: Project, spec: dict) -> Label:
    name = str(spec.get("name") or "").strip()
    kind = spec.get("kind") or LabelKind.SHAPE
    color = spec.get("color") or PALETTE[len(project.labels) % len(PALETTE)]
    errors = {}
    if not name or len(name) > 100:
        errors["name"] = "a label needs a name of 1-100 characters"
    if kind not in {k.value for k in LabelKind}:
        errors["kind"] = "must be 'shape' or 'tag'"
    if not _COLOR.match(color):
        errors["color"] = "must look like #rrggbb"
    if errors:
        raise ValidationFailed(f"label {name!r} is not valid", errors)
    if any(label.name == name for label in project.labels):
        raise Conflict(f"project {project.name!r} already has a label {name!r}", {"name": "taken"})
    label = Label(name=name, kind=kind, color=color.lower(), position=len(project.labels))
    project.labels.append(label)
    db.session.flush()
    return label


def parse_label_lines(text: str) -> list[dict]:
    """Parse a label list typed by a person: one label a line, ``name`` or ``name:tag``.

    Example: ``"person\\ncar\\noutdoor:tag"``. Blank lines are ignored.
    """
    specs = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        name, _, kind = line.partition(":")
        specs.append({"name": name.strip(), "kind": kind.strip() or LabelKind.SHAPE})
    return specs


def set_member(project: Project, username: str, role: str) -> ProjectMember:
    """Give a user of the project's organization a role in it (committed).

    Raises:
        NotFound: no such user in this organization.
        ValidationFailed: a role other than manager, reviewer or labeler.
    """
    if role not in (Role.MANAGER, Role.REVIEWER, Role.LABELER):
        raise ValidationFailed("a project role is manager, reviewer or labeler", {"role": "invalid"})
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or user.org_id != project.org_id:
        raise NotFound(f"user {username!r} not found in this organization", {"username": "unknown"})
    member = db.session.scalar(select(ProjectMember).where(ProjectMember.project_id == project.id, ProjectMember.user_id == user.id))
    if member is None:
        member = ProjectMember(project_id=project.id, user_id=user.id, role=role)
        db.session.add(member)
    member.role = role
    db.session.commit()
    return member


def members(project: Project) -> list[ProjectMember]:
    """Return the project's members, by username."""
    return list(db.session.scalars(select(ProjectMember).join(User).where(ProjectMember.project_id == project.id).order_by(User.username)))


def update_settings(
    project: Project,
    *,
    prelabel_threshold: float | None = None,
    description: str | None = None,
    review_rate: float | None = None,
    max_review_rounds: int | None = None,
) -> Project:
    """Change a project's settings (committed); a setting left None is unchanged.

    Args:
        prelabel_threshold: pre-labels scoring below this (0 to 1) are not stored.
        description: free text.
        review_rate: the share (0 to 1) of submitted items that go to review; the others are
            accepted by the system. 1 reviews everything. Sets the workflow's review stage
            (adding one before accept if it has none).
        max_review_rounds: the rejection (0 to 20) that escalates a task to a manager instead
            of returning it to its labeler; 0 never escalates. Sets the review stage too.

    Raises:
        ValidationFailed: a value out of range; nothing is changed then.
    """
    errors = {}
    if prelabel_threshold is not None and not 0.0 <= prelabel_threshold <= 1.0:
        errors["prelabel_threshold"] = "out of range"
    if review_rate is not None and not 0.0 <= review_rate <= 1.0:
        errors["review_rate"] = "out of range: from 0 to 1"
    whole = isinstance(max_review_rounds, int) and not isinstance(max_review_rounds, bool)
    if max_review_rounds is not None and not (whole and 0 <= max_review_rounds <= MAX_REVIEW_ROUNDS):
        errors["max_review_rounds"] = f"out of range: a whole number from 0 to {MAX_REVIEW_ROUNDS}"
    if errors:
        message = "the pre-label threshold must be from 0 to 1" if list(errors) == ["prelabel_threshold"] else "invalid project settings"
        raise ValidationFailed(message, errors)
    if prelabel_threshold is not None:
        project.prelabel_threshold = prelabel_threshold
    if description is not None:
        project.description = description
    if review_rate is not None or max_review_rounds is not None:
        project.workflow = _with_review(project.flow, review_rate, max_review_rounds).to_data()
    db.session.commit()
    return project


def _with_review(workflow: Workflow, rate: float | None, rounds: int | None) -> Workflow:
    """The workflow with its review stage's rate and rounds changed (a review stage added if none)."""
    current = workflow.review or ReviewStage(rate=0.0)
    review = ReviewStage(
        name=current.name, roles=current.roles,
        rate=current.rate if rate is None else float(rate), max_rounds=current.max_rounds if rounds is None else int(rounds),
    )  # fmt: skip
    return workflow.replace(review=review)


def progress(project: Project) -> dict[str, int]:
    """Count the project's items per state of their own task; every state is present, zero when empty.

    Answer tasks of overlapping labelers are not counted: an item counts once.
    """
    counts = dict(
        db.session.execute(
            select(Task.state, func.count()).where(Task.project_id == project.id, Task.replica == 0).group_by(Task.state)
        ).all()
    )
    # ``merged`` is a state of answer tasks only.
    return {state.value: counts.get(state.value, 0) for state in TaskState if state != TaskState.MERGED}


def label_map(project: Project) -> dict[str, Label]:
    """Return the project's labels by name."""
    return {label.name: label for label in project.labels}
