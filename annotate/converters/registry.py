"""The registry of dataset formats, shaped like CVAT's and Datumaro's.

Each format is one module with one class, put into the registry with
:func:`register_format`::

    @register_format("coco")
    class CocoFormat(DatasetFormat):
        description = "COCO instances JSON"
        ...

:func:`get_format` returns a fresh instance by name and raises
:class:`UnknownFormatError` listing the known names; registering a name twice raises
``ValueError``. There is no ``if format == ...`` chain anywhere: callers look formats up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from annotate.converters._output import DatasetWriter, as_writer
from annotate.converters.errors import UnknownFormatError
from annotate.converters.report import ConversionReport
from schemas import validate_dataset

ImageSource = Callable[[dict[str, Any]], "tuple[bytes, str] | None"]
"""``images(item) -> (data, ext) | None``: the item's image, already EXIF-oriented and
8-bit, with its extension (``".jpg"`` or ``".png"``); None when there is none."""

_FORMATS: dict[str, type[DatasetFormat]] = {}

F = TypeVar("F", bound="type[DatasetFormat]")


class DatasetFormat:
    """One dataset format that can be detected, imported and exported.

    Subclasses set ``description`` and implement the four methods; ``name`` is set by
    :func:`register_format`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Whether the format stores video object tracks; for the others,
    #: :func:`annotate.converters.export_dataset` writes each track as shapes on its frame items.
    holds_tracks: ClassVar[bool] = False
    #: Whether the format writes shape ``group`` / ``z_order``, or accounts itself for what
    #: it cannot keep of them; for the others, shapes carrying one are counted as lost.
    holds_group: ClassVar[bool] = False
    #: True, or the shape types whose ``z_order`` the format keeps (the others are counted).
    holds_z_order: ClassVar[bool | frozenset[str]] = False
    #: Whether the format writes a shape's or tag's model/consensus ``source``; for the
    #: others, each one that is not a person's is counted as lost.
    holds_source: ClassVar[bool] = False

    def detect(self, path: Path) -> bool:
        """Tell whether ``path`` looks like a dataset of this format.

        Args:
            path: a folder, or a file for single-file formats.

        Returns:
            True when :meth:`import_dataset` would likely succeed.
        """
        raise NotImplementedError

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """Read a dataset of this format.

        Args:
            src: the dataset folder (or file).
            report: collects what could not be read; a lenient one when None.

        Returns:
            A dataset document that passes :func:`schemas.validate_dataset`.

        Raises:
            FormatError: ``src`` is not a readable dataset of this format.
            ConversionLossError: ``report`` is strict and something was dropped.
        """
        raise NotImplementedError

    def export_dataset(
        self,
        dataset: dict[str, Any],
        dest: Path | DatasetWriter,
        *,
        images: ImageSource | None = None,
        report: ConversionReport | None = None,
        checked: bool = False,
        **options: Any,
    ) -> None:
        """Check ``dataset`` and write it into ``dest`` in this format (see :meth:`write`).

        Args:
            dataset: a dataset document.
            dest: the output folder (created when missing), or a
                :class:`~annotate.converters._output.DatasetWriter` such as a zip.
            images: gives each item's image bytes; None writes annotations only.
            report: collects what the format cannot hold; a lenient one when None.
            checked: ``dataset`` came from :meth:`import_dataset` unchanged, so it is not
                checked again (see :func:`annotate.converters.export_dataset`).
            options: format-specific settings, such as Ultralytics' ``task``.

        Raises:
            schemas.SchemaError: ``dataset`` is not a valid dataset document.
            ConversionLossError: ``report`` is strict and something would be lost.
        """
        report = report if report is not None else ConversionReport()
        if not checked:
            validate_dataset(dataset)
        self.write(dataset, as_writer(dest), images=images, report=report, **options)

    def write(self, dataset: dict[str, Any], writer: DatasetWriter, *, images: ImageSource | None, report: ConversionReport) -> None:
        """Write a valid ``dataset`` through ``writer``; every format implements this.

        Args:
            dataset: a dataset document that already passed :func:`schemas.validate_dataset`.
            writer: where the files go; formats write nothing anywhere else.
            images: as for :meth:`export_dataset`.
            report: the report to count losses in.
        """
        raise NotImplementedError

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """Find the image file of an item this format's importer returned.

        Args:
            src: the folder given to :meth:`import_dataset`.
            item: one item of the imported dataset document.

        Returns:
            The path of an existing image file, or None when the dataset lacks it.
        """
        raise NotImplementedError


def register_format(name: str) -> Callable[[F], F]:
    """Return a class decorator that registers a format under ``name``.

    Args:
        name: the format's name, such as ``"coco"``.

    Returns:
        The decorator; it sets ``cls.name`` and returns the class unchanged otherwise.

    Raises:
        ValueError: a format is already registered under ``name`` (raised when the
            decorator is applied).
    """

    def decorator(cls: F) -> F:
        if name in _FORMATS:
            raise ValueError(f"dataset format {name!r} is already registered")
        cls.name = name
        _FORMATS[name] = cls
        return cls

    return decorator


def get_format(name: str) -> DatasetFormat:
    """Return a new instance of the format registered under ``name``.

    Args:
        name: the format's name.

    Returns:
        The format object.

    Raises:
        UnknownFormatError: nothing is registered under ``name``.
    """
    try:
        return _FORMATS[name]()
    except KeyError:
        raise UnknownFormatError(name, list_formats()) from None


def list_formats() -> list[str]:
    """Return the names of all registered formats, sorted.

    Returns:
        The names.
    """
    return sorted(_FORMATS)


def detect_format(path: Path) -> str | None:
    """Return the name of the first format (by name) whose ``detect`` accepts ``path``.

    Args:
        path: a dataset folder or file.

    Returns:
        The format name, or None when no format recognises it.
    """
    for name in list_formats():
        if get_format(name).detect(Path(path)):
            return name
    return None
