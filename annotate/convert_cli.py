"""``annotate convert``: convert a dataset between formats on disk, without the web app.

::

    annotate convert --from coco --to voc upload/ out/ [--report report.json] [--strict] [--overwrite]
    annotate convert --from auto --to native upload/ out/
    annotate convert --from mot --to coco seq/ out/ --mot-image-size 1920x1080 --mot-fps 30
    annotate convert --from coco --to via --via-layout csv upload/ out/
    annotate convert --list

The command builds no Flask app and touches no database: it only uses
:mod:`annotate.converters`.

Images found next to the source annotations (``find_image``) are copied into the output:
JPEG and PNG files byte for byte, except those with an EXIF orientation other than 1: the
annotations' coordinates are those of the image as shown (turned by the tag), and readers
that ignore the tag (Pillow's ``Image.open``, so torchvision's ``VOCDetection``) would load
pixels the boxes do not fit, so these are re-encoded with the orientation applied and the
tag removed (JPEG at quality 95), and a note says how many. Other types (BMP, TIFF,
WebP...) are converted to PNG with Pillow, EXIF orientation applied, and a note says so. When the source has no images at all,
only annotations are written.

Order of work, so that a failure at any step leaves DST and FILE as they were:

1. usage checks, before anything is read or written: the formats, SRC and DST apart (DST
   is not SRC, and neither holds the other, after resolving symbolic links and ``..``;
   ``--overwrite`` would otherwise delete the source), and ``--report FILE`` writable (an
   empty temporary file is created next to FILE; FILE may not lie inside DST);
2. the import; with ``--strict``, anything it lost, clipped or dropped stops here;
3. the export into a hidden folder next to DST; with ``--strict``, the same check;
4. the report written into its temporary file;
5. the output moved into DST (an old DST replaced with ``--overwrite``), then the temporary
   report renamed to FILE.

A failure in steps 2-5 removes the hidden folder and the temporary report.

The summary line counts the items, shapes and tags read from SRC and the images copied
into DST; the report lines under it say what the output lacks of what was read. (A count
of shapes written cannot be had from a report: under a shape type's name it counts whole
shapes, parts of shapes, such as a CVAT skeleton's box, and tracks alike.)

Exit status: 0 on success (the summary and the report lines go to stdout, with ``lossless``
when nothing was lost, clipped or dropped); 1 on a data error (unreadable source,
invalid dataset, anything lost, clipped or dropped with ``--strict``, a report that cannot
be written), with one message on stderr and no traceback; 2 on a usage error, found before
anything is read (unknown format name, missing arguments, a SRC that does not exist, a DST
folder that is not empty without ``--overwrite``, DST and SRC that overlap, a ``--report``
path that cannot be written, MOT options for another format).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from annotate.converters import ConversionReport, DatasetFormat

AUTO = "auto"
#: Image types copied unchanged, with the extension they are written under.
_KEPT_TYPES = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png"}
# Files that the formats' annotations are written in: a source folder holding nothing else
# has no image any format could find.
_ANNOTATION_SUFFIXES = {".json", ".xml", ".txt", ".csv", ".yaml", ".yml", ".names", ".data", ".ini"}
_IMAGE_SIZE = re.compile(r"^\s*([1-9][0-9]{0,5})\s*[xX]\s*([1-9][0-9]{0,5})\s*$")


class ImageSize(click.ParamType):
    """A click parameter ``WIDTHxHEIGHT`` in pixels, such as ``1920x1080``; gives ``(width, height)``."""

    name = "WIDTHxHEIGHT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, int]:
        """Parse ``value``; a wrong one fails the command with exit status 2, naming the option."""
        if isinstance(value, tuple):
            return value
        match = _IMAGE_SIZE.match(str(value))
        if match is None:
            self.fail(f"{value!r} is not WIDTHxHEIGHT in whole pixels above 0, such as 1920x1080", param, ctx)
        return int(match[1]), int(match[2])


@click.command("convert")
@click.option("--from", "src_format", default=AUTO, show_default=True, metavar="FORMAT", help="Format of SRC; 'auto' detects it.")
@click.option("--to", "dst_format", metavar="FORMAT", help="Format to write into DST.")
@click.option("--list", "list_only", is_flag=True, help="List the formats with their descriptions and exit.")
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as JSON to this file (its folder must exist).",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) instead of losing, clipping away or dropping anything.")
@click.option("--overwrite", is_flag=True, help="Replace DST when it is a folder that is not empty.")
@click.option(
    "--mot-image-size",
    type=ImageSize(),
    metavar="WIDTHxHEIGHT",
    help="MOT source: the frame size in pixels, such as 1920x1080, when seqinfo.ini has no imWidth/imHeight and img1/ no frames.",
)
@click.option(
    "--mot-fps",
    type=click.FloatRange(min=0, min_open=True),
    help="MOT source: frames per second, when seqinfo.ini has no frameRate.",
)
@click.option(
    "--via-layout",
    type=click.Choice(["project", "csv"]),
    help="VIA output: a VIA 2 project (via_project.json, the default) or VIA CSV (via_region_data.csv and via_attributes.json).",
)
@click.argument("src", required=False, type=click.Path(path_type=Path))
@click.argument("dst", required=False, type=click.Path(path_type=Path))
def convert(
    src_format: str,
    dst_format: str | None,
    list_only: bool,
    report_file: Path | None,
    strict: bool,
    overwrite: bool,
    mot_image_size: tuple[int, int] | None,
    mot_fps: float | None,
    via_layout: str | None,
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
    import_options = _mot_options(mot_image_size, mot_fps)
    if import_options and src_format not in (AUTO, "mot"):
        raise click.UsageError(f"--mot-image-size and --mot-fps apply to MOT sources only, not to --from {src_format}")
    if via_layout is not None and dst_format != "via":
        raise click.UsageError(f"--via-layout applies to VIA output only, not to --to {dst_format}")
    export_options = {"layout": via_layout} if via_layout is not None else {}
    _check_apart(src, dst)
    report = (report_file, _reserve_report(report_file, dst)) if report_file is not None else None
    try:
        summary = _run(
            src_format, dst_format, src, dst,
            strict=strict, overwrite=overwrite, import_options=import_options, export_options=export_options, report=report,
        )  # fmt: skip
        if report is not None:
            _rename_report(*report, dst)
    finally:
        if report is not None:
            report[1].unlink(missing_ok=True)
    # Counts of what was read: the report lines below say what the output lacks of it.
    click.echo(
        f"{summary['from']} -> {summary['to']}: read {summary['items']} items, {summary['shapes']} shapes, "
        f"{summary['tags']} tags; {summary['images']} images copied into {dst}"
    )
    if summary["lossless"]:
        click.echo("lossless")
    for line in summary["lines"]:
        click.echo(line)


def _mot_options(image_size: tuple[int, int] | None, fps: float | None) -> dict[str, Any]:
    """Return the MOT importer's keyword arguments for the options given (empty when none)."""
    options: dict[str, Any] = {}
    if image_size is not None:
        options["width"], options["height"] = image_size
    if fps is not None:
        options["fps"] = fps
    return options


def _check_apart(src: Path, dst: Path) -> None:
    """Refuse a DST that is SRC, lies inside SRC, or holds SRC.

    Replacing DST (``--overwrite``) would delete the source, or part of it, and an output
    inside its source is read back as source by the next conversion. Symbolic links and
    ``..`` are resolved first, so two spellings of one folder count as one.

    Args:
        src: the SRC argument, a folder or a file.
        dst: the DST argument, a folder that may not exist yet.

    Raises:
        click.UsageError: the paths overlap (exit status 2); the message names both.
    """
    real_src, real_dst = src.resolve(), dst.resolve()
    if real_src == real_dst:
        why = "they are the same"
    elif real_dst.is_relative_to(real_src):
        why = "DST lies inside SRC"
    elif real_src.is_relative_to(real_dst):
        why = "SRC lies inside DST"
    else:
        return
    raise click.UsageError(f"SRC {src} and DST {dst} overlap ({why}): the output would replace the source; write it somewhere else")


def _reserve_report(report_file: Path, dst: Path) -> Path:
    """Create the empty temporary file the report is written into, next to ``report_file``.

    Returns:
        The temporary file, renamed to ``report_file`` once the output is in place.

    Raises:
        click.BadParameter: ``report_file`` lies inside DST, which the conversion replaces,
            or :func:`reserve_file` refuses it (exit status 2).
    """
    if report_file.resolve().is_relative_to(dst.resolve()):
        raise click.BadParameter(f"{report_file}: lies inside DST {dst}, which the conversion replaces", param_hint="'--report'")
    return reserve_file(report_file, "--report")


def reserve_file(path: Path, option: str) -> Path:
    """Create an empty hidden file next to ``path``, to be written and then renamed to ``path``.

    Creating it is the test that ``path`` can be written, made before any work, so that a
    command never does its work only to fail at the end on a bad output path.

    Args:
        path: the file a command option names; it may exist (it is replaced at the end).
        option: the option's name, such as ``"--report"``, for the error message.

    Returns:
        The hidden file ``.<name>.<random>.tmp`` in ``path``'s folder (same file system, so
        :func:`os.replace` onto ``path`` is atomic). The caller deletes it when it fails.

    Raises:
        click.BadParameter: ``path`` is a folder, or its folder is missing or not writable
            (exit status 2); the message names ``path``.
    """
    from annotate.converters import _new_sibling_file

    if path.is_dir():
        raise click.BadParameter(f"{path}: is a folder", param_hint=f"'{option}'")
    folder = path.parent
    try:
        return _new_sibling_file(path, "tmp")
    except OSError as exc:
        reason = "no such folder" if not folder.is_dir() else (exc.strerror or str(exc))
        raise click.BadParameter(f"{path}: cannot be written ({folder}: {reason})", param_hint=f"'{option}'") from None


def _print_formats() -> None:
    from annotate.converters import get_format, list_formats

    names = list_formats()
    width = max((len(name) for name in names), default=0)
    for name in names:
        click.echo(f"{name.ljust(width)}  {get_format(name).description}")


def _run(
    src_format: str,
    dst_format: str,
    src: Path,
    dst: Path,
    *,
    strict: bool,
    overwrite: bool,
    import_options: dict[str, Any],
    export_options: dict[str, Any],
    report: tuple[Path, Path] | None,
) -> dict[str, Any]:
    """Convert SRC into DST (steps 2-4 of the module docstring) and return the report as JSON-ready data.

    Args:
        import_options: the format's import settings (the MOT options).
        export_options: the format's export settings (the VIA layout).
        report: ``(FILE, its temporary file)`` of ``--report``, or None.

    Raises:
        click.BadParameter: SRC does not exist, or DST is a folder that is not empty and
            ``overwrite`` is False (usage errors, exit 2).
        click.ClickException: any data error (exit 1); DST is then as it was.
    """
    from annotate.converters import ConversionError, _check_destination, import_dataset
    from schemas import SchemaError

    if not src.exists():
        raise click.BadParameter(f"{src}: no such file or folder", param_hint="'SRC'")
    try:
        _check_destination(dst, overwrite=overwrite)
    except FileExistsError as exc:
        raise click.BadParameter(f"{exc} (--overwrite replaces it)", param_hint="'DST'") from None
    try:
        src_format = _source_format(src, src_format, import_options)
        dataset, import_report = import_dataset(src_format, src, strict=strict, **import_options)
        if not dataset["items"]:
            lost = "; ".join(import_report.lines())
            raise click.ClickException(f"{src}: no items could be read as {src_format}" + (f" ({lost})" if lost else ""))
        if strict:
            _refuse_changes(import_report)
        return _write(src_format, dst_format, src, dst, dataset, import_report, strict=strict, options=export_options, report=report)
    except SchemaError as exc:
        # The message starts "invalid dataset: " and names the fields; SRC names the input.
        raise click.ClickException(f"{src}: {exc}") from None
    except ConversionError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or src}: {exc.strerror or exc}") from None


def _source_format(src: Path, src_format: str, import_options: dict[str, Any]) -> str:
    """Return the format of SRC: ``src_format``, or the detected one for ``auto``.

    Raises:
        click.ClickException: ``auto`` and no format recognises SRC (exit 1).
        click.UsageError: MOT options given and SRC is detected as another format (exit 2).
    """
    from annotate.converters import detect_format

    if src_format != AUTO:
        return src_format
    detected = detect_format(src)
    if detected is None:
        raise click.ClickException(f"{src}: cannot tell its format; name it with --from (see --list)")
    if import_options and detected != "mot":
        raise click.UsageError(f"--mot-image-size and --mot-fps apply to MOT sources only; {src} is {detected}")
    return detected


def _refuse_changes(report: ConversionReport) -> None:
    """With ``--strict``: raise when ``report`` counts anything lost, clipped or dropped as empty.

    A strict report raises on losses and drops by itself, but only records clipping (the
    converters' rule); the command's ``--strict`` promises that nothing changes at all.

    Raises:
        ConversionLossError: with the report's lines.
    """
    from annotate.converters import ConversionLossError

    if not report.lossless:
        raise ConversionLossError(report.lines())


def _write(
    src_format: str,
    dst_format: str,
    src: Path,
    dst: Path,
    dataset: dict[str, Any],
    import_report: ConversionReport,
    *,
    strict: bool,
    options: dict[str, Any],
    report: tuple[Path, Path] | None,
) -> dict[str, Any]:
    """Export into a hidden folder next to DST, check it, write the report, then move the folder into DST.

    The hidden folder (and any parent folder of DST this run created) is removed on failure.
    """
    from annotate.converters import _move_into_place, _staged, export_dataset, get_format
    from annotate.converters._common import plural

    images = _ImageCopier(get_format(src_format), src)
    has_images = images.any_found(dataset["items"])
    with _staged(dst, "convert") as staging:
        # The document is the import's, unchanged: it is valid already, so it is checked once.
        export_report = export_dataset(
            dst_format, dataset, staging, images=images if has_images else None, strict=strict, checked=True, **options
        )
        if strict:
            _refuse_changes(export_report)
        if images.reoriented:
            export_report.note(f"{plural(images.reoriented, 'image')} re-encoded with the EXIF orientation applied to the pixels")
        if images.converted:
            types = ", ".join(sorted(images.converted_types))
            export_report.note(f"{plural(images.converted, 'image')} converted to PNG ({types}): the output keeps JPEG and PNG only")
        summary = _summary(src_format, dst_format, src, dst, dataset, images.copied, import_report, export_report)
        if report is not None:
            _write_report(*report, summary)
        _move_into_place(staging, dst)
    return summary


def _summary(
    src_format: str,
    dst_format: str,
    src: Path,
    dst: Path,
    dataset: dict[str, Any],
    images: int,
    import_report: ConversionReport,
    export_report: ConversionReport,
) -> dict[str, Any]:
    """Return what ``--report`` writes: counts, the merged report, and each side's own.

    ``items``, ``shapes`` and ``tags`` count what the import read; ``images`` the files copied.
    """
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
        "images": images,
        "lossless": report.lossless,
        **report.to_dict(),
        "import": import_report.to_dict(),
        "export": export_report.to_dict(),
    }


def _write_report(report_file: Path, temp: Path, summary: dict[str, Any]) -> None:
    """Write ``summary`` as JSON into ``temp``, the temporary file of ``report_file``.

    Raises:
        click.ClickException: it cannot be written (exit 1); the message names ``report_file``.
    """
    try:
        temp.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", "utf-8")
    except OSError as exc:
        raise click.ClickException(f"{report_file}: cannot write the report: {exc.strerror or exc}; nothing was converted") from None


def _rename_report(report_file: Path, temp: Path, dst: Path) -> None:
    """Give the written report its name ``report_file`` (step 5, after the output is in DST).

    Raises:
        click.ClickException: the rename failed (exit 1); the output stays in DST.
    """
    try:
        os.replace(temp, report_file)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise click.ClickException(f"{report_file}: the output is in {dst}, but the report cannot be written: {reason}") from None


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
        self.reoriented = 0
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
        from annotate.converters._common import as_png, exif_turned, with_orientation_applied

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
            if exif_turned(data):
                data = with_orientation_applied(data, path)
                self.reoriented += 1
            return data, _KEPT_TYPES[suffix]
        data = as_png(data, path)
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
