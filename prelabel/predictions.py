"""What a detector predicts, shared by torch models and built-in detectors (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detection:
    """One predicted box.

    Attributes:
        label_index: 0-based index into the detector's ``label_names``.
        bbox: COCO ``(x, y, w, h)`` in image pixels, clipped to the image
            (https://cocodataset.org/#format-data).
        score: Confidence in [0, 1].
    """

    label_index: int
    bbox: tuple[float, float, float, float]
    score: float
