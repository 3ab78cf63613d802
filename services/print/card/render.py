"""Render a card: a 2-page PDF at ID-1 size (front, back) and one PNG per side.

`render_card` first lays out every field (wrapping and condensing values to their box, refusing a
value that does not fit), then draws with reportlab and rasterises with pypdfium2. `fields` lists
what was drawn, with its pixel box in the PNG of its side, so tests and the print console can read
a card back without OCR.
"""

from __future__ import annotations

import hashlib
import io
import threading
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from typing import NamedTuple

import pypdfium2 as pdfium
from PIL import Image, ImageOps
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen.canvas import Canvas

from shared.card.fit import fit
from shared.card.layout import CARD_H_MM, CARD_W_MM, ROW_PITCH, Side, TextField, box, card_size_px, fields_of

from . import background
from .data import CardData, card_values

PAGE_SIZE = (CARD_W_MM * mm, CARD_H_MM * mm)
INK = (0.05, 0.07, 0.12)

# pdfium is not thread-safe; renders may run in worker threads (print agents use to_thread).
_PDFIUM_LOCK = threading.Lock()

BBox = tuple[int, int, int, int]  # left, top, right, bottom in px of the side's PNG


class RenderedField(NamedTuple):
    label: str  # the field's printed label, or its key for unlabelled lines (headers)
    value: str  # the text drawn; the lines of a wrapped value joined by one space
    bbox: BBox
    key: str
    side: Side


@dataclass(frozen=True)
class RenderedCard:
    pdf: bytes  # 2 pages: front, back
    front_png: bytes
    back_png: bytes
    fields: list[RenderedField]  # front in layout order, then back
    boxes: dict[str, BBox]  # photo, signature, chip_code when drawn
    dpi: int
    size_px: tuple[int, int]


@dataclass(frozen=True)
class _Placed:
    field: TextField
    lines: list[str]
    hscale: float
    y: float  # mm, first baseline after flow shift


def render_card(data: CardData, *, dpi: int = 300, chip_record: bytes | None = None) -> RenderedCard:
    """Render `data`; ValueError (naming the field) for a value that does not fit.

    `chip_record` (from `chip.build_chip_record`), when given, is referenced by a QR code on the
    back: `KTPEL-CHIP:1:<serial>:<sha256 of the record, base64url>`.
    """
    if dpi < 72:
        raise ValueError("dpi: at least 72")
    values = card_values(data)
    placed = {side: _place(side, values) for side in ("front", "back")}
    photo = _photo_image(data.photo_jpeg)
    signature = _signature_image(data.signature_image) if data.signature_image else None

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=PAGE_SIZE, invariant=True, pageCompression=1)
    c.setTitle(f"KTP-el {data.serial}")
    c.setAuthor("ektp print")
    boxes: dict[str, BBox] = {}

    background.front(c)
    _draw_texts(c, placed["front"])
    boxes["photo"] = _draw_image(c, "photo", photo, dpi, cover=True)
    if signature is not None:
        boxes["signature"] = _draw_image(c, "signature", signature, dpi, cover=False)
    c.showPage()

    background.back(c)
    _draw_texts(c, placed["back"])
    if chip_record is not None:
        boxes["chip_code"] = _draw_qr(c, chip_code_payload(data.serial, chip_record), dpi)
    c.showPage()
    c.save()
    pdf = buf.getvalue()

    front_png, back_png = _rasterise(pdf, dpi)
    fields = [_rendered(p, dpi) for side in ("front", "back") for p in placed[side]]
    return RenderedCard(pdf, front_png, back_png, fields, boxes, dpi, card_size_px(dpi))


def chip_code_payload(serial: str, chip_record: bytes) -> str:
    digest = urlsafe_b64encode(hashlib.sha256(chip_record).digest()).rstrip(b"=").decode()
    return f"KTPEL-CHIP:1:{serial}:{digest}"


# --- layout --------------------------------------------------------------------------------


def _place(side: Side, values: dict[str, str]) -> list[_Placed]:
    placed: list[_Placed] = []
    shift = 0.0
    for f in fields_of(side):
        value = values[f.key]
        lines, hscale = fit(f, value)
        placed.append(_Placed(f, lines, hscale, f.y + (shift if f.flow else 0.0)))
        if f.flow:
            shift += (len(lines) - 1) * ROW_PITCH
    return placed


def _line_pitch(f: TextField) -> float:
    return ROW_PITCH if f.flow else f.size * 1.25 / mm


def _x_of(p: _Placed, line: str) -> float:
    """Left edge of a line in pt."""
    f = p.field
    if f.align == "center":
        return f.value_x * mm - stringWidth(line, f.font, f.size) * p.hscale / 2
    return f.value_x * mm


# --- drawing -------------------------------------------------------------------------------


def _pdf_y(y_mm: float) -> float:
    return (CARD_H_MM - y_mm) * mm


def _draw_texts(c: Canvas, placed: list[_Placed]) -> None:
    c.setFillColorRGB(*INK)
    for p in placed:
        f = p.field
        base = _pdf_y(p.y)
        if f.label:
            c.setFont(f.label_font, f.label_size or f.size)
            c.drawString(f.label_x * mm, base, f.label)
        if f.colon_x is not None:
            c.drawString(f.colon_x * mm, base, ":")
        # The horizontal scale (PDF Tz) is graphics state and outlives the text object: kept inside
        # saveState/restoreState, the condensing of a value ends with its lines, not the labels below.
        c.saveState()
        for i, line in enumerate(p.lines):
            t = c.beginText(_x_of(p, line), base - i * _line_pitch(f) * mm)
            t.setFont(f.font, f.size)
            t.setHorizScale(p.hscale * 100)
            t.textOut(line)
            c.drawText(t)
        c.restoreState()


def _draw_image(c: Canvas, name: str, img: Image.Image, dpi: int, *, cover: bool) -> BBox:
    b = box(name)
    w, h = b.w, b.h
    if not cover:  # fit inside the box, keep aspect, centred
        ratio = min(b.w / img.width, b.h / img.height)
        w, h = img.width * ratio, img.height * ratio
    x, y = b.x + (b.w - w) / 2, b.y + (b.h - h) / 2
    c.drawImage(ImageReader(img), x * mm, _pdf_y(y + h), w * mm, h * mm, mask="auto")
    return _bbox_px(x, y, x + w, y + h, dpi)


def _draw_qr(c: Canvas, payload: str, dpi: int) -> BBox:
    b = box("chip_code")
    widget = QrCodeWidget(payload, barLevel="M", barBorder=1)
    x0, y0, x1, y1 = widget.getBounds()
    size = b.w * mm
    d = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    d.add(widget)
    c.setFillColorRGB(1, 1, 1)
    c.rect(b.x * mm, _pdf_y(b.y + b.h), size, size, stroke=0, fill=1)
    renderPDF.draw(d, c, b.x * mm, _pdf_y(b.y + b.h))
    return _bbox_px(b.x, b.y, b.x + b.w, b.y + b.h, dpi)


def _photo_image(jpeg: bytes) -> Image.Image:
    """The photo cropped (centred) to the photo box's aspect ratio."""
    try:
        img = Image.open(io.BytesIO(jpeg))
        img.load()
    except Exception as e:  # PIL raises several types for bad data
        raise ValueError(f"photo: not a readable image ({e})") from None
    b = box("photo")
    return ImageOps.fit(img.convert("RGB"), _aspect_size(img, b.w / b.h), Image.Resampling.LANCZOS)


def _aspect_size(img: Image.Image, aspect: float) -> tuple[int, int]:
    if img.width / img.height > aspect:
        return round(img.height * aspect), img.height
    return img.width, round(img.width / aspect)


def _signature_image(data: bytes) -> Image.Image:
    """Dark ink kept, light paper made transparent, so the card's tint shows through."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as e:
        raise ValueError(f"signature: not a readable image ({e})") from None
    rgba = img.convert("RGBA")
    ink = ImageOps.invert(rgba.convert("L")).point(lambda v: min(255, v * 2))
    alpha = Image.composite(ink, Image.new("L", rgba.size, 0), rgba.getchannel("A"))
    out = Image.new("RGBA", rgba.size, (20, 24, 60, 0))
    out.putalpha(alpha)
    return out


# --- output --------------------------------------------------------------------------------


def _px(v_mm: float, dpi: int) -> float:
    return v_mm / 25.4 * dpi


def _bbox_px(x0: float, y0: float, x1: float, y1: float, dpi: int) -> BBox:
    import math

    return (
        math.floor(_px(x0, dpi)),
        math.floor(_px(y0, dpi)),
        math.ceil(_px(x1, dpi)),
        math.ceil(_px(y1, dpi)),
    )


def _rendered(p: _Placed, dpi: int) -> RenderedField:
    f = p.field
    ascent, descent = getAscentDescent(f.font, f.size)  # pt; descent is negative
    lefts = [_x_of(p, line) / mm for line in p.lines]
    rights = [
        left + stringWidth(line, f.font, f.size) * p.hscale / mm
        for left, line in zip(lefts, p.lines, strict=True)
    ]
    top = p.y - ascent / mm
    bottom = p.y + (len(p.lines) - 1) * _line_pitch(f) - descent / mm
    bbox = _bbox_px(min(lefts), top, max(rights), bottom, dpi)
    return RenderedField(f.label or f.key, " ".join(p.lines), bbox, f.key, f.side)


def _rasterise(pdf: bytes, dpi: int) -> tuple[bytes, bytes]:
    pngs: list[bytes] = []
    with _PDFIUM_LOCK:
        doc = pdfium.PdfDocument(pdf)
        try:
            for i in range(2):
                page = doc[i]
                image = page.render(scale=dpi / 72).to_pil()
                page.close()
                out = io.BytesIO()
                image.convert("RGB").save(out, format="PNG", dpi=(dpi, dpi))
                pngs.append(out.getvalue())
        finally:
            doc.close()
    return pngs[0], pngs[1]
