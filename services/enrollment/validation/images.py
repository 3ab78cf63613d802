"""Checks of the photo printed on the card and of the signature image.

A JPEG is checked with simplejpeg (libjpeg-turbo): the header gives the size, which is checked
before anything is decoded (no decompression bombs), then the whole stream is decoded at 1/8
scale (libjpeg's DCT scaling: every byte of entropy data is still read) in strict mode, so a
truncated photo or one with corrupt data, which would print as grey or garbled blocks, is refused
at the counter. A PNG signature is checked by `png_size`.
"""

from __future__ import annotations

import struct
import zlib

import simplejpeg
from isal import isal_zlib

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


# PNG (ISO/IEC 15948): bit depths allowed per colour type, and channels per pixel.
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def png_size(data: bytes, max_side: int) -> tuple[int, int] | None:
    """(width, height) of a PNG that decodes completely; None if it does not. One over `max_side`
    is sized, not decoded.

    Every chunk's CRC, the header's values, the image data inflated to exactly the size the header
    gives (never more: no decompression bombs) and each scanline's filter type are checked, which
    is what decoding can fail on; the pixels themselves are not unfiltered. Our own reader, with
    zlib's CRC and ISA-L's inflate (twice zlib's speed): Pillow spent five times as long, mostly in
    Python, on a signature of a few hundred bytes."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    header: tuple[int, ...] | None = None
    idat: list[bytes] = []
    palette = ended = False
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data) and not ended:
        length = int.from_bytes(data[pos:pos + 4], "big")
        if pos + 12 + length > len(data):  # the chunk and its CRC run past the end
            return None
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != int.from_bytes(data[pos + 8 + length:pos + 12 + length], "big"):
            return None
        pos += 12 + length
        if header is None:
            if kind != b"IHDR" or length != 13:
                return None
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"PLTE":
            palette = True
        elif kind == b"IEND":
            ended = True
    if header is None or not ended or not idat:
        return None
    width, height, depth, colour, compression, filtering, interlace = header
    if (width == 0 or height == 0 or depth not in _PNG_DEPTHS.get(colour, ()) or compression or filtering
            or interlace > 1 or (colour == 3 and not palette)):
        return None
    if max(width, height) > max_side:
        return width, height
    bits = depth * _PNG_CHANNELS[colour]
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    rows = []  # (row bytes, rows) of each (pass of the) image
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            rows.append(((w * bits + 7) // 8, h))
    expected = sum((1 + row) * h for row, h in rows)
    inflater = isal_zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), expected + 1)
    except isal_zlib.error:
        return None
    if len(raw) != expected or not inflater.eof:
        return None
    start = 0
    for row, h in rows:
        stride = 1 + row
        if max(raw[start:start + stride * h:stride]) > 4:  # filter types 0-4
            return None
        start += stride * h
    return width, height


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
