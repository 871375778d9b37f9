"""Where an export writes its files: a folder on disk, or straight into a zip.

Format modules write only through a :class:`DatasetWriter`, so the same exporter fills a
folder (:class:`FolderWriter`) or a zip archive (:class:`ZipWriter`) without a folder of
small files in between. Paths given to a writer are relative POSIX paths inside the
dataset (``"images/train/a.jpg"``); anything else (absolute, ``..``, backslashes, empty
parts) is refused with ``ValueError`` before a byte is written::

    writer = as_writer(dest)  # a Path gives a FolderWriter
    writer.write_text("annotations.xml", text)
    with writer.open("big.json") as handle:
        handle.write(data)

Nothing here is a format; the module name starts with ``_`` so the package does not
register it.
"""

from __future__ import annotations

import os
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from annotate.converters.geometry import is_safe_relative_path

#: Suffixes of data that is compressed already: stored as is in a zip, not deflated again.
STORED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})

# A fixed timestamp for zip entries, so the same export gives the same archive bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def check_relpath(relpath: str) -> str:
    """Return ``relpath`` when it is a safe relative POSIX path inside the dataset.

    Args:
        relpath: such as ``"labels/train/a.txt"``.

    Returns:
        ``relpath`` unchanged.

    Raises:
        ValueError: ``relpath`` is absolute, has a drive letter, a backslash, or an empty,
            ``.`` or ``..`` part (see :func:`annotate.converters.geometry.is_safe_relative_path`).
    """
    if not isinstance(relpath, str) or not is_safe_relative_path(relpath):
        raise ValueError(f"{relpath!r}: not a relative POSIX path inside the dataset; refusing to write it")
    return relpath


class DatasetWriter(ABC):
    """Destination of one export: files and folders at relative POSIX paths.

    Subclasses implement :meth:`open`, :meth:`exists` and :meth:`mkdir`;
    :meth:`write_bytes` and :meth:`write_text` go through :meth:`open` unless overridden.
    """

    @abstractmethod
    def open(self, relpath: str) -> AbstractContextManager[BinaryIO]:
        """Open a new file for binary writing, for data too large to build in memory.

        Args:
            relpath: the file's relative POSIX path; parent folders need not exist.

        Returns:
            A context manager giving a binary file object; the file is complete when the
            ``with`` block ends.

        Raises:
            ValueError: ``relpath`` is not a safe relative path, or (zip) was written already.
        """

    def write_bytes(self, relpath: str, data: bytes) -> None:
        """Write a whole file.

        Args:
            relpath: the file's relative POSIX path; parent folders need not exist.
            data: the file's content.

        Raises:
            ValueError: ``relpath`` is not a safe relative path, or (zip) was written already.
        """
        with self.open(relpath) as handle:
            handle.write(data)

    def write_text(self, relpath: str, text: str) -> None:
        """Write a whole text file in UTF-8 (line ends as given, no translation).

        Args:
            relpath: the file's relative POSIX path; parent folders need not exist.
            text: the file's content.

        Raises:
            ValueError: ``relpath`` is not a safe relative path, or (zip) was written already.
        """
        self.write_bytes(relpath, text.encode("utf-8"))

    @abstractmethod
    def exists(self, relpath: str) -> bool:
        """Tell whether a file or folder was written (or already is) at ``relpath``.

        Args:
            relpath: a relative POSIX path.

        Returns:
            True when the path is taken; a zip also counts the folders its files imply.

        Raises:
            ValueError: ``relpath`` is not a safe relative path.
        """

    @abstractmethod
    def mkdir(self, relpath: str) -> None:
        """Make sure the folder ``relpath`` exists, even when no file is ever written into it.

        Args:
            relpath: the folder's relative POSIX path; parents are created too.

        Raises:
            ValueError: ``relpath`` is not a safe relative path.
        """


class FolderWriter(DatasetWriter):
    """Writes files under a folder on disk (created, with its parents, when missing).

    Args:
        root: the export folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)
        self._prefix = os.path.join(self._root, "")  # the root with one final separator
        # Folders made by this writer: an export writes thousands of files into a few folders,
        # and a mkdir per file costs as much as writing the file.
        self._made: set[str] = {""}

    def _target(self, relpath: str) -> Path:
        return self.root.joinpath(*check_relpath(relpath).split("/"))

    @contextmanager
    def open(self, relpath: str) -> Iterator[BinaryIO]:
        """See :meth:`DatasetWriter.open`; an existing file is replaced."""
        target = self._target(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            yield handle

    def write_bytes(self, relpath: str, data: bytes) -> None:
        """See :meth:`DatasetWriter.write_bytes`; an existing file is replaced."""
        # A checked path has no empty, "." or ".." part: joined to the root as it is.
        folder = check_relpath(relpath).rpartition("/")[0]
        if folder not in self._made:
            os.makedirs(self._prefix + folder, exist_ok=True)
            self._made.add(folder)
        # os.open/os.write: a Python file object costs a third of writing a small file.
        descriptor = os.open(self._prefix + relpath, _CREATE_FLAGS, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
        finally:
            os.close(descriptor)

    def exists(self, relpath: str) -> bool:
        """See :meth:`DatasetWriter.exists`."""
        return self._target(relpath).exists()

    def mkdir(self, relpath: str) -> None:
        """See :meth:`DatasetWriter.mkdir`."""
        self._target(relpath).mkdir(parents=True, exist_ok=True)


class ZipWriter(DatasetWriter):
    """Writes files into a zip archive opened for writing; the caller closes the archive.

    Text and other data is deflated; ``.jpg``, ``.jpeg`` and ``.png`` are stored as they
    are (compressing them again costs time and saves nothing). Entries carry a fixed
    timestamp, so exporting the same dataset twice gives the same bytes. A zip cannot
    replace an entry: writing the same path twice raises ``ValueError``.

    Args:
        archive: a ``zipfile.ZipFile`` opened with mode ``"w"``, ``"x"`` or ``"a"``.
    """

    def __init__(self, archive: zipfile.ZipFile) -> None:
        if archive.mode not in ("w", "x", "a"):
            raise ValueError(f"the zip archive is open for {archive.mode!r}, not for writing")
        self.archive = archive
        self._files: set[str] = set()
        self._folders: set[str] = set()
        for name in archive.namelist():
            if name.endswith("/"):
                self._folders.add(name.rstrip("/"))
            else:
                self._add_file(name)

    def _add_file(self, relpath: str) -> None:
        self._files.add(relpath)
        self._folders.update(str(parent) for parent in PurePosixPath(relpath).parents if str(parent) != ".")

    def _info(self, relpath: str) -> zipfile.ZipInfo:
        check_relpath(relpath)
        if relpath in self._files or relpath in self._folders:
            raise ValueError(f"{relpath!r}: already written to the zip; a zip entry cannot be replaced")
        info = zipfile.ZipInfo(relpath, date_time=_ZIP_DATE)
        stored = PurePosixPath(relpath).suffix.lower() in STORED_SUFFIXES
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    @contextmanager
    def open(self, relpath: str) -> Iterator[BinaryIO]:
        """See :meth:`DatasetWriter.open`."""
        info = self._info(relpath)
        with self.archive.open(info, "w", force_zip64=True) as handle:
            yield handle
        self._add_file(relpath)

    def write_bytes(self, relpath: str, data: bytes) -> None:
        """See :meth:`DatasetWriter.write_bytes`."""
        self.archive.writestr(self._info(relpath), data)
        self._add_file(relpath)

    def exists(self, relpath: str) -> bool:
        """See :meth:`DatasetWriter.exists`."""
        check_relpath(relpath)
        return relpath in self._files or relpath in self._folders

    def mkdir(self, relpath: str) -> None:
        """See :meth:`DatasetWriter.mkdir`: a ``relpath/`` entry, unless the folder already has one or a file."""
        check_relpath(relpath)
        if relpath in self._files:
            raise ValueError(f"{relpath!r}: a file of that name is already in the zip")
        if relpath in self._folders:
            return
        info = zipfile.ZipInfo(relpath + "/", date_time=_ZIP_DATE)
        info.external_attr = (0o40755 << 16) | 0x10  # a folder, for unzip tools that look
        self.archive.writestr(info, b"")
        self._folders.update([relpath, *(str(parent) for parent in PurePosixPath(relpath).parents if str(parent) != ".")])


def as_writer(dest: Path | str | DatasetWriter) -> DatasetWriter:
    """Return the writer for an export destination.

    Args:
        dest: a writer (returned as is) or a folder path (a :class:`FolderWriter` over it,
            which creates the folder).

    Returns:
        A :class:`DatasetWriter`.
    """
    if isinstance(dest, DatasetWriter):
        return dest
    return FolderWriter(Path(dest))
