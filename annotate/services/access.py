"""Who may see and do what: every lookup of a project, item or task goes through here.

Objects of another organization, or of a project the caller is not a member of, are reported
as not found, so ids from other tenants reveal nothing.
"""

from __future__ import annotations

from functools import cache

from flask import g
from sqlalchemy import Select, bindparam, select

from annotate.errors import Forbidden, NotFound
from annotate.extensions import db
from annotate.models import Item, Job, Project, ProjectMember, Task, User
from workflows import Role

MANAGERS = (Role.ADMIN, Role.MANAGER)
REVIEWERS = (Role.ADMIN, Role.MANAGER, Role.REVIEWER)
EVERYONE = tuple(Role)


def project_role(user: User, project: Project) -> Role | None:
    """Return ``user``'s role in ``project``, or None when they have no access.

    Organization admins are admins of every project of their organization; everyone else
    needs a project membership.
    """
    member = None
    if project.org_id == user.org_id and user.role != Role.ADMIN:
        member = db.session.scalar(
            select(ProjectMember.role).where(ProjectMember.project_id == project.id, ProjectMember.user_id == user.id)
        )
    return _role(user, project, member)


def _role(user: User, project: Project, member_role: str | None) -> Role | None:
    """:func:`project_role`, given the caller's membership role already read with the project."""
    if project.org_id != user.org_id:
        return None
    if user.role == Role.ADMIN:
        return Role.ADMIN
    return Role(member_role) if member_role else None


# The statements of every API call are built once, with bound parameters: building and
# fingerprinting a statement costs as much CPU as running it.
@cache
def _project_query() -> Select:
    """A project and the caller's membership role in it (None when not a member)."""
    member = (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == bindparam("user_id"))
    return select(Project, ProjectMember.role).outerjoin(ProjectMember, member).where(Project.id == bindparam("project_id"))


@cache
def _task_query(with_item: bool) -> Select:
    """A task, its project and the caller's membership role in the project (and the task's item)."""
    member = (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == bindparam("user_id"))
    query = (
        select(Task, Project, ProjectMember.role)
        .join(Project, Project.id == Task.project_id)
        .outerjoin(ProjectMember, member)
        .where(Task.id == bindparam("task_id"))
    )
    return query.add_columns(Item).join(Item, Item.id == Task.item_id) if with_item else query


def _keep(*objects) -> None:
    # The session's identity map holds objects weakly: without this, a project read here is
    # dropped when the view moves on, and the services read it again from the database.
    g.setdefault("access_loaded", []).extend(objects)


def get_project(project_id: int, user: User, roles: tuple[Role, ...] = EVERYONE) -> tuple[Project, Role]:
    """Load a project the caller may act on (one statement, with the caller's membership).

    Args:
        project_id: the project's id.
        user: the caller.
        roles: the roles allowed for this action.

    Returns:
        ``(project, caller's role)``.

    Raises:
        NotFound: no such project, or not visible to the caller.
        Forbidden: visible, but the caller's role is not in ``roles``.
    """
    row = db.session.execute(_project_query(), {"project_id": project_id, "user_id": user.id}).first()
    role = _role(user, row[0], row[1]) if row else None
    if role is None:
        raise NotFound(f"project {project_id} not found")
    project = row[0]
    if role not in roles:
        raise Forbidden(f"a {role} cannot do this in project {project.name!r}")
    _keep(project)
    return project, role


def get_task(task_id: int, user: User, roles: tuple[Role, ...] = EVERYONE, *, with_item: bool = False) -> tuple[Task, Role]:
    """Load a task the caller may see; labelers see only tasks served to them.

    One statement reads the task, its project and the caller's membership.

    Args:
        with_item: read the task's item in the same statement, for callers that use ``task.item``.

    Raises:
        NotFound: no such task, another tenant's, or a labeler's request for someone else's task.
        Forbidden: the caller's role is not in ``roles``.
    """
    row = db.session.execute(_task_query(with_item), {"task_id": task_id, "user_id": user.id}).first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    task, project, member_role = row[:3]
    role = _role(user, project, member_role)
    if role is None or (role == Role.LABELER and task.assignee_id != user.id):
        raise NotFound(f"task {task_id} not found")
    if role not in roles:
        raise Forbidden(f"a {role} cannot do this to task {task_id}")
    _keep(project, *row[3:])
    return task, role


def get_item(item_id: int, user: User) -> Item:
    """Load an item the caller may see (labelers: only items of tasks served to them).

    Raises:
        NotFound: no such item, or not visible to the caller.
    """
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} not found")
    project = db.session.get(Project, item.project_id)
    role = project_role(user, project)
    if role == Role.LABELER:
        # An item with overlap has several tasks: the labeler must hold one of them.
        mine = db.session.scalar(select(Task.id).where(Task.item_id == item.id, Task.assignee_id == user.id).limit(1))
        if mine is None:
            role = None
    if role is None:
        raise NotFound(f"item {item_id} not found")
    return item


def get_job(job_id: str, user: User) -> Job:
    """Load a job of the caller's organization that the caller may see (managers and admins).

    Raises:
        NotFound: no such job in the caller's organization.
        Forbidden: the caller is not a manager of the job's project.
    """
    job = db.session.get(Job, job_id)
    if job is None or job.org_id != user.org_id:
        raise NotFound(f"job {job_id} not found")
    if job.project_id is not None:
        get_project(job.project_id, user, MANAGERS)
    elif user.role not in MANAGERS:
        raise Forbidden("only managers can see jobs")
    return job


def visible_projects(user: User) -> list[tuple[Project, Role]]:
    """Return the projects ``user`` can open, with their role in each, by name."""
    if user.role == Role.ADMIN:
        projects = db.session.scalars(select(Project).where(Project.org_id == user.org_id).order_by(Project.name))
        return [(p, Role.ADMIN) for p in projects]
    rows = db.session.execute(
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user.id, Project.org_id == user.org_id)
        .order_by(Project.name)
    )
    return [(p, Role(r)) for p, r in rows]
