"""Darknet YOLO 1.1 (the layout CVAT and Datumaro write), both ways.

Spec: https://github.com/AlexeyAB/darknet#how-to-train-to-detect-your-custom-objects and
CVAT's "YOLO 1.1" format, https://docs.cvat.ai/docs/manual/advanced/formats/format-yolo/.

Layout written::

    obj.data                       classes = N, <subset> = data/<subset>.txt, names = data/obj.names
    obj.names                      one class name a line; class index = 0-based line number
    <subset>.txt                   data/obj_<subset>_data/<item path>, one image a line
    obj_<subset>_data/<path>.txt   one ``class cx cy w h`` line per box (empty: no objects)
    obj_<subset>_data/<path>       the image, when the export was given images
    images.meta                    Datumaro's ``<name> <height> <width>`` per item

Coordinate rules. ``cx cy w h`` are the box center and size divided by the image width and
height, the size *after* EXIF orientation (the item's ``width``/``height``). So our
``[x, y, w, h]`` is written as ``(x + w/2)/W (y + h/2)/H w/W h/H`` and read back as
``x = (cx - w/2) * W`` etc. Values are written with 6 decimals at least (``0.200000``) and up
to 12 when needed, so the round trip is exact to 1e-6 px; pixel values read are rounded to
1e-6 px. Boxes are clipped to the image first; a box with no area left is dropped; both are
counted in the report, on export and on import.

Image sizes. YOLO files do not store them. Import reads the size from the image file
(header only, EXIF orientation applied as ``ImageOps.exif_transpose`` does), else from
``images.meta`` (which Datumaro reads and our export writes, keyed by the item path without
extension; when that name has another size in an earlier subset, the item also gets a line
keyed by ``obj_<subset>_data/<name>``, which the import prefers, so the same name in two
subsets keeps both sizes); an item with neither cannot be placed and is counted as a lost
item, never guessed. An export given images lists only the images it wrote: an item whose
image the source lacks is not written at all (a listed file that is missing stops Darknet)
and is counted as a lost item. Without images, every item is listed at the path its label
file belongs to.

Labels. Import: label ids are the 0-based class indices (the line numbers of the non-blank
lines of ``obj.names``), so ids may start at 0. Export: the shape labels, in the dataset's
label order, become classes 0..n-1; the label ids therefore change (1, 5, 9 become 0, 1, 2)
but the names and every annotation are kept, so this is not counted as a loss. Nothing else
of a label is written, and what is lost is counted: tag labels (``label``), label colors,
attribute definitions, parents and keypoint names with their skeleton.

What YOLO cannot hold is counted in the report: every shape type but ``bbox``, tags, shape
attributes and flags. Who made a shape (``source``, ``author``, ``updated_at``), ``group``
and ``z_order`` are not written; imported shapes are marked as made by a human.

Import also reads the loose layouts other tools write, with class names from ``obj.names``
or ``classes.txt``: ``labels/<subset>/*.txt`` next to ``images/<subset>/`` (top-level
folders of ``labels/`` are subsets), flat ``labels/`` + ``images/``, and ``Annotations/`` +
``Images/``. Only ``.txt`` files inside the label folder are read, so a stray ``README.txt``
beside them is ignored. Images without a label file are kept as items with no shapes.
Malformed lines (wrong column count, a number outside the decimal grammar
``[+-]digits[.digits][e[+-]digits]`` such as ``0.2_0``, ``inf`` or ``nan``, a negative box
width or height, a class index out of range) raise :class:`FormatError` naming the file and
line; a zero width or height is a box without area, dropped and counted. Paths in
``obj.data`` and the lists may start with ``data/`` (Darknet's convention, removed); a path
that leaves the dataset folder, by ``..``, an absolute path or a symlink, is refused
(``obj.data``) or counted as a lost item (list files, and the files of a loose layout). A
list that names one item twice raises :class:`FormatError` naming the file and both lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from annotate.converters._common import FolderGuard, report_label_list
from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters._yolo_common import (
    IMAGE_META_FILE,
    box_from_normalized,
    box_line,
    check_box_size,
    class_indices,
    clip_read_box,
    is_image_file,
    label_lines,
    lose_shape_extras,
    make_labels,
    oriented_size,
    parse_class,
    parse_numbers,
    read_image_meta,
    read_names,
    read_text_lines,
    write_image,
    write_image_meta,
)
from annotate.converters._yolo_text import box_lines
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN, clip_bbox, is_safe_relative_path, posix_normalized, posix_stem
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

np = lazy_module("numpy")

CONFIG_FILE = "obj.data"
NAMES_FILES = ("obj.names", "classes.txt")
DEFAULT_SUBSET = "default"
#: obj.data keys that are not subsets (Darknet reads ``eval`` and ``results`` too).
RESERVED_KEYS = {"classes", "names", "backup", "eval", "results"}
LABEL_DIRS = ("labels", "annotations")
IMAGE_DIRS = ("images",)
_CONFIG_LINE = re.compile(r"^\s*(\w+)\s*=\s*(.*?)\s*$")
_UNSAFE_CHARS = re.compile(r"\W")
# Boxes whose lines are worked out together (the arrays take about 1 KB a box; numpy itself 11 MB).
_GROUP_BOXES = 1024
_PLAIN_LINE = "%d %.12f %.12f %.12f %.12f\n"
# Zeros ending a number's 12 decimals, beyond its first 6 (see _yolo_common.format_number): one
# fixed-width look-behind per count of decimals kept, so that the replacement is a plain "",
# after a leading "0" that lets the search skip to zeros.
_TRAILING_ZEROS = re.compile("0(?:" + "|".join(rf"(?<=\.[0-9]{{{kept}}}0)0{{{11 - kept}}}" for kept in range(6, 12)) + r")(?=[ \n])")


@dataclass
class _Entry:
    """One image of the dataset, before its labels are read."""

    subset: str | None
    path: str  # the item path, relative to the subset's image folder
    image: Path | None
    label: Path | None
    meta_keys: tuple[str, ...]  # images.meta names, the first found gives the size


@register_format("yolo")
class YoloFormat(DatasetFormat):
    """Darknet YOLO 1.1 detection (boxes only)."""

    description = "Darknet YOLO 1.1 (obj.data, obj.names, obj_<subset>_data/*.txt)"

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        root = Path(path)
        if not root.is_dir():
            return False
        if (root / CONFIG_FILE).is_file():
            return True
        if _names_file(root) is None:
            return False
        # Darknet lines are boxes: a loose layout whose first line is longer (segment, pose)
        # is left to the ultralytics format.
        for folder in _child_dirs(root, LABEL_DIRS):
            for label in sorted(folder.rglob("*.txt")):
                for line in read_text_lines(label):
                    if line.strip():
                        return len(line.split()) == 5
        return any(any(folder.rglob("*.txt")) for folder in _child_dirs(root, LABEL_DIRS))

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        root = Path(src)
        if not (root / CONFIG_FILE).is_file() and (_names_file(root) is None or not _child_dirs(root, LABEL_DIRS)):
            raise FormatError(f"{root}: no obj.data, and no obj.names or classes.txt with a labels/ folder (not YOLO)")
        names, entries = _scan(root, report)
        labels = make_labels(dict(enumerate(names)), report)
        meta = read_image_meta(root / IMAGE_META_FILE)
        items = []
        missing = 0
        for entry in entries:
            size = oriented_size(entry.image) if entry.image is not None else None
            for key in entry.meta_keys if size is None else ():
                size = meta.get(key)
                if size is not None:
                    break
            if size is None:
                missing += 1
                continue
            shapes = _read_boxes(entry.label, labels, size, report) if entry.label is not None and entry.label.is_file() else []
            item: dict[str, Any] = {
                "id": _item_id(entry),
                "name": PurePosixPath(entry.path).name,
                "path": entry.path,
                "media": "image",
                "width": size[0],
                "height": size[1],
                "annotation": {"version": 1, "tags": [], "shapes": shapes},
            }
            if entry.subset is not None:
                item["subset"] = entry.subset
            items.append(item)
        if missing:
            report.lose("item", "the image file is missing and YOLO stores no image size", missing)
        dataset = {"version": 1, "labels": labels, "items": items}
        validate_dataset(dataset)
        return dataset

    def write(
        self,
        dataset: dict[str, Any],
        writer: DatasetWriter,
        *,
        images: ImageSource | None,
        report: ConversionReport,
    ) -> None:
        """See :meth:`DatasetFormat.write`."""
        # obj.names holds the names of the shape labels and nothing else of any label.
        report_label_list(dataset["labels"], None, report, "YOLO", holds=())
        classes = class_indices(dataset)
        writer.write_text("obj.names", "".join(f"{name}\n" for name in classes))
        keys: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        used_stems: dict[str, set[str]] = {}
        sizes: dict[str, tuple[int, int]] = {}
        size_tuples: dict[tuple[int, int], tuple[int, int]] = {}
        without_image = 0
        plain_texts = _plain_item_texts(dataset["items"], classes)
        for item, plain_text in zip(dataset["items"], plain_texts, strict=True):
            subset = item.get("subset", DEFAULT_SUBSET)
            key = keys.get(subset)
            if key is None:
                key = keys[subset] = _subset_key(subset, set(keys.values()), report)
            folder = f"obj_{key}_data"
            unique = _unique_path(item, used_stems.setdefault(key, set()), report)
            # The item itself goes to the image source: it finds the image by the item's own path.
            path = write_image(writer, folder, item, images, report, path=unique)
            if path is None:
                # The list names images; one that is not there would stop Darknet's training.
                without_image += 1
                continue
            stem = posix_stem(path)
            text = plain_text if plain_text is not None else _item_lines(item, classes, report).encode("utf-8")
            writer.write_bytes(f"{folder}/{stem}.txt", text)
            lists.setdefault(key, []).append(path)  # the item's own string: written below
            size = (item["width"], item["height"])
            size = size_tuples.setdefault(size, size)  # one tuple per image size, not per item
            if sizes.setdefault(stem, size) != size:
                # Datumaro keys images.meta by the name in the subset; the subset's folder tells them apart.
                sizes[f"{folder}/{stem}"] = size
        if without_image:
            report.lose("item", "no image to write, and a YOLO list names image files only", without_image)
        config = [f"classes = {len(classes)}"]
        for key, paths in lists.items():
            writer.write_text(f"{key}.txt", "".join(f"data/obj_{key}_data/{path}\n" for path in paths))
            config.append(f"{key} = data/{key}.txt")
        config += ["names = data/obj.names", "backup = backup/"]
        writer.write_text(CONFIG_FILE, "\n".join(config) + "\n")
        write_image_meta(writer, IMAGE_META_FILE, sizes)

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        _, entries = _scan(Path(src), ConversionReport())
        for entry in entries:
            if _item_id(entry) == item["id"]:
                return entry.image if entry.image is not None and entry.image.is_file() else None
        return None


def _item_id(entry: _Entry) -> str:
    return f"{entry.subset}/{entry.path}" if entry.subset is not None else entry.path


# -- export ---------------------------------------------------------------------------


def _subset_key(subset: str, used: set[str], report: ConversionReport) -> str:
    """Return an obj.data key for a subset: word characters only, not reserved, unique."""
    key = _UNSAFE_CHARS.sub("_", subset) or "subset"
    if key in RESERVED_KEYS:
        key += "_subset"
    base, number = key, 1
    while key in used:
        number += 1
        key = f"{base}_{number}"
    if key != subset:
        report.note(f"subset {subset!r} written as {key!r}: obj.data keys are words other than {sorted(RESERVED_KEYS)}")
    return key


def _unique_path(item: dict[str, Any], used_stems: set[str], report: ConversionReport) -> str:
    """Return the item's path, renamed when another item of the subset has the same stem.

    ``a.jpg`` and ``a.png`` would share the label file ``a.txt``: the second is written as
    ``a_2.png`` (image and label file both).
    """
    normalized = posix_normalized(item["path"])
    stem = posix_stem(normalized)
    candidate, number = stem, 1
    while candidate.lower() in used_stems:
        number += 1
        candidate = f"{stem}_{number}"
    key = candidate.lower()
    used_stems.add(candidate if key == candidate else key)  # one string, not two, per item
    if candidate == stem:
        return item["path"]
    path = candidate + normalized[len(stem) :]
    report.note(f"item {item['id']!r} written as {path!r}: its label file name is taken")
    return path


def _plain_item_texts(items: list[dict[str, Any]], classes: dict[str, int]) -> Iterator[bytes | None]:
    """Yield each item's label file when it holds only plain boxes inside the image, else None.

    Plain: shapes with only id, type ``bbox``, label, bbox and source, and no tags, so that
    nothing is lost, clipped or reported; their lines are written for a group of items at once
    (:func:`_yolo_text.box_lines`), with the bytes :func:`_item_lines` gives. The other items
    are left to :func:`_item_lines`. Groups of about ``_GROUP_BOXES`` boxes keep the arrays small.
    """
    group: list[dict[str, Any]] = []
    boxes = 0
    for item in items:
        group.append(item)
        boxes += len(item["annotation"]["shapes"])
        if boxes >= _GROUP_BOXES:
            yield from _group_texts(group, classes)
            group, boxes = [], 0
    yield from _group_texts(group, classes)


def _group_texts(items: list[dict[str, Any]], classes: dict[str, int]) -> list[bytes | None]:
    """:func:`_plain_item_texts` for one group of items."""
    flat: list[float] = []
    labels: list[str] = []
    counts: list[int] = []
    item_sizes: list[tuple[int, int]] = []
    for item in items:
        annotation = item["annotation"]
        mark = len(labels)
        if not annotation["tags"]:
            for shape in annotation["shapes"]:
                if len(shape) != 5 or shape["type"] != "bbox" or "source" not in shape:
                    break
                flat += shape["bbox"]
                labels.append(shape["label"])
            else:
                counts.append(len(labels) - mark)
                item_sizes.append((item["width"], item["height"]))
                continue
        del flat[4 * mark :], labels[mark:]
        counts.append(-1)
        item_sizes.append((1, 1))
    if not labels:
        return [b"" if count == 0 else None for count in counts]
    box_counts = np.maximum(counts, 0)
    boxes = np.array(flat, dtype=np.float64).reshape(-1, 4)
    sizes = np.repeat(np.array(item_sizes, dtype=np.float64), box_counts, axis=0)
    x, y, w, h = boxes.T
    right, bottom = x + w, y + h
    inside = (x >= 0.0) & (x < right) & (right <= sizes[:, 0]) & (y >= 0.0) & (y < bottom) & (bottom <= sizes[:, 1])
    # An item with a box to clip or drop goes to _item_lines whole, which reports it.
    item_of_box = np.repeat(np.arange(len(counts)), box_counts)
    outside = np.bincount(item_of_box[~inside], minlength=len(counts))
    plain_items = (np.array(counts) >= 0) & (outside == 0)
    chosen = plain_items[item_of_box]
    class_array = np.array([classes[label] for label in labels], dtype=np.int64)
    text, ends = box_lines(class_array[chosen], boxes[chosen], sizes[chosen])
    texts: list[bytes | None] = []
    start = line = 0
    for is_plain, count in zip(plain_items.tolist(), box_counts.tolist(), strict=True):
        if not is_plain:
            texts.append(None)
            continue
        line += count
        end = int(ends[line - 1]) if count else start
        texts.append(text[start:end])
        start = end
    return texts


def _item_lines(item: dict[str, Any], classes: dict[str, int], report: ConversionReport) -> str:
    tags = item["annotation"]["tags"]
    if tags:
        report.lose("tag", "YOLO has no image-level tags", len(tags))
    width, height = item["width"], item["height"]
    lines = []
    for shape in item["annotation"]["shapes"]:
        if len(shape) == 5 and shape["type"] == "bbox" and "source" in shape:
            # A box with nothing to lose: the line box_line writes, its numbers with 12 decimals
            # (trimmed for the whole file at once below).
            x, y, w, h = shape["bbox"]
            right, bottom = x + w, y + h
            if 0.0 <= x < right <= width and 0.0 <= y < bottom <= height:
                # Unclipped: clip_bbox would give [x, y, w, h].
                # All four are positive here, so format_number's -0.0 case cannot arise; %-formatting
                # is the cheapest way Python has to write floats with 12 decimals.
                lines.append(_PLAIN_LINE % (classes[shape["label"]], (x + w / 2) / width, (y + h / 2) / height, w / width, h / height))
                continue
        if shape["type"] != "bbox":
            report.lose(shape["type"], "YOLO detection holds boxes only")
            continue
        bbox, clipped = clip_bbox(shape["bbox"], item["width"], item["height"])
        if bbox is None:
            report.drop_empty("bbox")
            continue
        if clipped:
            report.clip("bbox")
        if shape.get("attributes") or shape.get("occluded") or shape.get("truncated") or shape.get("difficult") or shape.get("iscrowd"):
            lose_shape_extras(shape, report, "YOLO")
        lines.append(box_line(classes[shape["label"]], bbox, item["width"], item["height"]) + "\n")
    # format_number for the plain lines' numbers at once: 12 decimals, trailing zeros cut down
    # to 6. The other lines are formatted already, and cutting again changes nothing.
    return _TRAILING_ZEROS.sub("", "".join(lines))


# -- import ---------------------------------------------------------------------------


def _child_dirs(root: Path, names: tuple[str, ...]) -> list[Path]:
    """Return the sub-folders of ``root`` whose name is one of ``names``, any case, sorted."""
    if not root.is_dir():
        return []
    return sorted(child for child in root.iterdir() if child.is_dir() and child.name.lower() in names)


def _names_file(root: Path) -> Path | None:
    return next((root / name for name in NAMES_FILES if (root / name).is_file()), None)


def _localize(path: str) -> str:
    """Turn a Darknet path (``data/obj_train_data/a.jpg``, ``./x``) into one relative to the root."""
    cleaned = path.strip().replace("\\", "/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    if cleaned.startswith("data/"):
        cleaned = cleaned[len("data/") :]
    return cleaned


def _scan(root: Path, report: ConversionReport) -> tuple[list[str], list[_Entry]]:
    """Return the class names and the images of a strict or loose YOLO folder."""
    if (root / CONFIG_FILE).is_file():
        return _scan_strict(root, report)
    names_file = _names_file(root)
    if names_file is None:
        raise FormatError(f"{root}: no obj.names or classes.txt")
    return read_names(names_file), _scan_loose(root, report)


def _scan_strict(root: Path, report: ConversionReport) -> tuple[list[str], list[_Entry]]:
    config_path = root / CONFIG_FILE
    config: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(read_text_lines(config_path), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _CONFIG_LINE.match(line)
        if match is None:
            raise FormatError(f"{config_path}, line {number}: expected 'key = value'")
        config[match.group(1)] = (match.group(2), number)

    def config_file(key: str, value: str, number: int) -> Path:
        relative = _localize(value)
        if not is_safe_relative_path(relative):
            raise FormatError(f"{config_path}, line {number}: {key} path {value!r} leaves the dataset folder")
        return root / relative

    if "names" in config:
        names_path = config_file("names", *config["names"])
        if not names_path.is_file():
            names_path = root / "obj.names"
    else:
        names_path = root / "obj.names"
    if not names_path.is_file():
        raise FormatError(f"{config_path}: the names file {names_path.name} is missing")
    entries: list[_Entry] = []
    guard = FolderGuard(root)
    for key, (value, number) in config.items():
        if key in RESERVED_KEYS:
            continue
        list_path = config_file(key, value, number)
        if not list_path.is_file():
            raise FormatError(f"{config_path}, line {number}: the list {value!r} of subset {key!r} is missing")
        entries += _list_entries(root, key, list_path, guard, report)
    return read_names(names_path), entries


def _list_entries(root: Path, key: str, list_path: Path, guard: FolderGuard, report: ConversionReport) -> list[_Entry]:
    """Return the images a subset's list file names, one entry each.

    Raises:
        FormatError: two lines name the same item (the file and both lines are named).
    """
    entries: list[_Entry] = []
    lines_of: dict[str, int] = {}
    unsafe = 0
    for line_number, line in enumerate(read_text_lines(list_path), start=1):
        if not line.strip():
            continue
        relative = _localize(line)
        image = root / relative
        if not is_safe_relative_path(relative) or not guard.contains(image) or not guard.contains(image.with_suffix(".txt")):
            unsafe += 1
            continue
        parts = relative.split("/")
        path = "/".join(parts[1:]) if len(parts) > 1 else relative
        entry = _Entry(key, path, image, image.with_suffix(".txt"), (posix_stem(relative), posix_stem(path)))
        first = lines_of.setdefault(_item_id(entry), line_number)
        if first != line_number:
            raise FormatError(f"{list_path}, line {line_number}: {line.strip()!r} names item {_item_id(entry)!r} again (line {first})")
        entries.append(entry)
    if unsafe:
        report.lose("item", f"its path in {list_path.name} leaves the dataset folder", unsafe)
    return entries


def _scan_loose(root: Path, report: ConversionReport) -> list[_Entry]:
    """Pair ``images/<rel>.<ext>`` with ``labels/<rel>.txt``; a first folder level is the subset.

    A file that is a symlink to a place outside ``root`` is left out and counted.
    """
    guard = FolderGuard(root)
    images: dict[str, tuple[PurePosixPath, Path]] = {}
    doubles: list[tuple[PurePosixPath, Path]] = []  # a.jpg beside a.png: only one can own a.txt
    outside = 0
    for image_dir in _child_dirs(root, IMAGE_DIRS):
        for image in sorted(p for p in image_dir.rglob("*") if p.is_file() and is_image_file(p)):
            if not guard.contains(image):
                outside += 1
                continue
            relative = PurePosixPath(image.relative_to(image_dir).as_posix())
            stem = str(relative.with_suffix(""))
            if stem in images:
                doubles.append((relative, image))
            else:
                images[stem] = (relative, image)
    labels: dict[str, Path] = {}
    for label_dir in _child_dirs(root, LABEL_DIRS):
        for label in sorted(label_dir.rglob("*.txt")):
            if not guard.contains(label):
                outside += 1
                continue
            labels.setdefault(str(PurePosixPath(label.relative_to(label_dir).as_posix()).with_suffix("")), label)
    if outside:
        report.lose("item", "the file links to a place outside the dataset folder", outside)
    entries = []
    for stem in sorted(set(images) | set(labels)):
        relative, image = images.get(stem, (PurePosixPath(stem), None))
        entries.append(_loose_entry(relative, image, labels.get(stem)))
    entries += [_loose_entry(relative, image, None) for relative, image in doubles]
    return entries


def _loose_entry(relative: PurePosixPath, image: Path | None, label: Path | None) -> _Entry:
    parts = relative.parts
    subset = parts[0] if len(parts) > 1 else None
    path = "/".join(parts[1:]) if subset is not None else str(relative)
    return _Entry(subset, path, image, label, ())


def _read_boxes(path: Path, labels: list[dict[str, Any]], size: tuple[int, int], report: ConversionReport) -> list[dict[str, Any]]:
    width, height = size
    shapes = []
    classes = dict(enumerate(labels))
    for number, fields in label_lines(path):
        if len(fields) != 5:
            raise FormatError(f"{path}, line {number}: expected 5 values 'class cx cy w h', got {len(fields)}")
        class_index = parse_class(path, number, fields[0], classes)
        cx, cy, w, h = parse_numbers(path, number, fields[1:])
        if w < 0 or h < 0:  # tested inline: a call for every line would cost 10 ms a 100,000 boxes
            check_box_size(path, number, w, h)
        bbox, clipped = clip_read_box(box_from_normalized(cx, cy, w, h, width, height), width, height)
        if bbox is None:
            report.drop_empty("bbox")
            continue
        if clipped:
            report.clip("bbox")
        shapes.append(
            {
                "id": f"L{number}",
                "type": "bbox",
                "label": labels[class_index]["name"],
                "bbox": bbox,
                "source": dict(HUMAN),
            }
        )
    return shapes
