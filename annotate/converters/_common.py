"""Private helpers shared by the Label Studio, VIA and LabelMe formats.

Label lists (declared, then used; ids 1, 2, ...) and what a format loses of them, image
sizes read from files, whole-image COCO RLE masks, empty items and image writing. Nothing
here is a format; the module name starts with ``_`` so the package does not register it.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.geometry import clip_bbox, path_with_extension
from annotate.converters.registry import ImageSource
from annotate.converters.report import ConversionReport

np = lazy_module("numpy")
Image = lazy_module("PIL.Image")
ImageOps = lazy_module("PIL.ImageOps")
mask_utils = lazy_module("pycocotools.mask")

# EXIF orientations 5..8 turn the image a quarter: width and height swap.
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}
#: Image modes a PNG holds as they are.
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA"}
#: The shape flags of the schema; these formats write the set ones as boolean attributes or lose them.
SHAPE_FLAGS = ("occluded", "truncated", "difficult", "iscrowd")


class LabelSet:
    """Labels read from a format without label ids: the declared list first, then the rest; ids 1, 2, ...

    A format that keeps a label list (Label Studio's labeling config, VIA's attribute
    options, labelme's ``labels.txt``) *declares* it, unused labels included; every label
    a shape or tag uses is *used*. :meth:`as_list` gives the declared labels in their order,
    then the labels used but not declared in order of first use.
    """

    def __init__(self) -> None:
        self.labels: dict[str, dict[str, Any]] = {}
        self.declared: dict[str, dict[str, Any]] = {}

    def use(self, name: str, kind: str = "shape") -> str:
        """Record a use of ``name`` and return it.

        Args:
            name: the label name, non-empty.
            kind: ``"shape"`` or ``"tag"``; the first use decides, unless the label was
                declared with a kind.

        Returns:
            ``name``.
        """
        if name not in self.labels:
            self.labels[name] = {"name": name, "kind": kind}
        return name

    def declare(self, name: str, kind: str | None = None, color: str | None = None) -> None:
        """Add ``name`` to the declared list (once), used or not.

        Args:
            name: the label name, non-empty.
            kind: ``"shape"`` or ``"tag"``; None leaves it to the first use (``"shape"``
                when the label is never used).
            color: ``#rrggbb``, or None.
        """
        if name not in self.declared:
            self.declared[name] = {"name": name, "kind": kind, "color": color}

    def as_list(self) -> list[dict[str, Any]]:
        """Return the labels: the declared ones in order, then the others in order of first use.

        Returns:
            Label dicts of the dataset document, with ids 1, 2, ... in that order.
        """
        labels = []
        for name, declared in self.declared.items():
            label = {"name": name, "kind": declared["kind"] or self.labels.get(name, {}).get("kind", "shape")}
            if declared["color"]:
                label["color"] = declared["color"]
            labels.append(label)
        labels += [label for name, label in self.labels.items() if name not in self.declared]
        return [{"id": number, **label} for number, label in enumerate(labels, start=1)]


def labels_apart(labels: list[dict[str, Any]], report: ConversionReport, reason: str) -> tuple[list[dict[str, Any]], bool]:
    """Order labels for a format that lists shape labels and tag labels apart.

    Whichever list keeps more labels in place goes first (shape labels on a tie); the labels
    that still land elsewhere are counted as ``label position``.

    Args:
        labels: the dataset's labels.
        report: counts the labels out of place.
        reason: why, in the user's words.

    Returns:
        ``(the labels in the order an import gives them, whether the tag labels come first)``.
    """
    shapes = [label for label in labels if label["kind"] == "shape"]
    tags = [label for label in labels if label["kind"] == "tag"]
    orders = (shapes + tags, tags + shapes)
    out_of_place = [sum(a is not b for a, b in zip(labels, order, strict=True)) for order in orders]
    chosen = 1 if out_of_place[1] < out_of_place[0] else 0
    if out_of_place[chosen]:
        report.lose("label position", reason, out_of_place[chosen])
    return list(orders[chosen]), bool(chosen)


def report_label_list(
    labels: list[dict[str, Any]],
    order: list[str] | None,
    report: ConversionReport,
    format_name: str,
    *,
    numbered_by: str = "",
    colors_of: tuple[str, ...] = ("shape", "tag"),
    color_reason: str | None = None,
    holds: tuple[str, ...] = ("tag",),
) -> None:
    """Count what a format without label ids loses of the labels themselves; note changed ids.

    Args:
        labels: the dataset's labels.
        order: the label names in the order an import gives them (ids 1, 2, ...); None
            when the format numbers its labels otherwise and notes changed ids itself.
        report: the export's report.
        format_name: the format's display name, such as ``"VIA"``.
        numbered_by: what the import numbers the labels by, such as ``"config order"``.
        colors_of: the label kinds whose colors the format cannot hold.
        color_reason: why they are lost; ``"<format> has no label colors"`` by default.
        holds: what the format keeps of a label besides its name: ``"tag"`` (tag labels;
            without it each tag label is counted as a lost ``label``, and nothing else of
            it), ``"attributes"`` (attribute specs), ``"parent"``, ``"keypoints"`` (node
            names and skeleton edges; counted per label otherwise). A format that keeps
            part of a field counts the rest itself and names the field here.
    """
    if order is not None:
        note_label_ids(labels, order, report, format_name, numbered_by=numbered_by)
    if "tag" not in holds:
        tags = sum(1 for label in labels if label["kind"] == "tag")
        if tags:
            report.lose("label", f"{format_name} has no tag labels", tags)
        labels = [label for label in labels if label["kind"] != "tag"]
    colors = sum(1 for label in labels if label["kind"] in colors_of and label.get("color"))
    if colors:
        report.lose("label color", color_reason or f"{format_name} has no label colors", colors)
    specs = sum(len(label.get("attributes", [])) for label in labels) if "attributes" not in holds else 0
    if specs:
        report.lose("label attribute", f"{format_name} declares no attributes per label", specs)
    parents = sum(1 for label in labels if label.get("parent")) if "parent" not in holds else 0
    if parents:
        report.lose("label parent", f"{format_name} labels have no parent", parents)
    skeletons = sum(1 for label in labels if label.get("keypoints") or label.get("skeleton")) if "keypoints" not in holds else 0
    if skeletons:
        report.lose("label skeleton", f"{format_name} has no keypoint skeletons", skeletons)


def note_label_ids(
    labels: list[dict[str, Any]], order: list[str], report: ConversionReport, format_name: str, *, numbered_by: str, start: int = 1
) -> None:
    """Note how many label ids an import gives differently, for a format without label ids.

    Args:
        labels: the dataset's labels.
        order: the label names in the order an import numbers them.
        report: the export's report.
        format_name: the format's display name, such as ``"VOC"``.
        numbered_by: what the import numbers the labels by, such as ``"labelmap.txt order"``.
        start: the id an import gives the first label (0 or 1).
    """
    ids = {label["name"]: label["id"] for label in labels}
    changed = sum(ids[name] != number for number, name in enumerate(order, start=start) if name in ids)
    if changed:
        report.note(
            f"{format_name} has no label ids: an import numbers the labels {start}, {start + 1}, ... in {numbered_by}, "
            f"so {plural(changed, 'label id')} {'changes' if changed == 1 else 'change'}"
        )


def plural(count: int, noun: str) -> str:
    """``"1 label"``, ``"2 labels"``.

    Args:
        count: how many.
        noun: the singular noun.

    Returns:
        The count and the noun.
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class FolderGuard:
    """Tells whether files found in a dataset folder really lie inside it, symlinks followed.

    A name such as ``obj_train_data/link/a.jpg`` is a safe relative path, yet ``link`` may be
    a symlink to a folder elsewhere; reading through it would import (and copy) files from
    outside the dataset. Each folder is resolved once, so a check costs one ``lstat`` of the
    file itself.
    """

    def __init__(self, root: Path) -> None:
        """Guard ``root`` (resolved once, symlinks followed)."""
        self.root = os.path.realpath(root)
        self._folders: dict[str, bool] = {}

    def contains(self, path: Path) -> bool:
        """Tell whether ``path`` resolves to a place inside the guarded folder.

        Args:
            path: a file or folder path (it need not exist).

        Returns:
            False when the path, or a symlink on the way, leads outside the folder.
        """
        if os.path.islink(path):
            return self._inside(os.path.realpath(path))
        folder = os.path.dirname(path)
        inside = self._folders.get(folder)
        if inside is None:
            inside = self._folders[folder] = self._inside(os.path.realpath(folder))
        return inside

    def _inside(self, resolved: str) -> bool:
        return resolved == self.root or resolved.startswith(self.root.rstrip(os.sep) + os.sep)


def new_item(item_id: str, path: str, width: int, height: int, subset: str | None = None) -> dict[str, Any]:
    """Return an item with an empty annotation.

    Args:
        item_id: unique in the dataset.
        path: a safe relative POSIX path.
        width: image width in pixels.
        height: image height in pixels.
        subset: the subset name, or None for none.

    Returns:
        The item dict of the dataset document.
    """
    item: dict[str, Any] = {
        "id": item_id,
        "name": PurePosixPath(path).name,
        "path": path,
        "media": "image",
        "width": width,
        "height": height,
    }
    if subset:
        item["subset"] = subset
    item["annotation"] = {"version": 1, "tags": [], "shapes": []}
    return item


def image_size(path: Path) -> tuple[int, int] | None:
    """Return the ``(width, height)`` of an image file after EXIF orientation.

    Args:
        path: the image file.

    Returns:
        The size in pixels, or None when the file is missing or not an image.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION)
    except (OSError, ValueError):  # PIL.UnidentifiedImageError is an OSError
        return None
    return (height, width) if orientation in _QUARTER_TURNS else (width, height)


def image_bytes_size(data: bytes) -> tuple[tuple[int, int], str] | None:
    """Return the size after EXIF orientation and the extension of an image held in memory.

    Args:
        data: the encoded image.

    Returns:
        ``((width, height), ".jpg" | ".png" | ...)``, or None when it is not an image.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION)
            kind = (image.format or "").lower()
    except (OSError, ValueError):  # PIL.UnidentifiedImageError is an OSError
        return None
    ext = {"jpeg": ".jpg", "mpo": ".jpg"}.get(kind, f".{kind}" if kind else ".jpg")
    return ((height, width) if orientation in _QUARTER_TURNS else (width, height)), ext


def exif_turned(data: bytes) -> bool:
    """Tell whether an image's EXIF orientation turns or mirrors it (a tag other than 1).

    Args:
        data: the encoded image.

    Returns:
        True when the tag is present and not 1; False otherwise, and for bytes that are not
        a readable image (those are copied as they are).
    """
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return opened.getexif().get(_EXIF_ORIENTATION, 1) != 1
    except (OSError, ValueError):
        return False


def with_orientation_applied(data: bytes, source: str | os.PathLike[str]) -> bytes:
    """Re-encode a JPEG or PNG in its own format with its EXIF orientation applied and the tag removed.

    Readers that ignore the tag (Pillow's ``Image.open``, so torchvision) would otherwise load
    pixels the annotations, whose coordinates are those of the image as shown, do not fit.
    JPEGs are written at quality 95; an MPO (a JPEG with extra frames) as a plain JPEG.

    Args:
        data: the encoded JPEG or PNG.
        source: the image's file or name, for the error message.

    Returns:
        The re-encoded image.

    Raises:
        FormatError: the bytes are not a readable image.
    """
    from annotate.converters.errors import FormatError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            kind = opened.format
            icc_profile = opened.info.get("icc_profile")
            image = ImageOps.exif_transpose(opened)  # also drops the orientation tag from its EXIF
            buffer = io.BytesIO()
            options = {"quality": 95} if kind in ("JPEG", "MPO") else {}
            image.save(buffer, format="JPEG" if kind == "MPO" else kind, exif=image.getexif(), icc_profile=icc_profile, **options)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{source}: not a readable image: {exc}") from exc
    return buffer.getvalue()


def as_png(data: bytes, source: str | os.PathLike[str]) -> bytes:
    """Re-encode an image (BMP, TIFF, WebP...) as PNG with its EXIF orientation applied.

    8-bit modes PNG holds are kept; other modes become RGB, or RGBA when the image has alpha.

    Args:
        data: the encoded image.
        source: the image's file or name, for the error message.

    Returns:
        The PNG's bytes.

    Raises:
        FormatError: the bytes are not a readable image.
    """
    from annotate.converters.errors import FormatError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            if image.mode not in _PNG_MODES:
                has_alpha = "A" in image.getbands() or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
    except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
        raise FormatError(f"{source}: not a readable image: {exc}") from exc
    return buffer.getvalue()


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """Encode a whole-image binary mask as compressed COCO RLE.

    Args:
        mask: ``(height, width)`` array; nonzero is set.

    Returns:
        ``{"size": [height, width], "counts": str}``.
    """
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(value) for value in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_mask(rle: dict[str, Any]) -> np.ndarray:
    """Decode COCO RLE (compressed string or run list) into a ``(height, width)`` uint8 array.

    Args:
        rle: ``{"size": [height, width], "counts": str | list[int]}``.

    Returns:
        The mask, 1 where set.
    """
    height, width = (int(value) for value in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        c_rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    else:
        c_rle = {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    with warnings.catch_warnings():
        # pycocotools 2.0.x trips numpy 2's copy-keyword DeprecationWarning inside decode.
        warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
        return np.asarray(mask_utils.decode(c_rle), dtype=np.uint8)


def write_image(
    writer: DatasetWriter, item: dict[str, Any], images: ImageSource | None, report: ConversionReport, *, under: str = ""
) -> str:
    """Write the item's image at its path (extension fixed to the data's type).

    Args:
        writer: the export's destination.
        item: the item.
        images: the image callback of the export; None writes nothing.
        report: notes a missing image.
        under: a folder (relative POSIX path) the item path is relative to; ``""`` for the
            top of the export.

    Returns:
        The path the image was written to, relative to ``under`` (the item path when there
        is no image); ``<stem>_2<ext>``... when another image took the name.

    Raises:
        ValueError: the item path is not a safe relative path.
    """
    if images is None:
        return item["path"]
    image = images(item)
    if image is None:
        report.note(f"no image for item {item['id']!r}; annotations only")
        return item["path"]
    data, ext = image
    path = free_path(writer, path_with_extension(item["path"], ext), item, report, under=under)
    writer.write_bytes(f"{under}/{path}" if under else path, data)
    return path


def clip_box(bbox: list[float], width: int, height: int, report: ConversionReport) -> list[float] | None:
    """Cut a box to the image (:func:`geometry.clip_bbox`), counting it as clipped or as dropped for no area.

    Args:
        bbox: ``[x, y, w, h]``.
        width: image width in pixels.
        height: image height in pixels.
        report: counts a clipped ``bbox``, or one with no area left.

    Returns:
        The box inside the image, or None when no area is left.
    """
    box, clipped = clip_bbox(bbox, width, height)
    if box is None:
        report.drop_empty("bbox")
    elif clipped:
        report.clip("bbox")
    return box


def frame_images(frames: dict[int, dict[str, Any]], images: ImageSource, report: ConversionReport) -> Iterator[tuple[int, bytes, str]]:
    """Yield the image of each video frame item, in frame order; note the frames without one.

    Args:
        frames: frame number -> its item.
        images: the image callback of the export.
        report: notes an item without an image.

    Yields:
        ``(frame, data, ext)`` for every frame whose image the callback gives.
    """
    for frame, item in sorted(frames.items()):
        image = images(item)
        if image is None:
            report.note(f"no image for item {item['id']!r}; annotations only")
            continue
        yield frame, *image


def free_path(writer: DatasetWriter, wanted: str, item: dict[str, Any], report: ConversionReport, *, under: str = "") -> str:
    """Return ``wanted``, or ``<stem>_2<ext>``... when the writer already holds that path.

    Another item's image may have taken the name (``a.png`` and ``a.jpg`` both given as
    JPEG): a folder would overwrite it and a zip cannot hold both, so this one gets a
    suffix and the report a note.

    Args:
        writer: the export's destination.
        wanted: the preferred path, relative to ``under``.
        item: the item whose file it is (named in the note).
        report: notes a renamed file.
        under: the folder ``wanted`` is relative to; ``""`` for the top of the export.

    Returns:
        A path relative to ``under`` that the writer does not hold yet.
    """
    path, number, pure = wanted, 1, PurePosixPath(wanted)
    while writer.exists(f"{under}/{path}" if under else path):
        number += 1
        path = str(pure.with_name(f"{pure.stem}_{number}{pure.suffix}"))
    if path != wanted:
        report.note(f"image of item {item['id']!r} written as {path!r}: {wanted!r} is taken")
    return path
