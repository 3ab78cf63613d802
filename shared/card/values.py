"""How recorded values are written on the card, where the print service and the counter must
agree: the date, the birth line (place and date on one line) and the case of printed text."""

from __future__ import annotations

import datetime as dt


def printed(value: str) -> str:
    """The text as it is printed on the card: upper case, single spaces."""
    return " ".join(value.split()).upper()


def format_date(d: dt.date) -> str:
    return d.strftime("%d-%m-%Y")


def birth_line(place: str, date: dt.date) -> str:
    """The "Tempat/Tgl Lahir" line: `KUPANG, 17-08-1990`."""
    return f"{place.strip()}, {format_date(date)}"
