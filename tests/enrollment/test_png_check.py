"""The signature's PNG check (`png_size`): every image Pillow writes or reads passes with its size;
each way a PNG fails to decode is refused."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from services.enrollment.validation.images import SIGNATURE_MAX_SIDE, png_size


def pillow_png(mode: str, size: tuple[int, int] = (301, 97)) -> bytes:
    img = Image.new(mode, size)
    img.putdata([(i * 37) % 251 if mode in ("L", "P", "1", "I;16") else tuple((i * k) % 251 for k in range(len(mode)))
                 for i in range(size[0] * size[1])])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def handmade(width: int, height: int, *, interlace: int = 0, filter_type: int = 0, extra_rows: int = 0,
             colour: int = 0, plte: bool = False, end: bool = True) -> bytes:
    """A grey 8-bit PNG built byte by byte (Pillow writes no interlaced PNGs)."""
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)) \
        if interlace else ((0, 0, 1, 1),)
    raw = b""
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            raw += (bytes([filter_type]) + bytes(i % 256 for i in range(w))) * h
    raw += (bytes([0]) + bytes(width)) * extra_rows
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, interlace))
    if plte:
        out += chunk(b"PLTE", bytes(range(256)) * 3)
    out += chunk(b"IDAT", zlib.compress(raw))
    return out + (chunk(b"IEND", b"") if end else b"")


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
def test_every_png_pillow_writes_passes(mode):
    assert png_size(pillow_png(mode), SIGNATURE_MAX_SIDE) == (301, 97)


@pytest.mark.parametrize("size", [(1, 1), (7, 3), (8, 8), (13, 29), (300, 100)])
def test_interlaced_png_passes(size):
    data = handmade(*size, interlace=1)
    Image.open(io.BytesIO(data)).load()  # a real decoder reads it
    assert png_size(data, SIGNATURE_MAX_SIDE) == size


def test_broken_pngs_are_refused():
    good = pillow_png("L")
    flipped = bytearray(good)
    flipped[60] ^= 0xFF  # inside IDAT: its CRC no longer matches
    broken = {
        "crc": bytes(flipped),
        "truncated": good[:len(good) // 2],
        "no IEND": handmade(30, 20, end=False),
        "filter type 5": handmade(30, 20, filter_type=5),
        "more image data than the header says": handmade(30, 20, extra_rows=3),
        "palette image without PLTE": handmade(30, 20, colour=3),
        "not a PNG": b"GIF89a" + good[6:],
    }
    for name, data in broken.items():
        assert png_size(data, SIGNATURE_MAX_SIDE) is None, name
    assert png_size(handmade(30, 20, colour=3, plte=True), SIGNATURE_MAX_SIDE) == (30, 20)


def test_an_oversized_png_is_sized_not_inflated():
    # 100,000 x 100,000 grey pixels would inflate to 10 GB; the header is enough to refuse it.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(1000)))
            + chunk(b"IEND", b""))
    assert png_size(data, SIGNATURE_MAX_SIDE) == (100_000, 100_000)
