"""Project administration for managers: workflow, labels, members, media, exports, models, jobs."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from annotate.errors import Forbidden, ValidationFailed
from annotate.extensions import db
from annotate.models import Item, Job, Video
from annotate.services import access, exports, media, models, projects, workflow
from annotate.services.access import MANAGERS
from annotate.web import read_uploads
from workflows import Role, Workflow, parse

#: Workflows a manager can start from on the project page (the issue's three examples and adaptive overlap).
WORKFLOW_PRESETS = {
    "review": ("Annotate → review → accept", Workflow.default()),
    "consensus": (
        "3 labelers → consensus → review of disagreements → accept",
        parse(
            {
                "version": 1,
                "stages": [
                    {"kind": "annotate", "overlap": 3},
                    {"kind": "consensus"},
                    {"kind": "review", "name": "review of disagreements", "rate": 0},
                    {"kind": "accept"},
                ],
            }
        ),
    ),
    "adaptive": (
        "Tags: 1 labeler, more until 95 % sure (best-rated labelers) → review of the unsure → accept",
        parse(
            {
                "version": 1,
                "stages": [
                    {"kind": "annotate", "overlap": 1},
                    {"kind": "consensus", "method": "dawid_skene", "target_confidence": 0.95, "extra_labels": 4, "best_share": 0.25},
                    {"kind": "review", "name": "review of the unsure", "rate": 0},
                    {"kind": "accept"},
                ],
            }
        ),
    ),
    "audit": (
        "Annotate → audit 10 % → accept",
        parse({"version": 1, "stages": [{"kind": "annotate"}, {"kind": "review", "name": "audit", "rate": 0.1}, {"kind": "accept"}]}),
    ),
}

bp = Blueprint("admin", __name__)


def _whole_number(name: str, default: int | None, minimum: int, maximum: int) -> int | None:
    """Read a whole-number form field, or raise ValidationFailed naming it."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise ValidationFailed(f"{name.replace('_', ' ')} must be a whole number from {minimum} to {maximum}", {name: "invalid"})
    return int(raw)


def _manage_url(project_id: int, anchor: str = "") -> str:
    return url_for("admin.project", project_id=project_id) + (f"#{anchor}" if anchor else "")


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new_project():
    """Create a project with its labels (admins and managers)."""
    if current_user.role not in MANAGERS:
        raise Forbidden("only admins and managers create projects")
    if request.method == "POST":
        project = projects.create_project(
            current_user.org_id, request.form.get("name", ""), request.form.get("description", ""),
            projects.parse_label_lines(request.form.get("labels", "")),
        )  # fmt: skip
        if current_user.role != Role.ADMIN:
            projects.set_member(project, current_user.username, Role.MANAGER)
        flash(f"Project {project.name} created. Now add members and media.", "success")
        return redirect(_manage_url(project.id))
    return render_template("admin/new_project.html")


@bp.get("/projects/<int:project_id>/manage")
@login_required
def project(project_id: int):
    """The project's admin page."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    return _project_page(project)


def _project_page(project, workflow_text: str | None = None, status: int = 200):
    """Render the admin page; ``workflow_text`` keeps a manager's rejected workflow edit in the editor."""
    jobs = db.session.scalars(select(Job).where(Job.project_id == project.id).order_by(Job.created_at.desc()).limit(20)).all()
    items = db.session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id.desc()).limit(24)).all()
    videos = db.session.scalars(select(Video).where(Video.project_id == project.id)).all()
    return render_template(
        "admin/project.html", project=project, progress=projects.progress(project), members=projects.members(project),
        jobs=jobs, items=items, videos=videos, versions=models.versions(project), latest=models.latest_version(project),
        org_users=_org_usernames(), formats=exports.export_choices(), detectors=models.DETECTORS,
        workflow_json=workflow_text if workflow_text is not None else json.dumps(project.flow.to_data(), indent=2),
        stages=workflow.progress_by_stage(project), presets={key: label for key, (label, _) in WORKFLOW_PRESETS.items()},
    ), status  # fmt: skip


@bp.post("/projects/<int:project_id>/workflow")
@login_required
def set_workflow(project_id: int):
    """Replace the project's workflow with a preset or the edited JSON document."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    preset = request.form.get("preset") or ""
    if preset:
        if preset not in WORKFLOW_PRESETS:
            raise ValidationFailed(f"unknown workflow preset {preset!r}", {"preset": "unknown"})
        chosen = workflow.set_workflow(project, WORKFLOW_PRESETS[preset][1].to_data())
    else:
        text = request.form.get("workflow") or ""
        try:
            chosen = workflow.set_workflow(project, json.loads(text))
        except json.JSONDecodeError as exc:
            flash(f"The workflow is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}. Nothing was changed.", "error")
            return _project_page(project, text, 422)
        except ValidationFailed as exc:
            problems = "; ".join(f"{path or 'workflow'}: {message}" for path, message in exc.errors.items())
            flash(f"The workflow was not saved: {problems}", "error")
            return _project_page(project, text, 422)
    flash("Workflow saved: " + " → ".join(_stage_text(stage) for stage in chosen.stages) + ".", "success")
    return redirect(_manage_url(project.id, "workflow"))


def _stage_text(stage) -> str:
    if stage.kind == "annotate" and stage.overlap > 1:
        return f"{stage.name} ({stage.overlap} labelers)"
    if stage.kind == "review" and stage.rate < 1:
        return f"{stage.name} ({stage.rate:.0%})"
    if stage.kind == "consensus" and stage.target_confidence is not None:
        routed = f", extra labels to the best {stage.best_share:.0%}" if stage.best_share is not None else ""
        return f"{stage.name} (until {stage.target_confidence:.0%} sure, up to {stage.extra_labels} more{routed})"
    return stage.name


def _org_usernames() -> list[str]:
    from annotate.models import Membership, User

    rows = db.session.scalars(
        select(User.username).join(Membership).where(Membership.org_id == current_user.org_id).order_by(User.username)
    )
    return list(rows)


@bp.post("/projects/<int:project_id>/labels")
@login_required
def add_labels(project_id: int):
    """Add labels, one a line (``name`` or ``name:tag``)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    specs = projects.parse_label_lines(request.form.get("labels", ""))
    if not specs:
        raise ValidationFailed("type at least one label name", {"labels": "required"})
    for spec in specs:
        projects.add_label(project, spec)
    flash(f"Added {len(specs)} label(s).", "success")
    return redirect(_manage_url(project.id, "labels"))


@bp.post("/projects/<int:project_id>/members")
@login_required
def set_member(project_id: int):
    """Give an organization user a role in the project."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    member = projects.set_member(project, request.form.get("username", "").strip(), request.form.get("role", ""))
    flash(f"{member.user.username} is now a {member.role} of {project.name}.", "success")
    return redirect(_manage_url(project.id, "members"))


@bp.post("/projects/<int:project_id>/media")
@login_required
def upload(project_id: int):
    """Upload images, videos and zips."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    uploads = read_uploads(request.files.getlist("files"))
    report = media.ingest(
        project, uploads, skip_invalid=bool(request.form.get("skip_invalid")), frame_step=_whole_number("frame_step", 1, 1, 100_000)
    )
    _flash_ingest(report)
    return redirect(_manage_url(project.id, "media"))


@bp.post("/projects/<int:project_id>/media/folder")
@login_required
def import_folder(project_id: int):
    """Import a server folder inside ANNOTATE_IMPORT_ROOTS."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    report = media.import_folder(
        project, request.form.get("folder", ""), skip_invalid=bool(request.form.get("skip_invalid")),
        frame_step=_whole_number("frame_step", 1, 1, 100_000),
    )  # fmt: skip
    _flash_ingest(report)
    return redirect(_manage_url(project.id, "media"))


def _flash_ingest(report: media.IngestReport) -> None:
    message = f"Added {len(report.added)} item(s)"
    if report.duplicates:
        names = ", ".join(report.duplicates[:5]) + (" ..." if len(report.duplicates) > 5 else "")
        message += f"; {len(report.duplicates)} duplicate(s) skipped ({names})"
    if report.errors:
        message += "; refused: " + "; ".join(f"{name}: {why}" for name, why in report.errors.items())
    flash(message + ".", "success" if not report.errors else "error")


@bp.post("/projects/<int:project_id>/exports")
@login_required
def export(project_id: int):
    """Start an export job."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    exports.start_export(
        project, current_user, request.form.get("format", ""), include_images=bool(request.form.get("include_images")),
        accepted_only=request.form.get("scope", "accepted") == "accepted",
    )  # fmt: skip
    flash("Export started; it appears under Jobs with a download link when done.", "success")
    return redirect(_manage_url(project.id, "jobs"))


@bp.post("/projects/<int:project_id>/train")
@login_required
def train(project_id: int):
    """Start training a detector on accepted boxes."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    epochs = _whole_number("epochs", None, 1, 500)
    models.start_training(project, current_user, epochs=epochs, prelabel_after=bool(request.form.get("prelabel_after")))
    flash("Training started.", "success")
    return redirect(_manage_url(project.id, "jobs"))


@bp.post("/projects/<int:project_id>/models")
@login_required
def register_model(project_id: int):
    """Register a model file as the project's newest version."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("choose a model file (.pt)", {"file": "required"})
    labels = [name.strip() for name in request.form.get("labels", "").replace("\n", ",").split(",") if name.strip()]
    version = models.add_version(
        project, architecture=request.form.get("architecture", ""), file_format=request.form.get("format", "annotate"),
        label_names=labels, data=read_uploads([upload])[0][1], origin="registered", user_id=current_user.id,
    )  # fmt: skip
    flash(f"Model version {version.version} registered.", "success")
    return redirect(_manage_url(project.id, "models"))


@bp.post("/projects/<int:project_id>/settings")
@login_required
def settings(project_id: int):
    """Change the project's pre-label score threshold."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    raw = (request.form.get("prelabel_threshold") or "").strip()
    try:
        threshold = float(raw)
    except ValueError:
        raise ValidationFailed("the pre-label threshold must be a number from 0 to 1", {"prelabel_threshold": "invalid"}) from None
    projects.update_settings(project, prelabel_threshold=threshold)
    flash(f"Pre-labels now need a score of at least {project.prelabel_threshold:g}.", "success")
    return redirect(_manage_url(project.id, "models"))


@bp.post("/projects/<int:project_id>/prelabel")
@login_required
def prelabel(project_id: int):
    """Pre-label untouched items with the latest model version."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    models.start_prelabel(project, current_user)
    flash("Pre-labeling started.", "success")
    return redirect(_manage_url(project.id, "jobs"))


@bp.post("/projects/<int:project_id>/models/<int:version_id>/pin")
@login_required
def pin_model(project_id: int, version_id: int):
    """Pin a model version as the latest (pinning an older one rolls back)."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    version = models.pin_version(project, version_id)
    flash(f"Model v{version.version} is pinned: pre-labeling uses it until you unpin.", "success")
    return redirect(_manage_url(project.id, "models"))


@bp.post("/projects/<int:project_id>/models/unpin")
@login_required
def unpin_model(project_id: int):
    """Unpin: the latest is the newest version that passed the metric gate."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    models.unpin(project)
    latest = models.latest_version(project)
    flash(f"Unpinned; the latest is now {f'v{latest.version}' if latest else 'none'}.", "success")
    return redirect(_manage_url(project.id, "models"))


@bp.post("/projects/<int:project_id>/models/gate")
@login_required
def model_gate(project_id: int):
    """Set the minimum held-out mAP@.5 a trained version needs to become the latest."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    try:
        gate = float((request.form.get("metric_gate") or "").strip())
    except ValueError:
        raise ValidationFailed("the metric gate must be a number from 0 to 1", {"metric_gate": "invalid"}) from None
    models.set_metric_gate(project, gate)
    flash(f"New trained versions now need a held-out mAP@.5 of at least {project.metric_gate:g} to become the latest.", "success")
    return redirect(_manage_url(project.id, "models"))


@bp.post("/projects/<int:project_id>/train/<job_id>/cancel")
@login_required
def cancel_training(project_id: int, job_id: str):
    """Ask a queued or running training job to stop."""
    project, _ = access.get_project(project_id, current_user, MANAGERS)
    models.cancel_training(project, job_id)
    flash("Cancelling: training stops before its next batch.", "success")
    return redirect(_manage_url(project.id, "jobs"))
