"""Dataset converters: read and write annotation datasets in other tools' formats.

Pure Python: nothing here imports Flask or the database, so jobs and scripts can convert
datasets without an app. Every format works on the dataset document of
``schemas/annotation/v1.json`` (``$defs/dataset``) and is one module registered by name:

* ``native`` -- the dataset document itself (lossless),
* ``coco`` -- COCO instances JSON,
* ``voc`` -- Pascal VOC detection,

and the other modules of this package; ``list_formats()`` names them all.

Typical use::

    from annotate.converters import export_dataset, import_dataset

    dataset, report = import_dataset("coco", Path("upload/"))
    report = export_dataset("voc", dataset, Path("out/"), images=read_image)
    print("\\n".join(report.lines()))

The exception tree is drawn in :mod:`annotate.converters.errors`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

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
    "get_format",
    "import_dataset",
    "list_formats",
    "register_format",
]


def import_dataset(format_name: str, src: Path, *, strict: bool = False) -> tuple[dict[str, Any], ConversionReport]:
    """Read the dataset at ``src`` in the named format.

    Args:
        format_name: a name from :func:`list_formats`.
        src: the dataset folder (or file, for single-file formats).
        strict: raise instead of dropping anything that cannot be read.

    Returns:
        ``(dataset document, report of what was dropped)``.

    Raises:
        UnknownFormatError: no such format.
        FormatError: ``src`` is not a readable dataset of that format.
        ConversionLossError: ``strict`` and something was dropped.
    """
    report = ConversionReport(strict=strict)
    dataset = get_format(format_name).import_dataset(Path(src), report)
    return dataset, report


def export_dataset(
    format_name: str,
    dataset: dict[str, Any],
    dest: Path,
    *,
    images: ImageSource | None = None,
    strict: bool = False,
) -> ConversionReport:
    """Write ``dataset`` into the folder ``dest`` in the named format.

    Args:
        format_name: a name from :func:`list_formats`.
        dataset: a dataset document.
        dest: the output folder; created when missing.
        images: ``images(item) -> (bytes, ".jpg" | ".png") | None``, already EXIF-oriented
            8-bit images; None writes annotations only.
        strict: raise instead of leaving out anything the format cannot hold.

    Returns:
        The report of what was lost, clipped or dropped.

    Raises:
        UnknownFormatError: no such format.
        schemas.SchemaError: ``dataset`` is not a valid dataset document.
        ConversionLossError: ``strict`` and something would be lost.
    """
    report = ConversionReport(strict=strict)
    get_format(format_name).export_dataset(dataset, Path(dest), images=images, report=report)
    return report
