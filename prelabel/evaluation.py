"""Held-out detection metrics with pycocotools' COCOeval (bbox), as one pure function.

No torch, no Flask, no database: ground truth and predictions come in as plain lists, one
entry per image, boxes in COCO ``[x, y, w, h]`` image pixels. See
https://cocodataset.org/#detection-eval for what the numbers mean.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence
from typing import Any, Protocol

Box = tuple[float, float, float, float]


class DetectionLike(Protocol):
    """What ``evaluate_detections`` reads from a prediction (``prelabel.detection.Detection``
    and ``prelabel.pretrained.Detection`` both fit)."""

    label_index: int
    bbox: Sequence[float]
    score: float


def _ap(value: float) -> float | None:
    # COCOeval reports -1 when a statistic has no ground truth to measure against.
    return None if value < 0 else round(float(value), 6)


def evaluate_detections(
    ground_truth: Sequence[Sequence[tuple[int, Box]]],
    predictions: Sequence[Sequence[DetectionLike]],
    label_names: Sequence[str],
    sizes: Sequence[tuple[int, int]],
) -> dict[str, Any]:
    """Score detections against ground truth with COCOeval (``iouType="bbox"``).

    Args:
        ground_truth: Per image, a list of ``(label_index, (x, y, w, h))`` true boxes in
            image pixels; ``label_index`` is 0-based into ``label_names``.
        predictions: Per image (same order), the detector's detections (``label_index``,
            ``bbox`` as ``(x, y, w, h)`` pixels, ``score`` in [0, 1]).
        label_names: Label names in class order.
        sizes: Per image, ``(width, height)`` in pixels.

    Returns:
        ``{"map": AP@[.5:.95], "map50": AP@.5, "map75": AP@.75, "val_images": n,
        "val_boxes": n, "predictions": n, "ap50_per_label": {name: AP@.5 or None}}``.
        An AP is ``None`` when there is no ground-truth box to measure it on; with ground
        truth but no predictions every AP is 0.0.

    Raises:
        ValueError: the three per-image lists differ in length, or a label index is out
            of range.
    """
    if not (len(ground_truth) == len(predictions) == len(sizes)):
        raise ValueError(f"got {len(ground_truth)} ground-truth lists, {len(predictions)} prediction lists and {len(sizes)} sizes")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for n, (truths, found, (width, height)) in enumerate(zip(ground_truth, predictions, sizes, strict=True)):
        image_id = n + 1
        images.append({"id": image_id, "width": int(width), "height": int(height)})
        for label_index, (x, y, w, h) in truths:
            if not 0 <= label_index < len(label_names):
                raise ValueError(f"image {n}: label index {label_index} is out of range 0..{len(label_names) - 1}")
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": label_index + 1,
                "bbox": [float(x), float(y), float(w), float(h)], "area": float(w) * float(h), "iscrowd": 0,
            })  # fmt: skip
        for det in found:
            x, y, w, h = (float(v) for v in det.bbox)
            results.append({"image_id": image_id, "category_id": int(det.label_index) + 1, "bbox": [x, y, w, h], "score": float(det.score)})
    summary: dict[str, Any] = {"val_images": len(images), "val_boxes": len(annotations), "predictions": len(results)}
    names = list(label_names)
    if not annotations:
        return {**summary, "map": None, "map50": None, "map75": None, "ap50_per_label": dict.fromkeys(names)}
    if not results:
        present = {a["category_id"] - 1 for a in annotations}
        per_label = {name: (0.0 if i in present else None) for i, name in enumerate(names)}
        return {**summary, "map": 0.0, "map50": 0.0, "map75": 0.0, "ap50_per_label": per_label}

    # pycocotools prints progress to stdout; it's noise in a worker's log.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # Some pycocotools 2.0.x builds warn under numpy 2 (DeprecationWarning from inside
        # pycocotools); the installed one doesn't, but a worker must not fail on it. Only
        # DeprecationWarnings raised from pycocotools' own modules are silenced.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pycocotools(\..*)?")
        truth = COCO()
        categories = [{"id": i + 1, "name": name} for i, name in enumerate(names)]
        truth.dataset = {"images": images, "annotations": annotations, "categories": categories}
        truth.createIndex()
        detected = truth.loadRes(results)
        evaluation = COCOeval(truth, detected, iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    # precision: [iou threshold, recall, category, area range, max dets]; iou index 0 is .5,
    # area index 0 is "all", max-dets index -1 is 100.
    precision = evaluation.eval["precision"][0, :, :, 0, -1]
    per_label = {}
    for i, name in enumerate(names):
        column = precision[:, i]
        column = column[column > -1]
        per_label[name] = round(float(column.mean()), 6) if column.size else None
    return {**summary, "map": _ap(stats[0]), "map50": _ap(stats[1]), "map75": _ap(stats[2]), "ap50_per_label": per_label}
