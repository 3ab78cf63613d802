"""What fits on the card: the printed free-text fields the counter checks, and how.

`rules.py` checks recordings against this (at the service and at a station) with the card's own
layout and fit (shared/card, which the print service draws with): a value longer than its place
holds, or wider in the card's font than its lines even condensed, is refused at the counter, not
held weeks later at a print server. Names and the other printed text are printed in UPPERCASE
(lowercase input is accepted and upper-cased for print). The other printed fields are not free
text: NIK (16), RT/RW (3 each), blood type, religion, marital status, citizenship (enumerations)
and the province/regency/kecamatan/kelurahan names (from the region table, so a known village
code is all the counter checks: every name of the shipped table fits its field on the card, which
`tests/enrollment/test_card_contract.py` asserts name by name).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.card.layout import TextField, field
from shared.card.values import birth_line

# The birth place shares its line with the date: "KUPANG, 17-08-1990".
_BIRTH_DATE_PART = len(birth_line("", dt.date(2000, 1, 1)))


@dataclass(frozen=True, slots=True)
class PrintedField:
    path: str  # field path in RecordingIn
    label_id: str
    label_en: str
    place: TextField  # its place on the card (shared.card.layout)
    max_length: int  # characters of the recorded value, spaces included


def _printed(path: str, label_id: str, label_en: str, card_key: str, *, line_shared_with: int = 0) -> PrintedField:
    """The recorded field `path`, printed at the layout's `card_key` with `line_shared_with` characters
    of that line taken by something else; its place and longest value are the layout's."""
    place = field(card_key)
    return PrintedField(path, label_id, label_en, place, place.max_chars - line_shared_with)


PRINTED_FIELDS: tuple[PrintedField, ...] = (
    _printed("name", "Nama", "Name", "name"),
    _printed("birth_place", "Tempat lahir", "Birth place", "birth", line_shared_with=_BIRTH_DATE_PART),
    _printed("address.street", "Alamat", "Address (street)", "street"),
    _printed("occupation", "Pekerjaan", "Occupation", "occupation"),
)

BY_PATH: dict[str, PrintedField] = {f.path: f for f in PRINTED_FIELDS}

RT_RW_DIGITS = 3

# Characters the card printer can print in the free-text fields other than the name.
PRINTABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,'-/()&")
# The name: Latin letters, space, apostrophe, hyphen, dot and comma (no digits).
NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,'-")


def normalise_rt_rw(value: str) -> str:
    """``"3"`` → ``"003"``; the value must already be 1 to 3 digits."""
    return value.strip().zfill(RT_RW_DIGITS)
