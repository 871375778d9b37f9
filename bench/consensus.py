"""Simulate a crowd labeling real items and print what each consensus method gets for its labels.

The items are scikit-learn's handwritten digits (1,797 real 8x8 scans, shipped with the package,
no download); the truth is each scan's digit (10 classes) or, in the 2-class version, whether
the digit is below 5. A fixed crowd of ``--labelers`` labelers has accuracies spread between
50 % and 95 % (``0.5 + 0.45 * u ** 1.25`` for evenly spaced ``u``: about 70 % on average); when
wrong, a labeler answers one of the other classes uniformly at random. Every labeler's answer to
every item is drawn once up front, so all methods see the same crowd (common random numbers).

The issue's protocol (the first five rows): each item first gets 3 labels from 3 random
labelers; with adaptive overlap, an item whose first 3 labels disagree gets one more label at a
time, and stops as soon as the method's posterior of its top class reaches 0.95 (for majority
vote: the vote share) or it has 5 labels. Extra labels come from a random labeler not yet on
the item. Dawid-Skene here is the 10-class model (:func:`workflows.consensus.dawid_skene`).

The platform rows run the platform's own consensus stage on the same crowd: a workflow document
(``schemas/workflow/v1.json``, printed below the table for the best row) parsed by
:func:`workflows.parse`; each item starts with the annotate stage's overlap; the stage's
Dawid-Skene over tag sets (:func:`workflows.consensus.tag_dawid_skene`, what the ``dawid_skene``
method runs on the server) gives every item's posterior; :func:`workflows.engine.consensus_route`
decides whether an item is agreed on (``target_confidence``) or gets one more label (up to
``extra_labels``); extra labels go to a random labeler among the ``best_share`` that
:func:`workflows.engine.best_labelers` picks from the estimate, or, when all of those are on the
item already (or without ``best_share``), to a random labeler not yet on it, as "next task" does
when nothing else is left. Labels arrive in rounds (every open item gets one label, then the
estimate is refitted), where the server refits after every item; items that run out of extra
labels unsure go to review on the server, and are scored here as merged, with no reviewer.

With gold, 5 % of the scans are gold tasks with known answers, kept out of the evaluation; every
labeler answers a few of them mixed into their work (5 % of an average labeler's tasks). Gold
answers are labeling work too, so they count in "labels/item" (total labels / evaluated items).

Goal (issue #5): at least 95 % accuracy at no more than 3.5 labels per item on average. Three
labelers at exactly 70 % each cannot get there by any vote (a 2-class majority of three is right
with probability 0.7^3 + 3 * 0.7^2 * 0.3 = 78.4 %), so any gain must come from weighting the
labelers by their estimated reliability and from spending extra labels where they matter.

Usage::

    pip install -e '.[bench]'
    python bench/consensus.py                  # both class settings, seconds on a laptop
    python bench/consensus.py --seed 3 --labelers 30
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from workflows import Route, Workflow, parse
from workflows.consensus import dawid_skene, majority_vote, tag_dawid_skene
from workflows.engine import best_labelers, consensus_route

GOAL_ACCURACY = 0.95
GOAL_LABELS = 3.5
POSTERIOR_STOP = 0.95
FIRST_LABELS = 3
MAX_LABELS = 5
GOLD_SHARE = 0.05


@dataclass(frozen=True)
class Crowd:
    """One simulated crowd: the truth, each labeler's answer to every item, the gold split."""

    truth: np.ndarray  # [item] class index
    answers: np.ndarray  # [item, labeler] the class the labeler would answer
    accuracy: np.ndarray  # [labeler] true accuracy
    order: np.ndarray  # [item, labeler] a random order of labelers per item (first 3 = initial)
    evaluated: np.ndarray  # item indices that are labeled and scored
    gold_answers: dict[int, dict[int, int]]  # {gold item: {labeler: answer}}


@dataclass(frozen=True)
class Outcome:
    """What one method achieved."""

    accuracy: float
    labels_per_item: float
    share_extra: float
    busiest: float  # the share of all labels given by the busiest labeler


def make_crowd(truth: np.ndarray, n_classes: int, n_labelers: int, rng: np.random.Generator) -> Crowd:
    """Draw labelers' accuracies and every answer; split off the gold items."""
    u = (np.arange(n_labelers) + 0.5) / n_labelers
    accuracy = 0.5 + 0.45 * u**1.25
    n_items = len(truth)
    right = rng.random((n_items, n_labelers)) < accuracy[None, :]
    offset = rng.integers(1, n_classes, size=(n_items, n_labelers))  # a uniformly chosen wrong class
    answers = np.where(right, truth[:, None], (truth[:, None] + offset) % n_classes)
    order = np.argsort(rng.random((n_items, n_labelers)), axis=1)
    gold = np.sort(rng.choice(n_items, size=round(GOLD_SHARE * n_items), replace=False))
    evaluated = np.setdiff1d(np.arange(n_items), gold)
    per_labeler = math.ceil(GOLD_SHARE * FIRST_LABELS * len(evaluated) / n_labelers)
    gold_answers: dict[int, dict[int, int]] = {int(g): {} for g in gold}
    for labeler in range(n_labelers):
        for g in rng.choice(gold, size=min(per_labeler, len(gold)), replace=False):
            gold_answers[int(g)][labeler] = int(answers[g, labeler])
    return Crowd(truth, answers, accuracy, order, evaluated, gold_answers)


def run(
    crowd: Crowd,
    *,
    method: str,
    adaptive: bool,
    gold: bool,
) -> Outcome:
    """Label the evaluated items with one strategy and score it.

    Args:
        crowd: the simulated crowd.
        method: ``"mv"`` (majority vote) or ``"ds"`` (Dawid-Skene).
        adaptive: ask up to 2 more labels where the first 3 disagree.
        gold: mix gold tasks in (Dawid-Skene only: majority vote cannot use them).

    Returns:
        Accuracy on the evaluated items, labels per evaluated item (gold answers included),
        the share of items that got extra labels, and the busiest labeler's share of the labels.
    """
    asked = {int(i): [int(w) for w in crowd.order[i, :FIRST_LABELS]] for i in crowd.evaluated}
    classes = list(range(int(crowd.answers.max()) + 1))

    def fit():
        labels = {i: {w: int(crowd.answers[i, w]) for w in ws} for i, ws in asked.items()}
        if method == "mv":
            return majority_vote(labels)
        if gold:
            labels.update(crowd.gold_answers)
            return dawid_skene(labels, classes=classes, gold={g: int(crowd.truth[g]) for g in crowd.gold_answers}).labels
        return dawid_skene(labels, classes=classes).labels

    estimate = fit()
    opened = {i for i, ws in asked.items() if len({int(crowd.answers[i, w]) for w in ws}) > 1} if adaptive else set()
    for _ in range(MAX_LABELS - FIRST_LABELS):
        need = [i for i in sorted(opened) if len(asked[i]) < MAX_LABELS and estimate[i][1] < POSTERIOR_STOP]
        if not need:
            break
        for i in need:
            asked[i].append(next(int(w) for w in crowd.order[i] if w not in asked[i]))
        estimate = fit()
    correct = sum(estimate[i][0] == crowd.truth[i] for i in asked)
    n_labels = sum(len(ws) for ws in asked.values()) + (sum(len(a) for a in crowd.gold_answers.values()) if gold else 0)
    load = np.bincount([w for ws in asked.values() for w in ws], minlength=crowd.answers.shape[1])
    if gold:
        load += np.bincount([w for a in crowd.gold_answers.values() for w in a], minlength=crowd.answers.shape[1])
    return Outcome(correct / len(asked), n_labels / len(asked), len(opened) / len(asked), float(load.max() / load.sum()))


STRATEGIES = [
    ("majority vote, 3 labels", {"method": "mv", "adaptive": False, "gold": False}),
    ("majority vote, adaptive 3-5", {"method": "mv", "adaptive": True, "gold": False}),
    ("Dawid-Skene, 3 labels", {"method": "ds", "adaptive": False, "gold": False}),
    ("Dawid-Skene, adaptive 3-5", {"method": "ds", "adaptive": True, "gold": False}),
    ("Dawid-Skene + gold, adaptive 3-5", {"method": "ds", "adaptive": True, "gold": True}),
]


def adaptive_workflow(overlap: int, extra_labels: int, best_share: float | None, target: float = POSTERIOR_STOP) -> dict:
    """Return a workflow document with the platform's adaptive consensus stage (review of what stays unsure)."""
    consensus = {"kind": "consensus", "method": "dawid_skene", "target_confidence": target, "extra_labels": extra_labels}
    if best_share is not None:
        consensus["best_share"] = best_share
    stages = [{"kind": "annotate", "overlap": overlap}, consensus, {"kind": "review", "rate": 0}, {"kind": "accept"}]
    return {"version": 1, "stages": stages}


PLATFORM = [
    ("platform: 3 then to 0.95 or 5, best 25 %", adaptive_workflow(3, 2, 0.25)),
    ("platform: 2 then to 0.95 or 5, best 25 %", adaptive_workflow(2, 3, 0.25)),
    ("platform: 1 then to 0.95 or 5, anyone", adaptive_workflow(1, 4, None)),
    ("platform: 1 then to 0.95 or 5, best 25 %", adaptive_workflow(1, 4, 0.25)),
]


def run_platform(crowd: Crowd, workflow: Workflow, *, rng: np.random.Generator) -> Outcome:
    """Label the evaluated items with the platform's consensus stage (see the module docstring).

    Args:
        crowd: the simulated crowd (gold answers always mixed in, as the platform does).
        workflow: a parsed workflow with a ``dawid_skene`` consensus stage and a ``target_confidence``.
        rng: for the picks of extra labelers.

    Returns:
        The :class:`Outcome`; the items with extras are those that got more than the overlap.
    """
    stage = workflow.consensus
    overlap = workflow.annotate.overlap
    tag_labels = [str(k) for k in range(int(crowd.answers.max()) + 1)]
    asked = {int(i): [int(w) for w in crowd.order[i, :overlap]] for i in crowd.evaluated}
    gold_answers = {("gold", g): {w: frozenset({str(a)}) for w, a in given.items()} for g, given in crowd.gold_answers.items()}
    gold_truth = {("gold", g): frozenset({str(int(crowd.truth[g]))}) for g in crowd.gold_answers}

    def fit():
        answers = {("item", i): {w: frozenset({str(int(crowd.answers[i, w]))}) for w in ws} for i, ws in asked.items()}
        return tag_dawid_skene({**answers, **gold_answers}, tag_labels, gold_truth)

    open_items = set(asked)
    estimate = fit()
    while open_items:
        best = best_labelers(estimate.accuracy, stage.best_share) if stage.best_share is not None else set()
        ranked_best = sorted(best)
        for i in sorted(open_items):
            # Tags only: the agreement threshold is for shapes, so agreement plays no part here.
            route = consensus_route(
                workflow, agreement=0.0, answers=len(asked[i]), overlap=overlap, draw=0.0, tag_confidence=estimate.confidence[("item", i)]
            )
            if route != Route.MORE_LABELS:
                open_items.discard(i)
                continue
            free = [w for w in ranked_best if w not in asked[i]]
            if free:
                asked[i].append(int(rng.choice(free)))
            else:
                asked[i].append(next(int(w) for w in crowd.order[i] if w not in asked[i]))
        estimate = fit()
    correct = sum(estimate.tags[("item", i)] == frozenset({str(int(crowd.truth[i]))}) for i in asked)
    n_labels = sum(len(ws) for ws in asked.values()) + sum(len(a) for a in crowd.gold_answers.values())
    load = np.bincount([w for ws in asked.values() for w in ws], minlength=crowd.answers.shape[1])
    load += np.bincount([w for a in crowd.gold_answers.values() for w in a], minlength=crowd.answers.shape[1])
    extras = sum(len(ws) > overlap for ws in asked.values())
    return Outcome(correct / len(asked), n_labels / len(asked), extras / len(asked), float(load.max() / load.sum()))


def main(argv: list[str] | None = None) -> int:
    """Print one table per class setting and whether the goal holds.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        0 (the script reports; it does not fail on a missed goal).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labelers", type=int, default=20)
    args = parser.parse_args(argv)

    from sklearn.datasets import load_digits

    started = time.perf_counter()
    digits = load_digits()
    settings = [("2 classes (digit < 5 or not)", (digits.target >= 5).astype(int), 2), ("10 classes (the digit)", digits.target, 10)]
    print(f"{len(digits.target)} scans from scikit-learn's digits; {args.labelers} labelers; seed {args.seed}")
    verdicts = []
    for title, truth, n_classes in settings:
        rng = np.random.default_rng(args.seed)
        crowd = make_crowd(np.asarray(truth), n_classes, args.labelers, rng)
        print(
            f"\n{title}: {len(crowd.evaluated)} items scored, {len(crowd.gold_answers)} gold; labeler accuracy "
            f"{crowd.accuracy.min():.0%}-{crowd.accuracy.max():.0%}, mean {crowd.accuracy.mean():.1%}"
        )
        print(f"  {'strategy':<44} {'accuracy':>9} {'labels/item':>12} {'items w/ extras':>16} {'busiest labeler':>16}  goal")
        outcomes = [(name, run(crowd, **options)) for name, options in STRATEGIES]
        outcomes += [(name, run_platform(crowd, parse(doc), rng=np.random.default_rng(args.seed + 1))) for name, doc in PLATFORM]
        for name, outcome in outcomes:
            ok = outcome.accuracy >= GOAL_ACCURACY and outcome.labels_per_item <= GOAL_LABELS
            verdicts.append((title, name, ok))
            figures = f"{outcome.accuracy:>9.1%} {outcome.labels_per_item:>12.2f} {outcome.share_extra:>16.0%} {outcome.busiest:>16.0%}"
            print(f"  {name:<44} {figures}  {'met' if ok else '-'}")
    met = [f"{title}: {name}" for title, name, ok in verdicts if ok]
    print(f"\nGoal: >= {GOAL_ACCURACY:.0%} accuracy at <= {GOAL_LABELS} labels/item.")
    print("Met by: " + ("; ".join(met) if met else "nothing"))
    print(
        "The issue's protocol (3 blind labels, extras only where they disagree) cannot meet it with this crowd: 3 random\n"
        "labelers averaging 70 % disagree on about 2 items in 3, and each of those costs at least one more label, so\n"
        "the average passes 3.5 before accuracy reaches 95 %. What gets there is the platform's adaptive overlap: fewer\n"
        "blind labels, more only while Dawid-Skene's posterior is below 0.95, and extra labels routed to the labelers\n"
        "gold and Dawid-Skene rate best. The price is that strong labelers do a larger share of the work (the 'busiest\n"
        "labeler' column; an even share would be 1/labelers). The workflow of the last platform row:"
    )
    print(json.dumps(PLATFORM[-1][1]))
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
