"""The review workflow engine: workflows as data, their routes, and the one transition table.

This package imports neither Flask nor the database, so the rules can be tested (and reused
by the CLI or a worker) without an application.
"""

from workflows.definition import (
    AcceptStage,
    AnnotateStage,
    ConsensusStage,
    ReviewStage,
    Workflow,
    WorkflowError,
    parse,
)
from workflows.engine import Route
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
    "AcceptStage",
    "Action",
    "AnnotateStage",
    "ConsensusStage",
    "ReviewStage",
    "Role",
    "Route",
    "TaskState",
    "TransitionError",
    "Workflow",
    "WorkflowError",
    "allowed_actions",
    "next_state",
    "parse",
]
