"""Wall time and peak memory of our COCO conversions against Datumaro 1.13 and a plain-I/O floor.

For each dataset size a synthetic COCO instances file (boxes only, deterministic seed, no
image files) is converted to VOC, YOLO and COCO by:

* ours: ``import_dataset("coco", src)`` then ``export_dataset(fmt, dataset, dst, checked=True)``;
* Datumaro: ``dm.Dataset.import_from(src, "coco_instances")`` then ``.export(dst, ...)``;

each in a fresh subprocess, so that the peak resident memory (``VmHWM`` of the child,
interpreter and imported libraries included) and the wall time (conversion only, after the
imports and after a one-image conversion that loads what each library loads on first use)
are measured cleanly. The floor is what plain Python needs for the same I/O:
``orjson`` loading the source file, plus writing files with the same count, names and sizes
as our output (the COCO output is ``orjson.dumps`` of the loaded document) to the same disk.

Goal (issue #3): per conversion, ours is at least 10x faster than Datumaro, or within 1.5x of
the floor where the floor itself is more than a tenth of Datumaro's time; and our peak
memory is at most half of Datumaro's, growing no faster than the dataset. The table ends
with one line per conversion and goal, saying whether it is met and by what figures.
Peak memory counts the interpreter and the imported libraries too ("base" in the table: a
child that only imports them), so the part that grows with the dataset is "peak - base".

Method. Each size and target gets ``--repeat`` rounds of ours, floor and Datumaro, one after
the other; the table keeps the fastest time and the largest peak of each. On a real disk
that is not enough for the floor goal: creating the same 10,000 small files on an ext4
volume mounted with ``discard`` takes anywhere from 0.6 s to 5.5 s from one run to the next
(journal commits, discards and write-back of earlier runs land on whichever run is going),
so the fastest ours against the fastest floor, each from a different moment, is decided by
the disk rather than by the code (single comparisons of the same build gave 1.0x to 9.2x).
So, where the floor counts (more than a tenth of Datumaro's time; always with
``--skip-datumaro``, where nothing else can be judged), ``--pairs N`` then runs N
back-to-back pairs of ours and floor, each in a fresh child and on a settled disk, the one
that goes first alternating from pair to pair. Both runs of a pair see nearly the same disk
state, so their ratio cancels most of the disk's slow and fast spells; the median of the N
ratios is what the floor goal is judged on (an outlier pair, one run caught by a burst of
write-back, moves the median little), and the goal line prints it with the range. The
10x goal and the memory figures still come from the rounds. ``--pairs`` defaults to 5 on a
disk and 0 with ``--tmpfs``, where the floor is steady and the rounds suffice.

    .venv/bin/python bench/convert_vs_datumaro.py --sizes 1000
    .venv/bin/python bench/convert_vs_datumaro.py --sizes 10000 --repeat 1 --pairs 7
    .venv/bin/python bench/convert_vs_datumaro.py --sizes 10000 50000 --tmpfs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BOXES_PER_IMAGE = 10
CONVERSIONS = {
    # target: (our format, Datumaro exporter, Datumaro export options)
    "voc": ("voc", "voc_detection", {"save_media": False}),
    "yolo": ("yolo", "yolo", {"save_media": False}),
    "coco": ("coco", "coco_instances", {"save_media": False}),
}
SPEED_RATIO = 10.0
FLOOR_RATIO = 1.5
FLOOR_SHARE = 0.1
MEMORY_RATIO = 0.5
# Peak memory moves by a few MB from run to run.
GROWTH_SLACK = 1.1


# -- synthetic data -----------------------------------------------------------------------


def make_coco(path: Path, images: int, boxes: int, seed: int = 0) -> None:
    """Write a COCO instances file with ``images`` images and ``boxes`` boxes inside them.

    Args:
        path: the JSON file to write (its folder is created).
        images: number of image entries (width and height set, no image files).
        boxes: total number of box annotations, spread at random over the images.
        seed: the random seed; the same arguments give the same file.
    """
    rng = random.Random(seed)
    # Category ids with gaps and a large one, as real exports have (no 0: Datumaro reads it as "no label").
    category_ids = [*range(1, 60), *range(70, 90), 1000]
    categories = [{"id": cid, "name": f"class_{cid}", "supercategory": ""} for cid in category_ids]
    sizes = [(640, 480), (1280, 720), (1920, 1080), (800, 600), (500, 375)]
    image_list = []
    for image_id in range(1, images + 1):
        width, height = rng.choice(sizes)
        image_list.append({"id": image_id, "file_name": f"{image_id:07d}.jpg", "width": width, "height": height})
    annotations = []
    for annotation_id in range(1, boxes + 1):
        image = image_list[rng.randrange(images)]
        width, height = image["width"], image["height"]
        w = round(rng.uniform(2, width / 3), 2)
        h = round(rng.uniform(2, height / 3), 2)
        x = round(rng.uniform(0, width - w), 2)
        y = round(rng.uniform(0, height - h), 2)
        annotations.append(
            {
                "id": annotation_id,
                "image_id": image["id"],
                "category_id": rng.choice(category_ids),
                "bbox": [x, y, w, h],
                "area": round(w * h, 4),
                "segmentation": [],
                "iscrowd": 0,
            }
        )
    annotations.sort(key=lambda annotation: annotation["image_id"])
    doc = {"info": {}, "licenses": [], "categories": categories, "images": image_list, "annotations": annotations}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), "utf-8")


# -- children -----------------------------------------------------------------------------


def child(impl: str, target: str, src: Path, dst: Path) -> dict[str, Any]:
    """Run one conversion in this process and return its figures.

    Args:
        impl: ``"ours"``, ``"datumaro"`` or ``"floor"``; ``"ours-base"`` and ``"datumaro-base"``
            only import the library (the memory a conversion starts from).
        target: ``"voc"``, ``"yolo"`` or ``"coco"``.
        src: the COCO dataset folder.
        dst: the output folder (must not exist); for ``floor``, ``dst`` holds the manifest of
            our output (``manifest.json``) and the files go to ``dst/out``.

    Returns:
        ``{"seconds": wall time of the conversion, "peak_mb": peak resident memory in MiB}``.
    """
    if impl in ("ours", "ours-base"):
        from annotate.converters import export_dataset, import_dataset

        if impl == "ours-base":
            return {"seconds": 0.0, "peak_mb": peak_mb()}
        warm_up(lambda tiny, out: export_dataset(CONVERSIONS[target][0], import_dataset("coco", tiny)[0], out, checked=True))
        start = time.perf_counter()
        dataset, _ = import_dataset("coco", src)
        # The document is the importer's, unchanged: export need not check it again.
        export_dataset(CONVERSIONS[target][0], dataset, dst, checked=True)
    elif impl in ("datumaro", "datumaro-base"):
        import datumaro as dm

        if impl == "datumaro-base":
            return {"seconds": 0.0, "peak_mb": peak_mb()}
        _, exporter, options = CONVERSIONS[target]
        warm_up(lambda tiny, out: dm.Dataset.import_from(str(tiny), "coco_instances").export(str(out), exporter, **options))
        start = time.perf_counter()
        dataset = dm.Dataset.import_from(str(src), "coco_instances")
        dataset.export(str(dst), exporter, **options)
    else:
        import orjson

        manifest = json.loads((dst / "manifest.json").read_text("utf-8"))
        out = dst / "out"
        source = next((src / "annotations").glob("*.json"))
        start = time.perf_counter()
        doc = orjson.loads(source.read_bytes())
        folders = {str(Path(name).parent) for name, _ in manifest}
        for folder in sorted(folders):
            (out / folder).mkdir(parents=True, exist_ok=True)
        for name, size in manifest:
            if name.endswith(".json"):
                (out / name).write_bytes(orjson.dumps(doc))
            else:
                with open(out / name, "wb") as file:
                    file.write(b"x" * size)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": peak_mb()}


def warm_up(convert: Any) -> None:
    """Run ``convert(src, dst)`` on a one-image COCO dataset, before the clock starts.

    Modules that a library loads on first use (ours loads numpy for YOLO lines; Datumaro finds
    its plugins) are then loaded, as the modules each imports up front are, outside the
    measured time; the one-image conversion itself takes milliseconds.
    """
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as folder:
        tiny = Path(folder) / "tiny"
        make_coco(tiny / "annotations" / "instances_default.json", 1, 1)
        (tiny / "images" / "default").mkdir(parents=True)
        convert(tiny, Path(folder) / "out")


def settle() -> None:
    """Let the disk finish what the last run left (its deletions, its dirty pages) before the next one.

    Deleting 10,000 files that were already written back makes the file system work (journal,
    discards) for a while after ``rmtree`` returns; without this, whichever run comes next pays
    for it, which on a slow disk is a few times the floor.
    """
    os.sync()
    time.sleep(1.0)


def peak_mb() -> float:
    """Return this process's peak resident memory in MiB.

    Linux's ``VmHWM`` is the peak of the process's own memory map. ``ru_maxrss`` is not: it
    carries over the parent's peak through fork and exec, so a child started by a parent that
    has just generated a large dataset would report the parent's memory.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(impl: str, target: str, src: Path, dst: Path) -> dict[str, Any]:
    """Run :func:`child` in a fresh interpreter and return its figures."""
    command = [sys.executable, __file__, "--child", impl, target, str(src), str(dst)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{impl} {target} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(figures: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the shortest time and the largest peak memory of repeated runs."""
    return {"seconds": min(run["seconds"] for run in figures), "peak_mb": max(run["peak_mb"] for run in figures)}


def manifest_of(folder: Path) -> list[tuple[str, int]]:
    """Return ``(relative path, size in bytes)`` of every file under ``folder``."""
    return [(str(path.relative_to(folder)), path.stat().st_size) for path in sorted(folder.rglob("*")) if path.is_file()]


def timed_ours(target: str, src: Path, dst: Path) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """Convert ``src`` to ``target`` with ours in a child, then remove the output and settle the disk.

    Returns:
        The child's figures and the manifest of its output (what the floor writes).
    """
    figures = run_child("ours", target, src, dst)
    manifest = manifest_of(dst)
    shutil.rmtree(dst)
    settle()
    return figures, manifest


def timed_floor(target: str, src: Path, folder: Path, manifest: list[tuple[str, int]]) -> dict[str, Any]:
    """Write the files of ``manifest`` under ``folder`` in a floor child, then remove them and settle the disk.

    Returns:
        The child's figures.
    """
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    figures = run_child("floor", target, src, folder)
    shutil.rmtree(folder)
    settle()
    return figures


def timed_pairs(target: str, src: Path, work: Path, manifest: list[tuple[str, int]], count: int) -> list[tuple[float, float]]:
    """Run ``count`` back-to-back pairs of ours and the floor, the first of each pair alternating.

    Both runs of a pair meet nearly the same disk state, so their ratio is steadier than that
    of the fastest of each taken at different moments; alternating the order keeps whatever the
    first run leaves behind (despite :func:`settle`) from always falling on the same side.

    Args:
        target: ``"voc"``, ``"yolo"`` or ``"coco"``.
        src: the COCO dataset folder.
        work: the folder for the outputs (each removed after its run).
        manifest: our output's files, for the floor.
        count: the number of pairs.

    Returns:
        ``(ours seconds, floor seconds)`` per pair, in the order run; ours went first in the
        first pair and every other one after it.
    """
    pairs = []
    for index in range(count):
        if index % 2 == 0:
            ours, _ = timed_ours(target, src, work / f"pair_ours_{target}")
            floor = timed_floor(target, src, work / f"pair_floor_{target}", manifest)
        else:
            floor = timed_floor(target, src, work / f"pair_floor_{target}", manifest)
            ours, _ = timed_ours(target, src, work / f"pair_ours_{target}")
        pairs.append((ours["seconds"], floor["seconds"]))
        print(f"# pair {index + 1}/{count} {target}: ours {pairs[-1][0]:.2f} s, floor {pairs[-1][1]:.2f} s", file=sys.stderr)
    return pairs


# -- verdicts -----------------------------------------------------------------------------


def floor_counts(floor_seconds: float, datumaro_seconds: float | None) -> bool:
    """Return whether the floor goal applies: the floor takes more than a tenth of Datumaro's time.

    Args:
        floor_seconds: the floor's time in seconds.
        datumaro_seconds: Datumaro's time in seconds, or None when it was skipped; the floor is
            then the only yardstick left, so it counts.
    """
    return datumaro_seconds is None or floor_seconds > FLOOR_SHARE * datumaro_seconds


def paired_ratio(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Return the median, the smallest and the largest ours / floor ratio of back-to-back pairs.

    Args:
        pairs: ``(ours seconds, floor seconds)`` per pair; the floor times above 0.

    Returns:
        ``(median, smallest, largest)``; with an even count the median is the mean of the two
        middle ratios.

    Raises:
        ValueError: ``pairs`` is empty.
    """
    if not pairs:
        raise ValueError("no pairs to take the median of")
    ratios = [ours / floor for ours, floor in pairs]
    return statistics.median(ratios), min(ratios), max(ratios)


def floor_ratio(ours_seconds: float, floor_seconds: float, pairs: list[tuple[float, float]]) -> tuple[float, str]:
    """Return our time over the floor's, the one the floor goal is judged on, and a text saying how it was taken.

    Args:
        ours_seconds: our fastest time of the rounds, in seconds.
        floor_seconds: the floor's fastest time of the rounds, in seconds.
        pairs: ``(ours seconds, floor seconds)`` of back-to-back pairs; when there are any, the
            ratio is their median and the rounds' figures are not used.

    Returns:
        ``(ratio, text)``, such as ``(1.12, "median of 5 paired runs: 1.12x the floor (range 0.90-2.10x; goal <= 1.5x)")``.
    """
    if pairs:
        median, low, high = paired_ratio(pairs)
        text = f"median of {len(pairs)} paired runs: {median:.2f}x the floor (range {low:.2f}-{high:.2f}x; goal <= {FLOOR_RATIO}x)"
        return median, text
    ratio = ours_seconds / floor_seconds
    return ratio, f"{ratio:.2f}x the floor (goal <= {FLOOR_RATIO}x)"


def speed_verdict(ours_seconds: float, datumaro_seconds: float, floor_seconds: float, pairs: list[tuple[float, float]]) -> tuple[bool, str]:
    """Judge the speed goal of one conversion at one size.

    Met when ours is at least 10x faster than Datumaro, or when the floor counts (see
    :func:`floor_counts`) and ours is within 1.5x of it (see :func:`floor_ratio`).

    Args:
        ours_seconds: our fastest time of the rounds, in seconds.
        datumaro_seconds: Datumaro's fastest time of the rounds, in seconds.
        floor_seconds: the floor's fastest time of the rounds, in seconds.
        pairs: ``(ours seconds, floor seconds)`` of back-to-back pairs, empty when none were run.

    Returns:
        ``(met, reason)``, the reason giving the speedup and the floor figures.
    """
    speedup = datumaro_seconds / ours_seconds
    fast = speedup >= SPEED_RATIO
    if floor_counts(floor_seconds, datumaro_seconds):
        ratio, floor_text = floor_ratio(ours_seconds, floor_seconds, pairs)
        near_floor = ratio <= FLOOR_RATIO
    else:
        near_floor = False
        floor_text = f"floor {floor_seconds:.2f} s is under a tenth of Datumaro's, so only 10x counts"
    return fast or near_floor, f"{speedup:.1f}x faster than Datumaro (goal >= {SPEED_RATIO:.0f}x); {floor_text}"


# -- report -------------------------------------------------------------------------------


Row = tuple[int, dict[str, Any], dict[str, Any] | None, dict[str, Any], list[tuple[float, float]]]


def goal_lines(name: str, rows: list[Row], base_mb: float) -> list[str]:
    """Return one line per goal of issue #3 for one conversion, each saying whether it is met.

    Args:
        name: the conversion, such as ``"coco->voc"``.
        rows: ``(images, ours, datumaro, floor, pairs)`` per dataset size, smallest first; each
            figure dict holds ``seconds`` and ``peak_mb``; datumaro is None when it was skipped;
            pairs holds ``(ours seconds, floor seconds)`` of the back-to-back pairs (may be empty).
        base_mb: our peak memory after the imports alone; growth is judged on what the data adds.

    Returns:
        Lines such as ``"coco->voc  speed    10000: yes (12.1x faster)"``.
    """
    lines = []
    for size, ours, theirs, floor, pairs in rows:
        if theirs is None:
            _, floor_text = floor_ratio(ours["seconds"], floor["seconds"], pairs)
            lines.append(f"{name:<10} {size:>6}  speed/memory: not judged (Datumaro skipped); ours {floor_text}")
            continue
        met, reason = speed_verdict(ours["seconds"], theirs["seconds"], floor["seconds"], pairs)
        verdict = "MET" if met else "NOT MET"
        lines.append(f"{name:<10} {size:>6}  speed:  {verdict:<7} {reason}")
        share = ours["peak_mb"] / theirs["peak_mb"]
        verdict = "MET" if share <= MEMORY_RATIO else "NOT MET"
        lines.append(
            f"{name:<10} {size:>6}  memory: {verdict:<7} peak {ours['peak_mb']:.0f} MB = {share:.2f}x Datumaro's "
            f"{theirs['peak_mb']:.0f} MB (goal <= {MEMORY_RATIO}x)"
        )
    if len(rows) > 1:
        (small, ours_small, *_), (large, ours_large, *_) = rows[0], rows[-1]
        growth = (ours_large["peak_mb"] - base_mb) / max(ours_small["peak_mb"] - base_mb, 1.0)
        verdict = "MET" if growth <= GROWTH_SLACK * large / small else "NOT MET"
        lines.append(
            f"{name:<10} {'all':>6}  growth: {verdict:<7} peak - base x{growth:.2f} from {small} to {large} images "
            f"(dataset x{large / small:.1f}; goal <= x{GROWTH_SLACK * large / small:.1f}, {GROWTH_SLACK - 1:.0%} for measuring noise)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000], help="numbers of images (10 boxes each)")
    parser.add_argument("--targets", nargs="+", default=list(CONVERSIONS), choices=list(CONVERSIONS))
    parser.add_argument("--skip-datumaro", action="store_true", help="measure ours and the floor only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest time and the largest peak count")
    parser.add_argument(
        "--pairs",
        type=int,
        help="back-to-back pairs of ours and floor after the rounds, where the floor counts; the floor goal is judged on "
        "the median ours/floor of the pairs (default: 5 on a disk, 0 with --tmpfs)",
    )
    place = parser.add_mutually_exclusive_group()
    place.add_argument("--tmpfs", action="store_true", help="work in /dev/shm instead of /tmp")
    place.add_argument("--dir", type=Path, help="work in this folder")
    parser.add_argument("--child", nargs=4, metavar=("IMPL", "TARGET", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        impl, target, src, dst = args.child
        print(json.dumps(child(impl, target, Path(src), Path(dst))))
        return

    if args.pairs is None:
        args.pairs = 0 if args.tmpfs else 5
    base = Path("/dev/shm") if args.tmpfs else args.dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="convert-bench-", dir=base))
    rows = []
    bases = {impl: run_child(impl, "coco", work, work / impl)["peak_mb"] for impl in ("ours-base", "datumaro-base")}
    try:
        for size in sorted(args.sizes):
            src = work / f"coco_{size}"
            start = time.perf_counter()
            make_coco(src / "annotations" / "instances_default.json", size, size * BOXES_PER_IMAGE)
            (src / "images" / "default").mkdir(parents=True)  # Datumaro insists on the folder
            json_mb = (src / "annotations" / "instances_default.json").stat().st_size / 2**20
            made = f"{size} images, {size * BOXES_PER_IMAGE} boxes ({json_mb:.1f} MB of JSON)"
            print(f"# generated {made} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
            for target in args.targets:
                # Rounds of ours, floor and Datumaro one after the other, so that a busy moment
                # of a shared machine falls on all three alike; the fastest of each is kept.
                runs: dict[str, list[dict[str, Any]]] = {"ours": [], "floor": [], "datumaro": []}
                for _ in range(args.repeat):
                    figures, manifest = timed_ours(target, src, work / f"ours_{target}_{size}")
                    runs["ours"].append(figures)
                    runs["floor"].append(timed_floor(target, src, work / f"floor_{target}_{size}", manifest))
                    if not args.skip_datumaro:
                        theirs_dst = work / f"datumaro_{target}_{size}"
                        runs["datumaro"].append(run_child("datumaro", target, src, theirs_dst))
                        shutil.rmtree(theirs_dst, ignore_errors=True)
                        settle()
                ours, floor = best(runs["ours"]), best(runs["floor"])
                theirs = best(runs["datumaro"]) if runs["datumaro"] else None
                pairs = []
                if args.pairs > 0 and floor_counts(floor["seconds"], theirs["seconds"] if theirs else None):
                    pairs = timed_pairs(target, src, work, manifest, args.pairs)
                rows.append((f"coco->{target}", size, ours, theirs, floor, pairs))
                print(f"# {rows[-1]}", file=sys.stderr)
            shutil.rmtree(src)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    paired = f"; {args.pairs} back-to-back ours/floor pairs where the floor counts" if args.pairs > 0 else ""
    print(f"where: {base}; fastest of {args.repeat} run(s) each{paired}")
    print(f"base memory (imports only): ours {bases['ours-base']:.0f} MB, Datumaro {bases['datumaro-base']:.0f} MB")
    columns = ("ours s", "ours MB", "dm s", "dm MB", "speedup", "memory", "floor s")
    header = f"{'conversion':<11} {'images':>7} " + " ".join(f"{column:>8}" for column in columns)
    print(header)
    print("-" * len(header))
    for name, size, ours, theirs, floor, _ in rows:
        start = f"{name:<11} {size:>7} {ours['seconds']:>8.2f} {ours['peak_mb']:>8.0f}"
        if theirs is None:
            print(f"{start} " + " ".join(f"{'-':>8}" for _ in range(4)) + f" {floor['seconds']:>8.2f}")
            continue
        speedup = theirs["seconds"] / ours["seconds"]
        memory = ours["peak_mb"] / theirs["peak_mb"]
        print(f"{start} {theirs['seconds']:>8.2f} {theirs['peak_mb']:>8.0f} {speedup:>7.1f}x {memory:>7.2f}x {floor['seconds']:>8.2f}")
    if any(row[5] for row in rows):
        print()
        print("paired runs, ours s / floor s (in the order run; ours first in the 1st, 3rd, ... pair):")
        for name, size, _, _, _, pairs in rows:
            if pairs:
                print(f"{name:<11} {size:>7}  " + "  ".join(f"{ours:.2f}/{floor:.2f}" for ours, floor in pairs))
    print()
    for name in dict.fromkeys(row[0] for row in rows):
        for line in goal_lines(name, [row[1:] for row in rows if row[0] == name], bases["ours-base"]):
            print(line)


if __name__ == "__main__":
    main()
