"""Fixtures for the converter tests: a small hand-made dataset, its images, the corpus."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

REPO = Path(__file__).resolve().parents[2]

# The mask of item "b" (8 wide, 6 high): rows 1..2, columns 2..4, 6 pixels, box [2, 1, 3, 2].
MASK_B = np.zeros((6, 8), dtype=np.uint8)
MASK_B[1:3, 2:5] = 1


def human() -> dict[str, str]:
    return {"type": "human"}


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    rle = mask_utils.encode(np.asfortranarray(mask))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def build_dataset() -> dict[str, Any]:
    """Three items in two subsets, with shapes COCO and VOC can and cannot hold."""
    return {
        "version": 1,
        "labels": [
            {"id": 0, "name": "cat", "kind": "shape", "color": "#ff0000"},
            {"id": 1000, "name": "dog", "kind": "shape"},
            {"id": 3, "name": "road", "kind": "shape"},
            {"id": 7, "name": "blurry", "kind": "tag"},
        ],
        "items": [
            {
                "id": "item-a",
                "name": "a.jpg",
                "path": "photos/a.jpg",
                "media": "image",
                "width": 20,
                "height": 10,
                "subset": "train",
                "annotation": {
                    "version": 1,
                    "tags": [{"id": "t1", "label": "blurry", "source": human()}],
                    "shapes": [
                        {
                            "id": "s1",
                            "type": "bbox",
                            "label": "cat",
                            "bbox": [0, 0, 10, 5],
                            "source": human(),
                            "attributes": {"pose": "Left", "color": "black"},
                            "occluded": True,
                        },
                        # Reaches 5 px past the right and bottom edges: clipped to [15, 5, 5, 5].
                        {
                            "id": "s2",
                            "type": "bbox",
                            "label": "dog",
                            "bbox": [15, 5, 10, 10],
                            "source": {"type": "model", "model_version": 2, "score": 0.5},
                        },
                        {"id": "s3", "type": "polygon", "label": "road", "rings": [[0, 0, 4, 0, 4, 4, 0, 4]], "source": human()},
                        {"id": "s4", "type": "polyline", "label": "road", "points": [0, 0, 5, 5], "source": human()},
                        # Entirely right of the image: no area left, dropped.
                        {"id": "s5", "type": "bbox", "label": "dog", "bbox": [30, 0, 5, 5], "source": human()},
                    ],
                },
            },
            {
                "id": "item-b",
                "name": "b.png",
                "path": "b.png",
                "media": "image",
                "width": 8,
                "height": 6,
                "subset": "val",
                "annotation": {
                    "version": 1,
                    "tags": [],
                    "shapes": [
                        {"id": "m1", "type": "mask", "label": "dog", "rle": encode_mask(MASK_B), "source": human()},
                        {"id": "k1", "type": "keypoints", "label": "cat", "keypoints": [1, 1, 2, 3, 3, 1, 0, 0, 0], "source": human()},
                    ],
                },
            },
            {
                "id": "item-c",
                "name": "empty.jpg",
                "path": "empty.jpg",
                "media": "image",
                "width": 5,
                "height": 5,
                "subset": "train",
                "annotation": {"version": 1, "tags": [], "shapes": []},
            },
        ],
    }


def image_bytes(item: dict[str, Any]) -> tuple[bytes, str]:
    """A real image of the item's size: JPEG, or PNG for paths ending in .png."""
    ext = ".png" if item["path"].endswith(".png") else ".jpg"
    image = Image.new("RGB", (item["width"], item["height"]), (40, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG" if ext == ".png" else "JPEG")
    return buffer.getvalue(), ext


@pytest.fixture
def dataset() -> dict[str, Any]:
    return build_dataset()


@pytest.fixture
def mask_b() -> np.ndarray:
    return MASK_B.copy()


@pytest.fixture
def images() -> Callable[[dict[str, Any]], tuple[bytes, str]]:
    return image_bytes


@pytest.fixture
def corpus() -> Path:
    root = Path(os.environ.get("ANNOTATE_CORPUS", REPO.parent / "shared" / "corpus"))
    if not root.is_dir():
        pytest.skip(f"annotation corpus not found at {root} (set ANNOTATE_CORPUS)")
    return root
