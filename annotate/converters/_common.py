"""Private helpers shared by the Label Studio, VIA and LabelMe formats.

Labels numbered in order of first use, image sizes read from files, whole-image COCO RLE
masks, empty items and image writing. Nothing here is a format; the module name starts
with ``_`` so the package does not register it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.geometry import path_with_extension
from annotate.converters.registry import ImageSource
from annotate.converters.report import ConversionReport

np = lazy_module("numpy")
Image = lazy_module("PIL.Image")
mask_utils = lazy_module("pycocotools.mask")

# EXIF orientations 5..8 turn the image a quarter: width and height swap.
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}


class LabelSet:
    """Labels collected while reading a format without label ids: ids 1, 2, ... in order of first use."""

    def __init__(self) -> None:
        self.labels: dict[str, dict[str, Any]] = {}

    def use(self, name: str, kind: str = "shape") -> str:
        """Declare ``name`` (once) and return it.

        Args:
            name: the label name, non-empty.
            kind: ``"shape"`` or ``"tag"``; the first use decides.

        Returns:
            ``name``.
        """
        if name not in self.labels:
            self.labels[name] = {"id": len(self.labels) + 1, "name": name, "kind": kind}
        return name

    def as_list(self) -> list[dict[str, Any]]:
        """Return the labels in order of first use.

        Returns:
            Label dicts of the dataset document.
        """
        return list(self.labels.values())


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
