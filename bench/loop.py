"""Simulate the label -> train -> pre-label -> correct loop and print how much work it saves.

The data are scikit-learn's handwritten digits (1,797 real 8x8 scans, shipped with the
package, no download) pasted at random sizes and places onto larger canvases, so every box
is known exactly. Each round, "humans" label ``--per-round`` more canvases (their ground
truth becomes accepted labels), a detector is trained from scratch on all labeled canvases,
and it pre-labels a fixed evaluation set. For each round the script prints the pre-labels'
precision and recall at IoU 0.5 and the edits per item a person would still make:

* a ground-truth box with a same-label pre-label at IoU >= 0.9: kept, 0 edits;
* IoU 0.5-0.9, same label: 1 edit (move or resize);
* IoU >= 0.5, wrong label: 1 edit (relabel);
* a pre-label matching nothing: 1 edit (delete); a box nothing matched: 1 edit (draw).

Goal (issue #4): edits per item fall by at least half between the first and the third round.

Usage::

    pip install -e '.[ml,bench]'
    python bench/loop.py                     # 3 rounds, CPU or GPU
    python bench/loop.py --rounds 4 --epochs 12 --per-round 60
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image


def make_canvases(n: int, *, size: int, classes: int, rng: np.random.Generator):
    """Return ``n`` (image (H, W, 3) uint8, boxes [x, y, w, h], labels) with 1-3 digits each."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pool = [i for i, target in enumerate(digits.target) if target < classes]
    canvases = []
    for _ in range(n):
        canvas = np.full((size, size), 0, np.uint8)
        boxes, labels = [], []
        for _ in range(int(rng.integers(1, 4))):
            index = int(rng.choice(pool))
            side = int(rng.integers(size // 6, size // 3))
            glyph = Image.fromarray((digits.images[index] * 255 / 16).astype(np.uint8)).resize((side, side), Image.BILINEAR)
            for _attempt in range(20):
                x, y = int(rng.integers(0, size - side)), int(rng.integers(0, size - side))
                if all(x + side <= bx or bx + bw <= x or y + side <= by or by + bh <= y for bx, by, bw, bh in boxes):
                    canvas[y : y + side, x : x + side] = np.maximum(canvas[y : y + side, x : x + side], np.asarray(glyph))
                    boxes.append((float(x), float(y), float(side), float(side)))
                    labels.append(int(digits.target[index]))
                    break
        canvases.append((np.stack([canvas] * 3, axis=-1), boxes, labels))
    return canvases


def iou(a, b) -> float:
    """IoU of two [x, y, w, h] boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def score_item(truth_boxes, truth_labels, detections) -> dict[str, int]:
    """Greedy matching by IoU; count kept, edited, relabeled, deleted, added."""
    counts = {"kept": 0, "edited": 0, "relabeled": 0, "deleted": 0, "added": 0, "tp": 0}
    unmatched = list(range(len(truth_boxes)))
    for det in sorted(detections, key=lambda d: -d.score):
        best, best_iou = None, 0.5
        for t in unmatched:
            value = iou(det.bbox, truth_boxes[t])
            if value >= best_iou:
                best, best_iou = t, value
        if best is None:
            counts["deleted"] += 1
            continue
        unmatched.remove(best)
        if det.label_index != truth_labels[best]:
            counts["relabeled"] += 1
        elif best_iou >= 0.9:
            counts["kept"] += 1
            counts["tp"] += 1
        else:
            counts["edited"] += 1
            counts["tp"] += 1
    counts["added"] = len(unmatched)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=40, help="canvases humans label per round")
    parser.add_argument("--eval", type=int, default=40, help="canvases the model pre-labels each round")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--classes", type=int, default=3, help="use digits 0..classes-1")
    parser.add_argument("--size", type=int, default=128, help="canvas side in pixels")
    parser.add_argument(
        "--input-size", type=int, default=320,
        help="side the detector resizes canvases to (the platform's TRAIN_MIN_SIZE); at 128 its coarse maps cannot place digits",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 8 canvases, 2 epochs")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.eval, args.epochs = 2, 8, 8, 2

    from prelabel.detection import TrainSample, load_detector, save_model_file, train_detector

    rng = np.random.default_rng(args.seed)
    pool = make_canvases(args.rounds * args.per_round, size=args.size, classes=args.classes, rng=rng)
    evaluation = make_canvases(args.eval, size=args.size, classes=args.classes, rng=rng)
    names = [str(d) for d in range(args.classes)]
    print(f"{'round':>5} {'labeled':>7} {'train s':>8} {'precision':>9} {'recall':>7} {'edits/item':>10} {'no model':>9}")
    baseline = sum(len(boxes) for _, boxes, _ in evaluation) / len(evaluation)  # draw every box by hand
    first = None
    import tempfile
    from pathlib import Path

    for round_number in range(1, args.rounds + 1):
        labeled = pool[: round_number * args.per_round]
        samples = [TrainSample(image, boxes, labels) for image, boxes, labels in labeled]
        started = time.perf_counter()
        result = train_detector(
            samples, names, epochs=args.epochs, seed=args.seed, min_size=args.input_size, max_size=args.input_size, batch_size=4, lr=0.02
        )
        seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pt"
            save_model_file(path, result)
            detector = load_detector(path)
            predictions = detector.predict([image for image, _, _ in evaluation], score_threshold=args.threshold)
        totals = {"kept": 0, "edited": 0, "relabeled": 0, "deleted": 0, "added": 0, "tp": 0}
        proposed = truth = 0
        for (_, boxes, labels), detections in zip(evaluation, predictions, strict=True):
            for key, value in score_item(boxes, labels, detections).items():
                totals[key] += value
            proposed += len(detections)
            truth += len(boxes)
        edits = (totals["edited"] + totals["relabeled"] + totals["deleted"] + totals["added"]) / len(evaluation)
        precision = totals["tp"] / proposed if proposed else 0.0
        recall = totals["tp"] / truth if truth else 0.0
        first = edits if first is None else first
        print(f"{round_number:>5} {len(labeled):>7} {seconds:>8.1f} {precision:>9.3f} {recall:>7.3f} {edits:>10.2f} {baseline:>9.2f}")
    if args.rounds >= 3 and first:
        print(f"edits per item, round 1 -> round {args.rounds}: {first:.2f} -> {edits:.2f} ({edits / first:.0%} of round 1; goal <= 50 %)")


if __name__ == "__main__":
    main()
