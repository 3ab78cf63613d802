"""What goes on a card (`CardData`) and how each value is written (`card_values`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.card.values import birth_line, format_date, printed

VALID_UNTIL = "SEUMUR HIDUP"
CARD_TITLE = "KARTU TANDA PENDUDUK ELEKTRONIK"
COUNTRY = "REPUBLIK INDONESIA"
BACK_NOTE = (
    "Kartu ini milik Pemerintah Republik Indonesia dan berlaku sebagai identitas resmi "
    "penduduk. Barang siapa menemukan kartu ini harap mengembalikannya ke Dinas "
    "Kependudukan dan Pencatatan Sipil setempat."
)


@dataclass(frozen=True)
class CardData:
    """The printed data of one card; text as recorded (it is uppercased when printed)."""

    province: str  # "NUSA TENGGARA TIMUR" (printed as "PROVINSI NUSA TENGGARA TIMUR")
    regency: str  # "KOTA KUPANG" or "KABUPATEN KUPANG", printed as given
    nik: str
    name: str
    birth_place: str
    birth_date: dt.date
    sex: str  # LAKI-LAKI | PEREMPUAN
    blood_type: str  # A, B, AB, O with optional +/-, or "-"
    street: str
    rt: str
    rw: str
    village: str  # kelurahan/desa name
    district: str  # kecamatan name
    religion: str
    marital_status: str
    occupation: str
    citizenship: str  # WNI | WNA
    photo_jpeg: bytes
    issue_place: str
    issue_date: dt.date
    serial: str  # blank-card serial from the site's stock
    signature_image: bytes | None = None  # PNG or JPEG, dark ink on a light background


def _pad3(s: str) -> str:
    s = s.strip()
    return s.zfill(3) if s.isdigit() else s


def _province_line(province: str) -> str:
    p = province.strip()
    return p if p.upper().startswith("PROVINSI") else f"PROVINSI {p}"


def card_values(data: CardData) -> dict[str, str]:
    """The text of every field keyed as in `layout.FIELDS`, uppercased, as printed."""
    values = {
        "province_line": _province_line(data.province),
        "regency": data.regency,
        "nik": data.nik,
        "name": data.name,
        "birth": birth_line(data.birth_place, data.birth_date),
        "sex": data.sex,
        "blood_type": data.blood_type.replace("\u2212", "-"),
        "street": data.street,
        "rt_rw": f"{_pad3(data.rt)}/{_pad3(data.rw)}",
        "village": data.village,
        "district": data.district,
        "religion": data.religion,
        "marital_status": data.marital_status,
        "occupation": data.occupation,
        "citizenship": data.citizenship,
        "valid_until": VALID_UNTIL,
        "issue_place": data.issue_place,
        "issue_date": format_date(data.issue_date),
        "title": CARD_TITLE,
        "country": COUNTRY,
        "serial": data.serial,
    }
    out = {k: printed(v) for k, v in values.items()}
    out["note"] = BACK_NOTE  # the note keeps its case
    return out
