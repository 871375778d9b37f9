"""Measuring the work pre-labels save, and ordering the queue by model uncertainty.

When a person submits an item that a model pre-labeled, :func:`record_outcomes` compares the
pre-labels with the submitted document (:func:`compare_prelabels`) and stores one
:class:`~annotate.models.PrelabelOutcome` per pre-label and per added shape.
:func:`version_figures` and :func:`project_timeline` turn those rows and the active seconds
the labeling tool reports into figures per model version and per day.

Definitions (what the figures mean):

* An item **has pre-labels** of version V when, among its revisions before the first human
  one, the latest model revision (``model_version_id`` set) is V's.
* A pre-label is a **true positive** when it was ``kept``, or ``edited`` with IoU >= 0.5 (an
  edited shape keeps its label by definition). Relabeled and deleted pre-labels, and edits
  that moved a box so far that IoU < 0.5, are not.
* **precision** = true positives / pre-labels; **recall** = true positives / final shapes
  (kept + edited + relabeled + added). Both are summed over the version's items first (micro
  average); None when the denominator is 0.
* **edits per item** = (edited + relabeled + deleted + added) / items with pre-labels of V.
* **seconds per item** = the mean, over items, of the sum of ``active_seconds`` over the
  item's human revisions (revisions from before the tool measured time count 0). The
  baseline is the same mean over submitted items that never had a model revision.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, delete, func, select

from annotate.errors import ValidationFailed
from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, ModelVersion, PrelabelOutcome, Project, Task, TaskEvent
from annotate.services import annotations
from workflows import Action

#: How "next task" may order new items; see :attr:`annotate.models.Project.queue_order`.
QUEUE_ORDERS = ("sequential", "least_confidence", "entropy")
#: The uncertainty methods :func:`uncertainty` knows.
UNCERTAINTY_METHODS = ("least_confidence", "entropy")
#: A pre-label and a final shape with new ids match when IoU is at least this (same label).
MATCH_IOU = 0.5
#: A box is "kept" when no edge moved more than this many pixels.
KEEP_TOLERANCE = 0.5
#: Outcomes that count as an edit a person had to make.
EDIT_OUTCOMES = ("edited", "relabeled", "deleted", "added")
OUTCOMES = ("kept", "edited", "relabeled", "deleted", "added")
#: Above every revision number (a PostgreSQL integer): the bound when no person has saved yet.
NO_HUMAN_REVISION = 2**31 - 1


@dataclass(frozen=True)
class Outcome:
    """What happened to one pre-label, or one shape a person added.

    ``shape_id`` is the pre-label's id (the added shape's id for ``added``); ``final_id`` the
    id of the final shape it matched (None for ``deleted``); ``iou`` is between the pre-label
    and its final shape (None for ``deleted`` and ``added``); ``score`` is the model's.
    """

    shape_id: str
    outcome: str
    iou: float | None = None
    label_before: str | None = None
    label_after: str | None = None
    score: float | None = None
    final_id: str | None = None


def iou(a: list[float], b: list[float]) -> float:
    """Intersection over union of two COCO boxes ``[x, y, width, height]`` in pixels.

    Returns:
        A value in [0, 1]; 0 when either box has no area.
    """
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    inter = max(0.0, min(ax2, bx2) - max(a[0], b[0])) * max(0.0, min(ay2, by2) - max(a[1], b[1]))
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _same_box(a: list[float], b: list[float]) -> bool:
    """Whether every edge of ``a`` is within :data:`KEEP_TOLERANCE` pixels of ``b``'s."""
    corners_a = (a[0], a[1], a[0] + a[2], a[1] + a[3])
    corners_b = (b[0], b[1], b[0] + b[2], b[1] + b[3])
    return all(abs(p - q) <= KEEP_TOLERANCE for p, q in zip(corners_a, corners_b, strict=True))


def compare_prelabels(prelabels: list[dict], final: list[dict]) -> list[Outcome]:
    """Compare a model's pre-labels with the shapes a person submitted.

    Pre-labels are matched to final shapes by shape id first (the tool keeps a pre-label's
    id when a person edits it); the rest are matched greedily, highest IoU first, to final
    shapes with new ids, the same label and IoU >= :data:`MATCH_IOU`. A matched pair is
    ``relabeled`` if the label changed, else ``kept`` if no edge moved more than
    :data:`KEEP_TOLERANCE` px, else ``edited``. Unmatched pre-labels are ``deleted``;
    unmatched final shapes are ``added``.

    Args:
        prelabels: shapes of the annotation schema (with ``id``, ``label``, ``bbox`` in
            pixels, ``source``); shapes without a ``bbox`` are ignored.
        final: the submitted document's shapes; a shape without a ``bbox`` can match only
            by id.

    Returns:
        One outcome per pre-label (in the pre-labels' order), then one ``added`` outcome per
        unmatched final shape (in the final order).
    """
    boxes = [p for p in prelabels if p.get("bbox") is not None]
    pairs: dict[int, int] = {}  # pre-label index -> final index
    used: set[int] = set()
    final_index = {shape["id"]: j for j, shape in reversed(list(enumerate(final)))}
    for i, pre in enumerate(boxes):
        j = final_index.get(pre["id"])
        if j is not None and j not in used:
            pairs[i] = j
            used.add(j)
    candidates = []
    for i, pre in enumerate(boxes):
        if i in pairs:
            continue
        for j, shape in enumerate(final):
            if j in used or shape.get("bbox") is None or shape.get("label") != pre.get("label"):
                continue
            value = iou(pre["bbox"], shape["bbox"])
            if value >= MATCH_IOU:
                candidates.append((-value, i, j))
    for _, i, j in sorted(candidates):
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    outcomes = []
    for i, pre in enumerate(boxes):
        score = (pre.get("source") or {}).get("score")
        if i not in pairs:
            outcomes.append(Outcome(pre["id"], "deleted", None, pre.get("label"), None, score))
            continue
        shape = final[pairs[i]]
        value = iou(pre["bbox"], shape["bbox"]) if shape.get("bbox") is not None else None
        if shape.get("label") != pre.get("label"):
            kind = "relabeled"
        elif shape.get("bbox") is not None and _same_box(pre["bbox"], shape["bbox"]):
            kind = "kept"
        else:
            kind = "edited"
        outcomes.append(Outcome(pre["id"], kind, value, pre.get("label"), shape.get("label"), score, shape["id"]))
    for j, shape in enumerate(final):
        if j not in used:
            outcomes.append(Outcome(shape["id"], "added", None, None, shape.get("label"), None, shape["id"]))
    return outcomes


def prelabel_revision(item_id: int) -> AnnotationRevision | None:
    """Return the revision whose pre-labels a person started from, or None.

    That is the latest model revision (``model_version_id`` set) before the item's first
    human revision (any model revision when no person has saved yet).
    """
    return db.session.scalar(_prelabel_revision_query(), {"item_id": item_id})


@cache
def _prelabel_revision_query() -> Select:
    """:func:`prelabel_revision` as one statement, built once (it runs on every submit)."""
    item_id = bindparam("item_id")
    first_human = (
        select(func.min(AnnotationRevision.number))
        .where(AnnotationRevision.item_id == item_id, AnnotationRevision.line == 0, AnnotationRevision.source == "human")
        .scalar_subquery()
    )
    # With no human revision the bound is never reached.
    return (
        select(AnnotationRevision)
        .where(
            AnnotationRevision.item_id == item_id,
            AnnotationRevision.line == 0,
            AnnotationRevision.model_version_id.is_not(None),
            AnnotationRevision.number < func.coalesce(first_human, NO_HUMAN_REVISION),
        )
        .order_by(AnnotationRevision.number.desc())
        .limit(1)
    )


def record_outcomes(item_id: int) -> list[PrelabelOutcome]:
    """Record what the person did with the item's pre-labels (added to the session, not committed).

    Called when the item is submitted. The rows of an earlier submit of the same item for
    the same model version are replaced, so a resubmit after a rejection leaves one set.

    Args:
        item_id: the submitted item.

    Returns:
        The new rows; empty when the item had no pre-labels (nothing is written then).
    """
    pre = prelabel_revision(item_id)
    if pre is None:
        return []
    latest = annotations.latest_revision(item_id)
    prelabels = [s for s in pre.document.get("shapes", []) if (s.get("source") or {}).get("type") == "model"]
    outcomes = compare_prelabels(prelabels, latest.document.get("shapes", []))
    db.session.execute(
        delete(PrelabelOutcome).where(PrelabelOutcome.item_id == item_id, PrelabelOutcome.model_version_id == pre.model_version_id)
    )
    rows = [
        PrelabelOutcome(
            item_id=item_id,
            model_version_id=pre.model_version_id,
            revision_id=latest.id,
            shape_id=o.shape_id[:64],
            outcome=o.outcome,
            iou=o.iou,
            label_before=o.label_before,
            label_after=o.label_after,
            score=o.score,
        )
        for o in outcomes
    ]
    db.session.add_all(rows)
    return rows


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _human_seconds(project: Project) -> dict[int, float]:
    """Item id -> active seconds summed over its human revisions (items with one only)."""
    rows = db.session.execute(
        select(AnnotationRevision.item_id, func.sum(AnnotationRevision.active_seconds))
        .join(Item, Item.id == AnnotationRevision.item_id)
        .where(Item.project_id == project.id, AnnotationRevision.source == "human")
        .group_by(AnnotationRevision.item_id)
    )
    return {item_id: float(total or 0.0) for item_id, total in rows}


def _baseline_items(project: Project) -> list[int]:
    """Ids of the project's submitted items that never had a model revision."""
    submitted = (
        select(Task.item_id)
        .join(TaskEvent, TaskEvent.task_id == Task.id)
        .where(Task.project_id == project.id, TaskEvent.action == Action.SUBMIT)
    )
    modeled = select(AnnotationRevision.item_id).where(AnnotationRevision.source == "model")
    return list(db.session.scalars(select(Item.id).where(Item.id.in_(submitted), Item.id.not_in(modeled)).order_by(Item.id)))


def _mean_seconds(item_ids: list[int], seconds: dict[int, float]) -> float | None:
    return round(sum(seconds.get(i, 0.0) for i in item_ids) / len(item_ids), 1) if item_ids else None


def version_figures(project: Project) -> list[dict[str, Any]]:
    """Return the work-saved figures of each of the project's model versions, oldest first.

    See the module docstring for the definitions. Every version is listed; one no person
    has submitted pre-labels of yet has ``items`` 0 and None for its ratios.

    Returns:
        Dicts with ``model_version_id``, ``version``, ``origin``, ``items``, ``prelabels``,
        ``final_shapes``, one count per outcome, ``true_positives``, ``precision``,
        ``recall``, ``edits_per_item``, ``seconds_per_item`` (active seconds),
        ``baseline_items`` and ``baseline_seconds_per_item`` (submitted items without
        pre-labels; the same in every row) and ``seconds_saved_per_item`` (baseline minus
        this version's; None when either is unknown).
    """
    versions = list(db.session.scalars(select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.version)))
    true_positive = case(
        (PrelabelOutcome.outcome == "kept", 1), (and_(PrelabelOutcome.outcome == "edited", PrelabelOutcome.iou >= MATCH_IOU), 1), else_=0
    )
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    positives: dict[int, int] = defaultdict(int)
    for version_id, outcome, n, tp in db.session.execute(
        select(PrelabelOutcome.model_version_id, PrelabelOutcome.outcome, func.count(), func.sum(true_positive))
        .join(Item, Item.id == PrelabelOutcome.item_id)
        .where(Item.project_id == project.id)
        .group_by(PrelabelOutcome.model_version_id, PrelabelOutcome.outcome)
    ):
        counts[version_id][outcome] = n
        positives[version_id] += int(tp or 0)
    items: dict[int, list[int]] = defaultdict(list)
    for version_id, item_id in db.session.execute(
        select(PrelabelOutcome.model_version_id, PrelabelOutcome.item_id)
        .join(Item, Item.id == PrelabelOutcome.item_id)
        .where(Item.project_id == project.id)
        .distinct()
    ):
        items[version_id].append(item_id)
    seconds = _human_seconds(project)
    baseline = _baseline_items(project)
    baseline_seconds = _mean_seconds(baseline, seconds)
    figures = []
    for version in versions:
        c = counts[version.id]
        n_items = len(items[version.id])
        prelabels = c["kept"] + c["edited"] + c["relabeled"] + c["deleted"]
        final_shapes = c["kept"] + c["edited"] + c["relabeled"] + c["added"]
        tp = positives[version.id]
        mean_seconds = _mean_seconds(items[version.id], seconds)
        figures.append({
            "model_version_id": version.id, "version": version.version, "origin": version.origin, "items": n_items,
            "prelabels": prelabels, "final_shapes": final_shapes, **c, "true_positives": tp,
            "precision": _ratio(tp, prelabels), "recall": _ratio(tp, final_shapes),
            "edits_per_item": _ratio(sum(c[o] for o in EDIT_OUTCOMES), n_items),
            "seconds_per_item": mean_seconds, "baseline_items": len(baseline), "baseline_seconds_per_item": baseline_seconds,
            "seconds_saved_per_item": (
                round(baseline_seconds - mean_seconds, 1) if baseline_seconds is not None and mean_seconds is not None else None
            ),
        })  # fmt: skip
    return figures


def project_timeline(project: Project) -> list[dict[str, Any]]:
    """Return per-day figures of the project's submitted items, oldest day first.

    An item counts on the UTC day of its latest submit.

    Returns:
        Dicts with ``day`` (ISO date), ``items`` (submitted that day), ``seconds_per_item``
        (mean active seconds over those items), ``prelabeled_items`` (those with recorded
        pre-label outcomes) and ``edits_per_item`` (edits over the pre-labeled ones; None
        when there are none).
    """
    last_submit: dict[int, datetime] = {}
    for item_id, when in db.session.execute(
        select(Task.item_id, func.max(TaskEvent.created_at))
        .join(TaskEvent, TaskEvent.task_id == Task.id)
        .where(Task.project_id == project.id, TaskEvent.action == Action.SUBMIT)
        .group_by(Task.item_id)
    ):
        last_submit[item_id] = when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite returns naive UTC times
    edits: dict[int, int] = defaultdict(int)
    prelabeled: set[int] = set()
    for item_id, outcome, n in db.session.execute(
        select(PrelabelOutcome.item_id, PrelabelOutcome.outcome, func.count())
        .join(Item, Item.id == PrelabelOutcome.item_id)
        .where(Item.project_id == project.id)
        .group_by(PrelabelOutcome.item_id, PrelabelOutcome.outcome)
    ):
        prelabeled.add(item_id)
        if outcome in EDIT_OUTCOMES:
            edits[item_id] += n
    seconds = _human_seconds(project)
    days: dict[str, list[int]] = defaultdict(list)
    for item_id, when in last_submit.items():
        days[when.astimezone(UTC).date().isoformat()].append(item_id)
    timeline = []
    for day in sorted(days):
        ids = days[day]
        with_prelabels = [i for i in ids if i in prelabeled]
        timeline.append({
            "day": day, "items": len(ids), "seconds_per_item": _mean_seconds(ids, seconds), "prelabeled_items": len(with_prelabels),
            "edits_per_item": _ratio(sum(edits[i] for i in with_prelabels), len(with_prelabels)),
        })  # fmt: skip
    return timeline


def _binary_entropy(p: float) -> float:
    """Entropy in bits of a yes/no event of probability ``p``."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log2(p) + (1.0 - p) * math.log2(1.0 - p))


def uncertainty(scores: list[float], method: str) -> float:
    """How unsure a model is about one item, from its detections' scores (0 = sure, 1 = unsure).

    Args:
        scores: the confidence in [0, 1] of each detection the model made on the item.
        method: ``least_confidence`` (1 - the highest score) or ``entropy`` (the mean binary
            entropy, in bits, of the scores).

    Returns:
        A value in [0, 1]; 1.0 when the model detected nothing (an image the model finds
        nothing in is treated as one it knows least about).

    Raises:
        ValueError: an unknown method, or a score outside [0, 1].
    """
    if method not in UNCERTAINTY_METHODS:
        raise ValueError(f"unknown uncertainty method {method!r}: use one of {', '.join(UNCERTAINTY_METHODS)}")
    if any(not 0.0 <= s <= 1.0 for s in scores):
        raise ValueError("scores must lie in [0, 1]")
    if not scores:
        return 1.0
    if method == "least_confidence":
        return 1.0 - max(scores)
    return sum(_binary_entropy(s) for s in scores) / len(scores)


def set_queue_order(project: Project, order: str) -> Project:
    """Set how "next task" orders the project's new items (committed).

    Raises:
        ValidationFailed: ``order`` is not one of :data:`QUEUE_ORDERS`.
    """
    if order not in QUEUE_ORDERS:
        raise ValidationFailed(f"queue order must be one of {', '.join(QUEUE_ORDERS)}", {"queue_order": "invalid"})
    project.queue_order = order
    db.session.commit()
    return project


#: The columns of :func:`figures_csv`, in order.
CSV_COLUMNS = (
    "version", "model_version_id", "origin", "items", "prelabels", "final_shapes", *OUTCOMES, "true_positives", "precision", "recall",
    "edits_per_item", "seconds_per_item", "baseline_items", "baseline_seconds_per_item", "seconds_saved_per_item",
)  # fmt: skip


def figures_csv(figures: list[dict[str, Any]]) -> str:
    """Render :func:`version_figures` rows as CSV text with a header row (unknown values are empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in figures:
        writer.writerow(["" if row.get(column) is None else row[column] for column in CSV_COLUMNS])
    return buffer.getvalue()
