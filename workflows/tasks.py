"""Task state machine: ``state x action x role -> new state`` in one table.

A task is one item to be labeled. Its life is::

     +-----skip, expire-----+
     v                      |
    new --start--> in_progress --submit--> submitted --accept--> accepted
                        ^                      |
                        |                   reject
                        +---start--- rejected <+

``save`` keeps a task ``in_progress``; ``reopen`` lets a manager send accepted work back.
``skip`` is the labeler handing an in-progress task back to the pool (with a reason);
``expire`` is the system doing the same when the labeler's lease ran out. Nobody does
``expire`` by hand: the service applies it with the ``admin`` role and records no actor.

Review rules are per project and applied by the service; the table stays a pure function of
``(state, action, role)``:

* audit: on submit the service applies ``auto_accept`` (in_progress -> accepted) instead of
  ``submit`` when the item is not drawn for review; like ``expire`` the system does it, with
  the ``admin`` role and no actor;
* escalation: when a rejection would be the Nth of a round, the service applies ``escalate``
  (submitted -> escalated) instead of ``reject``; a manager then may ``accept`` the task or
  ``reopen`` it (escalated -> rejected, back to its labeler).

Overlap (see :mod:`workflows.engine`): an item answered by N labelers has N answer tasks
that go ``new -> in_progress -> submitted`` like any task, while the item's own task waits in
``new``. When the last answer is in, the system applies ``merge``: each answer task goes
``submitted -> merged`` (its answer is in the merged result), and the item task goes
``new -> submitted`` (to review) or, with ``auto_accept``, ``new -> accepted``. A rejected
merged result has no single labeler: it goes back to the pool as ``rejected`` with no
assignee, and any labeler may ``start`` it.

Anything not in :data:`TRANSITIONS` is refused with :class:`TransitionError`; no view or
service checks states by hand. Stages (annotation, validation, acceptance) in the sense of
CVAT are derived from the state; they are not stored separately.
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is in its life."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: Rejected too often: waits for a manager to accept it or send it back.
    ESCALATED = "escalated"
    #: An overlapping labeler's answer that the consensus stage merged into the item's annotation.
    MERGED = "merged"


class Action(StrEnum):
    """What a person does to a task."""

    START = "start"
    SAVE = "save"
    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    REOPEN = "reopen"
    SKIP = "skip"
    #: Done by the system, not a person: the service applies it with the admin role.
    EXPIRE = "expire"
    #: Done by the system instead of ``submit`` when the item is not drawn for review.
    AUTO_ACCEPT = "auto_accept"
    #: A rejection that reached the project's review-round limit: a manager decides.
    ESCALATE = "escalate"
    #: Done by the system when an item's overlapping answers are merged by the consensus stage.
    MERGE = "merge"


class Role(StrEnum):
    """Roles of a project member, from most to least powerful."""

    ADMIN = "admin"
    MANAGER = "manager"
    REVIEWER = "reviewer"
    LABELER = "labeler"


class TransitionError(Exception):
    """An action that the table does not allow for this state and role.

    Attributes:
        state: the task's current state.
        action: the action that was tried.
        role: the role of the person who tried it.
    """

    def __init__(self, state: TaskState, action: Action, role: Role) -> None:
        self.state, self.action, self.role = state, action, role
        super().__init__(f"a {role} cannot {action} a task that is {state.replace('_', ' ')}")


_LABELING = (Role.LABELER, Role.MANAGER, Role.ADMIN)
_REVIEWING = (Role.REVIEWER, Role.MANAGER, Role.ADMIN)
_MANAGING = (Role.MANAGER, Role.ADMIN)
#: The role the system acts with (an expired lease); there is no separate system role, so
#: that every role stays a role a person can hold in a project.
_SYSTEM = (Role.ADMIN,)


def _rows(state: TaskState, action: Action, roles: tuple[Role, ...], new: TaskState):
    return {(state, action, role): new for role in roles}


#: The whole rule set. Keys are ``(state, action, role)``; values are the new state.
TRANSITIONS: dict[tuple[TaskState, Action, Role], TaskState] = {
    **_rows(TaskState.NEW, Action.START, _LABELING, TaskState.IN_PROGRESS),
    **_rows(TaskState.REJECTED, Action.START, _LABELING, TaskState.IN_PROGRESS),
    **_rows(TaskState.IN_PROGRESS, Action.START, _LABELING, TaskState.IN_PROGRESS),
    **_rows(TaskState.IN_PROGRESS, Action.SAVE, _LABELING, TaskState.IN_PROGRESS),
    **_rows(TaskState.IN_PROGRESS, Action.SUBMIT, _LABELING, TaskState.SUBMITTED),
    **_rows(TaskState.SUBMITTED, Action.ACCEPT, _REVIEWING, TaskState.ACCEPTED),
    **_rows(TaskState.SUBMITTED, Action.REJECT, _REVIEWING, TaskState.REJECTED),
    **_rows(TaskState.ACCEPTED, Action.REOPEN, _MANAGING, TaskState.REJECTED),
    **_rows(TaskState.IN_PROGRESS, Action.SKIP, _LABELING, TaskState.NEW),
    **_rows(TaskState.IN_PROGRESS, Action.EXPIRE, _SYSTEM, TaskState.NEW),
    **_rows(TaskState.IN_PROGRESS, Action.AUTO_ACCEPT, _SYSTEM, TaskState.ACCEPTED),
    **_rows(TaskState.SUBMITTED, Action.ESCALATE, _REVIEWING, TaskState.ESCALATED),
    **_rows(TaskState.ESCALATED, Action.ACCEPT, _MANAGING, TaskState.ACCEPTED),
    **_rows(TaskState.ESCALATED, Action.REOPEN, _MANAGING, TaskState.REJECTED),
    **_rows(TaskState.SUBMITTED, Action.MERGE, _SYSTEM, TaskState.MERGED),
    **_rows(TaskState.NEW, Action.MERGE, _SYSTEM, TaskState.SUBMITTED),
    **_rows(TaskState.NEW, Action.AUTO_ACCEPT, _SYSTEM, TaskState.ACCEPTED),
}


def next_state(state: TaskState | str, action: Action | str, role: Role | str) -> TaskState:
    """Return the state a task moves to when ``role`` does ``action`` in ``state``.

    Args:
        state: the task's current state.
        action: what the person does.
        role: the person's role in the task's project.

    Returns:
        The new state (may equal ``state``, e.g. for ``save``).

    Raises:
        TransitionError: the table has no such row.
        ValueError: one of the arguments is not a known state, action or role.
    """
    key = (TaskState(state), Action(action), Role(role))
    try:
        return TRANSITIONS[key]
    except KeyError:
        raise TransitionError(*key) from None


def allowed_actions(state: TaskState | str, role: Role | str) -> list[Action]:
    """List the actions ``role`` may take on a task in ``state``, in table order.

    Args:
        state: the task's current state.
        role: the person's role in the project.

    Returns:
        The allowed actions; empty when there are none.
    """
    state, role = TaskState(state), Role(role)
    return [a for (s, a, r) in TRANSITIONS if s == state and r == role]
