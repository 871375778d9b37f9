"""Media: images and video frames (items), and the videos they come from."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotate.extensions import db
from annotate.models.types import utcnow


class ItemKind(StrEnum):
    """What an item is: a still image, or one frame of a video."""

    IMAGE = "image"
    VIDEO_FRAME = "video_frame"


class Video(db.Model):
    """An uploaded video, stored as uploaded. Its frames are items."""

    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("project_id", "sha256", name="uq_video_project_sha"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    storage_key: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    fps: Mapped[float] = mapped_column(Float)
    frame_count: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Item(db.Model):
    """One thing to annotate: an image, or frame ``frame_index`` (0-based) of a video.

    ``width`` and ``height`` are in pixels after EXIF orientation. ``path`` is the item's
    relative POSIX path inside an exported dataset.
    """

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "path", name="uq_item_project_path"),
        Index("ix_item_project_sha", "project_id", "sha256"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=ItemKind.IMAGE)
    name: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(String(1000))
    #: The original bytes (images) or the video file (frames).
    storage_key: Mapped[str] = mapped_column(String(500))
    #: An EXIF-oriented, 8-bit JPEG or PNG that browsers and models read; None until made.
    display_key: Mapped[str | None] = mapped_column(String(500))
    thumb_key: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(50))
    width: Mapped[int]
    height: Mapped[int]
    video_id: Mapped[int | None] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    frame_index: Mapped[int | None]
    #: The latest model's uncertainty about this item (0 = sure, 1 = unsure), for active
    #: learning; None until a model has pre-labeled it.
    uncertainty: Mapped[float | None] = mapped_column(Float)
    #: How many labelers answer this item, overriding the workflow's overlap; None: the workflow's.
    overlap: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    video: Mapped[Video | None] = relationship()
