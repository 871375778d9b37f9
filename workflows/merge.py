"""The consensus stage on whole annotation documents: several labelers' answers -> one document.

:func:`merge_documents` takes each labeler's answer for one item (documents of
``schemas/annotation/v1.json``) and returns the merged document, the item's agreement and a
note of what could not be merged. It is pure (no Flask, no database), built on the algorithms
of :mod:`workflows.consensus`:

* boxes (``bbox``): :func:`~workflows.consensus.merge_boxes`: IoU clusters, quorum, weighted
  label vote, weighted mean of ``[x, y, w, h]``;
* polygons: :func:`~workflows.consensus.merge_polygons` (mask IoU; the medoid polygon);
* keypoints: :func:`~workflows.consensus.merge_keypoints` (OKS; per-point weighted means);
* tags: each tag label is kept when the labelers who gave it hold at least the quorum share
  of the total weight; its confidence is that share. Given a tag model's posteriors
  (Dawid-Skene, :func:`~workflows.consensus.tag_dawid_skene`), the labels it judges present
  are kept instead, each with its posterior as confidence.

Every merged shape and tag has ``source = {"type": "consensus", "score": confidence,
"labelers": how many drew it}``. Other shape types (rotated boxes, polylines, points,
ellipses, masks) have no merge rule yet: they are taken from the answer of the labeler with
the highest weight (ties: the first in worker order), and the note says how many.

Agreement is the lowest of the per-kind agreements (:func:`~workflows.consensus.agreement` for
boxes and polygons, pairwise equality of the tag sets for tags), over the kinds that anybody
drew; 1.0 when every labeler's answer is empty. With fewer than two answers it is 0.0, so a
single answer never counts as agreed on.

Coordinates are image pixels, as everywhere in the schema.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from workflows import consensus
from workflows.definition import ConsensusStage

_MERGED_TYPES = ("bbox", "polygon", "keypoints")


@dataclass(frozen=True)
class MergeResult:
    """What the consensus stage made of one item.

    Attributes:
        document: the merged annotation document (schema v1).
        agreement: the item's agreement in [0, 1].
        labelers: how many answers were merged.
        note: a sentence about what was not merged by rule ("" when everything was).
        shape_agreement: the lowest agreement of the shape kinds anybody drew (boxes,
            polygons, keypoints), tags left out; None when nobody drew a shape of those kinds.
    """

    document: dict[str, Any]
    agreement: float
    labelers: int
    note: str
    shape_agreement: float | None = None


def merge_documents(
    answers: Mapping[Hashable, dict[str, Any]],
    stage: ConsensusStage,
    weights: Mapping[Hashable, float] | None = None,
    tag_posteriors: Mapping[str, float] | None = None,
) -> MergeResult:
    """Merge several labelers' answers for one item.

    Args:
        answers: ``{worker: annotation document}``, one per labeler who answered the item
            (an empty document counts: that labeler saw nothing).
        stage: the consensus stage (IoU threshold, quorum share).
        weights: a non-negative weight per worker (default 1 each).
        tag_posteriors: ``{tag label: P(the item has it)}`` from a tag model
            (:attr:`workflows.consensus.TagEstimate.present`); when given, the merged tags are
            the labels with a posterior of at least 0.5, each scored with its posterior,
            instead of the weighted vote.

    Returns:
        The :class:`MergeResult`.

    Raises:
        ValueError: no answers, or a malformed shape (see :mod:`workflows.consensus`).
    """
    if not answers:
        raise ValueError("no answers to merge")
    workers = sorted(answers, key=consensus.sort_key)
    quorum = stage.quorum_count(len(workers))
    weight = {w: (1.0 if weights is None else float(weights.get(w, 1.0))) for w in workers}
    shapes: list[dict[str, Any]] = []
    agreements: list[float] = []

    boxes = {w: [(s["label"], s["bbox"]) for s in answers[w]["shapes"] if s["type"] == "bbox"] for w in workers}
    if any(boxes.values()):
        for merged in consensus.merge_boxes(boxes, iou_threshold=stage.iou_threshold, quorum=quorum, weights=weight):
            shapes.append(_shape("bbox", merged, bbox=_round(merged.bbox)))
        agreements.append(consensus.agreement(boxes, kind="box", iou_threshold=stage.iou_threshold))

    polygons = {w: [(s["label"], s["rings"]) for s in answers[w]["shapes"] if s["type"] == "polygon"] for w in workers}
    if any(polygons.values()):
        for merged in consensus.merge_polygons(polygons, iou_threshold=stage.iou_threshold, quorum=quorum, weights=weight):
            shapes.append(_shape("polygon", merged, rings=[_round(ring) for ring in merged.polygon]))
        agreements.append(consensus.agreement(polygons, kind="polygon", iou_threshold=stage.iou_threshold))

    skeletons = {
        w: [
            (s["label"], s["keypoints"], s.get("bbox") or _extent(s["keypoints"])) for s in answers[w]["shapes"] if s["type"] == "keypoints"
        ]
        for w in workers
    }
    if any(skeletons.values()):
        for merged in consensus.merge_keypoints(skeletons, oks_threshold=stage.iou_threshold, quorum=quorum, weights=weight):
            shapes.append(_shape("keypoints", merged, keypoints=_round_keypoints(merged.keypoints), bbox=_round(merged.bbox)))
        agreements.append(_label_agreement({w: frozenset(label for label, *_ in skeletons[w]) for w in workers}))

    shape_agreement = min(agreements) if agreements else None
    tag_sets = {w: frozenset(t["label"] for t in answers[w]["tags"]) for w in workers}
    tags = _merge_tags(tag_sets, weight, stage.quorum) if tag_posteriors is None else _estimated_tags(tag_sets, tag_posteriors)
    if any(tag_sets.values()):
        agreements.append(_label_agreement(tag_sets))

    carried, note = _carry_other_shapes(answers, workers, weight)
    shapes.extend(carried)
    for n, shape in enumerate(shapes, start=1):
        shape["id"] = f"c{n}"
    # One answer is never agreed on; answers that are all empty agree fully.
    score = 0.0 if len(workers) < 2 else (min(agreements) if agreements else 1.0)
    return MergeResult({"version": 1, "tags": tags, "shapes": shapes}, float(score), len(workers), note, shape_agreement)


def _shape(kind: str, merged: consensus.MergedShape, **geometry: Any) -> dict[str, Any]:
    source = {"type": "consensus", "score": round(float(merged.confidence), 6), "labelers": len(merged.support)}
    return {"id": "", "type": kind, "label": merged.label, "source": source, **geometry}


def _merge_tags(tag_sets: Mapping[Hashable, frozenset[str]], weight: Mapping[Hashable, float], quorum: float) -> list[dict[str, Any]]:
    total = sum(weight.values()) or 1.0
    labels = sorted({label for tags in tag_sets.values() for label in tags})
    merged = []
    for label in labels:
        holders = [w for w, tags in tag_sets.items() if label in tags]
        share = sum(weight[w] for w in holders) / total
        if share >= quorum - 1e-9:
            source = {"type": "consensus", "score": round(share, 6), "labelers": len(holders)}
            merged.append({"id": f"t{len(merged) + 1}", "label": label, "source": source})
    return merged


def _estimated_tags(tag_sets: Mapping[Hashable, frozenset[str]], posteriors: Mapping[str, float]) -> list[dict[str, Any]]:
    merged = []
    for label in sorted(label for label, p in posteriors.items() if p >= 0.5):
        holders = sum(label in tags for tags in tag_sets.values())
        if holders:  # a label nobody gave is never kept, whatever the prior says
            source = {"type": "consensus", "score": round(float(posteriors[label]), 6), "labelers": holders}
            merged.append({"id": f"t{len(merged) + 1}", "label": label, "source": source})
    return merged


def _label_agreement(values: Mapping[Hashable, frozenset[str]]) -> float:
    """Pairwise equality of each labeler's set of labels, as :func:`consensus.agreement` does for one label."""
    workers = list(values)
    if len(workers) < 2:
        return 0.0
    pairs = [(a, b) for n, a in enumerate(workers) for b in workers[n + 1 :]]
    return sum(values[a] == values[b] for a, b in pairs) / len(pairs)


def _carry_other_shapes(
    answers: Mapping[Hashable, dict[str, Any]], workers: list[Hashable], weight: Mapping[Hashable, float]
) -> tuple[list[dict[str, Any]], str]:
    """Shapes with no merge rule: taken from the most trusted labeler who drew any."""
    drew = [w for w in workers if any(s["type"] not in _MERGED_TYPES for s in answers[w]["shapes"])]
    if not drew:
        return [], ""
    chosen = max(drew, key=lambda w: (weight[w], -workers.index(w)))
    carried = []
    for shape in answers[chosen]["shapes"]:
        if shape["type"] in _MERGED_TYPES:
            continue
        copy = {k: v for k, v in shape.items() if k not in ("author", "updated_at")}
        copy["source"] = {"type": "consensus", "score": round(weight[chosen] / (sum(weight.values()) or 1.0), 6), "labelers": 1}
        carried.append(copy)
    kinds = sorted({s["type"] for s in carried})
    return carried, f"{len(carried)} {', '.join(kinds)} shape(s) have no merge rule: taken from one labeler's answer"


def _extent(keypoints: list[float]) -> list[float]:
    xy = [(keypoints[i], keypoints[i + 1]) for i in range(0, len(keypoints), 3) if keypoints[i + 2] > 0]
    if not xy:
        return [0.0, 0.0, 0.0, 0.0]
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _round(values: list[float]) -> list[float]:
    # Means of float pixels: a thousandth of a pixel is far below what anyone can draw.
    return [round(float(v), 3) for v in values]


def _round_keypoints(flat: list[float]) -> list[float]:
    out: list[float] = []
    for i in range(0, len(flat), 3):
        out += [round(float(flat[i]), 3), round(float(flat[i + 1]), 3), int(flat[i + 2])]
    return out
