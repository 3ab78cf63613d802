"""The interim certificate (Surat Keterangan pengganti KTP-el) as an A4 PDF.

`render_pdf(CertificateDocument) -> bytes` draws, top to bottom: the dinas letterhead (emblem
placeholder, names, address, double rule), the title and number, the statement with every card
field, the validity, then photo | QR code | signature block (place and date, the Kepala Dinas,
the electronic-signature mark, name, rank, NIP), and a footer with the signing key's
fingerprint and the verification URL. Standard PDF fonts only; no files are read.

Who the dinas is comes from `DinasIdentity`, which the service fills from its settings; the
defaults describe Kota Kupang.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib import colors
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from shared.card.values import birth_line, printed
from shared.dates import indonesian_date

PAGE_W, PAGE_H = A4
LEFT, RIGHT = 22 * mm, PAGE_W - 20 * mm
REGULAR, BOLD, ITALIC = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
FOOTER_TOP = 21 * mm
SIGNATURE_ROW_HEIGHT = 62 * mm  # QR code with its caption; the signature block is shorter
SIGNATURE_ROW_LOWEST_TOP = FOOTER_TOP + 4 * mm + SIGNATURE_ROW_HEIGHT
BODY_SCALES = tuple(1 - i / 50 for i in range(14))  # 100 % down to 74 %
QR_SIZE = 48 * mm  # ~0.55 mm per module for a version 14-16 code (token of 350-420 characters)


@dataclass(frozen=True, slots=True)
class DinasIdentity:
    """The issuing dinas and its head, as printed. Filled from settings by the service."""

    head_name: str
    head_nip: str
    head_rank: str = ""  # "Pembina Utama Muda (IV/c)"
    region_name: str = "Kota Kupang"
    office_name: str = "Dinas Kependudukan dan Pencatatan Sipil"
    address: str = "Jalan S. K. Lerik, Kelapa Lima, Kota Kupang, Nusa Tenggara Timur"
    contact: str = ""  # "Telepon (0380) ... · Laman ... · Pos-el ..."
    city: str = "Kupang"  # place of signing
    code: str = "53.71"  # Kemendagri code, the token's `iss`

    @property
    def head_title(self) -> str:
        return f"Kepala {self.office_name} {self.region_name}"


@dataclass(frozen=True, slots=True)
class ResidentData:
    """Card fields in print order (names, not codes)."""

    nik: str
    name: str
    birth_place: str
    birth_date: dt.date
    sex: str  # LAKI-LAKI / PEREMPUAN
    blood_type: str  # A, B, AB, O (+/-) or "-"
    street: str
    rt: str
    rw: str
    village: str
    kecamatan: str
    religion: str
    marital_status: str
    occupation: str
    citizenship: str = "WNI"
    regency: str = ""  # KOTA KUPANG: the card's KOTA/KABUPATEN (left out when not known)
    province: str = ""  # NUSA TENGGARA TIMUR: the card's PROVINSI


@dataclass(frozen=True, slots=True)
class CertificateDocument:
    dinas: DinasIdentity
    number: str  # "470/0001/Dukcapil/2026"
    resident: ResidentData
    photo_jpeg: bytes = field(repr=False)
    issued_on: dt.date
    valid_until: dt.date
    token: str = field(repr=False)
    key_fingerprint: str  # keys.fingerprint(public_key)
    verify_url: str

    @property
    def key_id(self) -> str:
        """The kid is the first 16 hex digits of the fingerprint."""
        return self.key_fingerprint.replace(" ", "").lower()[:16]


def certificate_number(sequence: int, year: int, *, classification: str = "470", unit: str = "Dukcapil") -> str:
    """`470/0001/Dukcapil/2026`: archive classification (470 = population), sequence, unit, year."""
    return f"{classification}/{sequence:04d}/{unit}/{year}"


# A field printed on the row of the field before it, as the card has "Gol. Darah" beside "Jenis Kelamin".
BESIDE_THE_FIELD_BEFORE = frozenset({"Gol. Darah"})


def card_fields(r: ResidentData) -> list[tuple[str, str]]:
    """Label and value of each card field, in card order, written as the card prints them
    (`shared.card.values.printed`: capitals, single spaces; the region table has "Kelapa Lima")."""
    fields = [
        ("NIK", r.nik),
        ("Nama", r.name),
        ("Tempat/Tgl Lahir", birth_line(r.birth_place, r.birth_date)),
        ("Jenis Kelamin", r.sex),
        ("Gol. Darah", r.blood_type),
        ("Alamat", r.street),
        ("RT/RW", f"{r.rt}/{r.rw}"),
        ("Kel/Desa", r.village),
        ("Kecamatan", r.kecamatan),
        *((("Kabupaten/Kota", r.regency),) if r.regency else ()),
        *((("Provinsi", r.province),) if r.province else ()),
        ("Agama", r.religion),
        ("Status Perkawinan", r.marital_status),
        ("Pekerjaan", r.occupation),
        ("Kewarganegaraan", r.citizenship),
    ]
    return [(label, printed(value)) for label, value in fields]


def render_pdf(data: CertificateDocument) -> bytes:
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle(f"Surat Keterangan Pengganti KTP-el {data.number}")
    c.setAuthor(f"{data.dinas.office_name} {data.dinas.region_name}")
    c.setSubject("Surat Keterangan Pengganti KTP-el")
    c.setCreator("ektp certificate service")
    y = _letterhead(c, data.dinas)
    y = _title(c, data, y - 11 * mm)
    body_top = y - 10 * mm
    for scale in BODY_SCALES:  # long names and addresses: tighten the body rather than overflow
        if _body(Canvas(io.BytesIO()), data, body_top, scale) - 4 * mm >= SIGNATURE_ROW_LOWEST_TOP:
            break
    else:
        raise ValueError("certificate fields are too long to fit on one A4 page")
    y = _body(c, data, body_top, scale)
    _signature_row(c, data, y - 4 * mm)
    _footer(c, data)
    c.showPage()
    c.save()
    return out.getvalue()


# --- sections (each takes the top y, returns the y below what it drew) --------------------------


def _letterhead(c: Canvas, dinas: DinasIdentity) -> float:
    top = PAGE_H - 14 * mm
    _emblem(c, LEFT + 1 * mm, top - 27 * mm, 22 * mm, 27 * mm)
    centre = (LEFT + 26 * mm + RIGHT) / 2
    lines = [
        (BOLD, 14, f"PEMERINTAH {dinas.region_name.upper()}"),
        (BOLD, 15.5, dinas.office_name.upper()),
        (REGULAR, 9.5, dinas.address),
    ]
    if dinas.contact:
        lines.append((REGULAR, 9, dinas.contact))
    y = top - 7 * mm
    for font, size, text in lines:
        c.setFont(font, size)
        c.drawCentredString(centre, y, text)
        y -= size * 1.35
    rule = min(y + 1 * mm, top - 30 * mm)
    c.setLineWidth(2.2)
    c.line(LEFT, rule, RIGHT, rule)
    c.setLineWidth(0.6)
    c.line(LEFT, rule - 1.3 * mm, RIGHT, rule - 1.3 * mm)
    return rule - 1.3 * mm


def _title(c: Canvas, data: CertificateDocument, y: float) -> float:
    title = "SURAT KETERANGAN PENGGANTI KTP-el"
    c.setFont(BOLD, 13.5)
    c.drawCentredString(PAGE_W / 2, y, title)
    half = c.stringWidth(title, BOLD, 13.5) / 2
    c.setLineWidth(0.8)
    c.line(PAGE_W / 2 - half, y - 1.6 * mm, PAGE_W / 2 + half, y - 1.6 * mm)
    c.setFont(REGULAR, 11)
    c.drawCentredString(PAGE_W / 2, y - 6.5 * mm, f"Nomor: {data.number}")
    return y - 6.5 * mm


def _body(c: Canvas, data: CertificateDocument, y: float, scale: float = 1.0) -> float:
    """Statement, card fields and validity; `scale` < 1 tightens type and spacing to fit."""
    d = data.dinas
    size, leading = 11 * scale, 15.5 * scale
    y = _paragraph(
        c, f"Yang bertanda tangan di bawah ini, {d.head_title}, dengan ini menerangkan bahwa:", y, size, leading
    )
    y -= 3 * mm * scale
    label_x, colon_x, value_x = LEFT + 8 * mm, LEFT + 52 * mm, LEFT + 55 * mm
    beside_x = value_x + 45 * mm  # the second field of a row: "Gol. Darah" after the sex
    row = 5.9 * mm * scale
    row_y = y
    for label, value in card_fields(data.resident):
        c.setFont(REGULAR, size)
        if label in BESIDE_THE_FIELD_BEFORE:  # a short value: "Gol. Darah : O"
            c.drawString(beside_x, row_y, f"{label} : {value}")
            continue
        row_y = y
        c.drawString(label_x, y, label)
        c.drawString(colon_x, y, ":")
        font = BOLD if label in ("NIK", "Nama") else REGULAR
        c.setFont(font, size)
        for line in _wrap(value, font, size, RIGHT - value_x):
            c.drawString(value_x, y, line)
            y -= row
    y -= 2 * mm * scale
    y = _paragraph(
        c,
        "adalah benar penduduk yang telah melakukan perekaman KTP-el dan terdata dalam database "
        f"kependudukan {d.region_name}. Surat keterangan ini berlaku sebagai pengganti KTP-el "
        "selama KTP-el yang bersangkutan dalam proses penerbitan, dan tidak berlaku lagi apabila "
        "KTP-el telah diterbitkan atau surat keterangan ini dicabut.",
        y,
        size,
        leading,
    )
    y -= 2 * mm * scale
    c.setFont(REGULAR, size)
    c.drawString(label_x, y, "Berlaku sampai dengan")
    c.drawString(colon_x, y, ":")
    c.setFont(BOLD, size)
    c.drawString(value_x, y, indonesian_date(data.valid_until))
    y -= 9 * mm * scale
    return _paragraph(
        c, "Demikian surat keterangan ini dibuat untuk dapat dipergunakan sebagaimana mestinya.", y, size, leading
    )


def _signature_row(c: Canvas, data: CertificateDocument, top: float) -> None:
    d = data.dinas
    qr_x, qr_y = LEFT + 35 * mm, top - QR_SIZE - 7 * mm
    photo_w, photo_h = 30 * mm, 40 * mm
    _photo(c, data.photo_jpeg, LEFT + 1 * mm, qr_y + (QR_SIZE - photo_h) / 2, photo_w, photo_h)
    _qr(c, data.token, qr_x, qr_y, QR_SIZE)
    c.setFont(ITALIC, 7.5)
    c.drawCentredString(qr_x + QR_SIZE / 2, qr_y - 3.2 * mm, "Pindai untuk memeriksa keaslian")

    x0, x1 = LEFT + 88 * mm, RIGHT
    centre = (x0 + x1) / 2
    y = top
    c.setFont(REGULAR, 10.5)
    c.drawCentredString(centre, y, f"{d.city}, {indonesian_date(data.issued_on)}")
    y -= 5.2 * mm
    for line in simpleSplit(d.head_title.upper() + ",", BOLD, 9.5, x1 - x0):
        c.setFont(BOLD, 9.5)
        c.drawCentredString(centre, y, line)
        y -= 4.4 * mm
    y = _esign_mark(c, data, centre, y - 1.5 * mm, 60 * mm)
    c.setFont(BOLD, 10.5)
    c.drawCentredString(centre, y - 5 * mm, d.head_name)
    w = c.stringWidth(d.head_name, BOLD, 10.5) / 2
    c.setLineWidth(0.6)
    c.line(centre - w, y - 5.8 * mm, centre + w, y - 5.8 * mm)
    y -= 10 * mm
    c.setFont(REGULAR, 10)
    if d.head_rank:
        c.drawCentredString(centre, y, d.head_rank)
        y -= 4.6 * mm
    c.drawCentredString(centre, y, f"NIP. {d.head_nip}")


def _footer(c: Canvas, data: CertificateDocument) -> None:
    y = FOOTER_TOP
    c.setStrokeColor(colors.grey)
    c.setLineWidth(0.5)
    c.line(LEFT, y, RIGHT, y)
    c.setStrokeColor(colors.black)
    c.setFillColor(colors.HexColor("#333333"))
    lines = [
        (
            REGULAR,
            "Dokumen ini ditandatangani secara elektronik. Keasliannya dapat diperiksa tanpa jaringan "
            "dengan memindai kode QR, atau secara daring di:",
        ),
        (BOLD, data.verify_url),
        (REGULAR, f"ID kunci penanda tangan: {data.key_id}"),
        (REGULAR, f"Sidik jari kunci (SHA-256): {data.key_fingerprint}"),
    ]
    y -= 3.6 * mm
    for font, text in lines:
        for line in simpleSplit(text, font, 7.5, RIGHT - LEFT):
            c.setFont(font, 7.5)
            c.drawString(LEFT, y, line)
            y -= 3.3 * mm
    c.setFillColor(colors.black)


# --- drawing helpers ----------------------------------------------------------------------------


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of at most `width`: broken between words, and a word wider than the line (a long
    mononym, a street written without spaces) broken between letters rather than run off the page."""
    lines = []
    for line in simpleSplit(text, font, size, width) or [""]:
        while stringWidth(line, font, size) > width:
            cut = next((i for i in range(len(line) - 1, 0, -1) if stringWidth(line[:i], font, size) <= width), 1)
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


def _paragraph(c: Canvas, text: str, y: float, size: float, leading: float) -> float:
    """A justified paragraph whose first baseline is `y`; returns the baseline of the next line."""
    style = ParagraphStyle("body", fontName=REGULAR, fontSize=size, leading=leading, alignment=TA_JUSTIFY)
    p = Paragraph(escape(text), style)
    _, height = p.wrapOn(c, RIGHT - LEFT, PAGE_H)
    top = y + size  # Paragraph positions by its top edge, not its baseline
    p.drawOn(c, LEFT, top - height)
    return top - height - size + (leading - size)


def _emblem(c: Canvas, x: float, y: float, w: float, h: float) -> None:
    """Placeholder for the regional emblem: a shield with a star and waves, in outline."""
    c.saveState()
    c.setLineWidth(1.2)
    c.setFillColor(colors.white)
    p = c.beginPath()
    p.moveTo(x, y + h)
    p.lineTo(x + w, y + h)
    p.lineTo(x + w, y + h * 0.45)
    p.curveTo(x + w, y + h * 0.18, x + w * 0.7, y + h * 0.06, x + w / 2, y)
    p.curveTo(x + w * 0.3, y + h * 0.06, x, y + h * 0.18, x, y + h * 0.45)
    p.close()
    c.drawPath(p, stroke=1, fill=1)
    inset = 1.3 * mm
    c.setLineWidth(0.5)
    q = c.beginPath()
    q.moveTo(x + inset, y + h - inset)
    q.lineTo(x + w - inset, y + h - inset)
    q.lineTo(x + w - inset, y + h * 0.45)
    q.curveTo(x + w - inset, y + h * 0.2, x + w * 0.68, y + h * 0.1, x + w / 2, y + inset * 1.3)
    q.curveTo(x + w * 0.32, y + h * 0.1, x + inset, y + h * 0.2, x + inset, y + h * 0.45)
    q.close()
    c.drawPath(q, stroke=1, fill=0)
    c.setFillColor(colors.black)
    _star(c, x + w / 2, y + h * 0.7, w * 0.2)
    c.setLineWidth(0.8)
    for i in range(3):
        wy = y + h * (0.36 - i * 0.08)
        wave = c.beginPath()
        wave.moveTo(x + w * 0.22, wy)
        wave.curveTo(x + w * 0.36, wy + 1.2 * mm, x + w * 0.44, wy - 1.2 * mm, x + w / 2, wy)
        wave.curveTo(x + w * 0.56, wy + 1.2 * mm, x + w * 0.64, wy - 1.2 * mm, x + w * 0.78, wy)
        c.drawPath(wave, stroke=1, fill=0)
    c.restoreState()


def _star(c: Canvas, cx: float, cy: float, r: float) -> None:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.4
        angle = math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    p = c.beginPath()
    p.moveTo(*points[0])
    for point in points[1:]:
        p.lineTo(*point)
    p.close()
    c.drawPath(p, stroke=0, fill=1)


def _photo(c: Canvas, jpeg: bytes, x: float, y: float, w: float, h: float) -> None:
    """The 3x4 photo, scaled to cover the box and centred (the JPEG is embedded as is)."""
    try:
        image = ImageReader(io.BytesIO(jpeg))
        iw, ih = image.getSize()
    except Exception as exc:  # reportlab raises several types for a bad image
        raise ValueError("photo_jpeg is not a readable JPEG image") from exc
    scale = max(w / iw, h / ih)
    dw, dh = iw * scale, ih * scale
    c.saveState()
    clip = c.beginPath()
    clip.rect(x, y, w, h)
    c.clipPath(clip, stroke=0, fill=0)
    c.drawImage(image, x + (w - dw) / 2, y + (h - dh) / 2, dw, dh)
    c.restoreState()
    c.setLineWidth(0.5)
    c.rect(x, y, w, h)


def _qr(c: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code as vector squares (error correction M, 4-module quiet zone)."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    module = size / len(matrix)
    c.saveState()
    c.setFillColor(colors.white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColor(colors.black)
    dark = c.beginPath()
    for row, bits in enumerate(matrix):
        top = y + size - (row + 1) * module
        col = 0
        while col < len(bits):  # one rectangle per run of dark modules, all in one path
            if bits[col]:
                start = col
                while col < len(bits) and bits[col]:
                    col += 1
                dark.rect(x + start * module, top, (col - start) * module, module)
            else:
                col += 1
    c.drawPath(dark, stroke=0, fill=1)
    c.restoreState()


def _esign_mark(c: Canvas, data: CertificateDocument, centre: float, top: float, width: float) -> float:
    """A boxed "Ditandatangani secara elektronik" mark with a seal; returns the y below it."""
    height = 15 * mm
    x, y = centre - width / 2, top - height
    c.saveState()
    c.setStrokeColor(colors.HexColor("#1F3A68"))
    c.setFillColor(colors.HexColor("#1F3A68"))
    c.setLineWidth(0.8)
    c.roundRect(x, y, width, height, 2 * mm, stroke=1, fill=0)
    seal_x, seal_y, r = x + 7.5 * mm, y + height / 2, 5 * mm
    c.circle(seal_x, seal_y, r, stroke=1, fill=0)
    c.circle(seal_x, seal_y, r - 0.9 * mm, stroke=1, fill=0)
    c.setLineWidth(1.3)
    tick = c.beginPath()
    tick.moveTo(seal_x - 2.2 * mm, seal_y)
    tick.lineTo(seal_x - 0.5 * mm, seal_y - 1.8 * mm)
    tick.lineTo(seal_x + 2.4 * mm, seal_y + 1.9 * mm)
    c.drawPath(tick, stroke=1, fill=0)
    tx = x + 15 * mm
    c.setFont(BOLD, 8.5)
    c.drawString(tx, y + height - 5 * mm, "Ditandatangani secara")
    c.drawString(tx, y + height - 8.6 * mm, "elektronik")
    c.setFont(REGULAR, 7)
    c.drawString(tx, y + height - 12.2 * mm, f"ID kunci {data.key_id}")
    c.restoreState()
    return y
