"""The review workflow engine: task states, actions, roles and the one transition table.

This package imports neither Flask nor the database, so the rules can be tested (and reused
by the CLI or a worker) without an application.
"""

from workflows.tasks import (
    TRANSITIONS,
    Action,
    Role,
    TaskState,
    TransitionError,
    allowed_actions,
    next_state,
)

__all__ = [
    "TRANSITIONS",
    "Action",
    "Role",
    "TaskState",
    "TransitionError",
    "allowed_actions",
    "next_state",
]
