"""The ``annotate`` command: a Flask CLI group.

``annotate demo``, ``annotate run``, ``annotate worker``, ``annotate db upgrade``,
``annotate user create``, ``annotate export`` and ``annotate model register``; ``annotate --help`` lists them all.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from annotate.convert_cli import convert, reserve_file


def _create_app():
    from annotate import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """annotate: label, review, export and pre-label images and videos."""


# A plain command on the group: FlaskGroup finds it without building the app.
main.add_command(convert)


def register(app: Flask) -> None:
    """Attach our commands to ``app.cli``."""
    for command in (demo, worker, user, export, model):
        app.cli.add_command(command)


@click.command()
@click.option(
    "--media",
    "media_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Use the images and videos in this folder instead of the bundled sample media.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the demo and exit without starting the server.")
@click.option("--reset-passwords", is_flag=True, help="Give the demo users new passwords and print them.")
@with_appcontext
def demo(media_dir: Path | None, host: str, port: int, no_serve: bool, reset_passwords: bool) -> None:
    """Create a demo organization, users and project on real photos and video frames, then serve."""
    from flask_migrate import upgrade

    from annotate.demo import setup_demo

    upgrade(directory=current_app.extensions["migrate"].directory)
    result = setup_demo(media_dir, reset_passwords=reset_passwords)
    click.echo(result.describe())
    if no_serve:
        return
    if not current_app.config.get("REDIS_URL"):
        click.echo("Jobs run in-process (no ANNOTATE_REDIS_URL set).")
    else:
        click.echo("Jobs go to Redis: start `annotate worker` in another terminal.")
    click.echo(f"Open http://{host}:{port}/ and log in. Press Ctrl+C to stop.")
    # app.run() refuses to serve from inside a `flask`-style CLI command, so call werkzeug's
    # server directly: the same development server, without the reloader.
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


@click.command()
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker for QUEUES (default: all of default, export, prelabel, train)."""
    from rq import SimpleWorker

    from annotate.queue import QUEUES, redis_connection

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("set ANNOTATE_REDIS_URL to run a worker (without it, jobs run inside the web server)")
    unknown = set(queues) - set(QUEUES)
    if unknown:
        raise click.ClickException(f"unknown queue(s) {', '.join(sorted(unknown))}; use {', '.join(QUEUES)}")
    names = list(queues or QUEUES)
    if {"train", "prelabel"} & set(names):
        try:  # load torch once, before any job, so every job starts fast
            import torch  # noqa: F401
            import torchvision  # noqa: F401
        except ImportError:
            click.echo("torch is not installed: train and prelabel jobs will fail (pip install 'annotate[ml]')", err=True)
    # SimpleWorker runs jobs in this process: the app context, database pool and loaded
    # models are reused across jobs instead of being rebuilt in a fork for each one.
    SimpleWorker(names, connection=connection).work(burst=burst, with_scheduler=False)


@click.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "manager", "reviewer", "labeler"]), required=True)
@click.option("--org", "org_name", required=True, help="Organization name; created if it does not exist.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default=None)
@with_appcontext
def create_user_command(username: str, role: str, org_name: str, password: str, email: str | None) -> None:
    """Create a user in an organization."""
    from sqlalchemy import select

    from annotate.errors import AnnotateError
    from annotate.extensions import db
    from annotate.models import Organization
    from annotate.services import accounts

    try:
        org = db.session.scalar(select(Organization).where(Organization.name == org_name)) or accounts.create_organization(org_name)
        accounts.create_user(org, username, password, role, email)
        db.session.commit()
    except AnnotateError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message} {exc.errors or ''}".strip()) from None
    click.echo(f"Created {role} {username} in {org_name}.")


@click.command()
@click.argument("project_id", type=int)
@click.option("--format", "fmt", required=True, help="coco, voc, yolo, ultralytics, cvat, labelme, labelstudio, via, imagenet or native")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Zip file to write.")
@click.option("--with-images", is_flag=True, help="Put the images in the zip too.")
@click.option("--all-items", is_flag=True, help="Export every item's latest revision, not only accepted ones.")
@with_appcontext
def export(project_id: int, fmt: str, out: Path, with_images: bool, all_items: bool) -> None:
    """Export a project's annotations (COCO, Pascal VOC, YOLO, CVAT, ...) into a zip, without a worker.

    OUT is checked first (exit status 2 when its folder is missing or not writable, as for
    ``annotate convert --report``); the zip is copied into a hidden file next to OUT and renamed
    to OUT only when complete, so a failure leaves OUT as it was.
    """
    from annotate.extensions import db
    from annotate.models import Project
    from annotate.services.exports import EXPORT_FORMATS

    if fmt not in EXPORT_FORMATS:
        raise click.BadParameter(f"use one of {', '.join(EXPORT_FORMATS)}", param_hint="--format")
    project = db.session.get(Project, project_id)
    if project is None:
        raise click.ClickException(f"project {project_id} not found")
    temp = reserve_file(out, "--out")
    try:
        result, stored = _run_export_job(project, fmt, with_images=with_images, all_items=all_items)
        try:
            shutil.copyfile(stored, temp)
            os.replace(temp, out)
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write the zip: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    click.echo(f"Wrote {result['items']} items as {fmt} to {out}")
    for line in result.get("report", []):
        click.echo(f"  {line}")


def _run_export_job(project, fmt: str, *, with_images: bool, all_items: bool) -> tuple[dict, Path]:
    """Run an export job of ``project`` in this process, as a worker would.

    Returns:
        ``(the job's result with "items" and "report", the path of the zip in storage)``.

    Raises:
        click.ClickException: the export failed (exit status 1).
    """
    import uuid

    from annotate.extensions import db
    from annotate.jobs.export import run_export
    from annotate.models import Job
    from annotate.storage import get_storage

    job = Job(id=str(uuid.uuid4()), org_id=project.org_id, project_id=project.id, kind="export", queue="export",
              params={"format": fmt, "include_images": with_images, "accepted_only": not all_items})  # fmt: skip
    db.session.add(job)
    db.session.commit()
    try:
        run_export(job.id)
    except Exception as exc:
        raise click.ClickException(f"export failed: {exc}") from None
    job = db.session.get(Job, job.id)
    return job.result, Path(get_storage().path(job.result["key"]))


@click.group()
def model() -> None:
    """Manage a project's model versions."""


@model.command("register")
@click.option("--project", "project_id", type=int, required=True, help="Project id.")
@click.option("--file", "model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Model file (.pt).")
@click.option(
    "--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON list of the model's label names in class order, e.g. [\"person\", \"cat\"].",
)  # fmt: skip
@click.option(
    "--builtin", type=click.Choice(["opencv_hog_people", "mtcnn_faces"]),
    help="Instead of a file: a detector shipped with the packages (OpenCV HOG people, facenet-pytorch MTCNN faces).",
)  # fmt: skip
@click.option("--architecture", default="fasterrcnn_mobilenet_v3_large_320_fpn", show_default=True, help="Detector architecture.")
@click.option(
    "--format", "file_format", type=click.Choice(["annotate", "state_dict", "torchscript"]), default="annotate", show_default=True,
    help="annotate model file, torchvision state dict, or TorchScript.",
)  # fmt: skip
@with_appcontext
def register_model_command(
    project_id: int, model_file: Path | None, labels_file: Path | None, builtin: str | None, architecture: str, file_format: str
) -> None:
    """Register a model file, or a built-in detector, as a project's newest version (it passes the metric gate: you chose it)."""
    import json

    from annotate.errors import AnnotateError
    from annotate.extensions import db
    from annotate.models import Project
    from annotate.services import models

    project = db.session.get(Project, project_id)
    if project is None:
        raise click.ClickException(f"project {project_id} not found")
    if builtin is not None:
        if model_file is not None or labels_file is not None:
            raise click.UsageError("--builtin takes no --file or --labels: the detector and its labels come with the package")
        try:
            version = models.add_builtin_version(project, builtin)
        except AnnotateError as exc:
            db.session.rollback()
            reasons = "; ".join(f"{field}: {why}" for field, why in (exc.errors or {}).items())
            raise click.ClickException(f"{exc.message}" + (f" ({reasons})" if reasons else "")) from None
        click.echo(
            f"Registered built-in {builtin} as model v{version.version} (labels {', '.join(version.label_names)}) in {project.name}."
        )
        return
    if model_file is None or labels_file is None:
        raise click.UsageError("give --file and --labels, or --builtin NAME")
    try:
        labels = json.loads(labels_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{labels_file}: not JSON: {exc}") from None
    if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
        raise click.ClickException(f'{labels_file}: give a JSON list of label names in class order, e.g. ["person", "cat"]')
    try:
        version = models.add_version(
            project, architecture=architecture, file_format=file_format, label_names=labels, data=model_file.read_bytes(),
            origin="registered", user_id=None,
        )  # fmt: skip
    except AnnotateError as exc:
        db.session.rollback()
        reasons = "; ".join(f"{field}: {why}" for field, why in (exc.errors or {}).items())
        raise click.ClickException(f"{exc.message}" + (f" ({reasons})" if reasons else "")) from None
    labels_text = ", ".join(version.label_names)
    click.echo(f"Registered model v{version.version} (id {version.id}, {version.architecture}, labels {labels_text}) in {project.name}.")


def random_password() -> str:
    """Return a new random password that is easy to type (about 72 bits)."""
    return secrets.token_urlsafe(9)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
