"""``annotate convert``: convert a dataset between formats on disk, without the web app.

::

    annotate convert --from coco --to voc upload/ out/ [--report report.json] [--strict] [--overwrite]
    annotate convert --from auto --to native upload/ out/
    annotate convert --list

The command builds no Flask app and touches no database: it only uses
:mod:`annotate.converters`. The output folder is written all or nothing (see
:func:`annotate.converters.export_dataset`).

Images found next to the source annotations (``find_image``) are copied into the output:
JPEG and PNG files byte for byte (so any EXIF orientation tag stays with the file the
annotations were made on); other types (BMP, TIFF, WebP...) are converted to PNG with
Pillow, EXIF orientation applied, and a note says so. When the source has no images at all,
only annotations are written.

Exit status: 0 on success (the summary and the report lines go to stdout, with ``lossless``
when nothing was lost, clipped or dropped); 1 on a data error (unreadable or missing
source, invalid dataset, an output folder that is not empty, a loss with ``--strict``),
with one message on stderr and no traceback; 2 on a usage error (unknown format name,
missing arguments).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from annotate.converters import ConversionReport, DatasetFormat

AUTO = "auto"
#: Image types copied unchanged, with the extension they are written under.
_KEPT_TYPES = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png"}
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA"}
# Files that the formats' annotations are written in: a source folder holding nothing else
# has no image any format could find.
_ANNOTATION_SUFFIXES = {".json", ".xml", ".txt", ".csv", ".yaml", ".yml", ".names", ".data", ".ini"}


@click.command("convert")
@click.option("--from", "src_format", default=AUTO, show_default=True, metavar="FORMAT", help="Format of SRC; 'auto' detects it.")
@click.option("--to", "dst_format", metavar="FORMAT", help="Format to write into DST.")
@click.option("--list", "list_only", is_flag=True, help="List the formats with their descriptions and exit.")
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as JSON to this file.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) instead of losing, clipping away or dropping anything.")
@click.option("--overwrite", is_flag=True, help="Replace DST when it is a folder that is not empty.")
@click.argument("src", required=False, type=click.Path(path_type=Path))
@click.argument("dst", required=False, type=click.Path(path_type=Path))
def convert(
    src_format: str,
    dst_format: str | None,
    list_only: bool,
    report_file: Path | None,
    strict: bool,
    overwrite: bool,
    src: Path | None,
    dst: Path | None,
) -> None:
    """Convert the dataset in SRC (a folder or file) into the folder DST.

    Formats are listed by --list. Exit status: 0 done, 1 data error, 2 usage error.
    """
    # Imported here so that `annotate --help` and the app's other commands stay fast.
    from annotate.converters import list_formats

    if list_only:
        _print_formats()
        return
    known = list_formats()
    if dst_format is None:
        raise click.UsageError("missing option '--to'; see 'annotate convert --list' for the formats")
    if dst_format not in known:
        raise click.BadParameter(f"unknown format {dst_format!r}; known formats: {', '.join(known)}", param_hint="'--to'")
    if src_format != AUTO and src_format not in known:
        raise click.BadParameter(f"unknown format {src_format!r}; known formats: auto, {', '.join(known)}", param_hint="'--from'")
    if src is None or dst is None:
        raise click.UsageError("missing argument SRC or DST")
    summary = _run(src_format, dst_format, src, dst, strict=strict, overwrite=overwrite)
    if report_file is not None:
        try:
            report_file.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", "utf-8")
        except OSError as exc:
            raise click.ClickException(f"{report_file}: cannot write the report: {exc.strerror or exc}") from None
    click.echo(
        f"{summary['from']} -> {summary['to']}: {summary['items']} items, {summary['shapes']} shapes, "
        f"{summary['tags']} tags, {summary['images']} images written to {dst}"
    )
    if summary["lossless"]:
        click.echo("lossless")
    for line in summary["lines"]:
        click.echo(line)


def _print_formats() -> None:
    from annotate.converters import get_format, list_formats

    names = list_formats()
    width = max((len(name) for name in names), default=0)
    for name in names:
        click.echo(f"{name.ljust(width)}  {get_format(name).description}")


def _run(src_format: str, dst_format: str, src: Path, dst: Path, *, strict: bool, overwrite: bool) -> dict[str, Any]:
    """Convert, turning every data error into a :class:`click.ClickException` (exit 1)."""
    from annotate.converters import ConversionError, detect_format, export_dataset, get_format, import_dataset
    from schemas import SchemaError

    try:
        if not src.exists():
            raise click.ClickException(f"{src}: no such file or folder")
        if src_format == AUTO:
            detected = detect_format(src)
            if detected is None:
                raise click.ClickException(f"{src}: cannot tell its format; name it with --from (see --list)")
            src_format = detected
        dataset, import_report = import_dataset(src_format, src, strict=strict)
        if not dataset["items"]:
            lost = "; ".join(import_report.lines())
            raise click.ClickException(f"{src}: no items could be read as {src_format}" + (f" ({lost})" if lost else ""))
        images = _ImageCopier(get_format(src_format), src)
        has_images = images.any_found(dataset["items"])
        # The document is the import's, unchanged: it is valid already, so it is checked once.
        export_report = export_dataset(
            dst_format, dataset, dst, images=images if has_images else None, strict=strict, overwrite=overwrite, checked=True
        )
    except SchemaError as exc:
        raise click.ClickException(f"invalid dataset: {exc}") from None
    except (ConversionError, FileExistsError) as exc:
        message = str(exc)
        if isinstance(exc, FileExistsError) and not overwrite and dst.is_dir():
            message += " (--overwrite replaces it)"
        raise click.ClickException(message) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or src}: {exc.strerror or exc}") from None
    if images.converted:
        types = ", ".join(sorted(images.converted_types))
        noun = "image" if images.converted == 1 else "images"
        export_report.note(f"{images.converted} {noun} converted to PNG ({types}): the output keeps JPEG and PNG only")
    report = _merge(import_report, export_report)
    items = dataset["items"]
    return {
        "from": src_format,
        "to": dst_format,
        "src": str(src),
        "dst": str(dst),
        "items": len(items),
        "shapes": sum(len(item["annotation"]["shapes"]) for item in items),
        "tags": sum(len(item["annotation"]["tags"]) for item in items),
        "images": images.copied,
        "lossless": report.lossless,
        **report.to_dict(),
        "import": import_report.to_dict(),
        "export": export_report.to_dict(),
    }


def _merge(first: ConversionReport, second: ConversionReport) -> ConversionReport:
    from annotate.converters import ConversionReport

    merged = ConversionReport()
    for part in (first, second):
        merged.lost.update(part.lost)
        merged.clipped.update(part.clipped)
        merged.dropped_empty.update(part.dropped_empty)
        merged.notes.extend(part.notes)
    return merged


class _ImageCopier:
    """The ``images`` callback of an export: reads each item's file from the source dataset."""

    def __init__(self, fmt: DatasetFormat, src: Path) -> None:
        self.fmt = fmt
        self.src = src
        self.copied = 0
        self.converted = 0
        self.converted_types: set[str] = set()
        self._found: dict[str, Path | None] = {}

    def any_found(self, items: list[dict[str, Any]]) -> bool:
        """Tell whether the source holds the image of any of ``items``.

        A source folder with annotation files only (one walk of its tree) holds none, and its
        items are not looked up one by one: that costs a few file checks per item, more than
        converting a large annotations-only dataset takes.
        """
        if self.src.is_dir() and not _holds_other_files(self.src):
            return False
        return any(self.find(item) is not None for item in items)

    def find(self, item: dict[str, Any]) -> Path | None:
        """Return the source file of the item's image, or None (the format's own rules)."""
        if item["id"] not in self._found:
            self._found[item["id"]] = self.fmt.find_image(self.src, item)
        return self._found[item["id"]]

    def __call__(self, item: dict[str, Any]) -> tuple[bytes, str] | None:
        from annotate.converters import FormatError

        path = self.find(item)
        if path is None:
            return None
        suffix = path.suffix.lower()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FormatError(f"{path}: cannot read the image: {exc.strerror or exc}") from exc
        if suffix in _KEPT_TYPES:
            self.copied += 1
            return data, _KEPT_TYPES[suffix]
        data = _to_png(data, path)
        self.copied += 1
        self.converted += 1
        self.converted_types.add(suffix or "(no extension)")
        return data, ".png"


def _holds_other_files(root: Path) -> bool:
    """Tell whether any file under ``root`` has a suffix other than an annotation file's.

    Every format finds an item's image as a file under the source folder, so a folder whose
    files are all annotation files (``.json``, ``.xml``, ``.txt``...) holds no image.
    """
    for _folder, _folders, files in os.walk(root):
        if any(os.path.splitext(name)[1].lower() not in _ANNOTATION_SUFFIXES for name in files):
            return True
    return False


def _to_png(data: bytes, path: Path) -> bytes:
    """Re-encode an image as PNG with its EXIF orientation applied; 8-bit modes are kept."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from annotate.converters import FormatError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            if image.mode not in _PNG_MODES:
                has_alpha = "A" in image.getbands() or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise FormatError(f"{path}: not a readable image: {exc}") from exc
    return buffer.getvalue()
