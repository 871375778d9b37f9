"""ImageNet-style class folders (image classification), both ways.

Spec: torchvision's ``ImageFolder``,
https://pytorch.org/vision/stable/generated/torchvision.datasets.ImageFolder.html -- one
folder per class under the root, the images of that class inside it::

    <class>/<image>           e.g. cat/001.jpg, dog/xyz.png
    <class>/<sub>/<image>     images in subfolders belong to the top-level folder's class

There are no annotation files and no coordinates: the only annotation is the class, given
by the folder. So:

Import. Each image becomes one item with one tag, the name of its top-level folder; the
labels are of kind ``tag`` and numbered 0, 1, ... in sorted folder-name order, which is
torchvision's ``class_to_idx``. The item path is the file's path relative to the root
(``cat/001.jpg``), which keeps the same file name in different folders distinct; the id is
that path. Width and height are read from the image, EXIF-oriented (an orientation of 5-8
swaps them). Image files are those torchvision reads (``.jpg .jpeg .png .ppm .bmp .pgm
.tif .tiff .webp``, any case). Unlike torchvision, hidden files and folders (``.DS_Store``,
``.ipynb_checkpoints``) are skipped, and images directly in the root, which have no class,
are kept as items without a tag (a note counts them). Other files are skipped with a note;
links that lead out of the dataset folder are refused (counted as lost). An image that
cannot be read raises :class:`FormatError` naming the file.

Export needs the images (``images`` callback): without them there is nothing to write, so
it raises :class:`FormatError`. What ImageNet cannot hold is counted in the report (rules
of issue #3: nothing is lost in silence; strict turns any loss into an error):

* an item with no tag cannot be placed in a class folder: it is skipped and counted as a
  lost item; so is an item whose image the callback does not give;
* an item with several tags goes to the folder of its first tag; the others are lost tags;
* every shape is lost (ImageNet holds classification only), and so are tag attributes;
* subset names are lost (all items go into the same class folders);
* a tag label that no written item uses has no folder, so it is a lost label (torchvision
  refuses empty class folders by default).

File names. Every item goes to ``<class>/<file name>``, flat, as Datumaro also reads it
(Datumaro takes nested folders for nested labels); so an item imported from
``cat/x/001.jpg`` comes back as ``cat/001.jpg``. The extension follows the image type
(``.jpg`` or ``.png``). Names that collide (also when they differ only in case) get
``_2``, ``_3``... before the extension, counted in a note. Label names that are not usable
as folder names (``/``, ``\\``, ``:``, a leading dot...) are made safe and the renaming is
noted. Label ids are not part of the layout: an import renumbers them.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from annotate.converters._common import FolderGuard
from annotate.converters._lazy import lazy_module
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import HUMAN, is_safe_relative_path, path_with_extension
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

Image = lazy_module("PIL.Image")

#: torchvision's ``IMG_EXTENSIONS`` for ``ImageFolder``.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
_EXIF_ORIENTATION = 0x0112
_SWAPPED_ORIENTATIONS = {5, 6, 7, 8}
_UNSAFE_CHARS = str.maketrans({char: "_" for char in '/\\:*?"<>|' + "".join(chr(code) for code in range(32))})
_SHAPE_REASON = "ImageNet holds image classes only"


@register_format("imagenet")
class ImagenetFormat(DatasetFormat):
    """ImageNet / torchvision ``ImageFolder`` layout: one folder of images per class."""

    description = "ImageNet class folders (<class>/<image>, torchvision ImageFolder)"
    # Shape groups: it writes no shapes: each is counted lost whole.
    holds_group = True
    holds_z_order = True

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`.

        True when the folder holds nothing but images (hidden files aside) and at least one
        image sits directly in a first-level folder; any annotation file (XML, JSON, TXT...)
        means another format, and a flat folder of images has no classes.
        """
        root = Path(path)
        if not root.is_dir():
            return False
        found_class_image = False
        for folder, dirnames, filenames in os.walk(root):
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            depth = len(Path(folder).relative_to(root).parts)
            for name in filenames:
                if name.startswith("."):
                    continue
                if not name.lower().endswith(IMAGE_SUFFIXES):
                    return False
                found_class_image = found_class_image or depth == 1
        return found_class_image

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        report = report if report is not None else ConversionReport()
        root = Path(src)
        if not root.is_dir():
            raise FormatError(f"{root}: not a folder (ImageNet is a folder of class folders)")
        classes = sorted(entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))
        if not classes:
            raise FormatError(f"{root}: no class folders (ImageNet is <class>/<image>)")
        labels = [{"id": index, "name": name, "kind": "tag"} for index, name in enumerate(classes)]
        items = [_item(root, file, None) for file in _images_in(root, root, recursive=False, report=report)]
        if items:
            report.note(f"{_count(len(items), 'image')} outside any class folder read without a tag")
        for name in classes:
            items.extend(_item(root, file, name) for file in _images_in(root, root / name, recursive=True, report=report))
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
        """See :meth:`DatasetFormat.write`.

        Raises:
            FormatError: ``images`` is None (ImageNet holds nothing but the image files).
        """
        if images is None:
            raise FormatError("ImageNet export requires the images: the format is nothing but image files in class folders")
        folders = _class_folders(dataset["labels"], report)
        subsets = {item["subset"] for item in dataset["items"] if item.get("subset", "default") != "default"}
        if subsets:
            report.lose("subset", "ImageNet class folders have no subsets", len(subsets))
        used_names: set[str] = set()
        used_labels: set[str] = set()
        renamed = 0
        for item in dataset["items"]:
            label = _class_of(item, report)
            if label is None:
                continue
            image = images(item)
            if image is None:
                report.lose("item", "its image was not given, and ImageNet holds nothing but images")
                continue
            data, ext = image
            folder = folders[label]
            wanted = _target_path(item["path"], folder, ext)
            target = _unique_path(wanted, used_names)
            renamed += target != wanted
            writer.write_bytes(target, data)
            used_labels.add(label)
        if renamed:
            report.note(f"{_count(renamed, 'file name')} given a suffix to stay distinct in the class folder")
        unused = [label for label in dataset["labels"] if label["kind"] == "tag" and label["name"] not in used_labels]
        if unused:
            report.lose("label", "ImageNet keeps a class only as a folder of its images, and no image has it", len(unused))

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        root = Path(src)
        if not is_safe_relative_path(item["path"]):
            return None
        candidate = root / item["path"]
        return candidate if candidate.is_file() else None


# -- import ---------------------------------------------------------------------------


def _images_in(root: Path, folder: Path, *, recursive: bool, report: ConversionReport) -> list[Path]:
    """Return the image files under ``folder`` in sorted path order, hidden entries skipped."""
    guard = FolderGuard(root)
    found: list[Path] = []
    skipped = 0
    for current, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith(".")) if recursive else []
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            file = Path(current) / name
            if not name.lower().endswith(IMAGE_SUFFIXES):
                skipped += 1
                continue
            if not guard.contains(file):
                report.lose("image", "it links to a file outside the dataset folder")
                continue
            found.append(file)
    if skipped:
        where = folder.relative_to(root).as_posix() if folder != root else "the root folder"
        report.note(f"{_count(skipped, 'file')} in {where} skipped: not images")
    return found


def _item(root: Path, file: Path, label: str | None) -> dict[str, Any]:
    path = file.relative_to(root).as_posix()
    width, height = image_size(file)
    tags = [{"id": "1", "label": label, "source": dict(HUMAN)}] if label is not None else []
    return {
        "id": path,
        "name": file.name,
        "path": path,
        "media": "image",
        "width": width,
        "height": height,
        "annotation": {"version": 1, "tags": tags, "shapes": []},
    }


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def image_size(file: Path) -> tuple[int, int]:
    """Return the size of an image as it is displayed, with its EXIF orientation applied.

    Args:
        file: the image file.

    Returns:
        ``(width, height)`` in pixels; swapped when the EXIF orientation is 5 to 8 (a
        rotation by 90 or 270 degrees).

    Raises:
        FormatError: the file is not an image Pillow can read.
    """
    try:
        with Image.open(file) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION)
    except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
        raise FormatError(f"{file}: not a readable image: {exc}") from exc
    if orientation in _SWAPPED_ORIENTATIONS:
        width, height = height, width
    return width, height


# -- export ---------------------------------------------------------------------------


def _class_folders(labels: list[dict[str, Any]], report: ConversionReport) -> dict[str, str]:
    """Map every label name to a distinct folder name that is safe on common file systems."""
    folders: dict[str, str] = {}
    taken: set[str] = set()
    for label in labels:
        name = label["name"]
        safe = name.translate(_UNSAFE_CHARS).strip(" ")
        if not safe or safe.startswith("."):
            safe = "_" + safe
        candidate, number = safe, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{safe}_{number}"
        taken.add(candidate.casefold())
        folders[name] = candidate
        if candidate != name:
            report.note(f"label {name!r} is written as the folder {candidate!r}")
    return folders


def _class_of(item: dict[str, Any], report: ConversionReport) -> str | None:
    """Return the label of the item's first tag, counting what else the item loses."""
    annotation = item["annotation"]
    shape_counts: dict[str, int] = {}
    for shape in annotation["shapes"]:
        shape_counts[shape["type"]] = shape_counts.get(shape["type"], 0) + 1
    for kind, count in sorted(shape_counts.items()):
        report.lose(kind, _SHAPE_REASON, count)
    tags = annotation["tags"]
    if not tags:
        report.lose("item", "ImageNet cannot hold an image without a class tag")
        return None
    if len(tags) > 1:
        report.lose("tag", "ImageNet holds one class per image (the first tag is kept)", len(tags) - 1)
    attributes = len(tags[0].get("attributes", {}))
    if attributes:
        report.lose("attribute", "ImageNet tags have no attributes", attributes)
    return tags[0]["label"]


def _target_path(item_path: str, folder: str, ext: str) -> str:
    """Return ``<folder>/<file name>`` for an item, with the extension of its image type."""
    return path_with_extension(f"{folder}/{PurePosixPath(item_path).name}", ext)


def _unique_path(path: str, used: set[str]) -> str:
    """Return ``path`` or ``stem_2.ext``... not yet in ``used`` (compared case-insensitively)."""
    pure = PurePosixPath(path)
    candidate, number = path, 1
    while candidate.casefold() in used:
        number += 1
        candidate = str(pure.with_name(f"{pure.stem}_{number}{pure.suffix}"))
    used.add(candidate.casefold())
    return candidate
