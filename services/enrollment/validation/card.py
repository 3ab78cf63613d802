"""What fits on the card: the maximum length of every free-text field that is printed.

This is the counter's table of card-space limits: `rules.py` checks recordings against it (at
the service and at a station). The print layout keeps the room of each printed line itself
(services/print/card/layout.py; a service imports no other's). Names and the other printed text
are printed in UPPERCASE (lowercase input is accepted and upper-cased for print). The other
printed fields are not free text: NIK (16), RT/RW (3 each), blood type, religion, marital
status, citizenship (enumerations) and the province/regency/kecamatan/kelurahan names (from
the region table).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PrintedField:
    path: str  # field path in RecordingIn
    label_id: str
    label_en: str
    max_length: int  # characters, spaces included


PRINTED_FIELDS: tuple[PrintedField, ...] = (
    PrintedField("name", "Nama", "Name", 60),
    PrintedField("birth_place", "Tempat lahir", "Birth place", 30),
    PrintedField("address.street", "Alamat", "Address (street)", 60),
    # 32, not 30: the longest SIAK occupation, "ANGGOTA BADAN PEMERIKSA KEUANGAN", must fit.
    PrintedField("occupation", "Pekerjaan", "Occupation", 32),
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


def printed(value: str) -> str:
    """The text as it is printed on the card: upper case, single spaces."""
    return " ".join(value.split()).upper()
