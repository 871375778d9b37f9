"""What a conversion lost, clipped or dropped, in counts and human words.

Every importer and exporter writes into one :class:`ConversionReport`. Three things are
counted separately:

* *lost*: something the target format cannot hold ("3 polylines dropped: VOC has no
  polylines"); counted per kind and reason;
* *clipped*: boxes that reached outside the image and were cut to it;
* *dropped as empty*: shapes with no area left (after clipping, or zero-sized on input).

With ``strict=True`` anything lost or dropped raises :class:`ConversionLossError` at once.
Clipping does not: the shape is kept, only its part outside the image goes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from annotate.converters.errors import ConversionLossError

# Singular and plural nouns for the kinds we count; anything else gets an "s".
_NOUNS: dict[str, tuple[str, str]] = {
    "bbox": ("box", "boxes"),
    "rotated_bbox": ("rotated box", "rotated boxes"),
    "polygon": ("polygon", "polygons"),
    "polyline": ("polyline", "polylines"),
    "points": ("points shape", "points shapes"),
    "keypoints": ("keypoints shape", "keypoints shapes"),
    "ellipse": ("ellipse", "ellipses"),
    "mask": ("mask", "masks"),
    "tag": ("tag", "tags"),
    "item": ("item", "items"),
    "image": ("image", "images"),
    "label": ("label", "labels"),
    "shape": ("shape", "shapes"),
    "ring": ("polygon ring", "polygon rings"),
    "attribute": ("attribute", "attributes"),
    "part": ("part", "parts"),
    "z_order": ("z_order value", "z_order values"),
}


def _noun(kind: str, count: int) -> str:
    singular, plural = _NOUNS.get(kind, (kind, kind + "s"))
    return singular if count == 1 else plural


@dataclass
class ConversionReport:
    """Counts of what one conversion lost, clipped and dropped.

    Attributes:
        strict: raise :class:`ConversionLossError` on the first loss or drop.
        lost: counts by ``(kind, reason)``.
        clipped: counts of shapes cut to the image, by kind.
        dropped_empty: counts of shapes dropped for having no area, by kind.
        notes: other remarks (missing images, renamed labels); they never raise.
    """

    strict: bool = False
    lost: Counter[tuple[str, str]] = field(default_factory=Counter)
    clipped: Counter[str] = field(default_factory=Counter)
    dropped_empty: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def lose(self, kind: str, reason: str, count: int = 1) -> None:
        """Record that ``count`` things of ``kind`` were left out, and why.

        Args:
            kind: a shape type, ``"tag"``, ``"attribute"`` or another noun.
            reason: why, in words a user understands ("VOC has no polylines").
            count: how many.

        Raises:
            ConversionLossError: the report is strict.
        """
        self.lost[(kind, reason)] += count
        if self.strict:
            raise ConversionLossError(self.lines())

    def clip(self, kind: str) -> None:
        """Record that one shape of ``kind`` was cut to the image bounds.

        Args:
            kind: the shape type.
        """
        self.clipped[kind] += 1

    def drop_empty(self, kind: str) -> None:
        """Record that one shape of ``kind`` was dropped because it has no area.

        Args:
            kind: the shape type.

        Raises:
            ConversionLossError: the report is strict.
        """
        self.dropped_empty[kind] += 1
        if self.strict:
            raise ConversionLossError(self.lines())

    def note(self, message: str) -> None:
        """Record a remark that is not a loss (for example a missing image file).

        Args:
            message: the remark, one sentence.
        """
        self.notes.append(message)

    @property
    def lossless(self) -> bool:
        """True when nothing was lost, clipped or dropped."""
        return not (self.lost or self.clipped or self.dropped_empty)

    def lines(self) -> list[str]:
        """Return one human sentence per count, losses first, then notes.

        Returns:
            Lines such as ``"3 polylines dropped: VOC has no polylines"``.
        """
        lines = [f"{count} {_noun(kind, count)} dropped: {reason}" for (kind, reason), count in sorted(self.lost.items())]
        lines += [f"{count} {_noun(kind, count)} clipped to the image" for kind, count in sorted(self.clipped.items())]
        lines += [f"{count} {_noun(kind, count)} dropped: no area inside the image" for kind, count in sorted(self.dropped_empty.items())]
        return lines + list(self.notes)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data.

        Returns:
            ``{"lost": [{"kind", "reason", "count"}], "clipped": {kind: n},
            "dropped_empty": {kind: n}, "notes": [...], "lines": [...]}``
        """
        return {
            "lost": [{"kind": kind, "reason": reason, "count": count} for (kind, reason), count in sorted(self.lost.items())],
            "clipped": dict(sorted(self.clipped.items())),
            "dropped_empty": dict(sorted(self.dropped_empty.items())),
            "notes": list(self.notes),
            "lines": self.lines(),
        }
