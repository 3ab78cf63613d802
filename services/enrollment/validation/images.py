"""Checks of the photo printed on the card and of the signature image."""

from __future__ import annotations

import io
import warnings

from PIL import Image

from .messages import problem
from .problems import Problem
from .templates import decode_base64

PHOTO_MIN_WIDTH = 240  # px; the card photo is portrait, at least 240 x 320 (3:4)
PHOTO_MIN_HEIGHT = 320
PHOTO_MAX_BYTES = 200 * 1024
PHOTO_MAX_SIDE = 4000  # px; refuses decompression bombs before decoding
SIGNATURE_MAX_BYTES = 100 * 1024
SIGNATURE_MAX_SIDE = 4000


def _open(data: bytes, max_side: int) -> tuple[Image.Image, tuple[int, int]] | None:
    """The image, decoded to the last byte, and its size; None if Pillow cannot read it.

    The size is checked before decoding. A JPEG is decoded at 1/8 scale (libjpeg's DCT scaling):
    every byte of the stream is still read, so a corrupt or truncated photo still fails, at a
    fraction of the cost of a full decode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            size = img.size
            if max(size) <= max_side:
                if img.format == "JPEG":
                    img.draft(img.mode, (max(size[0] // 8, 1), max(size[1] // 8, 1)))
                img.load()
            return img, size
    except Exception:  # Pillow raises many types for corrupt data; all mean "not an image"
        return None


def check_photo(b64: str, field: str) -> list[Problem]:
    data = decode_base64(b64)
    if data is None:
        return [problem(field, "base64.invalid")]
    out = []
    if len(data) > PHOTO_MAX_BYTES:
        out.append(problem(field, "photo.too_large", size=len(data), max=PHOTO_MAX_BYTES))
    opened = _open(data, PHOTO_MAX_SIDE)
    if opened is None or opened[0].format != "JPEG":
        return [*out, problem(field, "photo.not_jpeg")]
    width, height = opened[1]
    if max(width, height) > PHOTO_MAX_SIDE:
        out.append(problem(field, "photo.dimensions_too_large", width=width, height=height, max=PHOTO_MAX_SIDE))
    elif width < PHOTO_MIN_WIDTH or height < PHOTO_MIN_HEIGHT:
        out.append(
            problem(field, "photo.too_small", width=width, height=height,
                    min_width=PHOTO_MIN_WIDTH, min_height=PHOTO_MIN_HEIGHT)
        )
    if height <= width:
        out.append(problem(field, "photo.not_portrait", width=width, height=height))
    return out


def check_signature(b64: str | None, field: str) -> list[Problem]:
    if b64 is None:
        return []
    data = decode_base64(b64)
    if data is None:
        return [problem(field, "base64.invalid")]
    out = []
    if len(data) > SIGNATURE_MAX_BYTES:
        out.append(problem(field, "signature.too_large", size=len(data), max=SIGNATURE_MAX_BYTES))
    opened = _open(data, SIGNATURE_MAX_SIDE)
    if opened is None or opened[0].format not in ("PNG", "JPEG") or max(opened[1]) > SIGNATURE_MAX_SIDE:
        out.append(problem(field, "signature.invalid_format"))
    return out
