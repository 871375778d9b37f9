"""Serving item images, thumbnails and export downloads to people allowed to see them."""

from __future__ import annotations

import io

from flask import Blueprint, send_file
from flask_login import current_user, login_required

from annotate.errors import NotFound
from annotate.models import JobStatus
from annotate.services import access
from annotate.services import media as media_service
from annotate.storage import get_storage

bp = Blueprint("media", __name__)
_MIME = {".jpg": "image/jpeg", ".png": "image/png"}


@bp.get("/media/items/<int:item_id>/image")
@login_required
def image(item_id: int):
    """The item's EXIF-oriented, 8-bit image."""
    item = access.get_item(item_id, current_user)
    data, ext = media_service.display_image(item)
    response = send_file(io.BytesIO(data), mimetype=_MIME[ext], max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/media/items/<int:item_id>/thumbnail")
@login_required
def thumbnail(item_id: int):
    """The item's JPEG thumbnail."""
    item = access.get_item(item_id, current_user)
    response = send_file(io.BytesIO(media_service.thumbnail(item)), mimetype="image/jpeg", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/jobs/<job_id>/download")
@login_required
def download(job_id: str):
    """Download a finished export's zip."""
    job = access.get_job(job_id, current_user)
    if job.kind != "export" or job.status != JobStatus.FINISHED:
        raise NotFound(f"job {job_id} has no file to download")
    return send_file(
        get_storage().path(job.result["key"]), mimetype="application/zip", as_attachment=True, download_name=job.result["file_name"]
    )
