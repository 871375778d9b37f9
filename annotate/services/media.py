"""Taking media into a project: image and video uploads, zips, and server folders.

An upload is all or nothing: every file is checked first, and if any is refused nothing is
stored, unless the caller asked to skip bad files (``skip_invalid``), in which case the good
ones go in and the report names each refused file and why. Images are de-duplicated within a
project by the SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import select

from annotate.errors import BadUpload, Forbidden, NotFound
from annotate.extensions import db
from annotate.models import Item, ItemKind, Project, Video
from annotate.services import workflow
from annotate.services.images import IMAGE_EXTENSIONS, ImageRejected, decode_image, encode_frame
from annotate.services.video import VIDEO_EXTENSIONS, VideoRejected, probe_video, read_frame
from annotate.storage import get_storage

_SKIPPED_NAMES = {"__MACOSX", ".DS_Store", "Thumbs.db"}


@dataclass
class IngestReport:
    """What an upload did. ``errors`` maps each refused file name to the reason."""

    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        return {
            "added": len(self.added),
            "duplicates": self.duplicates,
            "videos": self.videos,
            "errors": self.errors,
        }


@dataclass
class _Pending:
    name: str
    data: bytes


MAX_NAME_LENGTH = 255  # characters in one path part, as on most file systems
MAX_PATH_LENGTH = 1000


def clean_relative_path(name: str) -> str:
    """Return ``name`` as a safe relative POSIX path, or raise ValueError saying why.

    Refuses absolute paths, drive letters, ``..`` parts, NUL characters, empty and overlong
    names. Other control and formatting characters (such as the right-to-left override,
    which can make ``gnp.exe`` look like ``exe.png``) are removed.
    """
    if "\x00" in (name or ""):
        raise ValueError("the file name contains a NUL character")
    name = "".join(c for c in (name or "") if not unicodedata.category(c).startswith("C"))
    raw = name.replace("\\", "/")
    path = PurePosixPath(raw)
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise ValueError("absolute paths are not allowed")
    if ".." in path.parts:
        raise ValueError("'..' is not allowed in a path")
    parts = [p.strip() for p in path.parts if p.strip() not in ("", ".")]
    if not parts:
        raise ValueError("empty file name")
    if any(len(p) > MAX_NAME_LENGTH for p in parts) or len("/".join(parts)) > MAX_PATH_LENGTH:
        raise ValueError(f"the file name is too long (over {MAX_NAME_LENGTH} characters a part)")
    return "/".join(parts)


def expand_upload(name: str, data: bytes, errors: dict[str, str]) -> list[_Pending]:
    """Turn one uploaded file into the files it holds (a zip holds many).

    Refused files and zip entries are added to ``errors``; nothing is raised.
    """
    if PurePosixPath(name.replace("\\", "/")).suffix.lower() != ".zip":
        try:
            return [_Pending(clean_relative_path(PurePosixPath(name.replace("\\", "/")).name), data)]
        except ValueError as exc:
            errors[name or "(no name)"] = str(exc)
            return []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        errors[name] = "not a valid zip file"
        return []
    limit = current_app.config.get("MAX_ZIP_BYTES", 8 * 1024**3)
    entries = [info for info in archive.infolist() if not info.is_dir()]
    if sum(info.file_size for info in entries) > limit:
        errors[name] = f"the zip would unpack to more than {limit} bytes"
        return []
    files = []
    for info in entries:
        label = f"{name}:{info.filename}"
        try:
            clean = clean_relative_path(info.filename)
        except ValueError as exc:
            errors[label] = f"unsafe zip entry: {exc}"
            continue
        if any(part in _SKIPPED_NAMES or part.startswith("._") for part in clean.split("/")):
            continue
        try:
            files.append(_Pending(clean, archive.read(info)))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            errors[label] = f"cannot be read from the zip ({exc})"
    if not files and not any(key.startswith(f"{name}:") for key in errors):
        errors[name] = "the zip holds no files"
    return files


def ingest(project: Project, uploads: list[tuple[str, bytes]], *, skip_invalid: bool = False, frame_step: int = 1) -> IngestReport:
    """Add uploaded images, videos and zips of them to ``project`` (committed).

    Args:
        project: the target project.
        uploads: ``(file name, bytes)`` pairs as uploaded.
        skip_invalid: store the good files even if some are refused.
        frame_step: make an item of every ``frame_step``-th video frame (1 = every frame).

    Returns:
        What was added, skipped as duplicate, and refused.

    Raises:
        BadUpload: a file was refused and ``skip_invalid`` is false (nothing is stored), or
            there was nothing to upload.
    """
    if not uploads:
        raise BadUpload("no files were uploaded", {"files": "required"})
    if frame_step < 1:
        raise BadUpload("frame step must be 1 or more", {"frame_step": "must be >= 1"})
    report = IngestReport()
    pending = [f for name, data in uploads for f in expand_upload(name, data, report.errors)]
    prepared = [p for p in (_prepare(f, report.errors) for f in pending) if p is not None]
    if report.errors and not skip_invalid:
        raise BadUpload(f"{len(report.errors)} file(s) could not be taken; nothing was added", {"files": report.errors})
    _store(project, prepared, report, frame_step)
    return report


def import_folder(project: Project, folder: str, *, skip_invalid: bool = False, frame_step: int = 1) -> IngestReport:
    """Import every file under a server folder inside one of the configured ``IMPORT_ROOTS``.

    Raises:
        Forbidden: no import roots are configured, or ``folder`` is outside them.
        NotFound: the folder does not exist.
        BadUpload: as for :func:`ingest`.
    """
    roots = [Path(r).resolve() for r in current_app.config["IMPORT_ROOTS"].split(os.pathsep) if r]
    if not roots:
        raise Forbidden("no server folders are open for import (set ANNOTATE_IMPORT_ROOTS)")
    target = Path(folder).resolve()
    if not any(target == root or root in target.parents for root in roots):
        raise Forbidden(f"{folder} is outside the folders open for import", {"folder": "not allowed"})
    if not target.is_dir():
        raise NotFound(f"folder {folder} not found", {"folder": "not found"})
    uploads = []
    for path in sorted(target.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            uploads.append((path.relative_to(target).as_posix(), path.read_bytes()))
    # Folder files keep their relative paths, so they go in directly rather than as basenames.
    report = IngestReport()
    pending = [_Pending(name, data) for name, data in uploads]
    prepared = [p for p in (_prepare(f, report.errors) for f in pending) if p is not None]
    if not prepared and not report.errors:
        raise BadUpload(f"folder {folder} holds no files", {"folder": "empty"})
    if report.errors and not skip_invalid:
        raise BadUpload(f"{len(report.errors)} file(s) could not be taken; nothing was added", {"files": report.errors})
    _store(project, prepared, report, frame_step)
    return report


@dataclass
class _Prepared:
    name: str
    data: bytes
    sha256: str
    image: object | None = None  # DecodedImage
    video: object | None = None  # VideoInfo
    ext: str = ""


def _prepare(pending: _Pending, errors: dict[str, str]) -> _Prepared | None:
    ext = PurePosixPath(pending.name).suffix.lower()
    sha = hashlib.sha256(pending.data).hexdigest()
    config = current_app.config
    if ext in IMAGE_EXTENSIONS:
        try:
            image = decode_image(pending.data, max_pixels=config["MAX_IMAGE_PIXELS"], thumb_size=config["THUMBNAIL_SIZE"])
        except ImageRejected as exc:
            errors[pending.name] = str(exc)
            return None
        return _Prepared(pending.name, pending.data, sha, image=image, ext=ext)
    if ext in VIDEO_EXTENSIONS:
        with tempfile.NamedTemporaryFile(suffix=ext) as tmp:
            tmp.write(pending.data)
            tmp.flush()
            try:
                info = probe_video(Path(tmp.name))
            except VideoRejected as exc:
                errors[pending.name] = str(exc)
                return None
        return _Prepared(pending.name, pending.data, sha, video=info, ext=ext)
    if ext == ".zip":
        errors[pending.name] = "zips inside a zip are not unpacked; upload the inner zip on its own"
        return None
    supported = ", ".join(sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | {".zip"}))
    errors[pending.name] = f"unsupported file type {ext or '(none)'}; supported: {supported}"
    return None


def _store(project: Project, prepared: list[_Prepared], report: IngestReport, frame_step: int) -> None:
    storage = get_storage()
    taken = set(db.session.scalars(select(Item.path).where(Item.project_id == project.id)))
    known = set(db.session.scalars(select(Item.sha256).where(Item.project_id == project.id, Item.kind == ItemKind.IMAGE)))
    known_videos = set(db.session.scalars(select(Video.sha256).where(Video.project_id == project.id)))
    written: list[str] = []
    try:
        for entry in prepared:
            if entry.image is not None:
                if entry.sha256 in known:
                    report.duplicates.append(entry.name)
                    continue
                known.add(entry.sha256)
                _store_image(project, entry, _unique_path(entry.name, taken), storage, written)
                report.added.append(entry.name)
            else:
                if entry.sha256 in known_videos:
                    report.duplicates.append(entry.name)
                    continue
                known_videos.add(entry.sha256)
                report.added.extend(_store_video(project, entry, taken, storage, written, frame_step))
                report.videos.append(entry.name)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for key in written:
            storage.delete(key)
        raise


def _unique_path(name: str, taken: set[str]) -> str:
    path, n = name, 1
    stem, suffix = os.path.splitext(name)
    while path in taken:
        n += 1
        path = f"{stem} ({n}){suffix}"
    taken.add(path)
    return path


def _store_image(project, entry: _Prepared, path: str, storage, written: list[str]) -> None:
    image = entry.image
    base = f"projects/{project.id}/items/{entry.sha256}"
    keys = {
        "original": f"{base}/original{entry.ext}",
        "display": f"{base}/display{image.display_ext}",
        "thumb": f"{base}/thumb.jpg",
    }
    for key, data in ((keys["original"], entry.data), (keys["display"], image.display), (keys["thumb"], image.thumbnail)):
        storage.put_bytes(key, data)
        written.append(key)
    item = Item(
        project_id=project.id, kind=ItemKind.IMAGE, name=PurePosixPath(entry.name).name, path=path,
        storage_key=keys["original"], display_key=keys["display"], thumb_key=keys["thumb"],
        sha256=entry.sha256, mime=image.mime, width=image.width, height=image.height,
    )  # fmt: skip
    db.session.add(item)
    db.session.flush()
    workflow.tasks_for_new_item(project, item)


def _store_video(project, entry: _Prepared, taken: set[str], storage, written: list[str], frame_step: int) -> list[str]:
    info = entry.video
    key = f"projects/{project.id}/videos/{entry.sha256}{entry.ext}"
    storage.put_bytes(key, entry.data)
    written.append(key)
    video = Video(
        project_id=project.id, name=entry.name, storage_key=key, sha256=entry.sha256,
        fps=info.fps, frame_count=info.frame_count, width=info.width, height=info.height,
    )  # fmt: skip
    db.session.add(video)
    db.session.flush()
    stem = os.path.splitext(entry.name)[0]
    names = []
    for frame in range(0, info.frame_count, frame_step):
        item = Item(
            project_id=project.id, kind=ItemKind.VIDEO_FRAME, name=f"{PurePosixPath(entry.name).name} #{frame}",
            path=_unique_path(f"{stem}/frame_{frame:06d}.jpg", taken), storage_key=key, sha256=entry.sha256,
            mime="image/jpeg", width=info.width, height=info.height, video_id=video.id, frame_index=frame,
        )  # fmt: skip
        db.session.add(item)
        db.session.flush()
        workflow.tasks_for_new_item(project, item)
        names.append(item.name)
    return names


def display_image(item: Item) -> tuple[bytes, str]:
    """Return the item's EXIF-oriented 8-bit rendition and its extension (``.jpg``/``.png``).

    Video frames are decoded with OpenCV on first use and kept in storage.

    Raises:
        NotFound: the stored media is missing or the frame cannot be decoded.
    """
    storage = get_storage()
    if item.display_key is None:
        try:
            rgb = read_frame(storage.path(item.storage_key), item.frame_index or 0)
        except VideoRejected as exc:
            raise NotFound(f"item {item.id}: {exc}") from None
        display, thumb = encode_frame(rgb, current_app.config["THUMBNAIL_SIZE"])
        base = f"{PurePosixPath(item.storage_key).with_suffix('')}/frame_{item.frame_index:06d}"
        storage.put_bytes(f"{base}.jpg", display)
        storage.put_bytes(f"{base}_thumb.jpg", thumb)
        item.display_key, item.thumb_key = f"{base}.jpg", f"{base}_thumb.jpg"
        db.session.commit()
    try:
        return storage.get_bytes(item.display_key), PurePosixPath(item.display_key).suffix
    except FileNotFoundError:
        raise NotFound(f"the media of item {item.id} is missing from storage") from None


def thumbnail(item: Item) -> bytes:
    """Return the item's JPEG thumbnail, making it first for video frames."""
    if item.thumb_key is None:
        display_image(item)
    return get_storage().get_bytes(item.thumb_key)
