"""Reading videos with OpenCV (https://docs.opencv.org/4.x/d8/dfe/classcv_1_1VideoCapture.html).

Videos are stored as uploaded; frames are decoded on demand. Frame numbers are 0-based.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


class VideoRejected(ValueError):
    """The file is not a video OpenCV can decode; the message says why."""


@dataclass(frozen=True)
class VideoInfo:
    """Facts read from a video: frames, frames per second, and size in pixels."""

    frame_count: int
    fps: float
    width: int
    height: int


def probe_video(path: Path) -> VideoInfo:
    """Open a video, read its frame count, fps and size, and check the first frame decodes.

    Raises:
        VideoRejected: OpenCV cannot open it, it has no frames, or the first frame fails.
    """
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoRejected("not a video, or a codec this server cannot decode")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or 0.0
        ok, frame = capture.read()
        if not ok or frame is None:
            raise VideoRejected("the video has no decodable frame")
        height, width = frame.shape[:2]
        if count <= 0:
            raise VideoRejected("the video does not say how many frames it has")
        return VideoInfo(count, fps, width, height)
    finally:
        capture.release()


def read_frame(path: Path, frame_index: int):
    """Return frame ``frame_index`` (0-based) of a video as an (H, W, 3) uint8 RGB array.

    Raises:
        VideoRejected: the frame cannot be decoded.
    """
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
        ok, frame = capture.read()
        if not ok or frame is None:
            raise VideoRejected(f"frame {frame_index} cannot be decoded")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
