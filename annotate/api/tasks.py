"""Tasks: the next task (leased), heartbeat, skip, its annotation, submit, and review."""

from __future__ import annotations

from functools import cache

from flask import current_app, url_for
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm import aliased

from annotate.api.common import api_blueprint
from annotate.api.schemas import AnnotationPutSchema, LeaseSchema, NextTaskQuery, ReviewSchema, SkipSchema, SubmitSchema
from annotate.extensions import db
from annotate.models import Item, Label, Project, Task, User
from annotate.services import access, annotations, tasks
from annotate.services.access import REVIEWERS
from workflows import Role

blp = api_blueprint("tasks", __name__, "Serving, saving, submitting and reviewing tasks.")
LABELING = (Role.LABELER, Role.MANAGER, Role.ADMIN)


def task_out(task, role) -> dict:
    """Return everything the labeling tool needs about a task.

    The fields of the task, its item, its project and its assignee (usually the caller) are
    read in one statement, as plain columns: after the commit that served the task those rows
    are all expired, and loading them as objects would cost more than the rest of the call.
    """
    row = db.session.execute(_task_query(), {"task_id": _task_id(task)}).one()
    labels = db.session.execute(_labels_query(), {"project_id": row.project_id})
    # An answer task (overlap) shows its own labeler's answer, never the item's or another's.
    document, revision = annotations.latest_document(row.item_id, row.replica)
    return {
        "id": row.id,
        "state": row.state,
        "replica": row.replica,
        "project": {"id": row.project_id, "name": row.project_name},
        "item": {"id": row.item_id, "name": row.item_name, "width": row.width, "height": row.height,
                 "image_url": url_for("media.image", item_id=row.item_id), "frame": row.frame_index},
        "labels": [{"id": label_id, "name": name, "color": color, "kind": kind} for label_id, name, color, kind in labels],
        "annotation": document,
        "revision": revision,
        "comments": [
            {"author": c.author, "body": c.comment, "created_at": c.created_at.isoformat(), "pin": c.pin}
            for c in tasks.review_comments(row)
        ],
        "can_edit": tasks.can_edit(row, current_user, role),
        "assignee": row.assignee,
        "lease_expires_at": _iso(tasks.aware(row.lease_expires_at)),
    }  # fmt: skip


# Built once, with bound parameters: building and fingerprinting a statement on every call
# costs as much CPU as running it.
@cache
def _task_query() -> Select:
    """What :func:`task_out` shows of a task, its item, its project and its assignee (None when unassigned)."""
    assignee = aliased(User)
    columns = (
        Task.id, Task.state, Task.replica, Task.item_id, Task.project_id, Task.assignee_id, Task.lease_expires_at,
        Item.name.label("item_name"), Item.width, Item.height, Item.frame_index,
        Project.name.label("project_name"), assignee.username.label("assignee"),
    )  # fmt: skip
    return (
        select(*columns)
        .join(Item, Item.id == Task.item_id)
        .join(Project, Project.id == Task.project_id)
        .outerjoin(assignee, assignee.id == Task.assignee_id)
        .where(Task.id == bindparam("task_id"))
    )


@cache
def _labels_query() -> Select:
    """A project's labels in their order."""
    return select(Label.id, Label.name, Label.color, Label.kind).where(Label.project_id == bindparam("project_id")).order_by(Label.position)


def _task_id(task) -> int:
    """A task's id without reloading it (after a commit every loaded row is expired)."""
    return inspect(task).identity[0]


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


@blp.route("/tasks/next", methods=["POST"])
@blp.arguments(NextTaskQuery, location="query")
def next_task(query):
    """Serve the caller's next task in a project, leased to them; 204 when none is left."""
    project, role = access.get_project(query["project"], current_user, LABELING)
    task = tasks.next_task(project, current_user, role)
    if task is None:
        return "", 204
    return task_out(task, role)


@blp.route("/tasks/<int:task_id>")
def get_task(task_id: int):
    """Get a task with its item, labels, latest annotation and review comments."""
    task, role = access.get_task(task_id, current_user)
    return task_out(task, role)


@blp.route("/tasks/<int:task_id>/annotation")
class Annotation(MethodView):
    def get(self, task_id: int):
        """Get the task's latest annotation document and its revision number."""
        task, _ = access.get_task(task_id, current_user)
        document, revision = annotations.latest_document(task.item_id, task.replica)
        return {"annotation": document, "revision": revision}

    @blp.arguments(AnnotationPutSchema)
    def put(self, data, task_id: int):
        """Save the whole document as a new revision; 409 if ``base_revision`` is not the latest."""
        task, role = access.get_task(task_id, current_user, LABELING, with_item=True)
        tasks.save_annotation(task, current_user, role, data["annotation"], data["base_revision"], data["active_seconds"])
        # A save succeeds only on top of the latest revision, so its number is base + 1;
        # reading ``revision.number`` after the commit would load the whole revision again.
        return {"revision": data["base_revision"] + 1}


@blp.route("/tasks/<int:task_id>/submit", methods=["POST"])
@blp.arguments(SubmitSchema)
def submit(data, task_id: int):
    """Send the task to review and serve the caller's next task."""
    task, role = access.get_task(task_id, current_user, LABELING)
    following = tasks.submit(task, current_user, role, data["base_revision"])
    return {"state": task.state, "next_task_id": _task_id(following) if following else None}


@blp.route("/tasks/<int:task_id>/heartbeat", methods=["POST"])
@blp.response(200, LeaseSchema)
def heartbeat(task_id: int):
    """Extend the caller's lease on their in-progress task; answers the new expiry."""
    task, role = access.get_task(task_id, current_user, LABELING)
    expires = tasks.heartbeat(task, current_user, role)
    return {"task_id": task_id, "lease_expires_at": expires, "lease_seconds": float(current_app.config["LEASE_SECONDS"])}


@blp.route("/tasks/<int:task_id>/skip", methods=["POST"])
@blp.arguments(SkipSchema)
def skip(data, task_id: int):
    """Hand the task back to the pool with a reason (never served to the caller again); serve the next one."""
    task, role = access.get_task(task_id, current_user, LABELING)
    following = tasks.skip(task, current_user, role, data["reason"])
    return {"state": task.state, "next_task_id": _task_id(following) if following else None}


@blp.route("/tasks/<int:task_id>/review", methods=["POST"])
@blp.arguments(ReviewSchema)
def review(data, task_id: int):
    """Accept or reject a submitted task (reviewers); rejecting needs a comment, optionally pinned to a point."""
    task, role = access.get_task(task_id, current_user, REVIEWERS)
    tasks.review(task, current_user, role, data["decision"], data["comment"], data.get("pin"))
    remaining = tasks.review_queue(db.session.get(Project, task.project_id), limit=1)
    return {"state": task.state, "next_task_id": remaining[0].id if remaining else None}


@blp.route("/projects/<int:project_id>/review-queue")
def review_queue(project_id: int):
    """List the project's submitted tasks, oldest first (reviewers)."""
    project, _ = access.get_project(project_id, current_user, REVIEWERS)
    return [
        {"id": t.id, "item_id": t.item_id, "item_name": t.item.name, "assignee": t.assignee.username if t.assignee else None}
        for t in tasks.review_queue(project)
    ]
