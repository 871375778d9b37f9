"""Counting the shape fields a format does not write: ``group``, ``z_order`` and ``source``.

A shape's ``group`` ties it to other shapes of one object (a person's box, mask and
keypoints; the polygons of one instance) and ``z_order`` says what is drawn over what.
Formats that keep them (or account for what they cannot keep themselves, like COCO,
which makes one annotation of a group) say so with the class attributes
``holds_group``/``holds_z_order`` of :class:`~annotate.converters.registry.DatasetFormat`;
for the others, every shape that carries one is counted once per export, so nothing goes
in silence and ``--strict`` refuses it. A format that writes no model or consensus source
(``holds_source`` False) makes every shape a person's on import: shapes and tags whose
source is a model version (with its score) or a consensus are counted.
"""

from __future__ import annotations

from typing import Any

from annotate.converters.registry import DatasetFormat
from annotate.converters.report import ConversionReport

_TITLES = {
    "coco": "COCO",
    "voc": "VOC",
    "yolo": "YOLO",
    "ultralytics": "Ultralytics",
    "cvat": "CVAT",
    "cvat-video": "CVAT for video",
    "labelstudio": "Label Studio",
    "via": "VIA",
    "labelme": "LabelMe",
    "mot": "MOT",
    "imagenet": "ImageNet",
}


def format_title(name: str) -> str:
    """Return a format's name as people write it ("Label Studio" for ``labelstudio``).

    Args:
        name: a registered format name.

    Returns:
        The display name; the registered name itself for a format not listed here.
    """
    return _TITLES.get(name, name)


def report_unheld_shape_fields(dataset: dict[str, Any], report: ConversionReport, fmt: DatasetFormat) -> None:
    """Count the shapes whose ``group``, ``z_order`` or ``source`` the format ``fmt`` does not write.

    A ``group`` of None and a ``z_order`` of 0 (the default) hold nothing and are not counted.

    Args:
        dataset: the dataset document being exported.
        report: the export's report ("2 group memberships dropped: VIA has no shape groups").
        fmt: the target format.

    Raises:
        ConversionLossError: the report is strict and a shape carries such a field.
    """
    count_groups, count_sources = not fmt.holds_group, not fmt.holds_source
    # True, or the shape types whose z_order the format keeps (VOC: the paint order of masks).
    ordered_kinds = fmt.holds_z_order
    count_orders = ordered_kinds is not True
    if not (count_groups or count_orders or count_sources):
        return
    groups = orders = sources = 0
    for item in dataset["items"]:
        annotation = item["annotation"]
        for shape in annotation["shapes"]:
            # Most shapes carry none of these: a few dict lookups each.
            if count_groups and shape.get("group") is not None:
                groups += 1
            if count_orders and shape.get("z_order") and shape["type"] not in (ordered_kinds or ()):
                orders += 1
            if count_sources and shape["source"]["type"] != "human":
                sources += 1
        if count_sources:
            sources += sum(1 for tag in annotation["tags"] if tag["source"]["type"] != "human")
    title = format_title(fmt.name)
    if groups:
        report.lose("group membership", f"{title} has no shape groups", groups)
    if orders:
        report.lose("z_order", f"{title} has no z-order (which shape is drawn over which)", orders)
    if sources:
        report.lose("source", f"{title} keeps no model or consensus source: an import marks them as made by a person", sources)
