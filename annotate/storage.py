"""Where media, exports and model files live.

Storage keys are relative POSIX paths made by the app (``projects/3/items/<sha>.jpg``), never
taken from user input as is. :class:`LocalStorage` refuses any key that would leave its root.

::

    StorageError
    └── UnsafeKey      a key with ``..``, an absolute path, or a backslash
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from flask import Flask, current_app


class StorageError(Exception):
    """Base of storage errors."""


class UnsafeKey(StorageError):
    """A key that is not a plain relative path inside the storage root."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative POSIX path, else raise :class:`UnsafeKey`."""
    path = PurePosixPath(key)
    if not key or "\\" in key or "\x00" in key or path.is_absolute() or ".." in path.parts:
        raise UnsafeKey(f"unsafe storage key: {key!r}")
    return key


class LocalStorage:
    """Files under one root folder on local disk.

    Args:
        root: the folder; created if missing.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Return the local path of ``key`` (which must be safe)."""
        return self.root / check_key(key)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` atomically (a reader never sees half a file)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)

    def put_file(self, key: str, source: str | os.PathLike[str]) -> None:
        """Copy the local file ``source`` under ``key`` atomically."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def get_bytes(self, key: str) -> bytes:
        """Return the bytes stored under ``key``. Raises FileNotFoundError if absent."""
        return self.path(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        """Open ``key`` for binary reading."""
        return self.path(key).open("rb")

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a file."""
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove ``key``; no error if it is already gone."""
        self.path(key).unlink(missing_ok=True)


def init_app(app: Flask) -> None:
    """Bind the media storage to ``app`` (``app.extensions["annotate.storage"]``)."""
    app.extensions["annotate.storage"] = LocalStorage(app.config["MEDIA_ROOT"])


def get_storage() -> LocalStorage:
    """Return the current app's storage."""
    return current_app.extensions["annotate.storage"]
