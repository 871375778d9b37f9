"""Files for the COCO tests: a document written as JSON, a COCO file loaded by pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from pycocotools.coco import COCO


def write_json(path: Path, doc: Any) -> Path:
    """Write ``doc`` as UTF-8 JSON at ``path`` (folders made); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), "utf-8")
    return path


def load_coco(path: Path) -> COCO:
    """Load a COCO file with pycocotools, without its progress output."""
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))
