"""Saving and reading item annotations as immutable, numbered revisions.

Every save is checked against ``schemas/annotation/v1.json`` and against the project (labels
that exist, with the right kind; shapes inside the image), then stored as revision ``n + 1``.
A save must say which revision it was based on; if that is not the latest, it is refused with
:class:`~annotate.errors.Conflict` and nothing is written, so nobody's newer work is lost.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError

import schemas
from annotate.errors import Conflict, ValidationFailed
from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, Label, LabelKind, Project, User
from annotate.models.types import utcnow

#: Coordinates may stray this far outside the image (pixels) from float rounding in a browser.
EDGE_TOLERANCE = 0.5


def latest_revision(item_id: int, line: int = 0) -> AnnotationRevision | None:
    """Return the newest revision of an item's ``line`` (0: the item's own annotation), or None."""
    return db.session.scalar(
        select(AnnotationRevision)
        .where(AnnotationRevision.item_id == item_id, AnnotationRevision.line == line)
        .order_by(AnnotationRevision.number.desc())
        .limit(1)
    )


def latest_document(item_id: int, line: int = 0) -> tuple[dict[str, Any], int]:
    """Return ``(document, revision number)`` of an item's ``line``; an empty document and 0 when none.

    The document is the caller's own (read as a column, not through a shared ORM object).

    Args:
        item_id: the item.
        line: 0 for the item's annotation; ``r`` for the answer of its answer task ``r`` (overlap).
    """
    row = db.session.execute(_latest_document_query(), {"item_id": item_id, "line": line}).first()
    if row is None:
        return schemas.empty_annotation(), 0
    return row.document, row.number


def latest_number(item_id: int, line: int = 0) -> int:
    """Return the number of the newest revision of an item's ``line``; 0 when none is saved."""
    return db.session.scalar(_latest_number_query(), {"item_id": item_id, "line": line}) or 0


# Built once, with bound parameters: these run on every labeling call, and building and
# fingerprinting a statement costs about as much CPU as running it.
@cache
def _latest_document_query() -> Select:
    return (
        select(AnnotationRevision.document, AnnotationRevision.number)
        .where(AnnotationRevision.item_id == bindparam("item_id"), AnnotationRevision.line == bindparam("line"))
        .order_by(AnnotationRevision.number.desc())
        .limit(1)
    )


@cache
def _latest_number_query() -> Select:
    return select(func.max(AnnotationRevision.number)).where(
        AnnotationRevision.item_id == bindparam("item_id"), AnnotationRevision.line == bindparam("line")
    )


def latest_documents(item_ids) -> dict[int, tuple[dict[str, Any], int]]:
    """Return ``{item id: (document, revision number)}`` for many items in one query.

    Args:
        item_ids: a ``select(Item.id)`` statement (or a list of ids) naming the items.

    Returns:
        The newest revision of each item's own annotation (line 0; answers of overlapping
        labelers are not read) for items that have one; items without revisions are absent
        (use :func:`schemas.empty_annotation` and revision 0 for them, as
        :func:`latest_document` does).
    """
    rows = _latest_per_line(item_ids, AnnotationRevision.line == 0)
    return {item_id: (copy.deepcopy(document), number) for item_id, _, document, number in rows}


def latest_answer_documents(item_ids) -> dict[tuple[int, int], tuple[dict[str, Any], int]]:
    """Return ``{(item id, line): (document, revision number)}`` of the overlapping labelers' answers.

    Args:
        item_ids: a ``select(Item.id)`` statement or a list of ids.

    Returns:
        The newest revision of every answer line (``line`` > 0, the answer task's replica) of
        the items, in one query; lines without revisions are absent.
    """
    rows = _latest_per_line(item_ids, AnnotationRevision.line > 0)
    return {(item_id, line): (copy.deepcopy(document), number) for item_id, line, document, number in rows}


def saved_or_empty(saved: dict[Any, tuple[dict[str, Any], int]], key: Any) -> tuple[dict[str, Any], int]:
    """Return ``saved[key]`` from :func:`latest_documents` or :func:`latest_answer_documents`.

    A key that was never saved gives what :func:`latest_document` gives for it: an empty
    document and revision 0.
    """
    found = saved.get(key)
    return found if found is not None else (schemas.empty_annotation(), 0)


def _latest_per_line(item_ids, lines) -> Any:
    """Rows ``(item id, line, document, number)`` of the newest revision per item and line."""
    newest = (
        select(AnnotationRevision.item_id, AnnotationRevision.line, func.max(AnnotationRevision.number).label("number"))
        .where(AnnotationRevision.item_id.in_(item_ids), lines)
        .group_by(AnnotationRevision.item_id, AnnotationRevision.line)
        .subquery()
    )
    return db.session.execute(
        select(AnnotationRevision.item_id, AnnotationRevision.line, AnnotationRevision.document, AnnotationRevision.number).join(
            newest,
            (newest.c.item_id == AnnotationRevision.item_id)
            & (newest.c.line == AnnotationRevision.line)
            & (newest.c.number == AnnotationRevision.number),
        )
    )


def check_document(document: Any, project: Project, item: Item) -> None:
    """Check a document against the schema, the project's labels and the item's size.

    Raises:
        ValidationFailed: with ``errors`` by field path, e.g. ``{"shapes/0/label": "..."}``.
    """
    try:
        schemas.validate_annotation(document)
    except schemas.SchemaError as exc:
        raise ValidationFailed(
            f"the annotation does not match the schema: {exc}", {e["path"] or "annotation": e["message"] for e in exc.errors}
        ) from None
    # The kinds by name in one light statement: loading ``project.labels`` as objects would cost
    # more than the rest of a save.
    kinds: dict[str, str] = dict(db.session.execute(_label_kinds_query(), {"project_id": project.id}).all())
    errors: dict[str, str] = {}
    for i, shape in enumerate(document["shapes"]):
        kind = kinds.get(shape["label"])
        if kind is None:
            errors[f"shapes/{i}/label"] = f"label {shape['label']!r} is not in project {project.name!r}"
        elif kind != LabelKind.SHAPE:
            errors[f"shapes/{i}/label"] = f"{shape['label']!r} is a tag label, not a shape label"
        problem = _outside(shape, item.width, item.height)
        if problem:
            errors[f"shapes/{i}/{problem[0]}"] = problem[1]
    for i, tag in enumerate(document["tags"]):
        kind = kinds.get(tag["label"])
        if kind is None:
            errors[f"tags/{i}/label"] = f"label {tag['label']!r} is not in project {project.name!r}"
        elif kind != LabelKind.TAG:
            errors[f"tags/{i}/label"] = f"{tag['label']!r} is a shape label, not a tag label"
    if errors:
        first = next(iter(errors.items()))
        raise ValidationFailed(f"{first[0]}: {first[1]}", errors)


@cache
def _label_kinds_query() -> Select:
    return select(Label.name, Label.kind).where(Label.project_id == bindparam("project_id"))


def _outside(shape: dict, width: int, height: int) -> tuple[str, str] | None:
    lo_x, lo_y, hi_x, hi_y = -EDGE_TOLERANCE, -EDGE_TOLERANCE, width + EDGE_TOLERANCE, height + EDGE_TOLERANCE
    if "bbox" in shape and shape["type"] in ("bbox", "keypoints", "mask"):
        x, y, w, h = shape["bbox"]
        if x < lo_x or y < lo_y or x + w > hi_x or y + h > hi_y:
            return "bbox", f"box [{x}, {y}, {w}, {h}] is outside the {width}x{height} image"
    coords: list[float] = []
    field = ""
    if shape["type"] == "polygon":
        field, coords = "rings", [c for ring in shape["rings"] for c in ring]
    elif shape["type"] in ("polyline", "points"):
        field, coords = "points", shape["points"]
    elif shape["type"] == "keypoints":
        field = "keypoints"
        coords = [c for k in range(0, len(shape["keypoints"]), 3) if shape["keypoints"][k + 2] > 0 for c in shape["keypoints"][k : k + 2]]
    for x, y in zip(coords[::2], coords[1::2], strict=False):
        if not (lo_x <= x <= hi_x and lo_y <= y <= hi_y):
            return field, f"point ({x}, {y}) is outside the {width}x{height} image"
    return None


def check_base_revision(base_revision: int, latest: int) -> None:
    """Refuse work based on a revision other than the latest, as a save and a submit do.

    Args:
        base_revision: the revision the person loaded (0 for none).
        latest: the item's latest revision number on this line (0 for none).

    Raises:
        ValidationFailed: ``base_revision`` is ahead of the latest; ``errors["base_revision"]``.
        Conflict: ``base_revision`` is older; ``errors["latest_revision"]`` says which is newest.
    """
    if base_revision > latest:
        raise ValidationFailed(
            f"base_revision {base_revision} does not exist: the latest revision is {latest}", {"base_revision": "ahead of the latest"}
        )
    if base_revision != latest:
        raise Conflict(
            f"this item was saved as revision {latest} since revision {base_revision} was loaded; reload to see it",
            {"latest_revision": latest, "base_revision": base_revision},
        )


def save_revision(
    item: Item, project: Project, document: dict[str, Any], base_revision: int, *,
    author: User | None = None, model_version_id: int | None = None, commit: bool = True, active_seconds: float = 0.0,
    line: int = 0, source: str | None = None,
) -> AnnotationRevision:  # fmt: skip
    """Store ``document`` as the next revision of ``item`` (of its ``line``).

    Args:
        item: the annotated item.
        project: the item's project (for its labels).
        document: the whole annotation document.
        base_revision: the revision number the writer started from (0 for none).
        author: the person saving; None for a model's pre-label.
        model_version_id: set when a model wrote this revision.
        commit: commit the transaction (callers doing more work in it pass False).
        active_seconds: seconds the author actively worked since their previous save (0 to
            86400), as the labeling tool measured them.
        line: 0 for the item's annotation; ``r`` for the answer of its answer task ``r``.
        source: the revision's ``source``; default ``model`` with a model version, else
            ``human`` (the consensus stage passes ``consensus``).

    Returns:
        The new revision (number ``base_revision + 1``).

    Raises:
        ValidationFailed: see :func:`check_document`.
        Conflict: ``base_revision`` is not the latest; ``errors["latest_revision"]`` says which is.
    """
    check_document(document, project, item)
    latest = latest_number(item.id, line)
    check_base_revision(base_revision, latest)
    stamped = _stamp(document, author)
    revision = AnnotationRevision(
        item_id=item.id, line=line, number=latest + 1, document=stamped,
        source=source or ("model" if model_version_id else "human"),
        author_id=author.id if author else None, model_version_id=model_version_id, active_seconds=float(active_seconds),
    )  # fmt: skip
    db.session.add(revision)
    try:
        db.session.flush()
    except IntegrityError:
        # Another save from the same base won the race for this number.
        db.session.rollback()
        raise Conflict(
            "this item was saved by someone else at the same moment; reload to see it", {"base_revision": base_revision}
        ) from None
    if commit:
        db.session.commit()
    return revision


def _stamp(document: dict[str, Any], author: User | None) -> dict[str, Any]:
    """Fill missing authors and times so every shape says who made it and when."""
    stamped = copy.deepcopy(document)
    now = utcnow().isoformat()
    for entry in stamped["shapes"] + stamped["tags"]:
        if entry["source"]["type"] == "human":
            entry.setdefault("author", author.username if author else None)
        entry.setdefault("updated_at", now)
    return stamped


def check_model_sources(document: Any, item_id: int, base_revision: int | None = None, line: int = 0) -> None:
    """Refuse shapes and tags that a person saves with a model ``source`` no model gave them.

    Rule: an entry of ``shapes`` (or ``tags``) may carry ``source.type == "model"`` only when
    the item's latest stored revision of ``line`` holds a shape (tag) with the same ``id``
    and an equal ``source`` (type, model version and score): a pre-label the person kept.
    Its label and geometry are not compared. The labeling tool turns a pre-label's source
    into ``{"type": "human"}`` on any edit (``_replaceShape`` in ``static/tool/store.js``), so
    there a model shape is always unchanged; an API client that moves a pre-label and keeps
    its source is not refused either, and :mod:`annotate.services.work_saved`, which matches
    pre-labels by id and compares their boxes, counts it as edited all the same. What the
    rule stops is a new shape, or one under another model's name, passing for a model's
    work in the pre-label figures.

    Models write their revisions through :func:`save_revision` directly; this check is for
    what people send (task saves, gold answers).

    Args:
        document: the annotation document as sent; anything that is not a well-formed
            document is left to :func:`check_document`.
        item_id: the annotated item.
        base_revision: the revision the writer started from; when it is not the latest the
            check is skipped, since :func:`save_revision` refuses the save anyway (409 or
            422). None: check against the latest revision.
        line: 0 for the item's annotation; ``r`` for the answer of its answer task ``r``.

    Raises:
        ValidationFailed: with ``errors`` by field path, e.g. ``{"shapes/3/source": "..."}``.
    """
    claimed = _model_entries(document)
    if not claimed:
        return  # the usual save: no query
    stored, number = latest_document(item_id, line)
    if base_revision is not None and base_revision != number:
        return
    given = {(part, entry.get("id")): entry.get("source") for part in ("shapes", "tags") for entry in stored.get(part, [])}
    errors = {
        f"{part}/{index}/source": (
            f"{entry.get('id')!r} has a model source but is not that model's {part[:-1]} in revision {number}; "
            'a shape or tag a person made or changed has source {"type": "human"}'
        )
        for part, index, entry in claimed
        if given.get((part, entry.get("id"))) != entry["source"]
    }
    if errors:
        first = next(iter(errors.items()))
        raise ValidationFailed(f"{first[0]}: {first[1]}", errors)


def _model_entries(document: Any) -> list[tuple[str, int, dict[str, Any]]]:
    """Return ``(part, index, entry)`` for each shape and tag of ``document`` whose source is a model."""
    if not isinstance(document, dict):
        return []
    found = []
    for part in ("shapes", "tags"):
        entries = document.get(part)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            source = entry.get("source") if isinstance(entry, dict) else None
            if isinstance(source, dict) and source.get("type") == "model":
                found.append((part, index, entry))
    return found


def has_human_revision(item_id: int) -> bool:
    """Whether a person has ever saved this item (its annotation or an overlapping labeler's answer)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AnnotationRevision)
            .where(AnnotationRevision.item_id == item_id, AnnotationRevision.source == "human")
        )
        > 0
    )
