"""Ultralytics YOLO datasets (``data.yaml``): detect, segment, OBB and pose, both ways.

Spec: https://docs.ultralytics.com/datasets/detect/ (and ``/datasets/segment/``,
``/datasets/obb/``, ``/datasets/pose/``).

Layout written::

    data.yaml                      <subset>: images/<subset>, task, nc, names {index: name}, kpt_shape
    images/<subset>/<item path>    when the export was given images
    labels/<subset>/<path>.txt     one object a line (empty: no objects)
    images.meta                    Datumaro's ``<name> <height> <width>``, name = images/<subset>/<path>

``path`` is not written: Ultralytics then reads the dataset from the folder of ``data.yaml``,
which keeps the export movable (a written ``path`` is resolved against the working directory
or Ultralytics' datasets folder instead).

Lines, all coordinates divided by the image width (x) and height (y), the size after EXIF
orientation:

* detect: ``class cx cy w h`` (box center and size);
* segment: ``class x1 y1 x2 y2 ...``, one polygon ring;
* obb: ``class x1 y1 x2 y2 x3 y3 x4 y4``, the 4 corners of a rotated box;
* pose: ``class cx cy w h px1 py1 v1 ...`` with ``kpt_shape: [K, 3]`` (or ``[K, 2]``, no
  visibility) in ``data.yaml``; v is COCO's 0 (not labeled), 1 (hidden), 2 (visible).

Coordinate rules. Our ``[x, y, w, h]`` box is written as ``(x + w/2)/W (y + h/2)/H w/W h/H``;
points as ``x/W y/H``. A rotated box (``bbox`` before rotation, ``angle`` degrees clockwise
about the center, y down) is written as its corners: top-left, top-right, bottom-right,
bottom-left of the unrotated box, each turned about the center. Read back, 4 corners give the
center (their mean), width and height (means of opposite edges) and the angle of the edge
from the first to the second corner (taken in clockwise order), in [0, 360): a round trip
keeps the angle. Values are written with 6 to 12 decimals and pixel values read are rounded
to 1e-6 px, so a round trip is exact to 1e-6 px. On export, boxes and polygon rings are
clipped to the image (Sutherland-Hodgman for rings), keypoints outside are moved onto the
border. A rotated box that reaches outside is replaced by the largest box at the same angle
that lies inside both it and the image (:func:`_yolo_common.largest_rotated_box_inside`):
Ultralytics refuses a label file with a corner outside [0, 1] (``verify_image_label``), and
corners moved onto the border would no longer form a rectangle, which reads back as a
distorted, turned box. All of these are counted as clipped, and what keeps no area is dropped
and counted. Import clips boxes and rings the same way, ignoring the overshoot that 6-decimal
rounding makes.

Pose: ``kpt_shape`` gives the number of keypoints, and ``kpt_names`` (``{class index: [node
names]}``, read by recent Ultralytics versions) keeps each label's ``keypoints`` names, both
ways. ``data.yaml`` has no skeleton edges: a label's ``skeleton`` is counted as lost, and so
are node names whose count differs from ``kpt_shape``. ``flip_idx`` is not written (the
schema does not say which node mirrors which) and not read.

Choosing the task on export: the ``task`` argument of :meth:`UltralyticsFormat.export_dataset`
(``detect``, ``segment``, ``obb`` or ``pose``), else the task that holds the most shapes of the
dataset (boxes, polygons, rotated boxes, keypoints; ties in that order). Every shape the task
cannot hold is counted as lost with the task named; so are tags, shape attributes and flags.
Decisions: a polygon with several rings is written as one line per ring (Ultralytics holds one
ring a line) and the report notes how many were split; a keypoints shape without a ``bbox``
gets the box around its labeled points; keypoints shapes whose point count differs from the
most common one are lost (``kpt_shape`` is one for the dataset); a keypoint with v = 0 is
written as ``0 0 0``, Ultralytics' convention for a point not labeled (as in its COCO-pose
labels), and its position, when not (0, 0), is counted as a lost ``keypoint position``.
``task`` is written into ``data.yaml`` (Ultralytics ignores unknown keys).

Choosing the task on import: the ``task`` key when present, else ``pose`` when ``kpt_shape``
is given; otherwise each line by its length: 5 values a box, more a polygon. Lines of exactly
4 corners are read as rotated boxes when the task is ``obb``, or when no key says so but every
non-box line of the dataset is 4 corners forming a rectangle (a 4-point polygon dataset with
any non-rectangle stays polygons). Corners that are not a rectangle are fitted and noted.

Images, sizes, labels. Sizes come from the image files (EXIF-oriented) or ``images.meta``; an
item with neither is counted as lost, never guessed. Label ids are the class indices of
``names`` (a list, or a dict of index -> name whose gaps are kept); ``nc`` alone gives
``class_<i>`` names, as Ultralytics does. Export numbers the shape labels 0..n-1 in label
order, so ids change without any annotation being lost; nothing else of a label is written
but its keypoint names (pose task), and the rest is counted as lost: tag labels (``label``),
colors, attribute definitions, parents, skeleton edges, and keypoint names in the other
tasks. Subset folders come from the ``train``/``val``/``test``/``minival`` keys: a path or a
list of paths (folders, or ``.txt`` files listing images), resolved in the folder of
``data.yaml`` (or ``path`` when it is a folder inside it); a ``../x`` that does not exist
is read as ``x`` (Ultralytics' rule, which Roboflow's ``../train/images`` relies on); paths
that leave the dataset folder are refused and noted. Folders ``images/<subset>`` and ``<subset>/images`` that no key names are read too
(Roboflow's ``valid`` key naming a ``val`` folder). Label files are found by replacing the
last ``images`` folder of the image path with ``labels``. Roboflow's "YOLO OBB" export keeps
DOTA lines in ``labelTxt/`` instead (``x1 y1 ... x4 y4 class_name difficult`` in pixels):
those are read as rotated boxes with the ``difficult`` flag. Malformed lines raise
:class:`FormatError` naming the file and line.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from annotate.converters._common import FolderGuard, report_label_list
from annotate.converters._output import DatasetWriter
from annotate.converters._yolo_common import (
    IMAGE_META_FILE,
    box_from_normalized,
    box_line,
    check_box_size,
    class_indices,
    clip_read_box,
    clip_ring,
    format_number,
    is_image_file,
    label_lines,
    largest_rotated_box_inside,
    lose_shape_extras,
    make_labels,
    oriented_size,
    parse_class,
    parse_numbers,
    points_line,
    read_image_meta,
    read_names,
    read_text_lines,
    rotated_corners,
    rotated_from_corners,
    rounding_tolerance,
    to_pixels,
    write_image,
    write_image_meta,
)
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN, clip_bbox, is_safe_relative_path, parse_bool, shoelace_area
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

CONFIG_FILE = "data.yaml"
NAMES_FILES = ("classes.txt", "obj.names")
TASKS = ("detect", "segment", "obb", "pose")
SUBSET_KEYS = ("train", "val", "test", "minival")
DEFAULT_SUBSET = "default"
#: data.yaml keys that cannot name a subset.
RESERVED_KEYS = {"path", "names", "nc", "kpt_shape", "kpt_names", "flip_idx", "task", "download", "channels", "yaml_file"}
_TASK_SHAPES = {"detect": "bbox", "segment": "polygon", "obb": "rotated_bbox", "pose": "keypoints"}
_TASK_NOUNS = {"detect": "boxes", "segment": "polygons", "obb": "rotated boxes", "pose": "keypoints shapes"}
_DOTA_DIR = "labelTxt"
_MAX_CONFIG_BYTES = 1_000_000


@dataclass
class _Source:
    """One subset folder (or list file) of images and where its labels are."""

    subset: str | None
    images_dir: Path
    images: list[Path] = field(default_factory=list)


@dataclass
class _Entry:
    subset: str | None
    path: str
    image: Path | None
    label: Path | None
    dota: bool
    meta_key: str


@register_format("ultralytics")
class UltralyticsFormat(DatasetFormat):
    """Ultralytics YOLO ``data.yaml`` datasets (detect, segment, obb, pose)."""

    description = "Ultralytics YOLO (data.yaml, images/<subset>, labels/<subset>): detect, segment, obb, pose"

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        root = Path(path)
        if not root.is_dir():
            return False
        try:
            if _config_file(root) is not None:
                return True
        except FormatError:
            return False
        # Without data.yaml, a loose layout is Ultralytics when its lines are not all boxes
        # (Darknet YOLO holds boxes only and claims the rest).
        return _loose_names_file(root) is not None and _first_line_length(root) not in (None, 5)

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        root = Path(src)
        config_path = (_config_file(root) or _loose_names_file(root)) if root.is_dir() else None
        if config_path is None:
            raise FormatError(f"{root}: no data.yaml with names, nor classes.txt or obj.names with labels/ (not an Ultralytics dataset)")
        return _Reader(root, config_path, report).read()

    def write(
        self,
        dataset: dict[str, Any],
        writer: DatasetWriter,
        *,
        images: ImageSource | None,
        report: ConversionReport,
        task: str | None = None,
    ) -> None:
        """Write a valid ``dataset`` through ``writer`` as an Ultralytics dataset.

        Args:
            dataset: a dataset document.
            writer: where the files go (a folder or a zip).
            images: gives each item's image bytes; None writes annotations only.
            report: collects what the task cannot hold.
            task: ``detect``, ``segment``, ``obb`` or ``pose``; None picks the task that
                holds the most shapes.

        Raises:
            ValueError: ``task`` is not one of the four.
            ConversionLossError: ``report`` is strict and something would be lost.
        """
        if task is not None and task not in TASKS:
            raise ValueError(f"unknown Ultralytics task {task!r}; expected one of {', '.join(TASKS)}")
        _Writer(dataset, writer, images, report, task or choose_task(dataset)).write()

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        root = Path(src)
        config_path = _config_file(root) or _loose_names_file(root)
        if config_path is None:
            return None
        reader = _Reader(root, config_path, ConversionReport())
        for entry in reader.entries():
            if _item_id(entry) == item["id"]:
                return entry.image
        return None


def choose_task(dataset: dict[str, Any]) -> str:
    """Return the task that holds the most shapes of ``dataset`` (``detect`` when none).

    Args:
        dataset: a dataset document.

    Returns:
        ``detect``, ``segment``, ``obb`` or ``pose``; ties go to the earlier one.
    """
    counts = Counter(shape["type"] for item in dataset["items"] for shape in item["annotation"]["shapes"])
    return max(TASKS, key=lambda task: (counts[_TASK_SHAPES[task]], -TASKS.index(task)))


def _item_id(entry: _Entry) -> str:
    return f"{entry.subset}/{entry.path}" if entry.subset is not None else entry.path


# -- export ---------------------------------------------------------------------------


def _dir_safe(subset: str) -> str:
    cleaned = "".join("_" if char in '\\/:*?"<>|' or ord(char) < 32 else char for char in subset).strip(" .")
    return cleaned or "subset"


class _Writer:
    """Writes one dataset document as an Ultralytics dataset."""

    def __init__(
        self, dataset: dict[str, Any], writer: DatasetWriter, images: ImageSource | None, report: ConversionReport, task: str
    ) -> None:
        self.dataset = dataset
        self.writer = writer
        self.images = images
        self.report = report
        self.task = task
        self.classes = class_indices(dataset)
        shapes = [shape for item in dataset["items"] for shape in item["annotation"]["shapes"]]
        counts = Counter(len(shape["keypoints"]) // 3 for shape in shapes if shape["type"] == "keypoints")
        self.keypoint_count = max(counts, key=lambda count: (counts[count], -count)) if counts else 0
        self.split_rings = 0

    def write(self) -> None:
        self._report_labels()
        folders: dict[str, str] = {}
        used_stems: dict[str, set[str]] = {}
        sizes: dict[str, tuple[int, int]] = {}
        for item in self.dataset["items"]:
            subset = item.get("subset", DEFAULT_SUBSET)
            if subset not in folders:
                folders[subset] = self._subset_folder(subset, set(folders.values()))
            folder = folders[subset]
            unique = _unique_path(item, used_stems.setdefault(folder, set()), self.report)
            # The item itself goes to the image source: it finds the image by the item's own path.
            path = write_image(self.writer, f"images/{folder}", item, self.images, self.report, path=unique)
            if path is None:
                self.report.note(f"no image for item {item['id']!r}; annotations only")
                path = unique
            self.writer.write_text(f"labels/{folder}/{PurePosixPath(path).with_suffix('.txt')}", self._item_lines(item))
            # The importer finds a split by its images folder, which must exist without images too.
            self.writer.mkdir(f"images/{folder}")
            sizes[f"images/{folder}/{path}"] = (item["width"], item["height"])
        if self.split_rings:
            self.report.note(
                f"{self.split_rings} polygons with several rings written as one line per ring: an Ultralytics line holds one ring"
            )
        missing = [name for name in ("train", "val") if name not in folders]
        if missing and folders:
            self.report.note(f"no {' or '.join(missing)} subset: Ultralytics training needs both train and val")
        config: dict[str, Any] = {}
        ordered = sorted(folders, key=lambda name: (SUBSET_KEYS.index(name) if name in SUBSET_KEYS else len(SUBSET_KEYS), name))
        for subset in ordered:
            config[subset if subset not in RESERVED_KEYS else folders[subset]] = f"images/{folders[subset]}"
        config["task"] = self.task
        if self.task == "pose":
            config["kpt_shape"] = [self.keypoint_count, 3]
        config["nc"] = len(self.classes)
        config["names"] = {index: name for name, index in self.classes.items()}
        if self.task == "pose":
            keypoint_names = self._keypoint_names()
            if keypoint_names:
                config["kpt_names"] = keypoint_names
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        self.writer.write_text(CONFIG_FILE, text)
        write_image_meta(self.writer, IMAGE_META_FILE, sizes)

    def _report_labels(self) -> None:
        """Count what data.yaml cannot hold of the labels (see :func:`_common.report_label_list`).

        ``names`` holds the shape labels' names; the pose task also their keypoint names
        (``kpt_names``), whose skeleton edges :meth:`_keypoint_names` counts.
        """
        report_label_list(self.dataset["labels"], None, self.report, "Ultralytics", holds=("keypoints",))
        if self.task != "pose":
            labels = self.dataset["labels"]
            with_nodes = sum(1 for label in labels if label["kind"] == "shape" and (label.get("keypoints") or label.get("skeleton")))
            if with_nodes:
                reason = f"the Ultralytics {self.task} task keeps no keypoint names or skeleton (only the pose task has kpt_names)"
                self.report.lose("label skeleton", reason, with_nodes)

    def _keypoint_names(self) -> dict[int, list[str]]:
        """Return ``kpt_names`` (class index -> node names) and count what data.yaml cannot hold.

        Ultralytics names the nodes of each class (``kpt_names``) but draws no edges between
        them, so skeleton edges are lost; names that do not match ``kpt_shape`` are too.
        """
        names: dict[int, list[str]] = {}
        for label in self.dataset["labels"]:
            if label["name"] not in self.classes:
                continue
            if label.get("skeleton"):
                self.report.lose("skeleton edge", "Ultralytics data.yaml has no skeleton edges", len(label["skeleton"]))
            nodes = label.get("keypoints")
            if nodes is None:
                continue
            if len(nodes) != self.keypoint_count:
                reason = f"kpt_shape is [{self.keypoint_count}, 3]; label {label['name']!r} names {len(nodes)} keypoints"
                self.report.lose("keypoint name", reason, len(nodes))
                continue
            names[self.classes[label["name"]]] = list(nodes)
        return names

    def _subset_folder(self, subset: str, used: set[str]) -> str:
        folder = _dir_safe(subset)
        if subset in RESERVED_KEYS:
            folder += "_subset"
        base, number = folder, 1
        while folder in used:
            number += 1
            folder = f"{base}_{number}"
        if folder != subset:
            self.report.note(f"subset {subset!r} written as {folder!r}")
        return folder

    def _item_lines(self, item: dict[str, Any]) -> str:
        tags = item["annotation"]["tags"]
        if tags:
            self.report.lose("tag", "Ultralytics has no image-level tags", len(tags))
        wanted = _TASK_SHAPES[self.task]
        lines: list[str] = []
        for shape in item["annotation"]["shapes"]:
            if shape["type"] != wanted:
                self.report.lose(shape["type"], f"the Ultralytics {self.task} task holds {_TASK_NOUNS[self.task]} only")
                continue
            written = getattr(self, f"_{self.task}_lines")(shape, self.classes[shape["label"]], item["width"], item["height"])
            if written:
                lose_shape_extras(shape, self.report, "Ultralytics")
                lines += written
        return "".join(f"{line}\n" for line in lines)

    def _detect_lines(self, shape: dict[str, Any], class_index: int, width: int, height: int) -> list[str]:
        bbox, clipped = clip_bbox(shape["bbox"], width, height)
        if bbox is None:
            self.report.drop_empty("bbox")
            return []
        if clipped:
            self.report.clip("bbox")
        return [box_line(class_index, bbox, width, height)]

    def _segment_lines(self, shape: dict[str, Any], class_index: int, width: int, height: int) -> list[str]:
        lines = []
        clipped_any = False
        for ring in shape["rings"]:
            clipped_ring, clipped = clip_ring([float(value) for value in ring], width, height)
            clipped_any = clipped_any or clipped
            if clipped_ring is not None:
                lines.append(points_line(class_index, clipped_ring, width, height))
        if not lines:
            self.report.drop_empty("polygon")
            return []
        if clipped_any:
            self.report.clip("polygon")
        if len(lines) > 1:
            self.split_rings += 1
        return lines

    def _obb_lines(self, shape: dict[str, Any], class_index: int, width: int, height: int) -> list[str]:
        bbox, angle = [float(value) for value in shape["bbox"]], float(shape.get("angle", 0.0))
        corners = rotated_corners(bbox, angle)
        if max(max(-value, value - (width if index % 2 == 0 else height)) for index, value in enumerate(corners)) > rounding_tolerance(
            width, height
        ):
            # Ultralytics reads corners in [0, 1] only: keep the largest box at this angle inside the image.
            inside = largest_rotated_box_inside(bbox, angle, width, height)
            if inside is None:
                self.report.drop_empty("rotated_bbox")
                return []
            self.report.clip("rotated_bbox")
            corners = rotated_corners(inside, angle)
        # Float noise (or rounding within the tolerance) may leave a corner a hair outside.
        clamped = [min(max(value, 0.0), float(width if index % 2 == 0 else height)) for index, value in enumerate(corners)]
        if shoelace_area(clamped) <= 0:
            self.report.drop_empty("rotated_bbox")
            return []
        return [points_line(class_index, clamped, width, height)]

    def _pose_lines(self, shape: dict[str, Any], class_index: int, width: int, height: int) -> list[str]:
        keypoints = [float(value) for value in shape["keypoints"]]
        if len(keypoints) // 3 != self.keypoint_count:
            reason = f"kpt_shape is [{self.keypoint_count}, 3] for the whole dataset; the shape has {len(keypoints) // 3} points"
            self.report.lose("keypoints", reason)
            return []
        box = shape.get("bbox")
        if box is None:
            labeled = [(keypoints[i], keypoints[i + 1]) for i in range(0, len(keypoints), 3) if keypoints[i + 2] > 0]
            if labeled:
                xs, ys = [p[0] for p in labeled], [p[1] for p in labeled]
                box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        bbox, clipped = clip_bbox(box, width, height) if box is not None else (None, False)
        if bbox is None:
            self.report.drop_empty("keypoints")
            return []
        values: list[str] = []
        for index in range(0, len(keypoints), 3):
            x, y, visibility = keypoints[index : index + 3]
            if visibility == 0:
                # Ultralytics' convention for a point not labeled (its COCO-pose labels); its position is not kept.
                if (x, y) != (0.0, 0.0):
                    self.report.lose("keypoint position", "Ultralytics writes an invisible keypoint (v=0) as 0 0")
                values += ["0.000000", "0.000000", "0"]
                continue
            inside_x, inside_y = min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))
            clipped = clipped or (inside_x, inside_y) != (x, y)
            values += [format_number(inside_x / width), format_number(inside_y / height), str(int(visibility))]
        if clipped:
            self.report.clip("keypoints")
        return [box_line(class_index, bbox, width, height) + " " + " ".join(values)]


def _unique_path(item: dict[str, Any], used_stems: set[str], report: ConversionReport) -> str:
    """Return the item's path, renamed when another item of the subset would share its label file."""
    pure = PurePosixPath(item["path"])
    stem = str(pure.with_suffix(""))
    candidate, number = stem, 1
    while candidate.lower() in used_stems:
        number += 1
        candidate = f"{stem}_{number}"
    used_stems.add(candidate.lower())
    if candidate == stem:
        return item["path"]
    path = candidate + pure.suffix
    report.note(f"item {item['id']!r} written as {path!r}: its label file name is taken")
    return path


# -- import ---------------------------------------------------------------------------


def _config_file(root: Path) -> Path | None:
    """Return ``data.yaml``, or the one ``*.yaml``/``*.yml`` at the root that has ``names`` or ``nc``."""
    if not root.is_dir():
        return None
    candidates = [root / CONFIG_FILE] if (root / CONFIG_FILE).is_file() else sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
    for candidate in candidates:
        if candidate.is_file() and candidate.stat().st_size <= _MAX_CONFIG_BYTES:
            config = _load_config(candidate)
            if isinstance(config, dict) and ("names" in config or "nc" in config):
                return candidate
    return None


def _loose_names_file(root: Path) -> Path | None:
    """Return ``classes.txt`` or ``obj.names`` of a layout without data.yaml that has a labels folder."""
    if not root.is_dir() or not any(child.is_dir() and child.name.lower() == "labels" for child in root.iterdir()):
        return None
    return next((root / name for name in NAMES_FILES if (root / name).is_file()), None)


def _first_line_length(root: Path) -> int | None:
    """Return the number of values on the first label line of a loose layout (None: no line)."""
    for folder in (child for child in sorted(root.iterdir()) if child.is_dir() and child.name.lower() == "labels"):
        for label in sorted(folder.rglob("*.txt")):
            for line in read_text_lines(label):
                if line.strip():
                    return len(line.split())
    return None


def _load_config(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text("utf-8-sig"))
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else "?"
        raise FormatError(f"{path}, line {line}: not readable YAML: {exc.problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not readable YAML: {exc}") from None


def _names(config: dict[str, Any], path: Path) -> dict[int, str]:
    names = config.get("names")
    if names is None:
        count = config.get("nc")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise FormatError(f"{path}: field 'names' is missing and 'nc' is not a count")
        return {index: f"class_{index}" for index in range(count)}
    if isinstance(names, list):
        return {index: str(name) for index, name in enumerate(names)}
    if isinstance(names, dict):
        result = {}
        for key, name in names.items():
            try:
                index = int(key)
            except (TypeError, ValueError):
                raise FormatError(f"{path}: field 'names': key {key!r} is not a class index") from None
            if index < 0:
                raise FormatError(f"{path}: field 'names': class index {index} is negative")
            result[index] = str(name)
        return result
    raise FormatError(f"{path}: field 'names' must be a list or a mapping of index to name")


def _keypoint_shape(config: dict[str, Any], path: Path) -> tuple[int, int] | None:
    shape = config.get("kpt_shape")
    if shape is None:
        return None
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(isinstance(value, int) and not isinstance(value, bool) for value in shape)
        or shape[0] < 1
        or shape[1] not in (2, 3)
    ):
        raise FormatError(f"{path}: field 'kpt_shape' must be [K, 2] or [K, 3], got {shape!r}")
    return shape[0], shape[1]


def _keypoint_names(config: dict[str, Any], path: Path, keypoint_shape: tuple[int, int] | None) -> dict[int, list[str]]:
    """Read ``kpt_names``: the node names of each class, ``{class index: [name, ...]}`` (or a list by index).

    Raises:
        FormatError: the field is not a mapping (or list) of name lists, a key is not a class
            index, or a list does not hold ``kpt_shape[0]`` non-empty names.
    """
    value = config.get("kpt_names")
    if value is None:
        return {}
    if isinstance(value, list):
        value = dict(enumerate(value))
    if not isinstance(value, dict) or keypoint_shape is None:
        raise FormatError(f"{path}: field 'kpt_names' must map class indices to lists of keypoint names, with 'kpt_shape' given")
    names: dict[int, list[str]] = {}
    for key, nodes in value.items():
        if not isinstance(key, int) or isinstance(key, bool):
            raise FormatError(f"{path}: field 'kpt_names': key {key!r} is not a class index")
        if not isinstance(nodes, list) or not all(isinstance(node, str | int) and str(node) for node in nodes):
            raise FormatError(f"{path}: field 'kpt_names' class {key}: expected a list of keypoint names")
        if len(nodes) != keypoint_shape[0]:
            raise FormatError(f"{path}: field 'kpt_names' class {key}: {len(nodes)} names for kpt_shape {list(keypoint_shape)}")
        names[key] = [str(node) for node in nodes]
    return names


def _inside(root: Path, path: Path) -> bool:
    try:
        Path(os.path.normpath(path)).relative_to(os.path.normpath(root))
    except ValueError:
        return False
    return True


def _labels_for(root: Path, image_path: PurePosixPath) -> tuple[Path, bool]:
    """Return the label file of an image (root-relative path) and whether it holds DOTA lines."""
    parts = list(image_path.parts)
    if "images" in parts:
        index = len(parts) - 1 - parts[::-1].index("images")
        for folder, dota in (("labels", False), (_DOTA_DIR, True)):
            candidate = root.joinpath(*parts[:index], folder, *parts[index + 1 :]).with_suffix(".txt")
            if candidate.is_file() or (dota is False and root.joinpath(*parts[:index], folder).is_dir()):
                return candidate, dota
        return root.joinpath(*parts[:index], "labels", *parts[index + 1 :]).with_suffix(".txt"), False
    return root.joinpath(*parts).with_suffix(".txt"), False


class _Reader:
    """Reads one Ultralytics dataset into a dataset document."""

    def __init__(self, root: Path, config_path: Path, report: ConversionReport) -> None:
        self.root = root
        self.config_path = config_path
        self.report = report
        config = _load_config(config_path) if config_path.suffix.lower() in (".yaml", ".yml") else {"names": read_names(config_path)}
        if not isinstance(config, dict):
            raise FormatError(f"{config_path}: expected a mapping of keys")
        self.config = config
        self.names = _names(config, config_path)
        self.keypoint_shape = _keypoint_shape(config, config_path)
        self.keypoint_names = _keypoint_names(config, config_path, self.keypoint_shape)
        task = config.get("task")
        if task is not None and task not in TASKS:
            raise FormatError(f"{config_path}: field 'task': {task!r} is not one of {', '.join(TASKS)}")
        self.task: str | None = task or ("pose" if self.keypoint_shape else None)
        if self.task == "pose" and self.keypoint_shape is None:
            raise FormatError(f"{config_path}: task 'pose' needs 'kpt_shape'")

    def read(self) -> dict[str, Any]:
        labels = make_labels(self.names, self.report)
        for label in labels:
            if label["id"] in self.keypoint_names:
                label["keypoints"] = self.keypoint_names[label["id"]]
        label_names = {label["id"]: label["name"] for label in labels}
        meta = read_image_meta(self.root / IMAGE_META_FILE)
        records: list[tuple[dict[str, Any], _Entry, list[tuple[int, list[str]]]]] = []
        missing = 0
        for entry in self.entries():
            size = oriented_size(entry.image) if entry.image is not None else None
            size = size or meta.get(entry.meta_key)
            if size is None:
                missing += 1
                continue
            item: dict[str, Any] = {
                "id": _item_id(entry),
                "name": PurePosixPath(entry.path).name,
                "path": entry.path,
                "media": "image",
                "width": size[0],
                "height": size[1],
                "annotation": {"version": 1, "tags": [], "shapes": []},
            }
            if entry.subset is not None:
                item["subset"] = entry.subset
            lines = label_lines(entry.label) if entry.label is not None and entry.label.is_file() else []
            records.append((item, entry, lines))
        if missing:
            self.report.lose("item", "the image file is missing and YOLO stores no image size", missing)
        corners_as_boxes = self._corners_are_boxes(records)
        fitted = 0
        for item, entry, lines in records:
            for number, fields in lines:
                if entry.dota:
                    shape = self._dota_shape(entry.label, number, fields, item, labels, label_names)
                else:
                    shape = self._shape(entry.label, number, fields, item, label_names, corners_as_boxes)
                if shape is None:
                    continue
                if shape.pop("_fitted", False):
                    fitted += 1
                shape["id"] = f"L{number}"
                item["annotation"]["shapes"].append(shape)
        if fitted:
            self.report.note(f"{fitted} corner sets are not rectangles; fitted as rotated boxes")
        dataset = {"version": 1, "labels": labels, "items": [record[0] for record in records]}
        validate_dataset(dataset)
        return dataset

    # -- finding the images ------------------------------------------------------------

    def _base(self) -> Path:
        path = self.config.get("path")
        base = self.config_path.parent
        if path in (None, "", "."):
            return base
        if isinstance(path, str) and is_safe_relative_path(path.replace("\\", "/")) and (base / path).is_dir():
            return base / path
        self.report.note(f"data.yaml path {path!r} ignored: the dataset is read from the folder of {self.config_path.name}")
        return base

    def _resolve(self, key: str, value: str, base: Path) -> Path | None:
        text = value.replace("\\", "/")
        if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
            self.report.note(f"data.yaml {key}: {value!r} ignored: absolute paths are not followed")
            return None
        candidate = Path(os.path.normpath(base / text))
        if not candidate.exists() and text.startswith("../"):
            candidate = Path(os.path.normpath(base / text[3:]))
        if not _inside(self.root, candidate):
            self.report.note(f"data.yaml {key}: {value!r} ignored: it leaves the dataset folder")
            return None
        if candidate.suffix.lower() == ".txt" and candidate.is_file():
            return candidate
        labels_dir = _labels_for(self.root, PurePosixPath(candidate.relative_to(self.root).as_posix() + "/x"))[0].parent
        if not candidate.is_dir() and not labels_dir.is_dir() and not self._meta_under(candidate):
            self.report.note(f"data.yaml {key}: {value!r} not found")
            return None
        return candidate

    def _meta_under(self, folder: Path) -> bool:
        prefix = folder.relative_to(self.root).as_posix() + "/"
        return any(name.startswith(prefix) for name in read_image_meta(self.root / IMAGE_META_FILE))

    def _sources(self) -> list[_Source]:
        base = self._base()
        sources: list[_Source] = []
        for key in SUBSET_KEYS:
            value = self.config.get(key)
            values = value if isinstance(value, list) else [value] if value is not None else []
            for one in values:
                if not isinstance(one, str):
                    raise FormatError(f"{self.config_path}: field {key!r} must be a path or a list of paths")
                resolved = self._resolve(key, one, base)
                if resolved is None:
                    continue
                if resolved.is_file():
                    sources.append(self._list_source(key, resolved))
                else:
                    sources.append(_Source(key, resolved))
        covered = {os.path.normpath(source.images_dir) for source in sources}
        for folder in self._unlisted_folders():
            if os.path.normpath(folder[1]) not in covered:
                sources.append(_Source(folder[0], folder[1]))
        return sources

    def _unlisted_folders(self) -> list[tuple[str | None, Path]]:
        found: list[tuple[str | None, Path]] = []
        images = self.root / "images"
        if images.is_dir():
            found += [(child.name, child) for child in sorted(images.iterdir()) if child.is_dir()]
            if any(child.is_file() and is_image_file(child) for child in images.iterdir()):
                found.append((None, images))
        for child in sorted(self.root.iterdir()):
            if child.is_dir() and child.name not in ("images", "labels") and (child / "images").is_dir():
                found.append((child.name, child / "images"))
        labels = self.root / "labels"
        if not images.is_dir() and labels.is_dir():
            # Labels without images: still items, counted as lost when no size is known.
            found += [(child.name, images / child.name) for child in sorted(labels.iterdir()) if child.is_dir()]
            if any(child.is_file() and child.suffix == ".txt" for child in labels.iterdir()):
                found.append((None, images))
        return found

    def _list_source(self, key: str, list_file: Path) -> _Source:
        images = []
        for line in read_text_lines(list_file):
            text = line.strip().replace("\\", "/")
            if not text:
                continue
            candidate = Path(os.path.normpath(list_file.parent / text))
            if text.startswith("/") or not _inside(self.root, candidate):
                self.report.lose("item", f"its path in {list_file.name} leaves the dataset folder")
                continue
            images.append(candidate)
        common = Path(os.path.commonpath([str(image.parent) for image in images])) if images else list_file.parent
        return _Source(key, common, images)

    def entries(self) -> list[_Entry]:
        """Return every image of the dataset with its label file, subset and item path.

        Images come from the subset folders or lists, from ``images.meta`` (an export
        without images) and from label files without an image (counted as lost later).
        """
        meta = read_image_meta(self.root / IMAGE_META_FILE)
        guard = FolderGuard(self.root)
        entries: list[_Entry] = []
        seen: set[str] = set()
        outside = 0
        for source in self._sources():
            prefix = source.images_dir.relative_to(self.root).as_posix() + "/" if source.images_dir != self.root else ""
            if source.images:
                images = source.images
            elif source.images_dir.is_dir():
                images = sorted(p for p in source.images_dir.rglob("*") if p.is_file() and is_image_file(p))
            else:
                images = []
            found: dict[str, Path | None] = {image.relative_to(source.images_dir).as_posix(): image for image in images}
            for name in meta:
                if name.startswith(prefix):
                    found.setdefault(name[len(prefix) :], None)
            if not source.images:
                stems = {str(PurePosixPath(relative).with_suffix("")) for relative in found}
                labels_dir = _labels_for(self.root, PurePosixPath(prefix + "x"))[0].parent
                if labels_dir.is_dir() and labels_dir != source.images_dir:
                    for label in sorted(labels_dir.rglob("*.txt")):
                        stem = label.relative_to(labels_dir).with_suffix("").as_posix()
                        if stem not in stems:
                            found[stem] = None
            for relative, image in found.items():
                key = prefix + relative
                if key in seen:
                    continue
                seen.add(key)
                label, dota = _labels_for(self.root, PurePosixPath(key))
                if (image is not None and not guard.contains(image)) or not guard.contains(label):
                    outside += 1  # a symlink on the way leads out of the dataset folder
                    continue
                entries.append(_Entry(source.subset, relative, image, label, dota, key))
        if outside:
            self.report.lose("item", "its image or label file links to a place outside the dataset folder", outside)
        return entries

    # -- reading the lines -------------------------------------------------------------

    def _corners_are_boxes(self, records: list[tuple[dict[str, Any], _Entry, list[tuple[int, list[str]]]]]) -> bool:
        if self.task is not None:
            return self.task == "obb"
        found = False
        for item, entry, lines in records:
            if entry.dota:
                continue
            for number, fields in lines:
                if len(fields) == 5:
                    continue
                if len(fields) != 9:
                    return False
                corners = self._points(entry.label, number, fields[1:], item)
                if not rotated_from_corners(corners, item["width"], item["height"])[2]:
                    return False
                found = True
        return found

    @staticmethod
    def _points(path: Path | None, number: int, fields: list[str], item: dict[str, Any]) -> list[float]:
        values = parse_numbers(path or Path("?"), number, fields)
        sizes = (item["width"], item["height"])
        return [to_pixels(value * sizes[index % 2]) for index, value in enumerate(values)]

    def _shape(
        self,
        path: Path | None,
        number: int,
        fields: list[str],
        item: dict[str, Any],
        label_names: dict[int, str],
        corners_as_boxes: bool,
    ) -> dict[str, Any] | None:
        assert path is not None
        width, height = item["width"], item["height"]
        class_index = parse_class(path, number, fields[0], label_names)
        common = {"label": label_names[class_index], "source": dict(HUMAN)}
        if self.task == "pose":
            return self._pose_shape(path, number, fields, item, common)
        count = len(fields)
        if self.task == "obb" and count not in (5, 9):
            raise FormatError(f"{path}, line {number}: expected 9 values 'class x1 y1 ... x4 y4' for the obb task, got {count}")
        if count == 5:
            cx, cy, w, h = parse_numbers(path, number, fields[1:])
            check_box_size(path, number, w, h)
            bbox, clipped = clip_read_box(box_from_normalized(cx, cy, w, h, width, height), width, height)
            if bbox is None:
                self.report.drop_empty("bbox")
                return None
            if clipped:
                self.report.clip("bbox")
            return {"type": "bbox", "bbox": bbox, **common}
        if count < 7 or count % 2 == 0:
            raise FormatError(f"{path}, line {number}: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got {count} values")
        points = self._points(path, number, fields[1:], item)
        if count == 9 and corners_as_boxes:
            return self._rotated(points, item, common)
        return self._polygon(points, item, common)

    def _rotated(self, corners: list[float], item: dict[str, Any], common: dict[str, Any]) -> dict[str, Any] | None:
        bbox, angle, is_rectangle = rotated_from_corners(corners, item["width"], item["height"])
        if bbox[2] <= 0 or bbox[3] <= 0:
            self.report.drop_empty("rotated_bbox")
            return None
        shape = {"type": "rotated_bbox", "bbox": bbox, "angle": angle, **common}
        if not is_rectangle:
            shape["_fitted"] = True
        return shape

    def _polygon(self, points: list[float], item: dict[str, Any], common: dict[str, Any]) -> dict[str, Any] | None:
        width, height = item["width"], item["height"]
        tolerance = rounding_tolerance(width, height)
        # 6-decimal rounding can put a border vertex a hair outside: move it onto the border.
        snapped = []
        for index, value in enumerate(points):
            limit = float(width if index % 2 == 0 else height)
            snapped.append(0.0 if -tolerance <= value < 0 else limit if limit < value <= limit + tolerance else value)
        ring, clipped = clip_ring(snapped, width, height)
        if ring is None:
            self.report.drop_empty("polygon")
            return None
        if clipped:
            self.report.clip("polygon")
        return {"type": "polygon", "rings": [[to_pixels(value) for value in ring]], **common}

    def _pose_shape(
        self, path: Path, number: int, fields: list[str], item: dict[str, Any], common: dict[str, Any]
    ) -> dict[str, Any] | None:
        assert self.keypoint_shape is not None
        count, dims = self.keypoint_shape
        expected = 5 + count * dims
        if len(fields) != expected:
            raise FormatError(f"{path}, line {number}: expected {expected} values for kpt_shape [{count}, {dims}], got {len(fields)}")
        values = parse_numbers(path, number, fields[1:])
        check_box_size(path, number, values[2], values[3])
        width, height = item["width"], item["height"]
        bbox, clipped = clip_read_box(box_from_normalized(*values[:4], width, height), width, height)
        if bbox is None:
            self.report.drop_empty("keypoints")
            return None
        if clipped:
            self.report.clip("keypoints")
        keypoints: list[float] = []
        for index in range(4, len(values), dims):
            x, y = values[index], values[index + 1]
            if dims == 3:
                visibility = values[index + 2]
                if visibility not in (0.0, 1.0, 2.0):
                    raise FormatError(f"{path}, line {number}: keypoint visibility {fields[index + 3]!r} is not 0, 1 or 2")
            else:
                visibility = 0.0 if x == 0 and y == 0 else 2.0
            keypoints += [to_pixels(x * width), to_pixels(y * height), int(visibility)]
        return {"type": "keypoints", "keypoints": keypoints, "bbox": bbox, **common}

    def _dota_shape(
        self,
        path: Path | None,
        number: int,
        fields: list[str],
        item: dict[str, Any],
        labels: list[dict[str, Any]],
        label_names: dict[int, str],
    ) -> dict[str, Any] | None:
        assert path is not None
        # DOTA v1.0 files may open with "imagesource:..." and "gsd:..." lines.
        if len(fields) == 1 and ":" in fields[0]:
            return None
        if len(fields) not in (9, 10):
            raise FormatError(f"{path}, line {number}: expected 'x1 y1 x2 y2 x3 y3 x4 y4 class_name [difficult]', got {len(fields)} values")
        corners = [to_pixels(value) for value in parse_numbers(path, number, fields[:8])]
        name = fields[8]
        if name not in label_names.values():
            index = max(label_names, default=-1) + 1
            label_names[index] = name
            labels.append({"id": index, "name": name, "kind": "shape"})
            self.report.note(f"class {name!r} of {path.name} is not in data.yaml names; added as label {index}")
        shape = self._rotated(corners, item, {"label": name, "source": dict(HUMAN)})
        if shape is not None and len(fields) == 10:
            difficult = parse_bool(fields[9])
            if difficult is None:
                raise FormatError(f"{path}, line {number}: difficult {fields[9]!r} is not 0 or 1")
            if difficult:
                shape["difficult"] = True
        return shape
