"""Exports: a project's annotations as a dataset document, handed to a format converter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from annotate.converters import get_format, list_formats
from annotate.converters._common import as_png, exif_turned, with_orientation_applied
from annotate.errors import NotFound, ValidationFailed
from annotate.extensions import db
from annotate.models import Item, ItemKind, Project, Task, User
from annotate.queue import enqueue
from annotate.services import annotations, media
from annotate.storage import get_storage
from workflows import TaskState

#: Formats a project can be exported to, first the ones most people want.
EXPORT_FORMATS = ("coco", "voc", "yolo", "ultralytics", "cvat", "labelme", "labelstudio", "via", "imagenet", "native")
#: Uploaded image types an export writes as they are (an MPO is a JPEG with extra frames), by media type.
_KEPT_TYPES = {"image/jpeg": ".jpg", "image/mpo": ".jpg", "image/png": ".png"}


def dataset_document(project: Project, *, accepted_only: bool = True) -> dict[str, Any]:
    """Build the project's dataset document (``schemas/annotation/v1.json#/$defs/dataset``).

    Label ids are 1-based positions in the project's label list, so they are stable across
    exports. Items come in id order; items without annotations are kept.

    Args:
        project: the project to export.
        accepted_only: only items whose task a reviewer accepted.
    """
    # Replica 0 is the item's own task (overlap adds answer tasks): one row per item.
    query = select(Item).join(Task, (Task.item_id == Item.id) & (Task.replica == 0)).where(Item.project_id == project.id).order_by(Item.id)
    if accepted_only:
        query = query.where(Task.state == TaskState.ACCEPTED)
    items = []
    documents = annotations.latest_documents(query.with_only_columns(Item.id).order_by(None))
    for item in db.session.scalars(query):
        document = annotations.saved_or_empty(documents, item.id)[0]
        entry = {
            "id": str(item.id), "name": item.name, "path": item.path, "media": item.kind,
            "width": item.width, "height": item.height, "checksum": f"sha256:{item.sha256}",
            "subset": "default", "annotation": document,
        }  # fmt: skip
        if item.kind == ItemKind.VIDEO_FRAME:
            entry["video"] = item.video.name
            entry["frame"] = item.frame_index
        items.append(entry)
    labels = [{"id": label.position + 1, "name": label.name, "color": label.color, "kind": label.kind} for label in project.labels]
    return {"version": 1, "labels": labels, "items": items}


def start_export(project: Project, user: User, fmt: str, *, include_images: bool, accepted_only: bool = True):
    """Queue an export job (committed) and return its row.

    Raises:
        ValidationFailed: an unknown format.
    """
    if fmt not in EXPORT_FORMATS or fmt not in list_formats():
        raise ValidationFailed(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}", {"format": "unknown"})
    params = {"format": fmt, "include_images": bool(include_images), "accepted_only": bool(accepted_only)}
    return enqueue("export", org_id=project.org_id, project_id=project.id, user_id=user.id, params=params)


def export_choices() -> list[tuple[str, str]]:
    """Return ``(format name, description)`` for the export form, in :data:`EXPORT_FORMATS` order."""
    return [(name, get_format(name).description) for name in EXPORT_FORMATS if name in list_formats()]


def image_source(items_by_id: dict[str, Item]):
    """Return the converters' ``images(item) -> (bytes, ext)`` callback for these items (see :func:`export_image`)."""

    def images(entry: dict) -> tuple[bytes, str]:
        return export_image(items_by_id[entry["id"]])

    return images


def export_image(item: Item) -> tuple[bytes, str]:
    """Return the image an export writes for ``item`` and its extension (``.jpg``/``.png``).

    People export to train, so an image is the uploaded file, byte for byte, when it is a
    JPEG or PNG. One whose EXIF orientation turns or mirrors it is re-encoded with the
    orientation applied: the item's width, height and coordinates are those of the turned
    image, and readers that ignore the tag (Pillow, so torchvision) would load pixels they do
    not fit. Other types (BMP, TIFF, WebP) are written as PNG, oriented. A video frame is
    the JPEG decoded from the video (frames are not stored one by one).

    Args:
        item: an image or video frame item of the project.

    Returns:
        ``(bytes, ".jpg" | ".png")``.

    Raises:
        NotFound: the stored media is missing, or a video frame cannot be decoded.
        FormatError: the stored original is not a readable image.
    """
    if item.kind != ItemKind.IMAGE:
        return media.display_image(item)
    try:
        data = get_storage().get_bytes(item.storage_key)
    except FileNotFoundError:
        raise NotFound(f"the media of item {item.id} is missing from storage") from None
    ext = _KEPT_TYPES.get(item.mime)
    if ext is None:
        return as_png(data, item.path), ".png"
    if exif_turned(data):
        return with_orientation_applied(data, item.path), ext
    return data, ext
