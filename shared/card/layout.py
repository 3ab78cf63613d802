"""Where every printed thing sits on the card: the one table of the KTP-el layout.

All positions are in millimetres from the card's top-left corner (the renderer converts to PDF
points and to pixels). A text field's `y` is the baseline of its first line. Card size is ISO/IEC
7810 ID-1.

The table is data only. The print service's renderer draws it; `fit.py` decides whether a value
fits its place (its length, then its width in the field's font, wrapped and condensed), for the
renderer and for the counter (enrollment validation, at the service and at a station), so a
recording the counter accepts is a card that can be printed.

Rows below a field that wraps onto a second line move down by one row pitch (as on real cards,
a long name pushes the rest of the list down). Three rows may wrap: the name, the street and the
Kel/Desa (the region table's longest village, KAMPUANG TANJUANG KOTO MAMBANG SUNGAI DURIAN, is 44
characters); with all three on two lines "Berlaku Hingga" has its baseline at 50.9 mm, 3.1 mm
above the card's edge, left of the signature. The other place names of the region table fit one
line (the longest kecamatan, 31 characters, condensed to 98 %; province and regency in the
header, up to 39). `tests/enrollment/test_card_contract.py` holds every name of the table to its
field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CARD_W_MM = 85.60
CARD_H_MM = 53.98

Side = Literal["front", "back"]
Align = Literal["left", "center"]

LABEL_FONT = "Helvetica"
VALUE_FONT = "Helvetica-Bold"
BOLD_FONT = "Helvetica-Bold"

ROW_PITCH = 2.45  # mm between the baselines of two rows of the list
MIN_HSCALE = 0.72  # how far a value may be condensed horizontally before it is refused


@dataclass(frozen=True)
class TextField:
    side: Side
    label: str  # printed label; "" for lines without one (headers, title)
    key: str  # key into render.card_values()
    y: float  # baseline of the first line, mm from the top
    value_x: float  # left edge of the value, or its centre when align="center"
    width: float  # mm available to one line of the value
    max_chars: int  # longest value accepted (all lines together)
    size: float = 5.6  # value font size, pt
    label_x: float = 3.0
    colon_x: float | None = 21.8
    label_size: float | None = None  # None: same as size
    lines: int = 1
    align: Align = "left"
    font: str = VALUE_FONT
    label_font: str = LABEL_FONT
    flow: bool = False  # a row of the list: moves down when a row above it wraps


@dataclass(frozen=True)
class Box:
    side: Side
    name: str
    x: float
    y: float
    w: float
    h: float


def _row(i: float) -> float:
    return 16.6 + i * ROW_PITCH


_V = 23.0  # value column of the front list
_VW = 38.6  # ... and its width, up to the photo
_SUB = 5.6  # indent of the RT/RW, Kel/Desa, Kecamatan labels
_PHOTO_CX = 72.95

FIELDS: tuple[TextField, ...] = (
    # --- front: header ---
    TextField("front", "", "province_line", 4.5, CARD_W_MM / 2, 80, 40, size=7.6,
              colon_x=None, align="center", font=BOLD_FONT),
    TextField("front", "", "regency", 7.9, CARD_W_MM / 2, 80, 40, size=7.6,
              colon_x=None, align="center", font=BOLD_FONT),
    # --- front: NIK ---
    TextField("front", "NIK", "nik", 12.7, 13.0, 48, 16, size=11.0, colon_x=11.0,
              label_size=9.5, label_font=BOLD_FONT),
    # --- front: the list ---
    TextField("front", "Nama", "name", _row(0), _V, _VW, 60, lines=2, flow=True),
    TextField("front", "Tempat/Tgl Lahir", "birth", _row(1), _V, _VW, 36, flow=True),
    TextField("front", "Jenis Kelamin", "sex", _row(2), _V, 15.0, 9, flow=True),
    TextField("front", "Gol. Darah", "blood_type", _row(2), 50.4, 8.0, 3,
              label_x=39.2, colon_x=49.3, flow=True),
    TextField("front", "Alamat", "street", _row(3), _V, _VW, 60, lines=2, flow=True),
    TextField("front", "RT/RW", "rt_rw", _row(4), _V, _VW, 7, label_x=_SUB, flow=True),
    TextField("front", "Kel/Desa", "village", _row(5), _V, _VW, 44, label_x=_SUB, lines=2, flow=True),
    TextField("front", "Kecamatan", "district", _row(6), _V, _VW, 34, label_x=_SUB, flow=True),
    TextField("front", "Agama", "religion", _row(7), _V, _VW, 30, flow=True),
    TextField("front", "Status Perkawinan", "marital_status", _row(8), _V, _VW, 11, flow=True),
    TextField("front", "Pekerjaan", "occupation", _row(9), _V, _VW, 34, flow=True),
    TextField("front", "Kewarganegaraan", "citizenship", _row(10), _V, _VW, 3, flow=True),
    TextField("front", "Berlaku Hingga", "valid_until", _row(11), _V, _VW, 12, flow=True),
    # --- front: under the photo ---
    TextField("front", "", "issue_place", 39.9, _PHOTO_CX, 21.0, 24, size=5.4,
              colon_x=None, align="center"),
    TextField("front", "", "issue_date", 42.2, _PHOTO_CX, 21.0, 10, size=5.4,
              colon_x=None, align="center"),
    # --- back ---
    TextField("back", "", "title", 7.0, CARD_W_MM / 2, 80, 40, size=8.4,
              colon_x=None, align="center", font=BOLD_FONT),
    TextField("back", "", "country", 10.6, CARD_W_MM / 2, 80, 40, size=6.4,
              colon_x=None, align="center", font=LABEL_FONT),
    TextField("back", "No. Seri", "serial", 18.5, 17.5, 36.0, 20, size=7.5, label_x=5.0,
              colon_x=16.0, label_size=6.5),
    TextField("back", "", "note", 34.5, 5.0, 50.0, 240, size=5.0, colon_x=None,
              lines=5, font=LABEL_FONT),
)

BOXES: tuple[Box, ...] = (
    Box("front", "photo", 63.2, 11.0, 19.5, 26.0),
    Box("front", "signature", 64.0, 43.2, 17.9, 7.6),
    Box("back", "chip_code", 61.0, 20.0, 20.0, 20.0),
)


def box(name: str) -> Box:
    return next(b for b in BOXES if b.name == name)


def field(key: str) -> TextField:
    """The field printed at `key`: its place and its longest value (the counter checks against it)."""
    return next(f for f in FIELDS if f.key == key)


def fields_of(side: Side) -> tuple[TextField, ...]:
    return tuple(f for f in FIELDS if f.side == side)


def card_size_px(dpi: int) -> tuple[int, int]:
    """Pixel size of a raster at `dpi` (rounded up, as the rasteriser does): 1012×638 at 300."""
    import math

    return math.ceil(CARD_W_MM / 25.4 * dpi - 1e-9), math.ceil(CARD_H_MM / 25.4 * dpi - 1e-9)
