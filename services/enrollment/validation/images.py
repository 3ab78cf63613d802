"""Checks of the photo printed on the card and of the signature image.

A JPEG is checked with simplejpeg (libjpeg-turbo): the header gives the size, which is checked
before anything is decoded (no decompression bombs), then the whole stream is decoded at 1/8
scale (libjpeg's DCT scaling: every byte of entropy data is still read) in strict mode, so a
truncated photo or one with corrupt data, which would print as grey or garbled blocks, is refused
at the counter. A PNG signature is decoded by Pillow.
"""

from __future__ import annotations

import io
import warnings

import simplejpeg
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
JPEG_SOI = b"\xff\xd8\xff"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def jpeg_size(data: bytes, max_side: int) -> tuple[int, int] | None:
    """(width, height) of a JPEG that decodes completely and without errors; None if it does not.
    One over `max_side` is sized, not decoded."""
    if not data.startswith(JPEG_SOI):
        return None
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        if max(width, height) <= max_side:
            simplejpeg.decode_jpeg(data, colorspace="GRAY", min_width=max(width // 8, 1),
                                   min_height=max(height // 8, 1), strict=True)
    except ValueError:  # simplejpeg's error for every malformed, truncated or corrupt stream
        return None
    return width, height


def png_size(data: bytes, max_side: int) -> tuple[int, int] | None:
    """(width, height) of a PNG that decodes completely; None if it does not. One over `max_side`
    is sized, not decoded."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=["PNG"])
            if max(img.size) <= max_side:
                img.load()
            return img.size
    except Exception:  # Pillow raises many types for corrupt data; all mean "not an image"
        return None


def check_photo(b64: str, field: str) -> list[Problem]:
    data = decode_base64(b64)
    if data is None:
        return [problem(field, "base64.invalid")]
    out = []
    if len(data) > PHOTO_MAX_BYTES:
        out.append(problem(field, "photo.too_large", size=len(data), max=PHOTO_MAX_BYTES))
    size = jpeg_size(data, PHOTO_MAX_SIDE)
    if size is None:
        return [*out, problem(field, "photo.not_jpeg")]
    width, height = size
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
    size = png_size(data, SIGNATURE_MAX_SIDE) or jpeg_size(data, SIGNATURE_MAX_SIDE)
    if size is None or max(size) > SIGNATURE_MAX_SIDE:
        out.append(problem(field, "signature.invalid_format"))
    return out
