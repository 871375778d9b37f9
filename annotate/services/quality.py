"""Quality control: gold items mixed into labelers' queues, their scores, and pausing labelers.

Design. A manager marks an item as **gold** (:func:`mark_gold`): a :class:`~annotate.models.GoldItem`
row keeps the known answer (the item's accepted document, or one the manager gives). The gold
item's own task is done (accepted) and must stay so, so it cannot be served again. So when
:func:`annotate.services.tasks.next_task` decides to serve gold (:func:`draw_gold`), it makes a
transient **copy** of the item (same stored media, its own empty task, in progress and leased
to the labeler) and a :class:`~annotate.models.GoldAnswer` row pointing at the copy. The
labeling tool works on the copy through the ordinary task endpoints, so a gold task looks like
any other task. On submit (:func:`finish_gold`) the copy's latest document is scored against
the gold answer, stored on the answer with the active seconds, and the copy (item, task,
revisions, events) is deleted; it never reaches review, exports or the progress counts after
that. A skip or an expired lease deletes the copy too, and the answer stays as ``skipped`` /
``expired``; one answer row per (gold item, labeler) means a gold item is never served to the
same labeler twice.

Mixing. The ``n``-th serve of a labeler in a project (``n`` = their ``start`` events there plus
their gold answers) draws from ``random.Random("gold:<project>:<labeler>:<n>")``: the first
number decides gold (``< gold_rate``), the next picks among the gold items they have not seen.

Scoring (:func:`score_documents`). Boxes (``bbox`` shapes) are matched greedily by IoU, highest
first, only with the same label and IoU >= 0.5; box F1 = 2 * matches / (gold boxes + answer
boxes). Tags score their Jaccard index. The score is the mean of the parts that apply (boxes
when either document has a box, tags when either has a tag); two empty documents score 1.
Other shape types are not scored.

Flags and pauses. A labeler is **flagged** when they have at least ``MIN_GOLD_ANSWERS`` scored
gold answers and the upper end of the 95 % Wilson interval of the share scoring >= 0.5 is below
the project's ``quality_threshold``. After each scored answer a flagged labeler is paused when
the project's ``auto_pause`` is on: :func:`check_not_paused` then refuses them new tasks with
:class:`LabelerPaused` (403 with a message; work already theirs is still served). A manager's
:func:`unpause` lasts until their next scored gold answer, which pauses them again if they are
still flagged.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections import Counter, defaultdict
from datetime import UTC
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from annotate.errors import Conflict, Forbidden, NotFound, ValidationFailed
from annotate.extensions import db
from annotate.models import (
    AnnotationRevision,
    GoldAnswer,
    GoldItem,
    Item,
    LabelerPause,
    LabelKind,
    PrelabelOutcome,
    Project,
    ProjectMember,
    Task,
    TaskEvent,
    User,
)
from annotate.models.types import utcnow
from annotate.services import annotations, projects, workflow
from workflows import Action, Role, TaskState
from workflows.consensus import TagEstimate, iou, tag_dawid_skene

#: Scored gold answers needed before a labeler can be flagged.
MIN_GOLD_ANSWERS = 5
#: A gold answer scoring at least this counts as correct in the Wilson interval.
PASS_SCORE = 0.5
#: Boxes match when their IoU is at least this (and their labels agree).
MATCH_IOU = 0.5
#: z for a 95 % two-sided interval.
Z95 = 1.959963984540054
CSV_COLUMNS = [
    "username", "gold_answers", "gold_accuracy", "gold_passed", "gold_pass_low", "gold_pass_high", "submitted", "accepted",
    "rejected", "acceptance_rate", "consensus_items", "consensus_agreement", "active_seconds", "seconds_per_item",
    "items_per_hour", "flagged", "paused", "best_rated",
]  # fmt: skip


class LabelerPaused(Forbidden):
    """The labeler is paused in the project: no new tasks until a manager unpauses them."""


# --- scoring -----------------------------------------------------------------------------------


def score_documents(gold: dict[str, Any], answer: dict[str, Any]) -> float:
    """Score ``answer`` against the ``gold`` document (see the module docstring).

    Args:
        gold: the known annotation document.
        answer: the labeler's document.

    Returns:
        A score in [0, 1]; 1 means every box and tag agrees.
    """
    parts = []
    gold_boxes, answer_boxes = _boxes(gold), _boxes(answer)
    if gold_boxes or answer_boxes:
        parts.append(box_f1(gold_boxes, answer_boxes))
    gold_tags, answer_tags = _tags(gold), _tags(answer)
    if gold_tags or answer_tags:
        parts.append(len(gold_tags & answer_tags) / len(gold_tags | answer_tags))
    return sum(parts) / len(parts) if parts else 1.0


def box_f1(gold: list[tuple[str, list[float]]], answer: list[tuple[str, list[float]]]) -> float:
    """Return the F1 of ``answer`` boxes against ``gold`` boxes, matched one-to-one.

    Args:
        gold: ``(label, [x, y, w, h])`` pairs in pixels.
        answer: the same for the answer.

    Returns:
        ``2 * matches / (len(gold) + len(answer))``; 1 when both are empty.
    """
    if not gold and not answer:
        return 1.0
    pairs = sorted(((iou(g[1], a[1]), gi, ai) for gi, g in enumerate(gold) for ai, a in enumerate(answer) if g[0] == a[0]), reverse=True)
    used_gold, used_answer = set(), set()
    for overlap, gi, ai in pairs:
        if overlap < MATCH_IOU:
            break
        if gi not in used_gold and ai not in used_answer:
            used_gold.add(gi)
            used_answer.add(ai)
    return 2 * len(used_gold) / (len(gold) + len(answer))


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """Return the Wilson score interval of a binomial proportion.

    Args:
        successes: how many trials succeeded.
        trials: how many trials there were.
        z: the normal quantile (1.96 for 95 %).

    Returns:
        ``(low, high)`` within [0, 1]; None when ``trials`` is 0.
    """
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, center - margin), min(1.0, center + margin)


def _boxes(document: dict[str, Any] | None) -> list[tuple[str, list[float]]]:
    shapes = (document or {}).get("shapes") or []
    return [(s.get("label"), s["bbox"]) for s in shapes if s.get("type") == "bbox" and s.get("bbox")]


def _tags(document: dict[str, Any] | None) -> set[str]:
    return {t.get("label") for t in (document or {}).get("tags") or []}


# --- gold items --------------------------------------------------------------------------------


def mark_gold(project: Project, item_id: int, user: User, document: dict[str, Any] | None = None) -> GoldItem:
    """Make an item of ``project`` gold (committed); marking it again replaces its answer.

    Args:
        item_id: the item.
        user: the manager.
        document: the known answer; when None, the item's latest revision, which must be accepted.

    Raises:
        NotFound: no such item in the project (or it is a gold copy).
        Conflict: no document given and the item is not accepted.
        ValidationFailed: the document is invalid for the project, or gives a model source to a
            shape or tag that is not a pre-label of the item's latest revision.
    """
    item = db.session.get(Item, item_id)
    if item is None or item.project_id != project.id or _is_copy(item.id):
        raise NotFound(f"item {item_id} not found in project {project.id}")
    revision_id = None
    if document is None:
        task = db.session.scalar(select(Task).where(Task.item_id == item.id, Task.replica == 0))
        revision = annotations.latest_revision(item.id)
        if task is None or task.state != TaskState.ACCEPTED or revision is None:
            raise Conflict(f"item {item_id} has no accepted annotation; give the answer as 'annotation'", {"item_id": "not accepted"})
        document, revision_id = revision.document, revision.id
    else:
        annotations.check_document(document, project, item)
        annotations.check_model_sources(document, item.id)
    gold = db.session.scalar(select(GoldItem).where(GoldItem.item_id == item.id))
    if gold is None:
        gold = GoldItem(project_id=project.id, item_id=item.id, document=document, revision_id=revision_id, created_by_id=user.id)
        db.session.add(gold)
    else:
        gold.document, gold.revision_id, gold.created_by_id = document, revision_id, user.id
    db.session.commit()
    return gold


def unmark_gold(project: Project, item_id: int) -> None:
    """Stop using an item as gold (committed); its answers and their scores are deleted with it.

    Copies being worked on are deleted too.

    Raises:
        NotFound: the item is not gold in this project.
    """
    gold = db.session.scalar(select(GoldItem).where(GoldItem.item_id == item_id, GoldItem.project_id == project.id))
    if gold is None:
        raise NotFound(f"item {item_id} is not gold in project {project.id}")
    for copy_id in db.session.scalars(select(GoldAnswer.copy_item_id).where(GoldAnswer.gold_item_id == gold.id)).all():
        if copy_id is not None:
            _delete_copy(copy_id)
    db.session.execute(delete(GoldAnswer).where(GoldAnswer.gold_item_id == gold.id))
    db.session.delete(gold)
    db.session.commit()


def gold_items(project: Project) -> list[dict[str, Any]]:
    """List the project's gold items with how often they were answered and their mean score."""
    rows = db.session.execute(
        select(GoldItem, Item.name).join(Item, Item.id == GoldItem.item_id).where(GoldItem.project_id == project.id).order_by(GoldItem.id)
    ).all()
    out = []
    for gold, name in rows:
        scores = db.session.scalars(select(GoldAnswer.score).where(GoldAnswer.gold_item_id == gold.id, GoldAnswer.score.is_not(None))).all()
        out.append({
            "item_id": gold.item_id, "item_name": name, "revision_id": gold.revision_id, "answers": len(scores),
            "mean_score": sum(scores) / len(scores) if scores else None, "document": gold.document,
        })  # fmt: skip
    return out


def gold_copy_answer(item_id: int) -> GoldAnswer | None:
    """Return the gold answer whose transient copy is item ``item_id``, or None for an ordinary item."""
    return db.session.scalar(_gold_copy_answer_query(), {"item_id": item_id})


# The statements that serving and submitting run on every call are built once, with bound
# parameters: building and fingerprinting a statement costs about as much CPU as running it.
@cache
def _gold_copy_answer_query() -> Select:
    return select(GoldAnswer).where(GoldAnswer.copy_item_id == bindparam("item_id"))


@cache
def _gold_candidates_query() -> Select:
    """The project's gold items the labeler was never served, by id."""
    seen = select(GoldAnswer.gold_item_id).where(GoldAnswer.labeler_id == bindparam("user_id"))
    return select(GoldItem).where(GoldItem.project_id == bindparam("project_id"), GoldItem.id.not_in(seen)).order_by(GoldItem.id)


@cache
def _pause_query() -> Select:
    return select(LabelerPause).where(LabelerPause.project_id == bindparam("project_id"), LabelerPause.user_id == bindparam("user_id"))


def copy_item_ids():
    """Return a ``select`` of the ids of the transient gold copies now being labeled."""
    return select(GoldAnswer.copy_item_id).where(GoldAnswer.copy_item_id.is_not(None))


def _is_copy(item_id: int) -> bool:
    return db.session.scalar(select(func.count()).where(GoldAnswer.copy_item_id == item_id)) > 0


# --- serving -----------------------------------------------------------------------------------


def gold_rng(project_id: int, user_id: int, count: int) -> random.Random:
    """Return the generator for a labeler's ``count``-th serve in a project (deterministic)."""
    return random.Random(f"gold:{project_id}:{user_id}:{count}")


def serve_count(project: Project, user: User) -> int:
    """Return how many tasks ``user`` was served in ``project``: their ``start`` events plus gold answers."""
    starts = db.session.scalar(
        select(func.count())
        .select_from(TaskEvent)
        .join(Task, Task.id == TaskEvent.task_id)
        .where(Task.project_id == project.id, TaskEvent.actor_id == user.id, TaskEvent.action == Action.START)
    )
    answers = db.session.scalar(select(func.count()).where(GoldAnswer.project_id == project.id, GoldAnswer.labeler_id == user.id))
    return int(starts) + int(answers)


def draw_gold(project: Project, user: User) -> GoldItem | None:
    """Decide whether this serve is gold and which gold item; None for ordinary work.

    Returns:
        A gold item of ``project`` that ``user`` has never been served, drawn as the module
        docstring says; None when the draw says no or none is left.
    """
    if project.gold_rate <= 0:
        return None
    # The candidates first: with none left the answer is None whatever the draw, and counting
    # the serves (two statements) is skipped, as in every project without gold items.
    candidates = list(db.session.scalars(_gold_candidates_query(), {"project_id": project.id, "user_id": user.id}))
    if not candidates:
        return None
    rng = gold_rng(project.id, user.id, serve_count(project, user))
    if rng.random() >= project.gold_rate:
        return None
    return rng.choice(candidates)


def serve_gold(project: Project, user: User, role: Role, gold: GoldItem, lease_expires_at) -> Task | None:
    """Make a transient copy of ``gold``'s item with its own task, leased to ``user`` (committed).

    Args:
        lease_expires_at: when the copy's lease runs out (aware datetime).

    Returns:
        The copy's task, in progress; None when a concurrent request served this gold item to
        the same labeler first.
    """
    from annotate.services.tasks import apply_action  # tasks imports this module

    item = gold.item
    copy = Item(
        project_id=project.id, kind=item.kind, name=item.name, path=f"{item.path}#gold-{user.id}", storage_key=item.storage_key,
        display_key=item.display_key, thumb_key=item.thumb_key, sha256=item.sha256, mime=item.mime, width=item.width,
        height=item.height, video_id=item.video_id, frame_index=item.frame_index,
    )  # fmt: skip
    try:
        db.session.add(copy)
        db.session.flush()
        db.session.add(GoldAnswer(project_id=project.id, gold_item_id=gold.id, labeler_id=user.id, copy_item_id=copy.id))
        task = Task(project_id=project.id, item_id=copy.id, state=TaskState.NEW, assignee_id=user.id, lease_expires_at=lease_expires_at)
        db.session.add(task)
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    apply_action(task, user, role, Action.START)
    db.session.commit()
    return task


def finish_gold(task: Task, answer: GoldAnswer, user: User, role: Role) -> None:
    """Score a submitted gold copy, keep the answer, delete the copy, maybe pause (committed).

    ``task`` is detached afterwards, in state ``submitted``, so the caller can still read it.
    """
    from annotate.services.tasks import apply_action

    document, _ = annotations.latest_document(task.item_id)
    active = db.session.scalar(
        select(func.coalesce(func.sum(AnnotationRevision.active_seconds), 0.0)).where(AnnotationRevision.item_id == task.item_id)
    )
    apply_action(task, user, role, Action.SUBMIT)
    task.lease_expires_at = None
    gold = db.session.get(GoldItem, answer.gold_item_id)
    answer.document, answer.score = document, score_documents(gold.document, document)
    answer.status, answer.submitted_at, answer.active_seconds = "scored", utcnow(), float(active or 0.0)
    _end_copy(task, answer)
    project = db.session.get(Project, task.project_id)
    db.session.flush()
    update_pause(project, user)
    db.session.commit()


def drop_gold(task: Task, answer: GoldAnswer, status: str) -> None:
    """End a gold copy without a score (``skipped``), delete it (not committed); ``task`` is detached."""
    task.state = TaskState.NEW
    answer.status = status
    _end_copy(task, answer)


def discard_released_copies(project: Project) -> int:
    """Delete gold copies whose lease expired and went back to the pool (not committed).

    Their answers stay as ``expired``, so those gold items are not served to those labelers again.

    Returns:
        How many copies were deleted.
    """
    rows = db.session.execute(
        select(GoldAnswer, Task.id)
        .join(Task, Task.item_id == GoldAnswer.copy_item_id)
        .where(GoldAnswer.project_id == project.id, Task.state == TaskState.NEW, Task.assignee_id.is_(None))
    ).all()
    for answer, _ in rows:
        answer.status = "expired"
        copy_id, answer.copy_item_id = answer.copy_item_id, None
        db.session.flush()
        _delete_copy(copy_id)
    return len(rows)


def _end_copy(task: Task, answer: GoldAnswer) -> None:
    copy_id = answer.copy_item_id
    answer.copy_item_id = None
    db.session.flush()
    db.session.expunge(task)
    _delete_copy(copy_id)


def _delete_copy(item_id: int) -> None:
    # Explicit deletes, child rows first: SQLite does not cascade without its foreign-key pragma.
    task_ids = select(Task.id).where(Task.item_id == item_id)
    db.session.execute(delete(TaskEvent).where(TaskEvent.task_id.in_(task_ids)).execution_options(synchronize_session=False))
    db.session.execute(delete(PrelabelOutcome).where(PrelabelOutcome.item_id == item_id).execution_options(synchronize_session=False))
    db.session.execute(delete(AnnotationRevision).where(AnnotationRevision.item_id == item_id).execution_options(synchronize_session=False))
    db.session.execute(delete(Task).where(Task.item_id == item_id).execution_options(synchronize_session=False))
    db.session.execute(delete(Item).where(Item.id == item_id).execution_options(synchronize_session=False))


# --- pauses ------------------------------------------------------------------------------------


def is_paused(project: Project, user: User) -> bool:
    """Whether ``user`` is paused in ``project``."""
    return bool(
        db.session.scalar(select(LabelerPause.paused).where(LabelerPause.project_id == project.id, LabelerPause.user_id == user.id))
    )


def check_not_paused(project: Project, user: User) -> None:
    """Refuse new tasks to a paused labeler.

    Raises:
        LabelerPaused: ``user`` is paused in ``project``.
    """
    pause = db.session.scalar(_pause_query(), {"project_id": project.id, "user_id": user.id})
    if pause is not None and pause.paused:
        raise LabelerPaused(
            f"you are paused in project {project.name!r}: {pause.reason} A manager can unpause you.", {"paused": pause.reason}
        )


def update_pause(project: Project, user: User) -> bool:
    """Pause ``user`` when they are flagged and the project's ``auto_pause`` is on (not committed).

    Returns:
        Whether they are flagged.
    """
    gold = _gold_figures(project, user.id)
    if not gold["flagged"] or not project.auto_pause:
        return gold["flagged"]
    pause = db.session.scalar(select(LabelerPause).where(LabelerPause.project_id == project.id, LabelerPause.user_id == user.id))
    if pause is None:
        pause = LabelerPause(project_id=project.id, user_id=user.id)
        db.session.add(pause)
    pause.paused, pause.changed_by_id = True, None
    pause.reason = (
        f"{gold['gold_passed']} of {gold['gold_answers']} gold answers scored {PASS_SCORE} or more; the 95 % upper bound "
        f"{gold['gold_pass_high']:.3f} is below the project's threshold {project.quality_threshold}."
    )
    return True


def unpause(project: Project, user_id: int, manager: User) -> LabelerPause:
    """Let a paused labeler work again (committed), until their next scored gold answer.

    Raises:
        NotFound: ``user_id`` is not paused in the project.
    """
    pause = db.session.scalar(select(LabelerPause).where(LabelerPause.project_id == project.id, LabelerPause.user_id == user_id))
    if pause is None or not pause.paused:
        raise NotFound(f"user {user_id} is not paused in project {project.id}")
    pause.paused, pause.changed_by_id = False, manager.id
    db.session.commit()
    return pause


def update_settings(
    project: Project, *, gold_rate: float | None = None, quality_threshold: float | None = None, auto_pause: bool | None = None
) -> Project:
    """Change the project's quality settings (committed).

    Args:
        gold_rate: the chance in [0, 1] of serving gold.
        quality_threshold: in [0, 1].
        auto_pause: whether flagged labelers are paused.

    Raises:
        ValidationFailed: a value out of range.
    """
    for name, value in (("gold_rate", gold_rate), ("quality_threshold", quality_threshold)):
        if value is not None and not 0 <= value <= 1:
            raise ValidationFailed(f"{name} must be between 0 and 1", {name: "out of range"})
    if gold_rate is not None:
        project.gold_rate = gold_rate
    if quality_threshold is not None:
        project.quality_threshold = quality_threshold
    if auto_pause is not None:
        project.auto_pause = auto_pause
    db.session.commit()
    return project


# --- figures -----------------------------------------------------------------------------------


def _gold_figures(project: Project, user_id: int) -> dict[str, Any]:
    scores = db.session.scalars(
        select(GoldAnswer.score).where(GoldAnswer.project_id == project.id, GoldAnswer.labeler_id == user_id, GoldAnswer.score.is_not(None))
    ).all()
    passed = sum(1 for s in scores if s >= PASS_SCORE)
    interval = wilson_interval(passed, len(scores))
    flagged = len(scores) >= MIN_GOLD_ANSWERS and interval is not None and interval[1] < project.quality_threshold
    return {
        "gold_answers": len(scores), "gold_accuracy": sum(scores) / len(scores) if scores else None, "gold_passed": passed,
        "gold_pass_low": interval[0] if interval else None, "gold_pass_high": interval[1] if interval else None, "flagged": flagged,
    }  # fmt: skip


def gold_weights(project: Project, user_ids: list[int]) -> dict[int, float]:
    """Return each labeler's weight in a consensus vote: their mean gold score in the project.

    Labelers without scored gold answers weigh the mean of those who have some (1.0 when
    nobody has), so a newcomer counts like an average labeler. Weights are at least 0.05, so
    nobody's answer is ignored outright.

    Args:
        user_ids: the labelers (user ids).

    Returns:
        ``{user id: weight}``.
    """
    rows = gold_scores(project, user_ids)
    known = list(rows.values())
    default = sum(known) / len(known) if known else 1.0
    return {uid: max(0.05, rows.get(uid, default)) for uid in user_ids}


def gold_scores(project: Project, user_ids: list[int] | None = None) -> dict[int, float]:
    """Return the mean score of each labeler's scored gold answers in the project.

    Args:
        user_ids: only these labelers (default: everyone with a scored gold answer).

    Returns:
        ``{user id: mean score in [0, 1]}``; labelers without a scored gold answer are absent.
    """
    query = (
        select(GoldAnswer.labeler_id, func.avg(GoldAnswer.score))
        .where(GoldAnswer.project_id == project.id, GoldAnswer.score.is_not(None))
        .group_by(GoldAnswer.labeler_id)
    )
    if user_ids is not None:
        query = query.where(GoldAnswer.labeler_id.in_(user_ids))
    return {uid: float(score) for uid, score in db.session.execute(query)}


#: The most recent answer tasks :func:`tag_estimate` learns from, to bound its cost.
DS_HISTORY = 5000


def tag_estimate(project: Project, item_id: int | None = None) -> TagEstimate | None:
    """Run Dawid-Skene over the project's tag answers (:func:`workflows.consensus.tag_dawid_skene`).

    Every tag label of the project on every item with overlapping answers is a yes/no question
    ("does this item have tag L?") answered by each labeler of the item; scored gold answers
    add the same questions with known truths, which anchor the estimate. Reads the latest
    :data:`DS_HISTORY` answer tasks, plus every answer of ``item_id`` however old.

    Args:
        item_id: an item whose answers must be in the estimate (the one being concluded).

    Returns:
        The estimate, its items keyed ``("item", item id)`` and ``("gold", gold item id)``
        and its labelers by user id; None when the project has no tag labels or no answers.
    """
    tag_labels = [label.name for label in project.labels if label.kind == LabelKind.TAG]
    if not tag_labels:
        return None
    answers = answer_documents(project, limit=DS_HISTORY)
    if item_id is not None:
        answers |= answer_documents(project, item_ids=[item_id])
    if not answers:
        return None
    by_item: dict[tuple[str, int], dict[int, frozenset[str]]] = defaultdict(dict)
    for (answered_item, user_id), document in answers.items():
        by_item[("item", answered_item)][user_id] = frozenset(_tags(document))
    gold: dict[tuple[str, int], frozenset[str]] = {}
    for gold_id, known, labeler_id, document in db.session.execute(
        select(GoldItem.id, GoldItem.document, GoldAnswer.labeler_id, GoldAnswer.document)
        .join(GoldAnswer, GoldAnswer.gold_item_id == GoldItem.id)
        .where(GoldItem.project_id == project.id, GoldAnswer.score.is_not(None), GoldAnswer.document.is_not(None))
    ):
        by_item[("gold", gold_id)][labeler_id] = frozenset(_tags(document))
        gold[("gold", gold_id)] = frozenset(_tags(known))
    return tag_dawid_skene(by_item, tag_labels, gold)


def dawid_skene_weights(project: Project, user_ids: list[int]) -> dict[int, float]:
    """Return each labeler's weight in a consensus vote: their accuracy as Dawid-Skene estimates it.

    The weight is the estimated accuracy on the yes/no tag questions of :func:`tag_estimate`
    (see :func:`estimate_weights`).

    Args:
        user_ids: the labelers (user ids).

    Returns:
        ``{user id: weight}``.
    """
    return estimate_weights(project, user_ids, tag_estimate(project))


def estimate_weights(project: Project, user_ids: list[int], estimate: TagEstimate | None) -> dict[int, float]:
    """Return each labeler's accuracy in ``estimate`` as their vote weight, at least 0.05.

    Without an estimate (no tag labels, or no answers yet) the weights are :func:`gold_weights`,
    as they are for labelers the estimate has not seen.

    Args:
        user_ids: the labelers (user ids).
        estimate: the project's :func:`tag_estimate`.

    Returns:
        ``{user id: weight}``.
    """
    fallback = gold_weights(project, user_ids)
    if estimate is None:
        return fallback
    return {uid: max(0.05, estimate.accuracy[uid]) if uid in estimate.accuracy else fallback[uid] for uid in user_ids}


def rated_labelers(project: Project, estimate: TagEstimate | None) -> dict[int, float]:
    """Return the weight of every labeler the consensus method can rate in the project.

    Every labeler's gold score, overridden by their accuracy in ``estimate`` (given for the
    ``dawid_skene`` method, None for the others). Labelers with neither are not rated (they
    are not among the best until they have a record).

    Returns:
        ``{user id: weight}``.
    """
    rated = gold_scores(project)
    if estimate is not None:
        rated |= estimate.accuracy
    return rated


def answer_documents(project: Project, item_ids: list[int] | None = None, limit: int | None = None) -> dict[tuple[int, int], dict]:
    """Return the latest document of each overlapping labeler's answer, by ``(item id, user id)``.

    Args:
        item_ids: only these items (default: all of the project's).
        limit: only the latest this many answer tasks (by task id).

    Returns:
        ``{(item id, user id): document}`` for answer tasks that are submitted or merged.
    """
    query = select(Task.item_id, Task.replica, Task.assignee_id).where(
        Task.project_id == project.id,
        Task.replica > 0,
        Task.assignee_id.is_not(None),
        Task.state.in_([TaskState.SUBMITTED, TaskState.MERGED]),
    )
    if item_ids is not None:
        query = query.where(Task.item_id.in_(item_ids))
    if limit is not None:
        query = query.order_by(Task.id.desc()).limit(limit)
    tasks_ = db.session.execute(query).all()
    if not tasks_:
        return {}
    saved = annotations.latest_answer_documents(sorted({item_id for item_id, _, _ in tasks_}))
    return {(item_id, user_id): annotations.saved_or_empty(saved, (item_id, replica))[0] for item_id, replica, user_id in tasks_}


def labeler_figures(project: Project) -> list[dict[str, Any]]:
    """Per labeler of ``project``: gold accuracy and its interval, review acceptance, speed, flags.

    Labelers are the project's labeler members and anyone who submitted, answered gold or was
    paused there. ``acceptance_rate`` = accepted / (accepted + rejected), each review credited
    to whoever last submitted the task; ``active_seconds`` sums their human revisions' active
    time on the project's items (gold copies excluded); ``items_per_hour`` = submitted items per
    active hour; ``consensus_agreement`` is the mean :func:`score_documents` of their answers
    against the consensus each was merged into, over ``consensus_items`` items (overlap);
    ``best_rated``: among the labelers extra consensus labels are routed to first
    (:attr:`Project.best_labeler_ids`). Unknown values are None.

    Returns:
        One dict per labeler (keys as :data:`CSV_COLUMNS` plus ``user_id``), by username.
    """
    events = db.session.execute(
        select(TaskEvent.task_id, TaskEvent.action, TaskEvent.actor_id, Task.assignee_id)
        .join(Task, Task.id == TaskEvent.task_id)
        .where(Task.project_id == project.id, TaskEvent.action.in_([Action.SUBMIT, Action.AUTO_ACCEPT, Action.ACCEPT, Action.REJECT]))
        .order_by(TaskEvent.id)
    ).all()
    submitter: dict[int, int | None] = {}
    submitted: dict[int, set[int]] = defaultdict(set)
    reviews: dict[int, Counter] = defaultdict(Counter)
    for task_id, action, actor_id, assignee_id in events:
        if action == Action.AUTO_ACCEPT:
            # Submitted, and accepted without review (the audit rate skipped it): it counts as
            # the labeler's work but not in their acceptance rate, which is about reviews.
            if assignee_id is not None:
                submitted[assignee_id].add(task_id)
        elif action == Action.SUBMIT:
            submitter[task_id] = actor_id
            if actor_id is not None:
                submitted[actor_id].add(task_id)
        elif submitter.get(task_id) is not None:
            reviews[submitter[task_id]][action] += 1
    copies = select(GoldAnswer.copy_item_id).where(GoldAnswer.copy_item_id.is_not(None))
    active = dict(
        db.session.execute(
            select(AnnotationRevision.author_id, func.sum(AnnotationRevision.active_seconds))
            .join(Item, Item.id == AnnotationRevision.item_id)
            .where(Item.project_id == project.id, AnnotationRevision.source == "human", AnnotationRevision.item_id.not_in(copies))
            .group_by(AnnotationRevision.author_id)
        ).all()
    )
    pauses = {p.user_id: p for p in db.session.scalars(select(LabelerPause).where(LabelerPause.project_id == project.id))}
    user_ids = set(submitted) | set(pauses)
    user_ids |= set(db.session.scalars(select(GoldAnswer.labeler_id).where(GoldAnswer.project_id == project.id)))
    user_ids |= set(
        db.session.scalars(select(ProjectMember.user_id).where(ProjectMember.project_id == project.id, ProjectMember.role == Role.LABELER))
    )
    consensus_scores = consensus_agreement(project)
    user_ids |= set(consensus_scores)
    best = set(project.best_labeler_ids or ())
    rows = []
    for user in db.session.scalars(select(User).where(User.id.in_(user_ids))):
        gold = _gold_figures(project, user.id)
        scores = consensus_scores.get(user.id, [])
        accepted, rejected = reviews[user.id][Action.ACCEPT], reviews[user.id][Action.REJECT]
        items = len(submitted[user.id])
        seconds = float(active.get(user.id) or 0.0)
        rows.append({
            "user_id": user.id, "username": user.username, **gold, "submitted": items, "accepted": accepted, "rejected": rejected,
            "acceptance_rate": accepted / (accepted + rejected) if accepted + rejected else None, "active_seconds": seconds,
            "consensus_items": len(scores), "consensus_agreement": sum(scores) / len(scores) if scores else None,
            "seconds_per_item": seconds / items if items and seconds else None,
            "items_per_hour": items * 3600 / seconds if items and seconds else None,
            "paused": bool(pauses.get(user.id) and pauses[user.id].paused), "best_rated": user.id in best,
        })  # fmt: skip
    return sorted(rows, key=lambda r: r["username"])


def consensus_agreement(project: Project) -> dict[int, list[float]]:
    """Score each labeler's merged answers against the consensus they went into.

    For every answer task (overlap) merged by the consensus stage, its labeler's last answer is
    scored with :func:`score_documents` against the item's consensus revision (boxes by F1 at
    IoU 0.5 with the same label, tags by Jaccard), as a gold answer would be.

    Returns:
        ``{user id: [score per merged answer]}``.
    """
    merged_items = select(Task.item_id).where(Task.project_id == project.id, Task.replica > 0, Task.state == TaskState.MERGED)
    merged = {}
    for item_id, document in db.session.execute(
        select(AnnotationRevision.item_id, AnnotationRevision.document)
        .where(AnnotationRevision.item_id.in_(merged_items), AnnotationRevision.line == 0, AnnotationRevision.source == "consensus")
        .order_by(AnnotationRevision.number)
    ):
        merged[item_id] = document  # the newest merge of the item wins
    if not merged:
        return {}
    scores: dict[int, list[float]] = defaultdict(list)
    for (item_id, user_id), document in answer_documents(project, sorted(merged)).items():
        scores[user_id].append(score_documents(merged[item_id], document))
    return dict(scores)


def project_figures(project: Project) -> dict[str, Any]:
    """Per project: tasks per state, submits and accepts per UTC day, and the label distribution.

    The label distribution counts shapes and tags per label over each item's latest revision
    (gold copies excluded).
    """
    per_day: dict[str, Counter] = defaultdict(Counter)
    for action, created in db.session.execute(
        select(TaskEvent.action, TaskEvent.created_at)
        .join(Task, Task.id == TaskEvent.task_id)
        .where(Task.project_id == project.id, TaskEvent.action.in_([Action.SUBMIT, Action.AUTO_ACCEPT, Action.ACCEPT]))
    ).all():
        day = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC).date().isoformat()
        if action == Action.AUTO_ACCEPT:  # a submit that was accepted without review
            per_day[day][Action.SUBMIT] += 1
            per_day[day][Action.ACCEPT] += 1
        else:
            per_day[day][action] += 1
    latest = (
        select(AnnotationRevision.item_id, func.max(AnnotationRevision.number).label("number"))
        .join(Item, Item.id == AnnotationRevision.item_id)
        .where(
            Item.project_id == project.id,
            AnnotationRevision.line == 0,
            AnnotationRevision.item_id.not_in(select(GoldAnswer.copy_item_id).where(GoldAnswer.copy_item_id.is_not(None))),
        )
        .group_by(AnnotationRevision.item_id)
        .subquery()
    )
    shapes, tags = Counter(), Counter()
    for document in db.session.scalars(
        select(AnnotationRevision.document)
        .join(latest, (latest.c.item_id == AnnotationRevision.item_id) & (latest.c.number == AnnotationRevision.number))
        .where(AnnotationRevision.line == 0)
    ):
        shapes.update(s.get("label") for s in (document or {}).get("shapes") or [])
        tags.update(t.get("label") for t in (document or {}).get("tags") or [])
    labels = [
        {"label": label.name, "kind": label.kind, "count": (tags if label.kind == "tag" else shapes)[label.name]}
        for label in project.labels
    ]
    return {
        "progress": projects.progress(project),
        "stages": workflow.progress_by_stage(project),
        "throughput": [{"day": day, "submitted": c[Action.SUBMIT], "accepted": c[Action.ACCEPT]} for day, c in sorted(per_day.items())],
        "labels": labels,
        "settings": {"gold_rate": project.gold_rate, "quality_threshold": project.quality_threshold, "auto_pause": project.auto_pause},
    }


def figures_csv(rows: list[dict[str, Any]]) -> str:
    """Render :func:`labeler_figures` rows as CSV text with a header row (unknown values are empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(column) is None else row[column] for column in CSV_COLUMNS])
    return buffer.getvalue()
