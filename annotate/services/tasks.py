"""Serving tasks to labelers, saving their work, submitting and reviewing it.

Every change of state goes through :func:`apply_action` (or, where two requests may race for
the same row, :func:`_transition_if`), which asks the transition table in :mod:`workflows` and
records a :class:`~annotate.models.TaskEvent`.

Leases. A task served by :func:`next_task` is leased to its labeler for ``LEASE_SECONDS``
(config, default 30 minutes): ``Task.lease_expires_at``. The labeling tool's heartbeat
(:func:`heartbeat`) extends it while the person works. The rule for an expired lease:

* an in-progress task whose lease has expired and on whose item its assignee has saved no
  human revision (ever) goes back to the pool (``new``, unassigned) the next time anyone in
  the project asks for work, recorded as an ``expire`` event with no actor;
* one on which its assignee HAS saved work stays theirs, lease or not, so nobody's work is
  lost or handed over silently (a manager may reassign it; not offered yet);
* until someone asks for work, an expired lease changes nothing: the assignee may still save,
  submit or send a heartbeat (which renews the lease), and asking for work themselves gives
  them the same task back with a fresh lease;
* tasks without a lease (served before leases existed, submitted, rejected) never expire.

A labeler may :func:`skip` an in-progress task with a reason: it goes back to the pool, the
``skip`` event records who and why, and :func:`next_task` never serves it to them again.
Whatever they saved stays on the item as the next labeler's starting point.

Gold. With the project's ``gold_rate`` a new task is a gold item instead: a transient copy of
it with its own task, served, saved and submitted like any other; on submit it is scored and
deleted rather than sent to review; see :mod:`annotate.services.quality`. A paused labeler is
served only work already theirs; asking for new work raises
:class:`~annotate.services.quality.LabelerPaused` (403), and submit or skip then answer no
next task.

Audit. A project's ``review_rate`` (0..1) is the share of submits that go to review. Each
first submit of a task is drawn deterministically (:func:`review_rng`, seeded by project, item
and how often the task was submitted before); an item not drawn is accepted by the system: an
``auto_accept`` event with no actor, whose comment names the labeler. A task that a reviewer or
manager ever sent back always goes to review again, so nobody's requested fix goes unchecked.
Gold copies are never drawn: they are scored as before.

Workflow. The rules below are the project's workflow (``Project.workflow``, see
:mod:`workflows.definition`): its annotate stage says who may label, its review stage who
may review, the review rate and the rounds; :mod:`workflows.engine` picks each route.

Overlap. An item whose overlap is N > 1 is served as N answer tasks (``replica`` 1..N) to N
different labelers, never two to the same one; each answer is saved on its own revision line,
which nobody else sees. The item's own task waits meanwhile. When the last answer is
submitted, the consensus stage merges them (:mod:`workflows.merge`) into the item's annotation
(a ``consensus`` revision) and routes the item: accepted, to review, or one more answer task
when the labelers disagree and extra labels are left (:func:`conclude_answers`). Concurrent
submits of two answers are serialized by locking the item's own task row.

Escalation. A project's ``max_review_rounds`` (0 = never) is the rejection that, instead of
returning the task to its labeler, escalates it to a manager (``escalate`` event, state
``escalated``). Rounds are counted since the task's last escalation, so a task a manager
reopened gets ``max_review_rounds`` fresh rounds. Managers see escalated tasks in their review
queue and accept them or send them back (``reopen``); see :func:`review`.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Boolean, ColumnElement, Select, and_, bindparam, case, exists, func, or_, select, update
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from annotate.errors import Conflict, Forbidden, ValidationFailed
from annotate.extensions import db
from annotate.models import AnnotationRevision, GoldAnswer, GoldItem, Item, Project, Task, TaskEvent, User
from annotate.models.types import utcnow
from annotate.services import annotations, quality, work_saved
from workflows import Action, ConsensusStage, Role, Route, TaskState, TransitionError, next_state
from workflows.consensus import TagEstimate
from workflows.engine import consensus_route, drawn_for_review, ranked_best_labelers, rejection_action
from workflows.merge import merge_documents

#: The role the system acts with when it expires a lease (the table has no system role).
SYSTEM_ROLE = Role.ADMIN


def apply_action(task: Task, user: User | None, role: Role, action: Action, comment: str = "") -> TaskEvent:
    """Move ``task`` by ``action`` (not committed) and record who did it.

    ``user`` None is the system acting (with :data:`SYSTEM_ROLE`): the event has no actor.

    Raises:
        Conflict: the table does not allow this action in the task's state for this role.
    """
    try:
        new = next_state(task.state, action, role)
    except TransitionError as exc:
        raise Conflict(f"task {task.id}: {exc}", {"state": task.state}) from None
    actor_id = user.id if user is not None else None
    event = TaskEvent(task_id=task.id, actor_id=actor_id, action=action, from_state=task.state, to_state=new, comment=comment)
    task.state = new
    db.session.add(event)
    return event


def lease_duration() -> timedelta:
    """Return how long a served task stays its labeler's without a heartbeat (``LEASE_SECONDS``)."""
    return timedelta(seconds=float(current_app.config["LEASE_SECONDS"]))


def next_task(project: Project, user: User, role: Role) -> Task | None:
    """Serve ``user`` their next task in ``project`` with a fresh lease (committed), or None.

    Work already theirs comes first (returned by a reviewer, then in progress). Otherwise
    expired leases in the project are released first (see the module docstring), then an
    unassigned new task that ``user`` may be served (:func:`_servable`) is taken: the one of
    the oldest item (then the lowest replica) when the project's ``queue_order`` is
    ``sequential``; else the one whose item the latest model is least sure about
    (``Item.uncertainty`` highest first, items no model has scored last, then oldest).
    On PostgreSQL the row is locked with ``FOR UPDATE SKIP LOCKED``, and the claim is
    a conditional UPDATE on every database, so two labelers asking at once never get the same
    task. The served task's ``lease_expires_at`` is now + ``LEASE_SECONDS``.

    Routed extra labels (:attr:`Task.routed`, the consensus stage's ``best_share``) are served
    to the project's best-rated labelers (:attr:`Project.best_labeler_ids`) in queue order
    like any task; anyone else is served one only when nothing else is left for them.

    Before the pool, a paused labeler is refused, and the gold draw may serve a gold copy
    instead (:func:`annotate.services.quality.draw_gold`). Gold items and gold copies are
    never served from the pool.

    Returns:
        The task, in progress and assigned to ``user``; None when nothing is left for them.

    Raises:
        LabelerPaused: ``user`` is paused in the project and has no work of their own.
        Forbidden: the workflow's annotate stage does not let ``role`` label.
    """
    _check_may_label(project, role)
    own = db.session.scalar(_own_task_query(), {"project_id": project.id, "user_id": user.id})
    if own is not None:
        expires = utcnow() + lease_duration()
        if own.state == TaskState.REJECTED:
            # A rejected task has no lease, so nobody else can take it meanwhile.
            apply_action(own, user, role, Action.START)
            own.lease_expires_at = expires
            _commit_keeping_loaded()
            return own
        if _renew_lease(own.id, user.id, expires):
            set_committed_value(own, "lease_expires_at", expires)  # what the UPDATE wrote
            _commit_keeping_loaded()
            return own
        # Its lease expired and someone released it just now: serve from the pool instead.
        db.session.rollback()
    if release_expired(project):
        # Gold copies only go back to the pool by expiring, so nothing else to discard.
        quality.discard_released_copies(project)
        db.session.commit()  # releases stand even if this caller then finds nothing to claim
    quality.check_not_paused(project, user)
    gold = quality.draw_gold(project, user)
    if gold is not None:
        served = quality.serve_gold(project, user, role, gold, utcnow() + lease_duration())
        if served is not None:
            return served
    try:
        next_state(TaskState.NEW, Action.START, role)  # the table decides who may start (new and rejected alike)
    except TransitionError as exc:
        raise Conflict(str(exc), {"role": role}) from None
    now = utcnow()
    best = project.best_labeler_ids or []
    params = {"b_project": project.id, "b_user": user.id, "b_expires": now + lease_duration(), "b_now": now, "b_best": user.id in best}
    returning_old_state = db.session.get_bind().dialect.name == "postgresql"
    claim = _claim_statement(project.queue_order, returning_old_state)
    # The claim is an UPDATE: a copy of the task loaded earlier must show what it wrote.
    fresh = {"populate_existing": True}
    row = db.session.execute(claim, params, execution_options=fresh).first()
    if row is None and best and not params["b_best"]:
        # Nothing else is left for this labeler: routed extra labels do not wait for absent best ones.
        row = db.session.execute(claim, {**params, "b_best": True}, execution_options=fresh).first()
    if row is None:
        db.session.rollback()
        return None
    if returning_old_state:
        task, from_state = row  # RETURNING gave the whole claimed row: no reload
    else:
        # SQLite's RETURNING cannot read the picked row's old state; every change of state is
        # recorded, so the task's last event says it (no event: it was never started).
        task = db.session.get(Task, row[0], populate_existing=True)
        from_state = _state_before_claim(task.id)
    db.session.add(
        TaskEvent(task_id=task.id, actor_id=user.id, action=Action.START, from_state=from_state, to_state=TaskState.IN_PROGRESS, comment="")
    )
    _commit_keeping_loaded()
    return task


@cache
def _own_task_query() -> Select:
    """The caller's own work in a project: returned by a reviewer first, then in progress."""
    return (
        select(Task)
        .where(
            Task.project_id == bindparam("project_id"),
            Task.assignee_id == bindparam("user_id"),
            Task.state.in_([TaskState.REJECTED, TaskState.IN_PROGRESS]),
        )
        .order_by(case((Task.state == TaskState.REJECTED, 0), else_=1), Task.id)
        .limit(1)
    )


def _state_before_claim(task_id: int) -> str:
    last = db.session.scalar(select(TaskEvent.to_state).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id.desc()).limit(1))
    return last or TaskState.NEW


@cache
def _claim_statement(queue_order: str, returning_old_state: bool):
    """The claim as one statement, built once per queue order (see :func:`next_task`).

    ``UPDATE tasks SET assignee, lease, state = in_progress FROM (the first servable task,
    FOR UPDATE SKIP LOCKED) WHERE id = picked.id AND still unassigned RETURNING the task, its old
    state``. On PostgreSQL the lock keeps concurrent callers off the row; on SQLite writes are
    serialized, and the unassigned condition holds the claim to one caller either way. On
    PostgreSQL RETURNING gives the whole task (as an ORM object) and the old state; SQLite's
    RETURNING cannot name the FROM subquery, so there the picked id is a scalar subquery and
    only the id is returned.
    """
    pool = aliased(Task)
    pick = select(pool.id.label("id"), pool.state.label("state")).where(*_servable(pool))
    # By item, then answer: an item's extra answer tasks (added when its labelers disagreed) are
    # served in the item's place, not after everything created since.
    if queue_order == "sequential":
        pick = pick.order_by(pool.item_id, pool.replica)
    else:
        # The method (least confidence, entropy) only matters where the uncertainty is computed.
        pick = pick.join(Item, Item.id == pool.item_id).order_by(Item.uncertainty.desc().nulls_last(), pool.item_id, pool.replica)
    pick = pick.limit(1).with_for_update(skip_locked=True, of=pool)
    claim = update(Task).values(
        assignee_id=bindparam("b_user"), lease_expires_at=bindparam("b_expires"), state=TaskState.IN_PROGRESS, updated_at=bindparam("b_now")
    )
    if returning_old_state:
        picked = pick.subquery("picked")
        claim = claim.where(Task.id == picked.c.id, Task.assignee_id.is_(None), Task.state == picked.c.state)
        claim = claim.returning(Task, picked.c.state)
    else:
        claim = claim.where(
            Task.id == pick.with_only_columns(pool.id).scalar_subquery(),
            Task.assignee_id.is_(None),
            Task.state.in_([TaskState.NEW, TaskState.REJECTED]),
        ).returning(Task.id)
    return claim.execution_options(synchronize_session=False)


def _servable(pool) -> list[ColumnElement[bool]]:
    """The conditions on a pool task (``pool``, an alias of Task) that the caller may be served.

    Unassigned ``new`` tasks, and ``rejected`` ones with no assignee (a merged result a
    reviewer sent back has no single labeler). An item's own task waits while it has answer
    tasks that are not yet merged; an answer task is never served to a labeler who holds
    another answer of the same item; nothing on an item the labeler skipped comes back to them;
    a routed extra label only when ``b_best`` is true (see :func:`next_task`).
    The project and the caller are the bound parameters ``b_project`` and ``b_user``.
    """
    other = aliased(Task)
    user_id = bindparam("b_user")
    skipped_item = exists().where(
        other.item_id == pool.item_id, TaskEvent.task_id == other.id, TaskEvent.action == Action.SKIP, TaskEvent.actor_id == user_id
    )
    open_answers = exists().where(
        other.item_id == pool.item_id,
        other.replica > 0,
        other.state.in_([TaskState.NEW, TaskState.IN_PROGRESS, TaskState.SUBMITTED]),
    )
    answered = exists().where(other.item_id == pool.item_id, other.replica > 0, other.id != pool.id, other.assignee_id == user_id)
    return [
        pool.project_id == bindparam("b_project"),
        pool.assignee_id.is_(None),
        pool.state.in_([TaskState.NEW, TaskState.REJECTED]),
        or_(and_(pool.replica == 0, ~open_answers), and_(pool.replica > 0, ~answered)),
        ~skipped_item,
        or_(pool.routed.is_(False), bindparam("b_best", type_=Boolean)),
        ~exists().where(GoldAnswer.copy_item_id == pool.item_id),
        ~exists().where(GoldItem.item_id == pool.item_id),
    ]


def release_expired(project: Project) -> list[int]:
    """Return the project's expired, workless in-progress tasks to the pool (not committed).

    A task is released when it is in progress, its lease has expired, and its assignee has
    saved no human revision of its item. Each release is an ``expire`` event with no actor,
    whose comment names the former assignee. Rows another transaction holds are skipped, and
    each release is a conditional UPDATE, so concurrent callers release a task once.

    Returns:
        The ids of the tasks released.
    """
    now = utcnow()
    rows = db.session.execute(_expired_query(), {"project_id": project.id, "now": now}).all()
    if not rows:
        return []
    expired = _expired_without_work(now)
    released = []
    for task_id, assignee_id, expires in rows:
        assignee = db.session.get(User, assignee_id) if assignee_id is not None else None
        who = assignee.username if assignee else "nobody"
        comment = f"the lease of {who} expired at {aware(expires).isoformat(timespec='seconds')} with no work saved"
        event = _transition_if(
            task_id, TaskState.IN_PROGRESS, assignee_id, Action.EXPIRE, SYSTEM_ROLE, None, comment, extra_where=(expired,)
        )
        if event is not None:
            released.append(task_id)
    return released


@cache
def _expired_query() -> Select:
    """A project's expired, workless in-progress tasks, skipping rows another transaction holds."""
    return (
        select(Task.id, Task.assignee_id, Task.lease_expires_at)
        .where(Task.project_id == bindparam("project_id"), _expired_without_work(bindparam("now")))
        .order_by(Task.id)
        .with_for_update(skip_locked=True, of=Task)
    )


def heartbeat(task: Task, user: User, role: Role) -> datetime:
    """Extend the caller's lease on ``task`` to now + ``LEASE_SECONDS`` (committed).

    A lease that expired but was not yet released is renewed too: the task is still theirs.

    Returns:
        The new expiry, timezone-aware (UTC).

    Raises:
        Forbidden: the task is not the caller's.
        Conflict: the task is not in progress, or went back to the pool meanwhile.
    """
    _check_editor(task, user, role)
    if task.state != TaskState.IN_PROGRESS:
        raise Conflict(f"task {task.id} is {task.state.replace('_', ' ')}, not in progress", {"state": task.state})
    expires = utcnow() + lease_duration()
    if not _renew_lease(task.id, user.id, expires):
        db.session.rollback()
        raise Conflict(f"task {task.id} is no longer yours", {"state": "released"})
    db.session.commit()
    return expires


def skip(task: Task, user: User, role: Role, reason: str) -> Task | None:
    """Hand ``task`` back to the pool with a reason (committed) and serve the caller's next task.

    The ``skip`` event (actor, reason) is the record that keeps :func:`next_task` from serving
    this task to the caller again. Work they saved stays on the item.

    Args:
        reason: why; required (blank is refused).

    Returns:
        The caller's next task, or None.

    Raises:
        ValidationFailed: no reason.
        Forbidden: the task is not the caller's.
        Conflict: the task is not in progress, or went back to the pool meanwhile.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why you skip this task", {"reason": "required"})
    _check_editor(task, user, role)
    project_id = task.project_id
    answer = quality.gold_copy_answer(task.item_id)
    if answer is not None:
        if task.state != TaskState.IN_PROGRESS:
            raise Conflict(f"task {task.id} is {task.state.replace('_', ' ')}, not in progress", {"state": task.state})
        quality.drop_gold(task, answer, "skipped")
    elif _transition_if(task.id, task.state, user.id, Action.SKIP, role, user.id, reason) is None:
        db.session.rollback()
        raise Conflict(f"task {task.id} is no longer yours", {"state": "released"})
    db.session.commit()
    return _following(db.session.get(Project, project_id), user, role)


def _commit_keeping_loaded() -> None:
    """Commit without expiring the loaded objects (the task, its project, the caller).

    For a submit or a serve, whose changes were all made through those objects (or, for a
    statement that changed a loaded row, also set on the object), so they are current: what
    follows in the same request (serving the next task, answering the served one) then needs
    no reload of the task, the project and the caller.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _following(project: Project, user: User, role: Role) -> Task | None:
    """The next task after a submit or skip; None (not an error) when the labeler is paused."""
    try:
        return next_task(project, user, role)
    except quality.LabelerPaused:
        db.session.rollback()
        return None


def aware(moment: datetime | None) -> datetime | None:
    """Return ``moment`` as a UTC-aware datetime (SQLite hands back naive UTC ones)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _expired_without_work(now: datetime) -> ColumnElement[bool]:
    work = exists().where(
        AnnotationRevision.item_id == Task.item_id,
        AnnotationRevision.line == Task.replica,
        AnnotationRevision.source == "human",
        AnnotationRevision.author_id == Task.assignee_id,
    )
    return (Task.state == TaskState.IN_PROGRESS) & Task.lease_expires_at.is_not(None) & (Task.lease_expires_at < now) & ~work


def _renew_lease(task_id: int, user_id: int, expires: datetime) -> bool:
    # Conditional, so a renewal never resurrects a task that was released a moment ago.
    return bool(db.session.execute(_renew_statement(), {"b_task": task_id, "b_user": user_id, "b_expires": expires}).rowcount)


@cache
def _renew_statement():
    return (
        update(Task)
        .where(Task.id == bindparam("b_task"), Task.assignee_id == bindparam("b_user"), Task.state == TaskState.IN_PROGRESS)
        .values(lease_expires_at=bindparam("b_expires"))
        .execution_options(synchronize_session=False)
    )


def _transition_if(
    task_id: int,
    state: str,
    assignee_id: int | None,
    action: Action,
    role: Role,
    actor_id: int | None,
    comment: str,
    extra_where: tuple[ColumnElement[bool], ...] = (),
) -> TaskEvent | None:
    """Apply ``action`` only if the task is still in ``state`` with ``assignee_id`` (not committed).

    For actions that hand a task back to the pool (skip, expire), where another request may
    have changed the row since it was read. The new state comes from the transition table; the
    task loses its assignee and lease.

    Returns:
        The recorded event, or None when the task had changed meanwhile.

    Raises:
        Conflict: the table does not allow ``action`` in ``state`` for ``role``.
    """
    try:
        new = next_state(state, action, role)
    except TransitionError as exc:
        raise Conflict(f"task {task_id}: {exc}", {"state": state}) from None
    changed = db.session.execute(
        update(Task)
        .where(Task.id == task_id, Task.state == state, Task.assignee_id == assignee_id, *extra_where)
        .values(state=new, assignee_id=None, lease_expires_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return None
    event = TaskEvent(task_id=task_id, actor_id=actor_id, action=action, from_state=state, to_state=new, comment=comment)
    db.session.add(event)
    return event


def save_annotation(task: Task, user: User, role: Role, document: Any, base_revision: int, active_seconds: float = 0.0):
    """Save the labeler's document for ``task`` as a new revision (committed).

    Args:
        active_seconds: seconds the person actively worked since their previous save, as the
            labeling tool measured them; stored on the revision.

    Raises:
        Forbidden: the task is not the caller's to edit.
        Conflict: the task is not in progress, or ``base_revision`` is stale.
        ValidationFailed: the document is invalid, or gives a model source to a shape or tag
            that is not a kept pre-label (:func:`annotate.services.annotations.check_model_sources`).
    """
    _check_editor(task, user, role)
    project = db.session.get(Project, task.project_id)
    _check_may_label(project, role)
    apply_action(task, user, role, Action.SAVE)
    annotations.check_model_sources(document, task.item_id, base_revision, line=task.replica)
    return annotations.save_revision(
        task.item, project, document, base_revision, author=user, active_seconds=active_seconds, line=task.replica
    )


def submit(task: Task, user: User, role: Role, base_revision: int | None = None) -> Task | None:
    """Send the task to review, or accept it for the system (committed); serve the caller's next task.

    Whether it goes to review is the project's ``review_rate`` draw (see "Audit" in the module
    docstring); not drawn, it is accepted with an ``auto_accept`` event and no actor. A gold
    copy is scored and deleted instead. When the item had pre-labels, what the person did with
    them is recorded in the same transaction (:func:`annotate.services.work_saved.record_outcomes`).

    Args:
        base_revision: when given, the submit is refused if the item was saved since.

    Returns:
        The caller's next task, or None.

    Raises:
        Conflict: wrong state or a stale ``base_revision``.
        ValidationFailed: ``base_revision`` is ahead of the latest revision.
        Forbidden: the task is not the caller's.
    """
    _check_editor(task, user, role)
    if base_revision is not None:
        # The status and message a save gets: 422 for a revision ahead, 409 for an older one.
        annotations.check_base_revision(base_revision, annotations.latest_number(task.item_id, task.replica))
    project_id = task.project_id
    answer = quality.gold_copy_answer(task.item_id)
    if answer is not None:
        # A gold copy is scored and deleted instead of going to review.
        quality.finish_gold(task, answer, user, role)
        return _following(db.session.get(Project, project_id), user, role)
    project = db.session.get(Project, project_id)
    _check_may_label(project, role)
    if task.replica > 0:
        _submit_answer(task, user, role, project)
    elif _drawn_for_review(project, task):
        apply_action(task, user, role, Action.SUBMIT)
    else:
        _auto_accept(task, user, role, project)
    task.lease_expires_at = None  # a lease only guards work in progress
    if task.replica == 0:
        work_saved.record_outcomes(task.item_id)
    _commit_keeping_loaded()
    return _following(project, user, role)


def review_rng(project_id: int, item_id: int, submits: int) -> random.Random:
    """Return the generator that decides whether a submit goes to review (deterministic).

    Args:
        project_id: the task's project.
        item_id: the task's item.
        submits: how many times the task was submitted (or auto-accepted) before this submit.

    Returns:
        A generator seeded by the three numbers; its first ``random()`` is the draw.
    """
    return random.Random(f"review:{project_id}:{item_id}:{submits}")


def _drawn_for_review(project: Project, task: Task) -> bool:
    """Whether this submit goes to review; see "Audit" in the module docstring."""
    workflow = project.flow
    if workflow.review is None:
        return False
    if workflow.review.rate >= 1.0:
        return True
    counts = _event_counts(task.id, (Action.SUBMIT, Action.AUTO_ACCEPT, Action.REJECT, Action.ESCALATE, Action.REOPEN))
    sent_back = bool(counts[Action.REJECT] or counts[Action.ESCALATE] or counts[Action.REOPEN])
    submits = counts[Action.SUBMIT] + counts[Action.AUTO_ACCEPT]
    draw = review_rng(project.id, task.item_id, submits).random()
    return drawn_for_review(workflow, sent_back_before=sent_back, draw=draw)


def _submit_answer(task: Task, user: User, role: Role, project: Project) -> None:
    """Submit one labeler's answer (not committed); when it is the last one, run the consensus stage."""
    # Lock the item's own task: of two answers submitted at once, the later one sees the
    # earlier one as submitted and concludes.
    item_task = db.session.scalar(select(Task).where(Task.item_id == task.item_id, Task.replica == 0).with_for_update())
    apply_action(task, user, role, Action.SUBMIT)
    task.lease_expires_at = None
    db.session.flush()
    open_answers = db.session.scalar(
        select(func.count()).where(Task.item_id == task.item_id, Task.replica > 0, Task.state.in_([TaskState.NEW, TaskState.IN_PROGRESS]))
    )
    if open_answers == 0 and item_task is not None:
        conclude_answers(project, item_task)


def conclude_answers(project: Project, item_task: Task) -> Route:
    """Run the consensus stage on an item whose answer tasks are all submitted (not committed).

    The submitted answers are merged (:func:`workflows.merge.merge_documents`; with the
    ``weighted`` method each labeler weighs their gold accuracy, with ``dawid_skene`` their
    Dawid-Skene accuracy: :func:`annotate.services.quality.dawid_skene_weights`) and
    routed by :func:`workflows.engine.consensus_route`:

    * ``more_labels``: one more answer task is added (replica = the highest + 1) and nothing
      else changes;
    * ``accept`` / ``review``: the merged document becomes the item's next revision (source
      ``consensus``), each answer task is ``merge``d (submitted -> merged), and the item's
      own task is ``auto_accept``ed or ``merge``d to review; its event's comment gives the
      agreement. A workflow that lost its consensus stage while answers were out merges them
      with the default consensus rules and routes by the review rate alone.

    Args:
        project: the item's project.
        item_task: the item's own task (replica 0), locked by the caller.

    Returns:
        The route taken.
    """
    workflow = project.flow
    stage = workflow.consensus or ConsensusStage()
    answers = list(
        db.session.scalars(
            select(Task)
            .where(Task.item_id == item_task.item_id, Task.replica > 0, Task.state == TaskState.SUBMITTED)
            .order_by(Task.replica)
        )
    )
    saved = annotations.latest_answer_documents([item_task.item_id])
    documents = {task.assignee_id or -task.replica: annotations.saved_or_empty(saved, (task.item_id, task.replica))[0] for task in answers}
    labelers = [w for w in documents if w > 0]
    weights = None
    estimate = quality.tag_estimate(project, item_task.item_id) if stage.method == "dawid_skene" else None
    if stage.method == "weighted":
        weights = quality.gold_weights(project, labelers)
    elif stage.method == "dawid_skene":
        weights = quality.estimate_weights(project, labelers, estimate)
    key = ("item", item_task.item_id)
    posteriors = estimate.present.get(key) if estimate is not None else None
    result = merge_documents(documents, stage, weights, tag_posteriors=posteriors)
    tag_confidence = estimate.confidence.get(key, 1.0) if estimate is not None else 1.0  # no tag labels: nothing to be unsure of
    item = db.session.get(Item, item_task.item_id)
    overlap = workflow.overlap_for(item.overlap)
    draw = review_rng(project.id, item.id, 0).random()
    if workflow.consensus is not None:
        route = consensus_route(
            workflow,
            agreement=result.agreement,
            answers=len(answers),
            overlap=overlap,
            draw=draw,
            tag_confidence=tag_confidence,
            shape_agreement=result.shape_agreement,
        )
    else:
        route = Route.REVIEW if drawn_for_review(workflow, sent_back_before=False, draw=draw) else Route.ACCEPT
    if workflow.consensus is not None and workflow.consensus.best_share is not None:
        _refresh_best_labelers(project, workflow.consensus.best_share, estimate)
    if route == Route.MORE_LABELS:
        top = db.session.scalar(select(func.max(Task.replica)).where(Task.item_id == item.id)) or 0
        routed = bool(workflow.consensus.best_share is not None and project.best_labeler_ids)
        db.session.add(Task(project_id=project.id, item_id=item.id, replica=top + 1, routed=routed))
        return route
    base = annotations.latest_document(item.id)[1]
    annotations.save_revision(item, project, result.document, base, commit=False, source="consensus")
    summary = f"consensus of {result.labelers} labelers: agreement {result.agreement:.2f} (threshold {stage.agreement_threshold:g})"
    if stage.target_confidence is not None:
        summary += f"; tag posterior {tag_confidence:.3f} (target {stage.target_confidence:g})"
    summary += f"; {result.note}" if result.note else ""
    for task in answers:
        apply_action(task, None, SYSTEM_ROLE, Action.MERGE, f"merged into the consensus of item {item.name!r}")
    apply_action(item_task, None, SYSTEM_ROLE, Action.MERGE if route == Route.REVIEW else Action.AUTO_ACCEPT, summary)
    return route


def _refresh_best_labelers(project: Project, best_share: float, estimate: TagEstimate | None) -> None:
    """Store who extra labels are routed to first (:attr:`Project.best_labeler_ids`, not committed).

    ``estimate`` is the project's tag estimate when the stage's method is ``dawid_skene`` (else None).
    """
    ranked = ranked_best_labelers(quality.rated_labelers(project, estimate), best_share)
    if ranked != (project.best_labeler_ids or []):
        project.best_labeler_ids = ranked or None


def answers_of(task: Task) -> list[dict[str, Any]]:
    """Return the overlapping labelers' answers on ``task``'s item, for a reviewer to compare.

    Returns:
        One dict per answer task of the item, by replica: ``replica``, ``labeler`` (username or
        None), ``state``, ``annotation`` (their latest document), ``revision``; empty for an
        item without overlap.
    """
    rows = db.session.scalars(
        select(Task).options(joinedload(Task.assignee)).where(Task.item_id == task.item_id, Task.replica > 0).order_by(Task.replica)
    )
    saved = annotations.latest_answer_documents([task.item_id])
    out = []
    for answer in rows:
        document, revision = annotations.saved_or_empty(saved, (answer.item_id, answer.replica))
        labeler = answer.assignee.username if answer.assignee else None
        out.append({"replica": answer.replica, "labeler": labeler, "state": answer.state, "annotation": document, "revision": revision})
    return out


def _auto_accept(task: Task, user: User, role: Role, project: Project) -> TaskEvent:
    """Accept ``task`` for the system in place of the caller's submit (not committed).

    Raises:
        Conflict: the caller could not have submitted the task (wrong state or role).
    """
    try:
        next_state(task.state, Action.SUBMIT, role)  # the labeler's own right to submit still applies
    except TransitionError as exc:
        raise Conflict(f"task {task.id}: {exc}", {"state": task.state}) from None
    comment = f"submitted by {user.username}; not drawn for review (review rate {project.review_rate:g})"
    return apply_action(task, None, SYSTEM_ROLE, Action.AUTO_ACCEPT, comment)


def _event_counts(task_id: int, actions: tuple[Action, ...], after_id: int = 0) -> dict[Action, int]:
    """Count the task's events per action (those with an id above ``after_id``); zero when none."""
    rows = db.session.execute(
        select(TaskEvent.action, func.count())
        .where(TaskEvent.task_id == task_id, TaskEvent.action.in_(actions), TaskEvent.id > after_id)
        .group_by(TaskEvent.action)
    ).all()
    found = dict(rows)
    return {action: int(found.get(action.value, 0)) for action in actions}


def _rejection_action(project: Project, task: Task) -> Action:
    """``reject``, or ``escalate`` when this rejection is round ``max_review_rounds`` of the task."""
    if project.max_review_rounds <= 0:
        return Action.REJECT
    last_escalation = db.session.scalar(
        select(func.coalesce(func.max(TaskEvent.id), 0)).where(TaskEvent.task_id == task.id, TaskEvent.action == Action.ESCALATE)
    )
    rejects = _event_counts(task.id, (Action.REJECT,), after_id=last_escalation)[Action.REJECT]
    return rejection_action(project.flow, rejects_this_round=rejects)


def review(task: Task, user: User, role: Role, decision: str, comment: str = "", pin: Any = None) -> TaskEvent:
    """Decide on a submitted or escalated task (committed).

    Decisions and the action applied:

    * ``accept``: ``accept`` (a submitted task: reviewers; an escalated one: managers);
    * ``reject`` on a submitted task: ``reject`` (back to its labeler), or ``escalate`` when this
      is the project's ``max_review_rounds``-th rejection of the round;
    * ``reject`` on an escalated task, or ``reopen``: ``reopen`` (managers; back to its labeler).

    Args:
        decision: ``accept``, ``reject`` or ``reopen``.
        comment: what to fix; required unless accepting.
        pin: where on the item the comment points, ``{"x": px, "y": px}`` in image pixels
            (0-based, inside the image); only with a comment.

    Returns:
        The recorded event; its ``action`` says what was applied.

    Raises:
        ValidationFailed: an unknown decision, no comment when sending the task back, or a
            pin that is not a point inside the image.
        Conflict: the table does not allow the action in the task's state for ``role``.
        Forbidden: the workflow's review stage does not let ``role`` review.
    """
    project = db.session.get(Project, task.project_id)
    if task.state != TaskState.ESCALATED and not project.flow.may_review(role):
        raise Forbidden(f"{_article(role)} {role} may not review in this project's workflow")
    if task.replica > 0:
        raise Conflict(f"task {task.id} is one labeler's answer: it is merged by consensus, not reviewed", {"replica": task.replica})
    comment = (comment or "").strip()
    if decision not in (Action.ACCEPT, Action.REJECT, Action.REOPEN):
        raise ValidationFailed("decision must be 'accept', 'reject' or 'reopen'", {"decision": "invalid"})
    if decision != Action.ACCEPT and not comment:
        raise ValidationFailed("say what to fix when you reject", {"comment": "required when rejecting"})
    checked_pin = _check_pin(pin, task.item, comment)
    action = Action(decision)
    if action == Action.REJECT and task.state == TaskState.ESCALATED:
        action = Action.REOPEN
    elif action == Action.REJECT and task.state == TaskState.SUBMITTED:
        action = _rejection_action(project, task)
    event = apply_action(task, user, role, action, comment)
    event.pin = checked_pin
    db.session.commit()
    return event


def _check_pin(pin: Any, item: Item, comment: str) -> dict[str, float] | None:
    """Return the pin as ``{"x", "y"}`` floats, or None; refuse one that is not on the image."""
    if pin is None:
        return None
    if not comment:
        raise ValidationFailed("a pin marks where a comment points: write the comment too", {"comment": "required with a pin"})
    if not isinstance(pin, dict) or set(pin) != {"x", "y"}:
        raise ValidationFailed('a pin is {"x": pixels, "y": pixels}', {"pin": "must have exactly x and y"})
    point = {}
    for axis, size in (("x", item.width), ("y", item.height)):
        value = pin[axis]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationFailed(f"pin {axis} must be a number of pixels", {f"pin/{axis}": "not a number"})
        if not 0 <= value <= size:
            raise ValidationFailed(f"pin {axis} must be a number from 0 to {size} (pixels)", {f"pin/{axis}": "outside the image"})
        point[axis] = float(value)
    return point


def review_queue(project: Project, limit: int = 200, escalated: bool = False) -> list[Task]:
    """Return tasks of ``project`` waiting for a decision, oldest first.

    Args:
        limit: at most this many tasks.
        escalated: include escalated tasks (for managers), listed before the submitted ones.

    Returns:
        Submitted tasks, preceded by escalated ones when ``escalated``.
    """
    states = [TaskState.ESCALATED, TaskState.SUBMITTED] if escalated else [TaskState.SUBMITTED]
    return list(
        db.session.scalars(
            select(Task)
            .where(Task.project_id == project.id, Task.replica == 0, Task.state.in_(states))
            .order_by(case((Task.state == TaskState.ESCALATED, 0), else_=1), Task.updated_at, Task.id)
            .limit(limit)
        )
    )


def history(task: Task) -> list[TaskEvent]:
    """Return the task's transitions, newest first."""
    return list(db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id.desc())))


def review_comments(task: Task) -> list[Any]:
    """Return the comments of those who sent the task back (reject, escalate, reopen), newest first.

    ``task`` may be any object with the task's ``id`` (a row of its columns will do).

    Returns:
        Rows with ``author`` (username, None when the account is gone), ``comment``,
        ``created_at`` and ``pin``; read as plain columns in one statement, since the labeling
        tool asks for them with every task it opens.
    """
    return list(db.session.execute(_review_comments_query(), {"task_id": task.id}))


@cache
def _review_comments_query() -> Select:
    return (
        select(User.username.label("author"), TaskEvent.comment, TaskEvent.created_at, TaskEvent.pin)
        .outerjoin(User, User.id == TaskEvent.actor_id)
        .where(
            TaskEvent.task_id == bindparam("task_id"),
            TaskEvent.action.in_([Action.REJECT, Action.ESCALATE, Action.REOPEN]),
            TaskEvent.comment != "",
        )
        .order_by(TaskEvent.id.desc())
    )


def can_edit(task: Task, user: User, role: Role) -> bool:
    """Whether ``user`` may change the task's annotation now.

    ``task`` may be any object with the task's ``state`` and ``assignee_id`` (a row of its columns will do).
    """
    return task.state == TaskState.IN_PROGRESS and task.assignee_id == user.id and role in (Role.LABELER, Role.MANAGER, Role.ADMIN)


def _check_may_label(project: Project, role: Role) -> None:
    if not project.flow.may_label(role):
        raise Forbidden(f"{_article(role)} {role} may not label in this project's workflow")


def _article(word: str) -> str:
    return "an" if str(word)[:1] in "aeiou" else "a"


def _check_editor(task: Task, user: User, role: Role) -> None:
    if task.assignee_id != user.id:
        raise Forbidden(f"task {task.id} is assigned to someone else")
