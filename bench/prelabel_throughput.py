"""Images per second of ``LoadedDetector.predict`` against a bare model forward loop.

The difference is our overhead: numpy -> tensor conversion, score filtering, class-wise NMS,
clipping and ``Detection`` objects. Weights are random unless ``--model-file`` is given
(throughput barely depends on them; the model's own score threshold is lowered so that
post-processing has boxes to chew on).

    .venv/bin/python bench/prelabel_throughput.py --images 32 --size 480 640
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from prelabel.detection import LoadedDetector, load_detector, save_model_file
from prelabel.registry import get_model, list_models


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device, repeats: int) -> float:
    """Best wall time of ``repeats`` runs, seconds (after one warm-up run)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--architecture",
        default="fasterrcnn_mobilenet_v3_large_320_fpn",
        choices=list_models("detection"),
    )
    parser.add_argument(
        "--model-file",
        type=Path,
        help="an annotate-detector/1 file (default: random weights)",
    )
    parser.add_argument("--labels", type=int, default=5, help="label count for random weights")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(480, 640),
        metavar=("H", "W"),
        help="pixels",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None, help="default: cuda when available")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.model_file
        if path is None:
            torch.manual_seed(0)
            model = get_model(args.architecture, num_classes=args.labels + 1)
            path = Path(tmp) / "random.pt"
            labels = [f"label{i}" for i in range(args.labels)]
            save_model_file(
                path,
                {
                    "architecture": args.architecture,
                    "label_names": labels,
                    "state_dict": model.state_dict(),
                },
            )
        detector: LoadedDetector = load_detector(path, device=args.device)

    rng = np.random.default_rng(0)
    height, width = args.size
    images = [rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8) for _ in range(args.images)]
    tensors = [torch.from_numpy(im).permute(2, 0, 1).float().div(255).to(detector.device) for im in images]

    def bare() -> None:
        with torch.inference_mode():
            for start in range(0, len(tensors), args.batch_size):
                detector.model(tensors[start : start + args.batch_size])

    def predict() -> None:
        detector.predict(images, score_threshold=0.05, batch_size=args.batch_size)

    bare_s = _timed(bare, detector.device, args.repeats)
    predict_s = _timed(predict, detector.device, args.repeats)
    print(f"{detector!r}")
    print(f"{args.images} images {height}x{width}, batch {args.batch_size}, torch {torch.__version__}")
    print(f"bare forward : {args.images / bare_s:8.2f} images/s ({bare_s * 1000 / args.images:.1f} ms/image)")
    print(f"predict      : {args.images / predict_s:8.2f} images/s ({predict_s * 1000 / args.images:.1f} ms/image)")
    print(f"overhead     : {100 * (predict_s - bare_s) / bare_s:+.1f}%")


if __name__ == "__main__":
    main()
