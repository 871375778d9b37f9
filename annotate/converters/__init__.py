"""Dataset converters: read and write annotation datasets in other tools' formats.

Pure Python: nothing here imports Flask or the database, so jobs and scripts can convert
datasets without an app. Every format works on the dataset document of
``schemas/annotation/v1.json`` (``$defs/dataset``) and is one module registered by name:

* ``native`` -- the dataset document itself (lossless),
* ``coco`` -- COCO instances JSON,
* ``voc`` -- Pascal VOC detection,

and the other modules of this package; ``list_formats()`` names them all.

Typical use::

    from annotate.converters import export_dataset, export_to_zip, import_dataset

    dataset, report = import_dataset("coco", Path("upload/"))
    report = export_dataset("voc", dataset, Path("out/"), images=read_image, checked=True)
    print("\\n".join(report.lines()))
    report = export_to_zip("voc", dataset, Path("out.zip"), images=read_image)  # no folder in between

The exception tree is drawn in :mod:`annotate.converters.errors`.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from annotate.converters._gc import gc_paused
from annotate.converters._output import ZipWriter
from annotate.converters._shape_fields import format_title, report_unheld_shape_fields
from annotate.converters._tracks import tracks_as_frame_shapes
from annotate.converters.errors import (
    ConversionError,
    ConversionLossError,
    FormatError,
    UnknownFormatError,
)
from annotate.converters.registry import (
    DatasetFormat,
    ImageSource,
    detect_format,
    get_format,
    list_formats,
    register_format,
)
from annotate.converters.report import ConversionReport

#: Modules of this package that are not formats. Every other public module is a format
#: module and is imported here, which registers it; helpers shared by formats start with "_".
_SUPPORT_MODULES = {"errors", "geometry", "registry", "report"}
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name not in _SUPPORT_MODULES:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "ConversionError",
    "ConversionLossError",
    "ConversionReport",
    "DatasetFormat",
    "FormatError",
    "ImageSource",
    "UnknownFormatError",
    "detect_format",
    "export_dataset",
    "export_to_zip",
    "get_format",
    "import_dataset",
    "list_formats",
    "register_format",
]


def import_dataset(format_name: str, src: Path, *, strict: bool = False, **options: Any) -> tuple[dict[str, Any], ConversionReport]:
    """Read the dataset at ``src`` in the named format.

    Args:
        format_name: a name from :func:`list_formats`.
        src: the dataset folder (or file, for single-file formats).
        strict: raise instead of dropping anything that cannot be read.
        options: format-specific settings, such as MOT's ``width``, ``height`` and ``fps``.

    Returns:
        ``(dataset document, report of what was dropped)``.

    Raises:
        UnknownFormatError: no such format.
        FormatError: ``src`` does not exist, or is not a readable dataset of that format.
        ConversionLossError: ``strict`` and something was dropped.
    """
    fmt = get_format(format_name)
    src = Path(src)
    if not src.exists():
        raise FormatError(f"{src}: no such file or folder")
    report = ConversionReport(strict=strict)
    with gc_paused():
        dataset = fmt.import_dataset(src, report, **options)
    return dataset, report


def export_dataset(
    format_name: str,
    dataset: dict[str, Any],
    dest: Path,
    *,
    images: ImageSource | None = None,
    strict: bool = False,
    overwrite: bool = False,
    checked: bool = False,
    **options: Any,
) -> ConversionReport:
    """Write ``dataset`` into the folder ``dest`` in the named format, all or nothing.

    The format writes into a new hidden folder next to ``dest`` (``.<name>.<random>.tmp``,
    on the same file system), which is renamed to ``dest`` only when the whole export
    succeeded. When anything fails (an invalid dataset, a strict loss, an error from
    ``images``, a full disk, Ctrl-C), the temporary folder is removed and ``dest`` is left
    as it was; parent folders created for ``dest`` are removed again.

    Args:
        format_name: a name from :func:`list_formats`.
        dataset: a dataset document.
        dest: the output folder. It may be missing (it is created, with its parents) or an
            empty folder; a non-empty folder is replaced only with ``overwrite``.
        images: ``images(item) -> (bytes, ".jpg" | ".png") | None``, already EXIF-oriented
            8-bit images; None writes annotations only.
        strict: raise instead of leaving out anything the format cannot hold.
        overwrite: replace a non-empty ``dest`` folder (its old content is deleted once the
            new one is in place).
        checked: ``dataset`` is a document that :func:`import_dataset` returned and that has
            not been changed since, so it is valid already and is not checked again (the
            check costs as much as the rest of a box export). Pass it only for such a
            document: an invalid one may then fail with another error than
            ``schemas.SchemaError``, or be written wrongly.
        options: the format's own export settings, such as VIA's ``layout="csv"``.

    Returns:
        The report of what was lost, clipped or dropped.

    Raises:
        UnknownFormatError: no such format.
        FileExistsError: ``dest`` is a non-empty folder and ``overwrite`` is False, or
            ``dest`` exists and is not a folder.
        schemas.SchemaError: ``dataset`` is not a valid dataset document.
        ConversionLossError: ``strict`` and something would be lost.
        FormatError: the format cannot write this dataset (for example, it needs images).
    """
    fmt = get_format(format_name)
    dest = Path(dest)
    _check_destination(dest, overwrite=overwrite)
    with _staged(dest, "tmp") as staging:
        report = ConversionReport(strict=strict)
        if not fmt.holds_tracks:
            dataset = tracks_as_frame_shapes(dataset, report, format_title(fmt.name), checked=checked)
        report_unheld_shape_fields(dataset, report, fmt)  # after the tracks became shapes
        with gc_paused():
            fmt.export_dataset(dataset, staging, images=images, report=report, checked=checked, **options)
        _move_into_place(staging, dest)
    return report


def export_to_zip(
    format_name: str,
    dataset: dict[str, Any],
    zip_path: Path,
    *,
    images: ImageSource | None = None,
    strict: bool = False,
    overwrite: bool = False,
    checked: bool = False,
) -> ConversionReport:
    """Write ``dataset`` in the named format straight into the zip file ``zip_path``, all or nothing.

    The format's files go into a new zip at a hidden temporary name next to ``zip_path``
    (``.<name>.<random>.tmp``, on the same file system), with no folder of small files in
    between; the zip is renamed to ``zip_path`` only when the whole export succeeded. When
    anything fails (an invalid dataset, a strict loss, an error from ``images``, a full
    disk, Ctrl-C), the temporary file is removed and ``zip_path`` is left as it was;
    parent folders created for it are removed again. Images (``.jpg``, ``.png``) are
    stored in the zip as they are, everything else is deflated; the archive holds the
    same paths and bytes as :func:`export_dataset` writes into a folder.

    Args:
        format_name: a name from :func:`list_formats`.
        dataset: a dataset document.
        zip_path: the zip file to create; missing parent folders are created.
        images: ``images(item) -> (bytes, ".jpg" | ".png") | None``, already EXIF-oriented
            8-bit images; None writes annotations only.
        strict: raise instead of leaving out anything the format cannot hold.
        overwrite: replace an existing file at ``zip_path``.
        checked: ``dataset`` is a document that :func:`import_dataset` returned and that has
            not been changed since, so it is valid already and is not checked again (the
            check costs as much as the rest of a box export). Pass it only for such a
            document: an invalid one may then fail with another error than
            ``schemas.SchemaError``, or be written wrongly.

    Returns:
        The report of what was lost, clipped or dropped.

    Raises:
        UnknownFormatError: no such format.
        FileExistsError: ``zip_path`` exists and ``overwrite`` is False, or it is a folder
            or a symbolic link.
        schemas.SchemaError: ``dataset`` is not a valid dataset document.
        ConversionLossError: ``strict`` and something would be lost.
        FormatError: the format cannot write this dataset (for example, it needs images).
    """
    fmt = get_format(format_name)
    zip_path = Path(zip_path)
    if zip_path.is_symlink() or zip_path.is_dir():
        raise FileExistsError(f"{zip_path}: exists and is not a file; refusing to replace it")
    if zip_path.exists() and not overwrite:
        raise FileExistsError(f"{zip_path}: the file exists; refusing to replace it")
    with _staged(zip_path, "tmp", folder=False) as staging:
        report = ConversionReport(strict=strict)
        if not fmt.holds_tracks:
            dataset = tracks_as_frame_shapes(dataset, report, format_title(fmt.name), checked=checked)
        report_unheld_shape_fields(dataset, report, fmt)  # after the tracks became shapes
        with zipfile.ZipFile(staging, "w", allowZip64=True) as archive, gc_paused():
            fmt.export_dataset(dataset, ZipWriter(archive), images=images, report=report, checked=checked)
        os.replace(staging, zip_path)
    return report


def _check_destination(dest: Path, *, overwrite: bool) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise FileExistsError(f"{dest}: exists and is not a folder; refusing to replace it")
    if dest.is_dir() and any(dest.iterdir()) and not overwrite:
        raise FileExistsError(f"{dest}: the folder exists and is not empty; refusing to replace it")


@contextmanager
def _staged(dest: Path, kind: str, *, folder: bool = True) -> Iterator[Path]:
    """Yield a new hidden folder (or file) next to ``dest``, creating ``dest``'s missing parents.

    The body writes into it and moves it into place. When the body fails (any exception,
    Ctrl-C included), the staged folder or file is removed, and so are the parent folders
    created here, so a failed export leaves nothing behind.
    """
    created = [parent for parent in (dest.parent, *dest.parent.parents) if not parent.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = _new_sibling(dest, kind) if folder else _new_sibling_file(dest, kind)
    try:
        yield staging
    except BaseException:
        if folder:
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.unlink(missing_ok=True)
        for parent in created:  # deepest first
            try:
                parent.rmdir()
            except OSError:
                break
        raise


def _new_sibling(dest: Path, kind: str) -> Path:
    """Create and return an empty hidden folder next to ``dest`` (same file system)."""
    while True:
        candidate = dest.parent / f".{dest.name}.{os.urandom(4).hex()}.{kind}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate


def _new_sibling_file(dest: Path, kind: str) -> Path:
    """Create and return an empty hidden file next to ``dest`` (same file system)."""
    while True:
        candidate = dest.parent / f".{dest.name}.{os.urandom(4).hex()}.{kind}"
        try:
            candidate.open("xb").close()
        except FileExistsError:
            continue
        return candidate


def _move_into_place(staging: Path, dest: Path) -> None:
    """Rename ``staging`` to ``dest``; an existing ``dest`` is set aside first, then deleted."""
    if not dest.exists():
        staging.rename(dest)
        return
    old = _new_sibling(dest, "old")
    old.rmdir()
    dest.rename(old)
    try:
        staging.rename(dest)
    except BaseException:
        old.rename(dest)
        raise
    shutil.rmtree(old, ignore_errors=True)
