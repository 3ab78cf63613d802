"""Dates as people read them: "30 Mei 2027" on a certificate and on the residents' status page."""

from __future__ import annotations

import datetime as dt

MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def indonesian_date(day: dt.date) -> str:
    """`28 November 2026`, `30 Mei 2027`."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def english_date(day: dt.date) -> str:
    """`30 May 2027`."""
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
