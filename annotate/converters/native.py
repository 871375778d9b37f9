"""The native format: the dataset document itself, as ``dataset.json``.

Layout::

    dataset.json          {"version": 1, "labels": [...], "items": [...]}
    images/<item path>    the images, when the export was given any

Coordinates are exactly those of the annotation schema (``schemas/README.md``): floats in
image pixels, (0, 0) the top-left corner of the top-left pixel. Nothing is lost in this
format. When an image comes back from the ``images`` callback with another type than its
path says (a ``.png`` for ``a.jpg``), the exported item's path takes the new extension.
When two items' images would land on the same file (the same path in two subsets, or
``a.png`` and ``a.jpg`` both given as JPEG), the later one is written as ``a_2.jpg``, its
item path says so, and the report notes it. Each item whose image is written gets the
``checksum`` of the written file (``sha256:<hex>``); the others keep the one they came with.
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
from pathlib import Path
from typing import Any

from annotate.converters._common import free_path
from annotate.converters._output import DatasetWriter
from annotate.converters.errors import FormatError
from annotate.converters.geometry import path_with_extension
from annotate.converters.registry import DatasetFormat, ImageSource, register_format
from annotate.converters.report import ConversionReport
from schemas import SchemaError, validate_dataset

DATASET_FILE = "dataset.json"
IMAGES_DIR = "images"


@register_format("native")
class NativeFormat(DatasetFormat):
    """annotate's own dataset document, lossless."""

    description = "annotate dataset JSON (lossless)"
    holds_group = True
    holds_z_order = True
    holds_source = True
    holds_tracks = True

    def detect(self, path: Path) -> bool:
        """See :meth:`DatasetFormat.detect`."""
        file = _dataset_file(Path(path))
        if not file.is_file():
            return False
        try:
            doc = json.loads(file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        return isinstance(doc, dict) and {"version", "labels", "items"} <= doc.keys()

    def import_dataset(self, src: Path, report: ConversionReport | None = None) -> dict[str, Any]:
        """See :meth:`DatasetFormat.import_dataset`."""
        file = _dataset_file(Path(src))
        try:
            doc = json.loads(file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{file}: not a readable JSON file: {exc}") from exc
        try:
            validate_dataset(doc)
        except SchemaError as exc:
            raise FormatError(f"{file}: {exc}") from exc
        return doc

    def write(
        self,
        dataset: dict[str, Any],
        writer: DatasetWriter,
        *,
        images: ImageSource | None,
        report: ConversionReport,
    ) -> None:
        """See :meth:`DatasetFormat.write`."""
        out = copy.deepcopy(dataset)
        if images is not None:
            for item in out["items"]:
                image = images(item)
                if image is None:
                    report.note(f"no image for item {item['id']!r}; annotations only")
                    continue
                data, ext = image
                item["path"] = path_with_extension(item["path"], ext)
                # Spelled as a folder path resolves it ("a//b.jpg", "./a.jpg"), for the writer's check.
                wanted = posixpath.normpath(f"{IMAGES_DIR}/{item['path']}")
                relpath = free_path(writer, wanted, item, report)
                if relpath != wanted:
                    item["path"] = relpath[len(IMAGES_DIR) + 1 :]
                writer.write_bytes(relpath, data)
                # The image may have been re-encoded (orientation applied, PNG): the checksum is that of the file written.
                item["checksum"] = f"sha256:{hashlib.sha256(data).hexdigest()}"
        text = json.dumps(out, ensure_ascii=False, indent=1)
        writer.write_text(DATASET_FILE, text + "\n")

    def find_image(self, src: Path, item: dict[str, Any]) -> Path | None:
        """See :meth:`DatasetFormat.find_image`."""
        src = Path(src)
        root = src.parent if src.is_file() else src
        candidate = root / IMAGES_DIR / item["path"]
        return candidate if candidate.is_file() else None


def _dataset_file(path: Path) -> Path:
    return path if path.suffix.lower() == ".json" else path / DATASET_FILE
