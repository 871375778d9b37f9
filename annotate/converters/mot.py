"""MOTChallenge ground truth (one sequence), both ways.

Spec: https://motchallenge.net/instructions/ and the MOT16 paper (arXiv:1603.00831),
section "Data format". Layout::

    seqinfo.ini      [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
    gt/gt.txt        frame,id,x,y,w,h,conf,class,visibility   (MOT16/17/20, 9 columns)
                     frame,id,x,y,w,h,conf,wx,wy,wz            (MOT15, 10 columns)
    gt/labels.txt    class names, one a line: line 1 is class 1 (Datumaro's addition)
    img1/000001.jpg  the frames, when present

Import also takes a folder holding ``gt.txt`` directly, or the ``.txt`` file itself.

Coordinate rules. MOT frames and pixels are 1-based: the top-left pixel is (1, 1) and the
first frame is 1. So ``x = x_mot - 1``, ``y = y_mot - 1`` (w and h unchanged) and our 0-based
``frame = frame_mot - 1``; export adds the 1 back. The subtraction is done in decimal on the
written digits, so ``1.1`` reads back as exactly ``0.1``. Boxes are clipped to the image,
and rows with no area left are dropped, both counted in the report, on import and on export
(each frame's row, interpolated ones included, is clipped to its frame's size).

What maps to what:

* the sequence becomes one ``video_frame`` item per frame (``seqLength``, or the last frame
  of gt.txt or of ``img1/``, whichever is larger; a gt.txt row after ``seqLength`` raises
  :class:`FormatError` naming the file and line, as a CVAT for video shape after the task's
  last frame does) with ``video`` = the sequence name
  (``seqinfo.ini`` ``name``, else the folder name) and ``frame`` 0-based; ``frameRate``
  (else the ``fps`` keyword argument of :meth:`MotFormat.import_dataset`, ``--mot-fps`` of
  ``annotate convert``) is kept as each item's ``fps``;
* image size: ``seqinfo.ini`` ``imWidth``/``imHeight``, else the first image of ``img1/``,
  else the ``width``/``height`` keyword arguments of :meth:`MotFormat.import_dataset`
  (``--mot-image-size WIDTHxHEIGHT`` of ``annotate convert``). When none is known the import
  raises :class:`FormatError`: guessing from the boxes' extent would clip nothing and hide
  errors;
* each track id becomes a ``bbox`` track (id = the MOT id as text) with a shape on every
  keyframe. MOT writes every frame, so keyframes are found again: a row that lies on the
  straight line between its neighbouring keyframes (within 1e-6 px, same attributes) is not
  one. A gap in a track's frames gives an ``outside`` shape on the first missing frame, and
  so does the frame after a track's last row unless that is past the video. An ``outside``
  shape carries the last visible box. As in CVAT, a track with no final ``outside`` runs on
  to the last frame of the video;
* track id ``-1`` (Datumaro writes it for boxes outside any track) gives a plain ``bbox``
  shape on that frame's item, and plain ``bbox`` shapes of frame items are exported so;
* ``conf``: in ground truth 1 means "consider" and 0 "ignore" (distractors, static
  people). 0 becomes the attribute ``ignored: true`` (Datumaro's name): on the track when all
  of its rows have it, else on those frames' shapes. Any other value becomes the per-frame
  attribute ``confidence``. Export writes 0 for ``ignored``, else ``confidence``, else 1;
* ``class``: the label whose id is the class number. Names come from ``gt/labels.txt``
  (every name it lists is a label, used or not), else the MOT16 class names (1 pedestrian
  ... 12 reflection; only the classes the rows use become labels); MOT15 files have no
  class, so their tracks get label ``pedestrian`` (id 1). Export numbers the shape labels
  1, 2, ... in dataset order and writes them to ``labels.txt`` (a note says when ids
  change); tag labels, label colors, attribute definitions, parents and keypoint names are
  counted as lost;
* ``visibility`` (0..1) becomes the per-frame attribute ``visibility`` when it is not 1;
  MOT15 world coordinates, when not -1, the per-frame attributes ``world_x``, ``world_y``,
  ``world_z``.

Export always writes the 9-column MOT16 layout, one row per frame on which each track is
visible (interpolated between keyframes, never past the track's end), sorted by frame and
id. It holds one sequence of boxes: other videos and image items, other shape and track
types, tags, other attributes, ``occluded``, ``group`` and ``z_order`` are counted as lost.
Track ids that are not positive integers get new numbers (noted). A sequence has no subsets
and names each frame by its number (``img1/000001<imExt>``), as an import gives them back:
subsets (counted once each) and item paths or names that differ (counted per item) are
lost. ``imExt`` is the type of the first frame's image; readers build every frame's path
from it, so frames of another type are re-encoded to it (noted; JPEG flattens alpha onto
white). Rules every format
follows: nothing is lost in silence; exact coordinates; safe parsing (a bad row raises
:class:`FormatError` naming the file and line).
"""

from __future__ import annotations

import configparser
import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from annotate.converters._common import clip_box, frame_images, report_label_list
from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters._tracks import on_the_way, same_state, visible_shapes
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport

Image = lazy_module("PIL.Image")

GT_FILE = "gt/gt.txt"
LABELS_FILE = "gt/labels.txt"
SEQINFO_FILE = "seqinfo.ini"
DEFAULT_IMAGE_DIR = "img1"
DEFAULT_IMAGE_EXT = ".jpg"
#: MOT16/17 class numbers (MOT16 paper, table 5).
MOT16_CLASSES = {
    1: "pedestrian",
    2: "person_on_vehicle",
    3: "car",
    4: "bicycle",
    5: "motorbike",
    6: "non_motorized_vehicle",
    7: "static_person",
    8: "distractor",
    9: "occluder",
    10: "occluder_on_ground",
    11: "occluder_full",
    12: "reflection",
}
_KEPT_ATTRIBUTES = {"ignored", "visibility", "confidence"}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@register_format("mot")
class MotFormat(DatasetFormat):
    """MOTChallenge ``gt/gt.txt`` box tracks of one sequence."""

    description = "MOTChallenge ground truth (gt/gt.txt, seqinfo.ini, img1/)"
    # Shape groups: counted by the exporter itself.
    holds_group = True
    holds_z_order = True
    holds_tracks = True

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        path = Path(path)
        if path.is_file():
            return path.name == "gt.txt"
        return (path / GT_FILE).is_file()

    def import_dataset(
        self,
        src: Path,
        report: ConversionReport | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
    ) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`.

        Args:
            src: the sequence folder, a folder holding ``gt.txt``, or the file itself.
            report: collects what was clipped or dropped.
            width: image width in pixels, used when neither ``seqinfo.ini`` nor ``img1/``
                gives it.
            height: image height in pixels, likewise.
            fps: frames per second, used when ``seqinfo.ini`` gives no ``frameRate``.

        Raises:
            FormatError: no gt file, a malformed row, or an unknown image size.
        """
        report = report if report is not None else ConversionReport()
        return _Reader(Path(src), report, width, height, fps).read()

    def write(
        self,
        dataset: dict[str, Any],
        writer: DatasetWriter,
        *,
        images: ImageSource | None,
        report: ConversionReport,
    ) -> None:
        """See :meth:`DatasetFormat.write`."""
        _Writer(dataset, writer, images, report).write()

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        root = _sequence_root(Path(src))
        candidate = root / item["path"]
        return candidate if candidate.is_file() else None


# -- import ---------------------------------------------------------------------------


def _sequence_root(src: Path) -> Path:
    if src.is_file():
        return src.parent.parent if src.parent.name == "gt" else src.parent
    return src


def _gt_file(src: Path) -> Path:
    if src.is_file():
        return src
    for candidate in (src / GT_FILE, src / "gt.txt"):
        if candidate.is_file():
            return candidate
    raise FormatError(f"{src}: no {GT_FILE} or gt.txt (not a MOT sequence)")


class _Reader:
    def __init__(self, src: Path, report: ConversionReport, width: int | None, height: int | None, fps: float | None) -> None:
        self.gt = _gt_file(src)
        self.root = _sequence_root(src)
        self.report = report
        self.width = width
        self.height = height
        self.fps = fps

    def read(self) -> dict[str, Any]:
        info = self._seqinfo()
        image_dir = info.get("imdir", DEFAULT_IMAGE_DIR)
        if not _is_plain_name(image_dir):
            raise FormatError(f"{self.root / SEQINFO_FILE}: imDir {image_dir!r} leaves the sequence folder")
        frames = self._frame_files(image_dir)
        seq_length = _int_field(info, "seqlength", self.root / SEQINFO_FILE)
        rows = self._rows(seq_length)
        width, height = self._size(info, frames)
        names, listed = self._label_names()
        frame_count = max([seq_length or 0, *frames, *(row["frame"] + 1 for row in rows)])
        video = info.get("name") or self.root.name or "sequence"
        ext = info.get("imext", DEFAULT_IMAGE_EXT)
        fps = _number_field(info, "framerate", self.root / SEQINFO_FILE)
        if fps is None:
            fps = self.fps
        items = []
        for frame in range(frame_count):
            path = frames.get(frame, f"{image_dir}/{frame + 1:06d}{ext}")
            item = {
                "id": f"{frame + 1:06d}",
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "media": "video_frame",
                "width": width,
                "height": height,
                "video": video,
                "frame": frame,
                "annotation": {"version": 1, "tags": [], "shapes": []},
            }
            if fps is not None and fps > 0:
                item["fps"] = fps
            items.append(item)
        # Every class labels.txt lists is a label, used or not (as Datumaro reads it); without
        # the file, the MOT16 classes the rows use.
        labels: dict[int, dict[str, Any]] = {number: _label(number, names) for number in names} if listed else {}
        by_track: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            box = clip_box(row["bbox"], width, height, self.report)
            if box is None:
                continue
            row["bbox"] = box
            label = labels.setdefault(row["class"], _label(row["class"], names))
            row["label"] = label["name"]
            if row["id"] == -1:
                shapes = items[row["frame"]]["annotation"]["shapes"]
                shape = {
                    "id": f"{row['frame'] + 1}-{len(shapes) + 1}",
                    "type": "bbox",
                    "label": label["name"],
                    "bbox": box,
                    "source": HUMAN,
                }
                if row["attributes"]:
                    shape["attributes"] = row["attributes"]
                shapes.append(shape)
            else:
                by_track.setdefault(row["id"], []).append(row)
        tracks = [self._track(track_id, track_rows, video, frame_count) for track_id, track_rows in sorted(by_track.items())]
        dataset: dict[str, Any] = {"version": 1, "labels": [labels[key] for key in sorted(labels)], "items": items}
        if tracks:
            dataset["tracks"] = tracks
        return dataset

    def _seqinfo(self) -> dict[str, str]:
        path = self.root / SEQINFO_FILE
        if not path.is_file():
            return {}
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(path.read_text("utf-8"), source=str(path))
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise FormatError(f"{path}: not a readable ini file: {exc}") from exc
        if not parser.has_section("Sequence"):
            raise FormatError(f"{path}: no [Sequence] section")
        return {key.lower(): value.strip() for key, value in parser.items("Sequence")}

    def _frame_files(self, image_dir: str) -> dict[int, str]:
        folder = self.root / image_dir
        found: dict[int, str] = {}
        if folder.is_dir():
            for file in sorted(folder.iterdir()):
                if file.suffix.lower() in _IMAGE_SUFFIXES and file.stem.isdigit() and int(file.stem) >= 1:
                    found.setdefault(int(file.stem) - 1, f"{image_dir}/{file.name}")
        return found

    def _size(self, info: dict[str, str], frames: dict[int, str]) -> tuple[int, int]:
        ini = self.root / SEQINFO_FILE
        width, height = _int_field(info, "imwidth", ini), _int_field(info, "imheight", ini)
        if width and height:
            return width, height
        if frames:
            first = self.root / frames[min(frames)]
            try:
                with Image.open(first) as image:
                    return image.size
            except OSError as exc:
                raise FormatError(f"{first}: not a readable image: {exc}") from exc
        if self.width and self.height:
            return int(self.width), int(self.height)
        raise FormatError(
            f"{self.root}: image size unknown: no imWidth/imHeight in {SEQINFO_FILE} and no frames in img1/; "
            "give it with --mot-image-size WIDTHxHEIGHT (annotate convert), or width= and height= (MotFormat.import_dataset)"
        )

    def _label_names(self) -> tuple[dict[int, str], bool]:
        """Return the class names by number, and whether a ``labels.txt`` gave them (else MOT16's)."""
        for path in (self.gt.parent / "labels.txt", self.root / LABELS_FILE):
            if path.is_file():
                try:
                    lines = path.read_text("utf-8").splitlines()
                except UnicodeDecodeError as exc:
                    raise FormatError(f"{path}: not UTF-8 text: {exc}") from exc
                names: dict[int, str] = {}
                first: dict[str, int] = {}
                for number, line in enumerate(lines, start=1):
                    name = line.strip()
                    if not name:
                        continue
                    if name in first:
                        raise FormatError(f"{path}:{number}: class name {name!r} is listed twice (line {first[name]})")
                    first[name] = number
                    names[number] = name
                return names, True
        return dict(MOT16_CLASSES), False

    def _rows(self, seq_length: int | None) -> list[dict[str, Any]]:
        """Read gt.txt; a row after ``seqLength`` is an error, as a CVAT shape after the task's last frame."""
        try:
            text = self.gt.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FormatError(f"{self.gt}: not readable UTF-8 text: {exc}") from exc
        rows = []
        for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not fields or not "".join(fields).strip():
                continue
            row = _parse_row(fields, f"{self.gt}:{number}")
            if seq_length is not None and row["frame"] >= seq_length:
                raise FormatError(
                    f"{self.gt}:{number}: frame {row['frame'] + 1} is after the sequence's last frame "
                    f"{seq_length} (seqLength in {self.root / SEQINFO_FILE})"
                )
            rows.append(row)
        return rows

    def _track(self, track_id: int, rows: list[dict[str, Any]], video: str, frame_count: int) -> dict[str, Any]:
        rows.sort(key=lambda row: row["frame"])
        unique: list[dict[str, Any]] = []
        for row in rows:
            if unique and unique[-1]["frame"] == row["frame"]:
                self.report.lose("bbox", "MOT track with two rows on one frame (the first is kept)")
                continue
            unique.append(row)
        attributes: dict[str, Any] = {}
        if all(row["attributes"].get("ignored") for row in unique):
            attributes["ignored"] = True
            for row in unique:
                del row["attributes"]["ignored"]
        states = []
        for row in unique:
            state: dict[str, Any] = {"frame": row["frame"], "keyframe": True, "outside": False, "bbox": row["bbox"]}
            if row["attributes"]:
                state["attributes"] = row["attributes"]
            states.append(state)
        shapes: list[dict[str, Any]] = []
        start = 0
        for index in range(1, len(states) + 1):
            if index == len(states) or states[index]["frame"] != states[index - 1]["frame"] + 1:
                shapes.extend(_keyframes(states[start:index], frame_count))
                start = index
        track = {
            "id": str(track_id),
            "item": video,
            "label": unique[0]["label"],
            "type": "bbox",
            "source": HUMAN,
            "shapes": shapes,
        }
        if attributes:
            track["attributes"] = attributes
        if any(row["label"] != track["label"] for row in unique):
            self.report.lose("attribute", "MOT track whose class changes (the first row's class is kept)")
        return track


def _keyframes(run: list[dict[str, Any]], frame_count: int) -> list[dict[str, Any]]:
    """Keep the keyframes of one run of consecutive rows, plus the outside shape after it."""
    last = run[-1]
    ends = last["frame"] + 1 < frame_count
    if ends:
        run = [*run, {**last, "frame": last["frame"] + 1, "outside": True}]
    keys = [0]
    while keys[-1] < len(run) - 1:
        start = keys[-1]
        end = start + 1
        while end + 1 < len(run) and all(on_the_way(run[start], run[middle], run[end + 1], "bbox") for middle in range(start + 1, end + 1)):
            end += 1
        keys.append(end)
    if not ends and len(keys) >= 2 and same_state(run[keys[-2]], run[keys[-1]]):
        # A track with no outside shape runs on to the end of the video anyway.
        keys.pop()
    return [run[key] for key in keys]


def _parse_row(fields: list[str], where: str) -> dict[str, Any]:
    if len(fields) not in (9, 10) and not 6 <= len(fields) <= 8:
        raise FormatError(f"{where}: expected 9 or 10 comma-separated values, got {len(fields)}")
    try:
        values = [Decimal(field.strip()) for field in fields]
    except InvalidOperation as exc:
        raise FormatError(f"{where}: not a number in {','.join(fields)!r}") from exc
    if not all(value.is_finite() for value in values):
        raise FormatError(f"{where}: not a finite number in {','.join(fields)!r}")
    frame, track_id = values[0], values[1]
    if frame != frame.to_integral_value() or frame < 1:
        raise FormatError(f"{where}: frame {fields[0].strip()!r} is not a whole number >= 1")
    if track_id != track_id.to_integral_value() or (track_id < 1 and track_id != -1):
        raise FormatError(f"{where}: track id {fields[1].strip()!r} is not a whole number >= 1 or -1")
    attributes: dict[str, Any] = {}
    conf = values[6] if len(values) > 6 else Decimal(1)
    if conf == 0:
        attributes["ignored"] = True
    elif conf != 1:
        attributes["confidence"] = _number(conf)
    class_id = 1
    if len(values) == 10:
        for name, value in zip(("world_x", "world_y", "world_z"), values[7:], strict=True):
            if value != -1:
                attributes[name] = _number(value)
    elif len(values) >= 8 and values[7] != -1:
        if values[7] != values[7].to_integral_value() or values[7] < 1:
            raise FormatError(f"{where}: class {fields[7].strip()!r} is not a whole number >= 1")
        class_id = int(values[7])
    if len(values) == 9 and values[8] != 1:
        attributes["visibility"] = _number(values[8])
    return {
        "frame": int(frame) - 1,
        "id": int(track_id),
        "bbox": [_number(values[2] - 1), _number(values[3] - 1), _number(values[4]), _number(values[5])],
        "class": class_id,
        "attributes": attributes,
    }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _label(class_id: int, names: dict[int, str]) -> dict[str, Any]:
    return {"id": class_id, "name": names.get(class_id, f"class_{class_id}"), "kind": "shape"}


def _is_plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and ":" not in name


def _int_field(info: dict[str, str], key: str, where: Path) -> int | None:
    if key not in info or info[key] == "":
        return None
    try:
        value = int(info[key])
    except ValueError as exc:
        raise FormatError(f"{where}: {key} {info[key]!r} is not a whole number") from exc
    if value < 1:
        raise FormatError(f"{where}: {key} {value} is not positive")
    return value


def _number_field(info: dict[str, str], key: str, where: Path) -> float | int | None:
    if key not in info or info[key] == "":
        return None
    try:
        return _number(Decimal(info[key]))
    except InvalidOperation as exc:
        raise FormatError(f"{where}: {key} {info[key]!r} is not a number") from exc


# -- export ---------------------------------------------------------------------------


def _mot_number(value: float, shift: int = 0) -> str:
    number = Decimal(repr(float(value))) + shift if isinstance(value, float) else Decimal(value) + shift
    text = format(number.normalize(), "f") if number != number.to_integral_value() else str(int(number))
    return text


class _Writer:
    def __init__(self, dataset: dict[str, Any], writer: DatasetWriter, images: ImageSource | None, report: ConversionReport) -> None:
        self.dataset = dataset
        self.writer = writer
        self.images = images
        self.report = report
        self.frames: dict[int, dict[str, Any]] = {}
        self.video_item: dict[str, Any] | None = None  # the whole-video item, when the sequence has one

    def write(self) -> None:
        video, frames, frame_count, lost_items = self._frames()
        if lost_items:
            self.report.lose("item", "MOT holds one video sequence", len(lost_items))
        self.frames = frames
        subsets = {item.get("subset", "default") for item in frames.values()} - {"default"}
        if subsets:
            self.report.lose("subset", "a MOT sequence has no subsets", len(subsets))
        classes = self._classes()
        rows: list[tuple[int, int, str]] = []
        for frame, item in sorted(frames.items()):
            annotation = item["annotation"]
            if annotation["tags"]:
                self.report.lose("tag", "MOT has no tags", len(annotation["tags"]))
            for shape in annotation["shapes"]:
                if shape["type"] != "bbox":
                    self.report.lose(shape["type"], "MOT holds boxes only")
                    continue
                self._count_extras(shape)
                row = self._row(frame, -1, shape, {}, classes[shape["label"]])
                if row is not None:
                    rows.append((frame, -1, row))
        used_ids = {int(t["id"]) for t in self.dataset.get("tracks", []) if t["id"].isdigit() and int(t["id"]) >= 1}
        next_id = max(used_ids, default=0) + 1
        for track in self.dataset.get("tracks", []):
            if track["item"] != video:
                self.report.lose(track["type"], "MOT holds one video sequence (track of another video)")
                continue
            if track["type"] != "bbox":
                self.report.lose(track["type"], "MOT holds box tracks only")
                continue
            if track["id"].isdigit() and int(track["id"]) >= 1:
                mot_id = int(track["id"])
            else:
                mot_id, next_id = next_id, next_id + 1
                self.report.note(f"track {track['id']!r} written as MOT id {mot_id}")
            self._count_extras(track)
            for shape in track["shapes"]:
                if shape.get("occluded") or set(shape.get("attributes", {})) - _KEPT_ATTRIBUTES:
                    self._count_extras(shape)
            for shape in visible_shapes(track, frame_count):
                row = self._row(shape["frame"], mot_id, shape, track.get("attributes", {}), classes[track["label"]])
                if row is not None:
                    rows.append((shape["frame"], mot_id, row))
        rows.sort(key=lambda row: (row[0], row[1]))
        # labels.txt holds the names of the shape labels; the rest of a label is counted.
        report_label_list(self.dataset["labels"], None, self.report, "MOT", holds=())
        self.writer.write_text(GT_FILE, "".join(text + "\n" for _, _, text in rows))
        names = [label["name"] for label in self.dataset["labels"] if label["kind"] == "shape"]
        self.writer.write_text(LABELS_FILE, "".join(name + "\n" for name in names))
        self._write_seqinfo(video, frames, frame_count)

    def _frames(self) -> tuple[str, dict[int, dict[str, Any]], int, list[dict[str, Any]]]:
        items = self.dataset["items"]
        videos = [item["video"] for item in items if item["media"] in ("video", "video_frame") and "video" in item]
        if not videos:
            # A plain list of images: one frame each, in dataset order.
            if items:
                self.report.note("no video items: the images are written as the frames of one sequence, in order")
            return "sequence", dict(enumerate(items)), len(items), []
        video = videos[0]
        mine = [item for item in items if item.get("video") == video and item["media"] in ("video", "video_frame")]
        lost = [item for item in items if item not in mine]
        whole = [item for item in mine if item["media"] == "video"]
        if whole:
            self.video_item = whole[0]
            lost += [item for item in mine if item is not whole[0]]
            if whole[0]["annotation"]["shapes"] or whole[0]["annotation"]["tags"]:
                self.report.lose(
                    "shape", "MOT has no place for shapes of a whole video (not on a frame)", len(whole[0]["annotation"]["shapes"])
                )
            return video, {}, whole[0]["frame_count"], lost
        frames: dict[int, dict[str, Any]] = {}
        for position, item in enumerate(mine):
            frame = item.get("frame", position)
            if frame in frames:
                lost.append(item)
                continue
            frames[frame] = item
        return video, frames, max(frames) + 1, lost

    def _classes(self) -> dict[str, int]:
        classes = {}
        renumbered = False
        for number, label in enumerate((label for label in self.dataset["labels"] if label["kind"] == "shape"), start=1):
            classes[label["name"]] = number
            renumbered = renumbered or label["id"] != number
        if renumbered:
            self.report.note("MOT class numbers are the labels' positions in labels.txt (1, 2, ...): label ids changed")
        return classes

    def _count_extras(self, shape: dict[str, Any]) -> None:
        extra = set(shape.get("attributes", {})) - _KEPT_ATTRIBUTES
        if extra:
            self.report.lose("attribute", "MOT has no free attributes", len(extra))
        if shape.get("occluded"):
            self.report.lose("attribute", "MOT has no occluded flag (only visibility)")
        for key in ("group", "z_order"):
            if shape.get(key) is not None and shape.get(key) != 0:
                self.report.lose("attribute", f"MOT has no {key}")

    def _frame_size(self, frame: int) -> tuple[int, int] | None:
        """Return the ``(width, height)`` in pixels of a frame: its item's, else the whole video's; None when unknown."""
        item = self.frames.get(frame) or self.video_item
        return (item["width"], item["height"]) if item is not None else None

    def _row(self, frame: int, mot_id: int, shape: dict[str, Any], track_attributes: dict[str, Any], class_id: int) -> str | None:
        """Return the gt.txt row of a box on a frame, clipped to the image; None (counted) when no area is left."""
        attributes = {**track_attributes, **shape.get("attributes", {})}
        bbox = shape["bbox"]
        size = self._frame_size(frame)
        if size is not None:
            bbox = clip_box(bbox, *size, self.report)
            if bbox is None:
                return None
        x, y, w, h = bbox
        if attributes.get("ignored") is True:
            conf = "0"
        elif isinstance(attributes.get("confidence"), int | float) and not isinstance(attributes.get("confidence"), bool):
            conf = _mot_number(attributes["confidence"])
        else:
            conf = "1"
        visibility = attributes.get("visibility", 1)
        visibility = visibility if isinstance(visibility, int | float) and not isinstance(visibility, bool) else 1
        fields = [str(frame + 1), str(mot_id), _mot_number(x, 1), _mot_number(y, 1), _mot_number(w), _mot_number(h), conf, str(class_id)]
        return ",".join([*fields, _mot_number(visibility)])

    def _write_frames(self, frames: dict[int, dict[str, Any]]) -> str:
        """Write the frames' images as ``img1/<frame>.<imExt>``; return imExt, the type of the first image.

        Readers build a frame's path from ``imExt``, so frames of another type are re-encoded
        to it (noted); JPEG flattens an alpha channel onto white.
        """
        ext: str | None = None
        converted = 0
        for frame, data, image_ext in frame_images(frames, self.images, self.report):
            ext = ext or image_ext.lower()
            if _image_type(image_ext) != _image_type(ext):
                data = _reencode(data, ext)
                converted += 1
            self.writer.write_bytes(f"{DEFAULT_IMAGE_DIR}/{frame + 1:06d}{ext}", data)
        if converted:
            self.report.note(f"frames re-encoded as {ext}, the type imExt names (readers build frame paths from it): {converted}")
        return ext or DEFAULT_IMAGE_EXT

    def _write_seqinfo(self, video: str, frames: dict[int, dict[str, Any]], frame_count: int) -> None:
        first = self.video_item or (frames[min(frames)] if frames else None)
        ext = self._write_frames(frames) if self.images is not None else DEFAULT_IMAGE_EXT
        renamed = sum(not _is_frame_path(item, frame, ext) for frame, item in frames.items())
        if renamed:
            self.report.lose("item path", f"MOT names each frame by its number ({DEFAULT_IMAGE_DIR}/000001{ext})", renamed)
        lines = ["[Sequence]", f"name={video}", f"imDir={DEFAULT_IMAGE_DIR}"]
        fps = first.get("fps") if first else None
        if fps:
            lines.append(f"frameRate={_mot_number(fps)}")
        lines.append(f"seqLength={frame_count}")
        if first:
            lines += [f"imWidth={first['width']}", f"imHeight={first['height']}"]
            sizes = {(item["width"], item["height"]) for item in frames.values()}
            if len(sizes) > 1:
                self.report.note(f"frames have different sizes; seqinfo.ini gives {first['width']}x{first['height']}")
        lines.append(f"imExt={ext}")
        self.writer.write_text(SEQINFO_FILE, "\n".join(lines) + "\n")


def _is_frame_path(item: dict[str, Any], frame: int, ext: str) -> bool:
    """Tell whether an import gives the item back its path and name: ``img1/<frame + 1, 6 digits><ext>``."""
    name = f"{frame + 1:06d}{ext}"
    return item["path"] == f"{DEFAULT_IMAGE_DIR}/{name}" and item.get("name", name) == name


def _image_type(ext: str) -> str:
    """Return the image type of a file suffix (``.jpeg`` and ``.jpg`` are one type)."""
    ext = ext.lower()
    return ".jpg" if ext == ".jpeg" else ext


def _reencode(data: bytes, ext: str) -> bytes:
    """Return the image ``data`` encoded as the type of the suffix ``ext`` (JPEG at quality 95, alpha flattened onto white).

    Raises:
        FormatError: Pillow has no writer for ``ext``.
    """
    kind = Image.registered_extensions().get(ext.lower())
    if kind is None:
        raise FormatError(f"cannot write a frame as {ext!r}: no image type has that suffix")
    with Image.open(io.BytesIO(data)) as source:
        if kind == "JPEG":
            rgba = source.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba.getchannel("A"))
        else:
            image = source.copy()
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()
