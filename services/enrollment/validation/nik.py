"""NIK (Nomor Induk Kependudukan): ``PP KK CC DDMMYY SSSS``.

Province, regency/city and kecamatan of first registration (Kemendagri codes), birth date with
40 added to the day for women, and a serial from 0001. There is no check digit. The year has two
digits; :meth:`NikParts.birth_date` picks the century that does not put the date in the future.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from services.enrollment.schemas import Sex

_NIK = re.compile(r"\d{16}")
FEMALE_DAY_OFFSET = 40


class NikFormatError(ValueError):
    """The text is not 16 digits."""


@dataclass(frozen=True, slots=True)
class NikParts:
    province: str  # "53"
    regency: str  # "53.71"
    district: str  # "53.71.04"
    day: int  # as written: 41..71 for women
    month: int
    year2: int  # two-digit year
    serial: int

    @property
    def sex(self) -> Sex:
        return Sex.FEMALE if self.day > FEMALE_DAY_OFFSET else Sex.MALE

    @property
    def birth_day(self) -> int:
        return self.day - FEMALE_DAY_OFFSET if self.day > FEMALE_DAY_OFFSET else self.day

    def birth_date_candidates(self) -> tuple[dt.date, ...]:
        """Every real date the date part can stand for (1900s and 2000s), oldest first.

        Empty when the date part is no date at all (32.01, 31.04, 29.02 of a common year).
        ``00`` is special: 29.02.00 exists only in 2000 (1900 was not a leap year).
        """
        return ddmmyy_dates(self.birth_day, self.month, self.year2)

    def birth_date(self, today: dt.date) -> dt.date | None:
        """The most recent candidate not after ``today``; None if the date part is invalid."""
        past = [d for d in self.birth_date_candidates() if d <= today]
        return past[-1] if past else None

    def matches(self, birth_date: dt.date, sex: Sex) -> bool:
        return (
            self.sex == sex
            and self.birth_day == birth_date.day
            and self.month == birth_date.month
            and self.year2 == birth_date.year % 100
        )


def ddmmyy_dates(day: int, month: int, year2: int) -> tuple[dt.date, ...]:
    """Every real date a ``DDMMYY`` part can stand for (1900s and 2000s), oldest first; empty when
    it is no date at all. ``00`` is special: 29.02.00 exists only in 2000."""
    out = []
    for century in (1900, 2000):
        try:
            out.append(dt.date(century + year2, month, day))
        except ValueError:
            pass
    return tuple(out)


def parse_nik(nik: str) -> NikParts:
    """Split a NIK into its parts; raise :class:`NikFormatError` unless it is 16 digits.

    The parts are not judged here (an impossible date or serial 0000 still parses) so that
    the rules can report every problem; see ``rules.check_nik``.
    """
    if not isinstance(nik, str) or not _NIK.fullmatch(nik):
        raise NikFormatError(nik)
    return NikParts(
        province=nik[0:2],
        regency=f"{nik[0:2]}.{nik[2:4]}",
        district=f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}",
        day=int(nik[6:8]),
        month=int(nik[8:10]),
        year2=int(nik[10:12]),
        serial=int(nik[12:16]),
    )


def encode_date(birth_date: dt.date, sex: Sex) -> str:
    """The ``DDMMYY`` part: day + 40 for women."""
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex == Sex.FEMALE else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def build_nik(district_code: str, birth_date: dt.date, sex: Sex, serial: int) -> str:
    """A NIK from its parts. ``district_code`` is ``PP.KK.CC``; ``serial`` is 1..9999."""
    digits = district_code.replace(".", "")
    if not re.fullmatch(r"\d{6}", digits):
        raise ValueError(f"district code must be PP.KK.CC, got {district_code!r}")
    if not 1 <= serial <= 9999:
        raise ValueError(f"serial must be 1..9999, got {serial}")
    return f"{digits}{encode_date(birth_date, Sex(sex))}{serial:04d}"


def build_kk_number(district_code: str, issued_on: dt.date, serial: int) -> str:
    """A family-card number: kecamatan of issue, ``DDMMYY`` of issue, 4-digit serial."""
    digits = district_code.replace(".", "")
    if not re.fullmatch(r"\d{6}", digits) or not 1 <= serial <= 9999:
        raise ValueError("district code must be PP.KK.CC and serial 1..9999")
    return f"{digits}{issued_on:%d%m}{issued_on.year % 100:02d}{serial:04d}"
