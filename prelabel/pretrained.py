"""Built-in detectors that need no weights file of the project's: useful from the first minute.

``opencv_hog_people`` is OpenCV's HOG + linear SVM pedestrian detector
(``cv2.HOGDescriptor_getDefaultPeopleDetector()``, Dalal & Triggs), shipped inside
opencv-python(-headless) 4.x. It finds upright, whole-body people about 96 pixels tall or
more (its window is 64x128 pixels with a margin around the person); it does not find faces,
close-ups or sitting people. Its boxes include that margin, so they are a little wider than
the person.

``mtcnn_faces`` is facenet-pytorch's MTCNN face detector (Zhang et al. 2016, three cascaded
CNNs whose weights ship inside the facenet-pytorch wheel; the ``ml`` extra installs it). It
finds faces about 20 pixels wide or more and needs torch, so it loads only in the worker.

A project gets one as a model version with ``file_format="builtin"``, ``architecture`` one of
those names and ``weights_key=""`` (``annotate.services.models.add_builtin_version``); versions
trained on the project's accepted labels replace it as the latest only when they pass the
project's metric gate (see ``annotate.services.models.latest_version``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from prelabel.predictions import Detection
from workflows.consensus import iou

HOG_PEOPLE = "opencv_hog_people"
MTCNN_FACES = "mtcnn_faces"
BUILTIN_LABELS: dict[str, list[str]] = {HOG_PEOPLE: ["person"], MTCNN_FACES: ["face"]}

#: Images whose shorter side is below this many pixels are upscaled x2 before HOG, so that a
#: person filling a small frame (e.g. a 176x144 video) can reach the 128-pixel window height.
UPSCALE_BELOW = 320


def hog_score(weight: float) -> float:
    """Map a HOG SVM decision value to a score in [0, 1): ``1 - exp(-max(weight, 0))``.

    The SVM margin is unbounded; this squashing is monotonic and puts 0.7 (a common weak
    hit) at 0.50, 1.0 at 0.63, 2.0 at 0.86 and 3.0 at 0.95, so the project's usual 0.5
    pre-label threshold keeps the hits the SVM is fairly sure of. It is not a calibrated
    probability.

    Args:
        weight: The SVM decision value ``detectMultiScale`` returns for a box.

    Returns:
        The score, in [0, 1).
    """
    return 1.0 - math.exp(-max(float(weight), 0.0))


class HogPeopleDetector:
    """OpenCV's HOG pedestrian detector behind ``LoadedDetector``'s ``predict`` API.

    Attributes:
        label_names: Always ``["person"]``.
        architecture: ``"opencv_hog_people"``.
    """

    def __init__(self, *, win_stride: int = 8, padding: int = 8, scale: float = 1.05) -> None:
        """Build the detector.

        Args:
            win_stride: Window step, pixels (smaller finds more and runs slower).
            padding: Padding around the image for the window, pixels.
            scale: Ratio between pyramid levels (> 1).
        """
        import cv2

        self._cv2 = cv2
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._params = {"winStride": (win_stride, win_stride), "padding": (padding, padding), "scale": scale}
        self.label_names = list(BUILTIN_LABELS[HOG_PEOPLE])
        self.architecture = HOG_PEOPLE

    def __repr__(self) -> str:
        return f"HogPeopleDetector(params={self._params!r})"

    def predict(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = 0.5,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        batch_size: int = 8,
    ) -> list[list[Detection]]:
        """Detect people in images.

        Args:
            images: ``(H, W, 3)`` uint8 RGB arrays (``(H, W)`` gray and ``(H, W, 4)`` RGBA
                are converted); images whose shorter side is under ``UPSCALE_BELOW``
                pixels are upscaled x2 and the boxes scaled back.
            score_threshold: Minimum score kept, in [0, 1] (see ``hog_score``).
            nms_iou: IoU above which a lower-scoring box is dropped.
            max_detections: Most detections returned per image, highest scores first.
            batch_size: Unused (HOG runs image by image); accepted for API compatibility.

        Returns:
            One list per image of ``Detection`` (label index 0, "person") sorted by
            decreasing score, with COCO ``(x, y, w, h)`` boxes in that image's pixels.

        Raises:
            ValueError: an image isn't a uint8 array of 2 or 3 dimensions.
        """
        return [self._detect(image, score_threshold, nms_iou, max_detections) for image in images]

    def _detect(self, image: np.ndarray, score_threshold: float, nms_iou: float, max_detections: int) -> list[Detection]:
        cv2 = self._cv2
        array = _uint8_image(image)
        gray = array if array.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(array[:, :, :3]), cv2.COLOR_RGB2GRAY)
        height, width = gray.shape
        factor = 2.0 if min(height, width) < UPSCALE_BELOW else 1.0
        if factor != 1.0:
            gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        if gray.shape[0] < 128 or gray.shape[1] < 64:  # smaller than one HOG window
            return []
        rects, weights = self._hog.detectMultiScale(gray, **self._params)
        found = []
        for (x, y, w, h), weight in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1), strict=True):
            score = hog_score(weight)
            if score < score_threshold:
                continue
            x1, y1 = max(0.0, x / factor), max(0.0, y / factor)
            x2, y2 = min(float(width), (x + w) / factor), min(float(height), (y + h) / factor)
            if x2 > x1 and y2 > y1:
                found.append(Detection(0, (x1, y1, x2 - x1, y2 - y1), score))
        return _best(found, nms_iou, max_detections)


def _uint8_image(image: np.ndarray) -> np.ndarray:
    """The image as an array; refuse anything but uint8 of 2 or 3 dimensions."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 (H, W, 3) image, got dtype {array.dtype} and shape {array.shape}")
    return array


def _best(found: list[Detection], nms_iou: float, max_detections: int) -> list[Detection]:
    """Greedy non-maximum suppression: highest scores first, dropping boxes overlapping a kept one above ``nms_iou``."""
    found = sorted(found, key=lambda d: -d.score)
    kept: list[Detection] = []
    for det in found:
        if all(iou(det.bbox, other.bbox) <= nms_iou for other in kept):
            kept.append(det)
    return kept[:max_detections]


class MtcnnFaceDetector:
    """facenet-pytorch's MTCNN face detector behind ``LoadedDetector``'s ``predict`` API.

    See https://github.com/timesler/facenet-pytorch (weights from the wheel, never downloaded).

    Attributes:
        label_names: Always ``["face"]``.
        architecture: ``"mtcnn_faces"``.
    """

    def __init__(self, *, min_face_size: int = 20, device: str | None = None) -> None:
        """Build the detector.

        Args:
            min_face_size: Smallest face searched for, pixels.
            device: ``"cpu"``, ``"cuda"``...; None picks CUDA when available.

        Raises:
            ImportError: facenet-pytorch is not installed (``pip install -e '.[ml]'``).
        """
        import torch
        from facenet_pytorch import MTCNN

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, device=device)
        self.label_names = list(BUILTIN_LABELS[MTCNN_FACES])
        self.architecture = MTCNN_FACES

    def __repr__(self) -> str:
        return f"MtcnnFaceDetector(min_face_size={self._mtcnn.min_face_size})"

    def predict(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = 0.5,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        batch_size: int = 8,
    ) -> list[list[Detection]]:
        """Detect faces in images.

        Args:
            images: ``(H, W, 3)`` uint8 RGB arrays (``(H, W)`` gray is converted, an alpha
                channel dropped); any sizes (MTCNN runs image by image).
            score_threshold: Minimum score kept, in [0, 1] (MTCNN's face probability).
            nms_iou: IoU above which a lower-scoring box is dropped (on top of MTCNN's own NMS).
            max_detections: Most detections returned per image, highest scores first.
            batch_size: Unused; accepted for API compatibility.

        Returns:
            One list per image of ``Detection`` (label index 0, "face") sorted by decreasing
            score, with COCO ``(x, y, w, h)`` boxes clipped to the image.

        Raises:
            ValueError: an image isn't a uint8 array of 2 or 3 dimensions.
        """
        return [self._detect(image, score_threshold, nms_iou, max_detections) for image in images]

    def _detect(self, image: np.ndarray, score_threshold: float, nms_iou: float, max_detections: int) -> list[Detection]:
        array = _uint8_image(image)
        rgb = np.stack([array] * 3, axis=-1) if array.ndim == 2 else np.ascontiguousarray(array[:, :, :3])
        height, width = rgb.shape[:2]
        boxes, scores = self._mtcnn.detect(rgb)
        if boxes is None:
            return []
        found = []
        for (x1, y1, x2, y2), score in zip(np.asarray(boxes, float).reshape(-1, 4), np.asarray(scores, float).reshape(-1), strict=True):
            x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
            if score >= score_threshold and x2 > x1 and y2 > y1:
                found.append(Detection(0, (x1, y1, x2 - x1, y2 - y1), float(score)))
        return _best(found, nms_iou, max_detections)


def load_builtin(architecture: str) -> HogPeopleDetector | MtcnnFaceDetector:
    """Return the built-in detector named ``architecture``.

    Args:
        architecture: A key of ``BUILTIN_LABELS``.

    Returns:
        A detector with ``predict(images, score_threshold=...)``.

    Raises:
        KeyError: no built-in detector has that name.
        ImportError: ``mtcnn_faces`` without facenet-pytorch installed.
    """
    if architecture == HOG_PEOPLE:
        return HogPeopleDetector()
    if architecture == MTCNN_FACES:
        return MtcnnFaceDetector()
    raise KeyError(f"unknown built-in detector {architecture!r}; built in: {', '.join(BUILTIN_LABELS)}")
