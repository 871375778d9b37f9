"""Consensus: turn several labelers' answers for the same item into one answer and a confidence.

Pure Python plus numpy (pycocotools, a core dependency, is imported only by the polygon code);
no Flask, no database, so the rules run the same in a service, a job, the CLI or a benchmark.

Tags and classes (one label per worker per item):

* :func:`majority_vote`: the (optionally weighted) plurality; confidence = share of the votes.
* :func:`dawid_skene`: the EM estimate of Dawid & Skene (1979), which learns one confusion
  matrix per worker, so reliable workers count more, noise counts for nothing and a worker who
  is systematically wrong still carries information. Gold items (known answers) anchor it.
* :func:`tag_dawid_skene`: the same on tag sets, one yes/no question per item and tag label;
  what the platform's ``dawid_skene`` consensus method and its posterior stop use.

Shapes (several per worker per item):

* :func:`merge_boxes`, :func:`merge_polygons`, :func:`merge_keypoints`: cluster the workers'
  shapes (at most one shape per worker per cluster), keep clusters drawn by at least
  ``quorum`` workers, vote the label, merge the geometry, and give each result its support.
* :func:`iou`, :func:`polygon_iou_matrix`, :func:`oks`: the similarity measures behind them.

Review routing: :func:`agreement` scores one item in ``[0, 1]``; send items below a project
threshold (0.6 is a reasonable start, see the function) to a reviewer.

Deterministic everywhere: ties are broken by a fixed order of the labels (numbers by value,
then everything else by ``str``), never by dict or set order.

References:
    A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of observer error-rates using
    the EM algorithm", Journal of the Royal Statistical Society C 28(1), 1979, pp. 20-28.
    COCO keypoint evaluation (object keypoint similarity): https://cocodataset.org/#keypoints-eval
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Item = Hashable
Worker = Hashable
Label = Hashable

#: COCO's per-keypoint standard deviations for its 17 person keypoints (nose, eyes, ears,
#: shoulders, elbows, wrists, hips, knees, ankles), from ``pycocotools.cocoeval``.
COCO_PERSON_SIGMAS: tuple[float, ...] = tuple(
    s / 10.0 for s in (0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89)
)

#: Side of the square canvas (pixels) that polygons are rasterized on to compute their IoU.
POLYGON_RASTER_SIZE = 1024


def sort_key(value: Hashable) -> tuple[int, float, str]:
    """Return the fixed order used to break ties: numbers by value first, then others by ``str``.

    Args:
        value: a label, worker or item.

    Returns:
        A key that compares across mixed types.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


# ---------------------------------------------------------------------------------------------
# Tags and classes
# ---------------------------------------------------------------------------------------------


def majority_vote(
    labels_by_worker: Mapping[Item, Mapping[Worker, Label]],
    *,
    weights: Mapping[Worker, float] | None = None,
) -> dict[Item, tuple[Label, float]]:
    """Pick each item's most voted label.

    ``score(label) = sum of weights[w] over workers w who gave label``; the winner is the label
    with the highest score, ties going to the label first in :func:`sort_key` order;
    ``confidence = score(winner) / sum of all voters' weights`` (the share of the votes, e.g.
    a, a, b gives ``("a", 2/3)``).

    Args:
        labels_by_worker: ``{item: {worker: label}}``; items without labels are left out.
        weights: a non-negative weight per worker (default 1 each; a missing worker counts 1),
            e.g. a worker's accuracy from :func:`dawid_skene`.

    Returns:
        ``{item: (label, confidence)}`` with confidence in ``[0, 1]``.

    Raises:
        ValueError: a negative weight.
    """
    result: dict[Item, tuple[Label, float]] = {}
    for item, answers in labels_by_worker.items():
        if not answers:
            continue
        scores: dict[Label, float] = {}
        for worker, label in answers.items():
            scores[label] = scores.get(label, 0.0) + _weight(weights, worker)
        total = sum(scores.values())
        best = min(scores, key=lambda label: (-scores[label], sort_key(label)))
        result[item] = (best, scores[best] / total if total > 0 else 1.0 / len(scores))
    return result


@dataclass(frozen=True)
class WorkerQuality:
    """What :func:`dawid_skene` learned about one worker.

    Attributes:
        confusion: ``K x K`` array; ``confusion[k, l]`` is the probability that the worker
            answers class ``l`` when the truth is class ``k`` (rows sum to 1), classes in
            :attr:`DawidSkeneResult.classes` order.
        accuracy: ``sum_k prior_k * confusion[k, k]``, the chance the worker is right on a
            random item.
        n_labels: how many labels the worker gave (gold items included).
    """

    confusion: np.ndarray
    accuracy: float
    n_labels: int


@dataclass(frozen=True)
class DawidSkeneResult:
    """The outcome of :func:`dawid_skene`.

    Attributes:
        labels: ``{item: (label, posterior)}``: the most probable class and its probability.
        workers: ``{worker: WorkerQuality}``.
        posteriors: ``{item: {label: probability}}`` over every class.
        classes: the class order used by the confusion matrices and ``class_prior``.
        class_prior: estimated share of each class among the items.
        iterations: EM iterations run (by the winning start, when there were two).
        converged: whether the posteriors moved less than ``tol`` before ``iterations`` ran out.
    """

    labels: dict[Item, tuple[Label, float]]
    workers: dict[Worker, WorkerQuality]
    posteriors: dict[Item, dict[Label, float]]
    classes: list[Label]
    class_prior: np.ndarray
    iterations: int
    converged: bool


def dawid_skene(
    labels_by_worker: Mapping[Item, Mapping[Worker, Label]],
    *,
    classes: Sequence[Label] | None = None,
    iterations: int = 50,
    tol: float = 1e-6,
    prior: float = 1.0,
    gold: Mapping[Item, Label] | None = None,
) -> DawidSkeneResult:
    """Estimate true labels and per-worker confusion matrices with Dawid & Skene's EM.

    Model: item ``i`` has a hidden class ``k`` drawn with probability ``p_k``; worker ``j``
    answers ``l`` with probability ``pi_j[k, l]`` independently of the other workers. With
    ``T[i, k] = P(class of i = k | answers)``:

    * initialization: ``T[i, k]`` = share of item ``i``'s votes for ``k`` (soft majority vote);
    * M-step: ``p_k = (sum_i T[i,k] + a) / (N + K a)`` and
      ``pi_j[k, l] = (a + sum over items i that j answered with l of T[i,k]) / (K a + sum over
      items i that j answered of T[i,k])``, with ``a = prior`` (Laplace smoothing: a worker with
      few labels gets rows near uniform, i.e. little weight, instead of 0/1 entries that would
      veto or dictate whole items);
    * E-step: ``T[i, k] ~ p_k * prod over answers (j, l) of item i of pi_j[k, l]``, normalized;
    * gold items are clamped to their known class in every E-step, so the workers' confusion
      matrices are anchored by answers whose truth is known;

    until no ``T`` entry moves by ``tol`` or more, or ``iterations`` ran. With gold, EM also runs
    from a second start (confusion matrices estimated from the gold answers alone) and the run
    with the higher log-likelihood ``sum_i log sum_k p_k prod pi_j[k, l]`` (gold items: the known
    ``k`` only) wins; this escapes the label-swapped optimum that the majority-vote start falls
    into when most workers are adversarial. A final M-step makes the returned confusion
    matrices match the returned posteriors.

    Args:
        labels_by_worker: ``{item: {worker: label}}``.
        classes: every possible class, in the order to use (default: all labels seen, plus gold
            labels, in :func:`sort_key` order). A class nobody gave still gets probability.
        iterations: the most EM iterations to run (>= 1).
        tol: convergence threshold on the largest change of a posterior (probability units).
        prior: Laplace pseudo-count added to every confusion-matrix cell and class count (> 0).
        gold: ``{item: known label}``; gold items not in ``labels_by_worker`` are ignored.

    Returns:
        A :class:`DawidSkeneResult`; ties between classes go to the first in ``classes`` order.

    Raises:
        ValueError: a label (or gold label) not in ``classes``, ``prior <= 0`` or ``iterations < 1``.
    """
    if prior <= 0:
        raise ValueError(f"prior must be > 0, got {prior}")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    gold = dict(gold or {})
    if classes is None:
        seen = {label for answers in labels_by_worker.values() for label in answers.values()} | set(gold.values())
        classes = sorted(seen, key=sort_key)
    classes = list(classes)
    class_index = {label: k for k, label in enumerate(classes)}
    items = list(labels_by_worker)
    workers: dict[Worker, int] = {}
    rows, cols, given = [], [], []
    for i, item in enumerate(items):
        for worker, label in labels_by_worker[item].items():
            if label not in class_index:
                raise ValueError(f"label {label!r} of item {item!r} is not one of the classes {classes!r}")
            rows.append(i)
            cols.append(workers.setdefault(worker, len(workers)))
            given.append(class_index[label])
    for item, label in gold.items():
        if label not in class_index:
            raise ValueError(f"gold label {label!r} of item {item!r} is not one of the classes {classes!r}")
    n_items, n_workers, n_classes = len(items), len(workers), len(classes)
    item_idx, worker_idx, label_idx = (np.asarray(a, dtype=np.intp) for a in (rows, cols, given))
    gold_rows = np.asarray([i for i, item in enumerate(items) if item in gold], dtype=np.intp)
    gold_onehot = np.zeros((len(gold_rows), n_classes))
    gold_onehot[np.arange(len(gold_rows)), [class_index[gold[items[i]]] for i in gold_rows]] = 1.0

    def clamp(t: np.ndarray) -> np.ndarray:
        if len(gold_rows):
            t[gold_rows] = gold_onehot
        return t

    def m_step(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        class_prior = (t.sum(axis=0) + prior) / (n_items + n_classes * prior)
        counts = np.full((n_workers, n_classes, n_classes), prior)  # [worker, given, true]
        np.add.at(counts, (worker_idx, label_idx), t[item_idx])
        confusion = counts.transpose(0, 2, 1)  # [worker, true, given]
        return class_prior, confusion / confusion.sum(axis=2, keepdims=True)

    def e_step(class_prior: np.ndarray, confusion: np.ndarray) -> tuple[np.ndarray, float]:
        log_t = np.tile(np.log(class_prior), (n_items, 1))
        np.add.at(log_t, item_idx, np.log(confusion[worker_idx, :, label_idx]))
        top = log_t.max(axis=1, keepdims=True)
        t = np.exp(log_t - top)
        norm = t.sum(axis=1, keepdims=True)
        log_evidence = (np.log(norm) + top).ravel()  # log P(item's answers)
        if len(gold_rows):  # a gold item's class is known: log P(answers, class)
            log_evidence[gold_rows] = (log_t[gold_rows] * gold_onehot).sum(axis=1)
        return clamp(t / norm), float(log_evidence.sum())

    def run_em(t: np.ndarray) -> tuple[np.ndarray, int, bool, float]:
        log_likelihood = -math.inf
        for done in range(1, iterations + 1):
            new_t, log_likelihood = e_step(*m_step(t))
            delta = float(np.abs(new_t - t).max()) if n_items else 0.0
            t = new_t
            if delta < tol:
                return t, done, True, log_likelihood
        return t, iterations, False, log_likelihood

    start = np.zeros((n_items, n_classes))
    np.add.at(start, (item_idx, label_idx), 1.0)
    start[start.sum(axis=1) == 0] = 1.0  # an item nobody answered starts (and stays) at the class prior
    t, done, converged, log_likelihood = run_em(clamp(start / start.sum(axis=1, keepdims=True)))
    if len(gold_rows):
        # EM finds a local optimum; when most workers are adversarial the majority-vote start
        # sits in the label-swapped one. A second start whose confusion matrices come from the
        # gold answers alone escapes it; keep whichever run explains the data better.
        only_gold = np.zeros((n_items, n_classes))
        only_gold[gold_rows] = gold_onehot
        gold_run = run_em(e_step(*m_step(only_gold))[0])
        if gold_run[3] > log_likelihood:
            t, done, converged, log_likelihood = gold_run
    class_prior, confusion = m_step(t)

    best = t.argmax(axis=1) if n_items else np.zeros(0, dtype=np.intp)
    answered = np.bincount(worker_idx, minlength=n_workers)
    return DawidSkeneResult(
        labels={item: (classes[best[i]], float(t[i, best[i]])) for i, item in enumerate(items)},
        workers={
            worker: WorkerQuality(
                confusion=confusion[j],
                accuracy=float(class_prior @ np.diag(confusion[j])),
                n_labels=int(answered[j]),
            )
            for worker, j in workers.items()
        },
        posteriors={item: {label: float(t[i, k]) for k, label in enumerate(classes)} for i, item in enumerate(items)},
        classes=classes,
        class_prior=class_prior,
        iterations=done,
        converged=converged,
    )


@dataclass(frozen=True)
class TagEstimate:
    """What :func:`tag_dawid_skene` learned from tag answers.

    Attributes:
        tags: ``{item: frozenset of tag labels}``, the labels judged present (posterior >= 0.5).
        confidence: ``{item: probability}``, the least posterior among the item's tag
            decisions (present or absent, one per label): how sure the estimate is of the
            whole tag set. 1.0 for an item nobody could tag (no labels).
        accuracy: ``{worker: probability}``, each worker's accuracy on the yes/no questions
            (:attr:`WorkerQuality.accuracy`).
        present: ``{item: {label: probability}}``, the posterior that the item has each tag label.
    """

    tags: dict[Item, frozenset[str]]
    confidence: dict[Item, float]
    accuracy: dict[Worker, float]
    present: dict[Item, dict[str, float]]


def tag_dawid_skene(
    answers: Mapping[Item, Mapping[Worker, frozenset[str]]],
    labels: Sequence[str],
    gold: Mapping[Item, frozenset[str]] | None = None,
) -> TagEstimate:
    """Estimate items' tag sets and workers' accuracy with Dawid-Skene on yes/no questions.

    Each tag label ``L`` of each item is one question, "does the item have tag L?", answered
    yes or no by every worker who answered the item (a worker who gave no tag answered no to
    every label). One EM (:func:`dawid_skene`, classes ``[False, True]``, Laplace prior 1)
    runs over all the questions, so a worker's 2x2 confusion matrix is learned from all their
    answers; gold items anchor it. Works for single-choice tags (one label per answer: the
    posterior of the chosen label equals the multi-class posterior under uniform errors) and
    for multi-label tags alike.

    Args:
        answers: ``{item: {worker: the set of tag labels the worker gave}}``.
        labels: every tag label of the project (labels outside it in an answer are ignored).
        gold: ``{item: known tag set}`` for gold items among ``answers``.

    Returns:
        A :class:`TagEstimate`.
    """
    gold = gold or {}
    questions: dict[tuple[Item, str], dict[Worker, bool]] = {}
    truths: dict[tuple[Item, str], bool] = {}
    for item, given in answers.items():
        for label in labels:
            questions[(item, label)] = {worker: label in tags for worker, tags in given.items()}
            if item in gold:
                truths[(item, label)] = label in gold[item]
    if not questions:
        return TagEstimate({item: frozenset() for item in answers}, {item: 1.0 for item in answers}, {}, {item: {} for item in answers})
    result = dawid_skene(questions, classes=[False, True], gold=truths)
    tags: dict[Item, set[str]] = {item: set() for item in answers}
    confidence: dict[Item, float] = {item: 1.0 for item in answers}
    present: dict[Item, dict[str, float]] = {item: {} for item in answers}
    for (item, label), (answer, posterior) in result.labels.items():
        if answer:
            tags[item].add(label)
        confidence[item] = min(confidence[item], posterior)
        present[item][label] = result.posteriors[(item, label)][True]
    accuracy = {worker: quality.accuracy for worker, quality in result.workers.items()}
    return TagEstimate({item: frozenset(t) for item, t in tags.items()}, confidence, accuracy, present)


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergedShape:
    """One consensus shape.

    Attributes:
        label: the (weighted) most voted label of the cluster's members.
        bbox: ``[x, y, w, h]`` in image pixels: the weighted mean of the members' boxes for
            boxes and keypoints, the representative polygon's bounding box for polygons.
        confidence: weighted support / total weight of every worker who annotated the item.
        support: the workers whose shapes formed the cluster, in :func:`sort_key` order.
        polygon: for :func:`merge_polygons`, the representative member's polygon (COCO
            segmentation: a list of flat ``[x1, y1, x2, y2, ...]`` rings).
        keypoints: for :func:`merge_keypoints`, flat ``[x1, y1, v1, ...]`` (COCO layout).
    """

    label: Label
    bbox: list[float]
    confidence: float
    support: list[Worker]
    polygon: list[list[float]] | None = field(default=None)
    keypoints: list[float] | None = field(default=None)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Return the intersection over union of two ``[x, y, w, h]`` boxes (0 when both are empty).

    Args:
        a: a box in pixels.
        b: a box in pixels.

    Returns:
        ``|a & b| / |a | b|`` in ``[0, 1]``.
    """
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = max(aw, 0.0) * max(ah, 0.0) + max(bw, 0.0) * max(bh, 0.0) - inter
    return inter / union if union > 0 else 0.0


def merge_boxes(
    boxes_by_worker: Mapping[Worker, Sequence[tuple[Label, Sequence[float]]]],
    *,
    iou_threshold: float = 0.5,
    quorum: int = 2,
    weights: Mapping[Worker, float] | None = None,
) -> list[MergedShape]:
    """Merge several workers' boxes on one item into consensus boxes.

    Clustering is greedy complete-linkage over IoU, regardless of label: every box starts as
    its own cluster; pairs of boxes from different workers with ``IoU >= iou_threshold`` are
    taken in decreasing IoU order, and their two clusters are joined when no worker would then
    have two boxes in it and every pair of members overlaps at ``>= iou_threshold`` (so chains
    of slightly shifted boxes do not snowball). A cluster is kept when ``>= quorum`` workers
    are in it. Its label is the weighted vote of the members (ties by :func:`sort_key`), its
    box ``sum_m w_m * box_m / sum_m w_m`` over the members ``m`` (x, y, w, h averaged), and its
    ``confidence = sum of members' weights / sum of all workers' weights``.

    Args:
        boxes_by_worker: ``{worker: [(label, [x, y, w, h]), ...]}`` in image pixels. List every
            worker who annotated the item, even with no boxes: they count in the total weight.
        iou_threshold: the least IoU for two boxes to be the same object, in ``(0, 1]``.
        quorum: the least number of workers a kept cluster needs (>= 1).
        weights: a non-negative weight per worker (default 1; missing workers count 1).

    Returns:
        The merged boxes, most confident first (then by x, y).

    Raises:
        ValueError: a bad threshold, quorum or weight, or a box that is not 4 numbers.
    """
    shapes = _flatten(boxes_by_worker)
    for _, _, box in shapes:
        if len(box) != 4:
            raise ValueError(f"a box must be [x, y, w, h], got {box!r}")
    boxes = [[float(v) for v in box] for _, _, box in shapes]
    similarity = np.array([[iou(a, b) for b in boxes] for a in boxes]).reshape(len(boxes), len(boxes))

    def geometry(members: list[int], member_weights: np.ndarray) -> dict[str, Any]:
        mean = np.average(np.array([boxes[m] for m in members]), axis=0, weights=member_weights)
        return {"bbox": [float(v) for v in mean]}

    return _merge(boxes_by_worker, shapes, similarity, iou_threshold, quorum, weights, geometry)


def polygon_iou_matrix(polygons: Sequence[Sequence[float] | Sequence[Sequence[float]]]) -> np.ndarray:
    """Return the pairwise IoU of polygons, rasterized with pycocotools.

    The polygons are translated and scaled together so that their joint extent fills a
    :data:`POLYGON_RASTER_SIZE` square canvas (IoU does not change under a common scaling), so
    the IoU is accurate to about 1/1000 of that extent whatever the image size.

    Args:
        polygons: each a flat ``[x1, y1, x2, y2, ...]`` ring (>= 3 points) or a COCO
            segmentation (a list of such rings, unioned), in pixels.

    Returns:
        An ``n x n`` array of IoUs in ``[0, 1]``.

    Raises:
        ValueError: a ring with fewer than 3 points or an odd number of coordinates.
    """
    from pycocotools import mask as mask_utils  # compiled extension; only polygon merging needs it

    rings_list = [_rings(p) for p in polygons]
    if not rings_list:
        return np.zeros((0, 0))
    coords = np.concatenate([np.asarray(r, dtype=float).reshape(-1, 2) for rings in rings_list for r in rings])
    origin = coords.min(axis=0)
    extent = float((coords.max(axis=0) - origin).max()) or 1.0
    scale = (POLYGON_RASTER_SIZE - 2) / extent
    rles = []
    for rings in rings_list:
        scaled = [((np.asarray(r, dtype=float).reshape(-1, 2) - origin) * scale + 1.0).ravel().tolist() for r in rings]
        rles.append(mask_utils.merge(mask_utils.frPyObjects(scaled, POLYGON_RASTER_SIZE, POLYGON_RASTER_SIZE)))
    return np.asarray(mask_utils.iou(rles, rles, [0] * len(rles)), dtype=float).reshape(len(rles), len(rles))


def merge_polygons(
    polygons_by_worker: Mapping[Worker, Sequence[tuple[Label, Sequence[float] | Sequence[Sequence[float]]]]],
    *,
    iou_threshold: float = 0.5,
    quorum: int = 2,
    weights: Mapping[Worker, float] | None = None,
) -> list[MergedShape]:
    """Merge several workers' polygons on one item, as :func:`merge_boxes` does for boxes.

    Clusters, quorum, label vote and confidence are those of :func:`merge_boxes`, with the
    polygons' mask IoU (:func:`polygon_iou_matrix`). Polygons cannot be averaged point by point
    (workers start and step differently), so the cluster's polygon is its *medoid*: the member
    with the highest mean IoU to the other members (ties: the member of the worker first in
    :func:`sort_key` order).

    Args:
        polygons_by_worker: ``{worker: [(label, polygon), ...]}`` with each polygon a flat ring
            or a COCO segmentation (list of rings), in pixels. List every worker of the item.
        iou_threshold: the least IoU for two polygons to be the same object.
        quorum: the least number of workers a kept cluster needs.
        weights: a non-negative weight per worker (default 1).

    Returns:
        The merged shapes with ``polygon`` set (as a list of rings) and ``bbox`` its bounding box.

    Raises:
        ValueError: a bad threshold, quorum, weight or polygon.
    """
    shapes = _flatten(polygons_by_worker)
    rings = [_rings(polygon) for _, _, polygon in shapes]
    similarity = polygon_iou_matrix(rings)

    def geometry(members: list[int], member_weights: np.ndarray) -> dict[str, Any]:
        sub = similarity[np.ix_(members, members)]
        mean_iou = (sub.sum(axis=1) - 1.0) / max(len(members) - 1, 1)
        best = members[int(np.argmax(mean_iou))]  # members are in worker order: argmax keeps the first
        chosen = rings[best]
        xy = np.concatenate([np.asarray(r, dtype=float).reshape(-1, 2) for r in chosen])
        low, high = xy.min(axis=0), xy.max(axis=0)
        return {"bbox": [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])], "polygon": chosen}

    return _merge(polygons_by_worker, shapes, similarity, iou_threshold, quorum, weights, geometry)


def oks(a: Sequence[float], b: Sequence[float], area: float, sigmas: Sequence[float] | None = None) -> float:
    """Return COCO's object keypoint similarity of two keypoint sets.

    ``OKS = sum_i exp(-d_i^2 / (2 s^2 k_i^2)) / n`` over the ``n`` keypoints labeled (``v > 0``)
    in both sets, with ``d_i`` the distance between the two points (pixels), ``s^2 = area`` the
    object's area (pixels^2) and ``k_i = 2 sigma_i``. COCO counts the points visible in the
    ground truth; between two workers neither is the truth, so only points both labeled count.

    Args:
        a: flat ``[x1, y1, v1, x2, y2, v2, ...]`` (COCO layout, pixels; ``v`` 0 = not labeled).
        b: the same layout and number of keypoints.
        area: the object's area in pixels^2 (segment area, or the box's ``w * h``).
        sigmas: one per keypoint (default :data:`COCO_PERSON_SIGMAS` for 17 keypoints).

    Returns:
        OKS in ``[0, 1]``; 1.0 for identical sets; 0.0 when no keypoint is labeled in both.

    Raises:
        ValueError: lengths that are not 3 per keypoint or do not match, or no sigmas for a
            skeleton other than COCO's 17-point person.
    """
    pa, pb = _keypoints(a), _keypoints(b)
    if pa.shape != pb.shape:
        raise ValueError(f"keypoint sets differ in length: {len(a)} vs {len(b)} numbers")
    k = _sigmas(len(pa), sigmas)
    both = (pa[:, 2] > 0) & (pb[:, 2] > 0)
    if not both.any():
        return 0.0
    d2 = ((pa[:, :2] - pb[:, :2]) ** 2).sum(axis=1)
    e = d2 / ((2.0 * k) ** 2) / (2.0 * (float(area) + np.spacing(1)))
    return float(np.exp(-e[both]).mean())


def merge_keypoints(
    keypoints_by_worker: Mapping[Worker, Sequence[tuple[Label, Sequence[float], Sequence[float]]]],
    *,
    oks_threshold: float = 0.5,
    quorum: int = 2,
    weights: Mapping[Worker, float] | None = None,
    sigmas: Sequence[float] | None = None,
) -> list[MergedShape]:
    """Merge several workers' keypoint skeletons on one item.

    Clusters, quorum, label vote and confidence are those of :func:`merge_boxes`, with OKS
    (:func:`oks`, area = mean of the two boxes' ``w * h``) as the similarity and
    ``oks_threshold`` as the threshold. Within a cluster, keypoint ``i`` is kept when members
    holding at least half of the cluster's weight labeled it (``v > 0``); its position is the
    weighted mean over those members and its ``v`` their weighted most common value (ties: 2,
    visible). Other keypoints are ``(0, 0, 0)``. The box is the weighted mean of the members'.

    Args:
        keypoints_by_worker: ``{worker: [(label, [x1, y1, v1, ...], [x, y, w, h]), ...]}``,
            pixels. List every worker of the item.
        oks_threshold: the least OKS for two skeletons to be the same object.
        quorum: the least number of workers a kept cluster needs.
        weights: a non-negative weight per worker (default 1).
        sigmas: per-keypoint sigmas (default :data:`COCO_PERSON_SIGMAS`).

    Returns:
        The merged shapes with ``keypoints`` and ``bbox`` set.

    Raises:
        ValueError: a bad threshold, quorum, weight, keypoint list or box.
    """
    shapes = _flatten(keypoints_by_worker)
    points, boxes = [], []
    for _, _, geometry_pair in shapes:
        keypoints, box = geometry_pair
        if len(box) != 4:
            raise ValueError(f"a box must be [x, y, w, h], got {box!r}")
        points.append(_keypoints(keypoints))
        boxes.append([float(v) for v in box])
    n = len(shapes)
    similarity = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            area = (boxes[i][2] * boxes[i][3] + boxes[j][2] * boxes[j][3]) / 2.0
            flat_i, flat_j = points[i].ravel(), points[j].ravel()
            similarity[i, j] = similarity[j, i] = oks(flat_i, flat_j, area, sigmas) if len(flat_i) == len(flat_j) else 0.0

    def geometry(members: list[int], member_weights: np.ndarray) -> dict[str, Any]:
        stack = np.stack([points[m] for m in members])  # [member, keypoint, xyv]
        total = member_weights.sum()
        merged = []
        for i in range(stack.shape[1]):
            labeled = stack[:, i, 2] > 0
            w = member_weights[labeled]
            if not labeled.any() or w.sum() * 2 < total or w.sum() <= 0:
                merged += [0.0, 0.0, 0.0]
                continue
            xy = np.average(stack[labeled, i, :2], axis=0, weights=w)
            v2 = w[stack[labeled, i, 2] >= 2].sum()
            merged += [float(xy[0]), float(xy[1]), 2.0 if v2 * 2 >= w.sum() else 1.0]
        bbox = np.average(np.array([boxes[m] for m in members]), axis=0, weights=member_weights)
        return {"bbox": [float(v) for v in bbox], "keypoints": merged}

    return _merge(keypoints_by_worker, [(w, label, None) for w, label, _ in shapes], similarity, oks_threshold, quorum, weights, geometry)


# ---------------------------------------------------------------------------------------------
# Review routing
# ---------------------------------------------------------------------------------------------


def agreement(
    answers: Mapping[Worker, Any],
    *,
    kind: Literal["label", "box", "polygon"] = "label",
    iou_threshold: float = 0.5,
) -> float:
    """Score how much the workers agree on one item, in ``[0, 1]`` (1 = all identical).

    The score is the mean over all pairs of workers of a pairwise agreement:

    * ``kind="label"``: 1 when the two gave the same label, else 0; the mean is the observed
      agreement ``P_i = sum_k n_k (n_k - 1) / (n (n - 1))`` of Fleiss' kappa for this item.
    * ``kind="box"`` / ``"polygon"``: the two workers' shapes are matched one to one, greedily
      by decreasing IoU, only same-label pairs with ``IoU >= iou_threshold``; the pair scores
      ``sum of matched IoUs / max(number of shapes of either)`` (1 when both drew nothing).
      Missing, extra, mislabeled or loosely drawn shapes all lower it.

    With fewer than two workers there is nothing to compare and the score is 0.0, so such items
    are routed to a reviewer as well. Use: send an item to review when its score is below a
    project threshold; 0.6 is a reasonable start (for three workers and labels, it sends every
    item that is not unanimous, since 2 of 3 scores 1/3).

    Args:
        answers: ``{worker: label}`` for ``kind="label"``, else ``{worker: [(label, geometry),
            ...]}`` with a ``[x, y, w, h]`` box or a polygon (flat ring or list of rings).
        kind: what ``answers`` holds.
        iou_threshold: the least IoU for two shapes to count as the same object.

    Returns:
        The agreement score in ``[0, 1]``.

    Raises:
        ValueError: an unknown ``kind`` or a bad shape.
    """
    if kind not in ("label", "box", "polygon"):
        raise ValueError(f"unknown kind {kind!r}: use 'label', 'box' or 'polygon'")
    workers = sorted(answers, key=sort_key)
    if len(workers) < 2:
        return 0.0
    if kind == "label":
        pairs = [(a, b) for n, a in enumerate(workers) for b in workers[n + 1 :]]
        return sum(answers[a] == answers[b] for a, b in pairs) / len(pairs)
    shapes = _flatten(answers)
    if kind == "box":
        similarity = np.array([[iou(a[2], b[2]) for b in shapes] for a in shapes]).reshape(len(shapes), len(shapes))
    else:
        similarity = polygon_iou_matrix([s[2] for s in shapes])
    owner = [s[0] for s in shapes]
    scores = []
    for n, a in enumerate(workers):
        for b in workers[n + 1 :]:
            ia = [i for i in range(len(shapes)) if owner[i] == a]
            ib = [i for i in range(len(shapes)) if owner[i] == b]
            if not ia and not ib:
                scores.append(1.0)
                continue
            candidates = sorted(
                ((similarity[i, j], i, j) for i in ia for j in ib if shapes[i][1] == shapes[j][1] and similarity[i, j] >= iou_threshold),
                key=lambda c: (-c[0], c[1], c[2]),
            )
            used_a, used_b, matched = set(), set(), 0.0
            for value, i, j in candidates:
                if i not in used_a and j not in used_b:
                    used_a.add(i)
                    used_b.add(j)
                    matched += value
            scores.append(matched / max(len(ia), len(ib)))
    return float(sum(scores) / len(scores))


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _weight(weights: Mapping[Worker, float] | None, worker: Worker) -> float:
    value = 1.0 if weights is None else float(weights.get(worker, 1.0))
    if value < 0 or math.isnan(value):
        raise ValueError(f"worker {worker!r} has a negative or NaN weight {value}")
    return value


def _flatten(by_worker: Mapping[Worker, Sequence[tuple[Label, Any]]]) -> list[tuple[Worker, Label, Any]]:
    """List ``(worker, label, geometry)`` in worker :func:`sort_key` order, then list order."""
    out = []
    for worker in sorted(by_worker, key=sort_key):
        for entry in by_worker[worker]:
            label, *geometry = entry
            out.append((worker, label, geometry[0] if len(geometry) == 1 else tuple(geometry)))
    return out


def _rings(polygon: Sequence[float] | Sequence[Sequence[float]]) -> list[list[float]]:
    rings = [list(polygon)] if polygon and not isinstance(polygon[0], Sequence) else [list(r) for r in polygon]
    if not rings:
        raise ValueError("a polygon needs at least one ring")
    for ring in rings:
        if len(ring) % 2 or len(ring) < 6:
            raise ValueError(f"a polygon ring must be [x1, y1, x2, y2, x3, y3, ...], got {len(ring)} numbers")
    return [[float(v) for v in ring] for ring in rings]


def _keypoints(flat: Sequence[float]) -> np.ndarray:
    array = np.asarray(flat, dtype=float)
    if array.ndim != 1 or len(array) % 3:
        raise ValueError(f"keypoints must be flat [x1, y1, v1, ...], got {len(array)} numbers")
    return array.reshape(-1, 3)


def _sigmas(n_keypoints: int, sigmas: Sequence[float] | None) -> np.ndarray:
    if sigmas is None:
        if n_keypoints != len(COCO_PERSON_SIGMAS):
            raise ValueError(f"{n_keypoints} keypoints: pass sigmas (the default is COCO's 17-point person)")
        sigmas = COCO_PERSON_SIGMAS
    if len(sigmas) != n_keypoints:
        raise ValueError(f"{len(sigmas)} sigmas for {n_keypoints} keypoints")
    return np.asarray(sigmas, dtype=float)


def _merge(
    by_worker: Mapping[Worker, Any],
    shapes: list[tuple[Worker, Label, Any]],
    similarity: np.ndarray,
    threshold: float,
    quorum: int,
    weights: Mapping[Worker, float] | None,
    geometry: Callable[[list[int], np.ndarray], dict[str, Any]],
) -> list[MergedShape]:
    """Cluster ``shapes`` (complete linkage, one per worker), keep quorate clusters, merge them."""
    if not 0 < threshold <= 1:
        raise ValueError(f"the similarity threshold must be in (0, 1], got {threshold}")
    if quorum < 1:
        raise ValueError(f"quorum must be >= 1, got {quorum}")
    total_weight = sum(_weight(weights, worker) for worker in by_worker)
    cluster_of = list(range(len(shapes)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(shapes))}
    pairs = sorted(
        (
            (float(similarity[i, j]), i, j)
            for i in range(len(shapes))
            for j in range(i + 1, len(shapes))
            if shapes[i][0] != shapes[j][0] and similarity[i, j] >= threshold
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    for _, i, j in pairs:
        ci, cj = cluster_of[i], cluster_of[j]
        if ci == cj:
            continue
        a, b = members[ci], members[cj]
        if {shapes[m][0] for m in a} & {shapes[m][0] for m in b}:
            continue  # one shape per worker per cluster
        if any(similarity[m, n] < threshold for m in a for n in b):
            continue  # complete linkage
        keep, drop = min(ci, cj), max(ci, cj)
        members[keep] = sorted(a + b)
        for m in members.pop(drop):
            cluster_of[m] = keep
    merged = []
    for cluster in members.values():
        support = [shapes[m][0] for m in cluster]
        if len(support) < quorum:
            continue
        member_weights = np.array([_weight(weights, w) for w in support])
        votes: dict[Label, float] = {}
        for m, w in zip(cluster, member_weights, strict=True):
            votes[shapes[m][1]] = votes.get(shapes[m][1], 0.0) + float(w)
        label = min(votes, key=lambda lab: (-votes[lab], sort_key(lab)))
        if member_weights.sum() <= 0:
            member_weights = np.ones(len(cluster))  # all-zero weights: average plainly, confidence 0
        confidence = float(sum(_weight(weights, w) for w in support) / total_weight) if total_weight > 0 else 0.0
        merged.append(
            MergedShape(label=label, confidence=confidence, support=sorted(support, key=sort_key), **geometry(cluster, member_weights))
        )
    merged.sort(key=lambda s: (-s.confidence, s.bbox[0], s.bbox[1], sort_key(s.label)))
    return merged
