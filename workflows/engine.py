"""The workflow engine: where a task goes next under a project's :class:`~workflows.definition.Workflow`.

Pure functions of the workflow and a few counts, so every route is testable without a
database; the service in ``annotate/services/tasks.py`` reads the counts, asks these functions,
and applies the returned action through the one transition table (:mod:`workflows.tasks`).

Tasks. An item has one *item task* (``replica`` 0), whose state is the item's place in the
workflow. When the item's overlap is N > 1 it also has N *answer tasks* (``replica`` 1..N),
one per labeler, served instead of the item task; when the last of them is submitted the
consensus stage merges their answers into the item's annotation and routes the item task.

Routes:

* :func:`submit_action`: a labeler submits an item task: ``submit`` (to review) or
  ``auto_accept`` (not drawn by the review stage's rate, or no review stage).
* :func:`consensus_route`: all answers are in: :data:`Route.ACCEPT`, :data:`Route.REVIEW`
  (not agreed on and no extra labels left, or agreed on and drawn for review) or
  :data:`Route.MORE_LABELS` (not agreed on: ask one more labeler); agreed on means the
  agreement threshold is reached, or with adaptive overlap the target posterior.
* :func:`ranked_best_labelers` (:func:`best_labelers` as a set): who extra labels are routed to
  first (the stage's ``best_share``).
* :func:`rejection_action`: a reviewer sends an item back: ``reject``, or ``escalate`` on the
  review stage's ``max_rounds``-th rejection since the last escalation.
* :func:`stage_name`: the stage an item task is in, for progress by stage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum

from workflows.definition import Workflow
from workflows.tasks import Action, TaskState


class Route(StrEnum):
    """Where an item goes when its overlapping answers are all in."""

    ACCEPT = "accept"
    REVIEW = "review"
    MORE_LABELS = "more_labels"


def drawn_for_review(workflow: Workflow, *, sent_back_before: bool, draw: float) -> bool:
    """Whether an item goes to review under the review stage's rate.

    Args:
        workflow: the project's workflow.
        sent_back_before: a reviewer or manager sent this item back before (reject, escalate,
            reopen): then it is always reviewed again, so nobody's requested fix goes unchecked.
        draw: a number uniform in [0, 1), deterministic per item and submit.

    Returns:
        True to review, False to accept without review.
    """
    if workflow.review is None:
        return False
    if sent_back_before or workflow.review.rate >= 1.0:
        return True
    return draw < workflow.review.rate


def submit_action(workflow: Workflow, *, sent_back_before: bool, draw: float) -> Action:
    """Return the action for a labeler's submit of an item task: ``submit`` or ``auto_accept``.

    See :func:`drawn_for_review` for the arguments.
    """
    return Action.SUBMIT if drawn_for_review(workflow, sent_back_before=sent_back_before, draw=draw) else Action.AUTO_ACCEPT


def consensus_route(
    workflow: Workflow,
    *,
    agreement: float,
    answers: int,
    overlap: int,
    draw: float,
    tag_confidence: float | None = None,
    shape_agreement: float | None = None,
) -> Route:
    """Route an item whose answer tasks are all submitted.

    An item is agreed on when its ``agreement`` reaches the stage's ``agreement_threshold``;
    with the stage's ``target_confidence`` set, instead when ``tag_confidence`` reaches that
    target and, if anybody drew shapes, two or more answers give a ``shape_agreement`` at the
    threshold (one answer's shapes are never agreed on).

    Args:
        workflow: the project's workflow (with a consensus stage).
        agreement: the item's agreement in [0, 1] (:attr:`workflows.merge.MergeResult.agreement`).
        answers: how many answers the item has now.
        overlap: the item's overlap (answers asked for before any extra label).
        draw: a number uniform in [0, 1) for the review stage's rate.
        tag_confidence: the posterior of the item's tag set
            (:attr:`workflows.consensus.TagEstimate.confidence`); needed with ``target_confidence``.
        shape_agreement: the agreement of the item's shapes alone, None when nobody drew one
            (:attr:`workflows.merge.MergeResult.shape_agreement`).

    Returns:
        ``MORE_LABELS`` when not agreed on and extra labels are left; ``REVIEW`` when not
        agreed on and none are left, or when agreed on and drawn for review; else ``ACCEPT``.

    Raises:
        ValueError: the workflow has no consensus stage, or ``target_confidence`` is set and
            ``tag_confidence`` is None.
    """
    stage = workflow.consensus
    if stage is None:
        raise ValueError("this workflow has no consensus stage")
    if stage.target_confidence is None:
        agreed = agreement >= stage.agreement_threshold
    else:
        if tag_confidence is None:
            raise ValueError("the stage's target_confidence needs the item's tag_confidence")
        shapes_agreed = shape_agreement is None or (answers >= 2 and shape_agreement >= stage.agreement_threshold)
        agreed = tag_confidence >= stage.target_confidence and shapes_agreed
    if not agreed:
        if answers < overlap + stage.extra_labels:
            return Route.MORE_LABELS
        return Route.REVIEW
    return Route.REVIEW if drawn_for_review(workflow, sent_back_before=False, draw=draw) else Route.ACCEPT


def best_labelers(weights: Mapping[int, float], share: float) -> set[int]:
    """Return the best-rated ``share`` of the labelers, as a set (see :func:`ranked_best_labelers`)."""
    return set(ranked_best_labelers(weights, share))


def ranked_best_labelers(weights: Mapping[int, float], share: float) -> list[int]:
    """Return the best-rated ``share`` of the labelers, best first: the ones extra labels are routed to first.

    Args:
        weights: ``{labeler: weight}`` for every rated labeler of the project (their weight in
            the consensus method: Dawid-Skene or gold accuracy).
        share: the share in (0, 1] to keep, rounded up to whole labelers (0.25 of 10: 3).

    Returns:
        The labelers with the highest weights, highest first (ties: the lower id first); empty
        when nobody is rated.
    """
    if not weights:
        return []
    keep = max(1, math.ceil(share * len(weights) - 1e-9))
    return sorted(weights, key=lambda labeler: (-weights[labeler], labeler))[:keep]


def rejection_action(workflow: Workflow, *, rejects_this_round: int) -> Action:
    """Return ``reject``, or ``escalate`` when this rejection reaches the review stage's ``max_rounds``.

    Args:
        workflow: the project's workflow.
        rejects_this_round: rejections of the item since its last escalation, before this one.
    """
    rounds = workflow.max_review_rounds
    if rounds <= 0:
        return Action.REJECT
    return Action.ESCALATE if rejects_this_round >= rounds - 1 else Action.REJECT


def stage_name(workflow: Workflow, state: TaskState | str) -> str:
    """Return the name of the stage an item task in ``state`` is in.

    ``new``, ``in_progress`` and ``rejected`` are in the annotate stage (answers being drawn
    count there too: the consensus stage acts in the moment the last one is submitted);
    ``submitted`` and ``escalated`` in review; ``accepted`` in accept.
    """
    state = TaskState(state)
    if state in (TaskState.SUBMITTED, TaskState.ESCALATED):
        return workflow.review.name if workflow.review else workflow.annotate.name
    if state in (TaskState.ACCEPTED, TaskState.MERGED):
        return workflow.accept.name
    return workflow.annotate.name
