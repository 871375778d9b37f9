"""Reading uploaded images safely and making the renditions browsers and models use.

Pillow does the decoding (https://pillow.readthedocs.io); EXIF orientation is applied with
``ImageOps.exif_transpose`` so that width, height and every coordinate refer to the image as
people see it. Pillow's decompression-bomb guard stays on, and an image over the configured
``MAX_IMAGE_PIXELS`` is refused rather than only warned about.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
_FORMATS = {"JPEG", "PNG", "BMP", "TIFF", "WEBP", "MPO"}


class ImageRejected(ValueError):
    """The bytes are not an image we can take; the message says why in plain words."""


@dataclass(frozen=True)
class DecodedImage:
    """An uploaded image, checked and oriented.

    Attributes:
        width: pixels, after EXIF orientation.
        height: pixels, after EXIF orientation.
        mime: the original's media type, e.g. ``image/png``.
        display: bytes of an 8-bit, EXIF-oriented JPEG or PNG for browsers and models.
        display_ext: ``.jpg`` or ``.png``.
        thumbnail: a JPEG at most ``thumb_size`` pixels on its longer side.
    """

    width: int
    height: int
    mime: str
    display: bytes
    display_ext: str
    thumbnail: bytes


def decode_image(data: bytes, *, max_pixels: int, thumb_size: int = 256) -> DecodedImage:
    """Check ``data`` is a complete, supported image and make its renditions.

    Args:
        data: the uploaded file's bytes.
        max_pixels: refuse images with more pixels than this (decompression bombs).
        thumb_size: longer side of the thumbnail, in pixels.

    Returns:
        The decoded image's facts and renditions.

    Raises:
        ImageRejected: not an image, an unsupported format, truncated or corrupt, or too large.
    """
    previous = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = max_pixels
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in _FORMATS:
                    raise ImageRejected(f"unsupported image format {img.format}")
                mime = Image.MIME.get(img.format, "application/octet-stream")
                img.load()
                oriented = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"the image has more than {max_pixels:,} pixels, the most this server takes") from None
    except UnidentifiedImageError:
        raise ImageRejected("not an image, or an image format we do not read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"the image is truncated or corrupt ({exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    rgb = to_8bit(oriented)
    is_jpeg = mime == "image/jpeg"
    display, ext = _encode(rgb, "JPEG" if is_jpeg and rgb.mode in ("RGB", "L") else "PNG")
    thumb = rgb.convert("RGB") if rgb.mode != "L" else rgb.copy()
    thumb.thumbnail((thumb_size, thumb_size))
    thumbnail, _ = _encode(thumb, "JPEG")
    return DecodedImage(oriented.width, oriented.height, mime, display, ext, thumbnail)


def to_8bit(img: Image.Image) -> Image.Image:
    """Return ``img`` as 8-bit L, RGB or RGBA, ready to show.

    16-bit and 32-bit grey images are stretched linearly from 0 to their maximum (a 12-bit
    sensor image would otherwise look black); CMYK and palette images become RGB(A).
    """
    if img.mode in ("L", "RGB", "RGBA"):
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max()
        scaled = np.zeros(arr.shape, np.uint8) if top <= 0 else np.clip(arr / top * 255.0 + 0.5, 0, 255)
        return Image.fromarray(scaled.astype(np.uint8), mode="L")
    if (img.mode in ("LA", "PA", "P") and "transparency" in img.info) or img.mode in ("LA", "PA"):
        return img.convert("RGBA")
    if img.mode == "1":
        return img.convert("L")
    return img.convert("RGB")


def _encode(img: Image.Image, fmt: str) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        img.save(buffer, "JPEG", quality=92)
        return buffer.getvalue(), ".jpg"
    img.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue(), ".png"


def encode_frame(rgb: np.ndarray, thumb_size: int = 256) -> tuple[bytes, bytes]:
    """Encode a video frame (H, W, 3) uint8 RGB as a JPEG and its JPEG thumbnail."""
    img = Image.fromarray(rgb, mode="RGB")
    display, _ = _encode(img, "JPEG")
    img.thumbnail((thumb_size, thumb_size))
    thumb, _ = _encode(img, "JPEG")
    return display, thumb
