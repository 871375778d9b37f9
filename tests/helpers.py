"""Small builders shared by the tests."""

from __future__ import annotations

import io
import uuid

from PIL import Image


def png_bytes(size=(64, 48), color=(90, 90, 90)) -> bytes:
    """A real PNG of ``size`` (width, height) pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def box(label: str, x: float, y: float, w: float, h: float, **extra) -> dict:
    """A human bbox shape in the canonical schema."""
    return {"id": str(uuid.uuid4()), "type": "bbox", "label": label, "bbox": [x, y, w, h], "source": {"type": "human"}, **extra}


def tag(label: str) -> dict:
    """A human image-level tag."""
    return {"id": str(uuid.uuid4()), "label": label, "source": {"type": "human"}}


def document(shapes=(), tags=()) -> dict:
    """An annotation document."""
    return {"version": 1, "tags": list(tags), "shapes": list(shapes)}


def add_images(project, sizes) -> list:
    """Ingest plain PNGs of the given sizes into ``project``; return their items in order."""
    from sqlalchemy import select

    from annotate.extensions import db
    from annotate.models import Item
    from annotate.services import media

    media.ingest(project, [(f"img{i}.png", png_bytes(size, (i * 20 % 255, 80, 120))) for i, size in enumerate(sizes)])
    return list(db.session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id)))


def load_bench(name: str):
    """Import ``bench/<name>.py`` (a script, not a package) as the module ``bench_<name>``.

    It is registered in ``sys.modules`` so dataclasses in the script can resolve their module.
    """
    import importlib.util
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
