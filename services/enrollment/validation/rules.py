"""Counter-grade validation of one recording: every problem at once, field by field.

``check_recording`` runs after ``RecordingIn`` has parsed the structure; it checks what needs
the region table, more than one field, or the bytes of the images and templates. It does no
I/O apart from reading the package's region data once. See ``card.py`` for the card-space
limits and ``biometric_rules.py`` for the biometric requirements.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from services.enrollment.schemas import MaritalStatus, RecordingIn
from shared import regions
from shared.card.fit import DoesNotFit, fit
from shared.card.values import birth_line, printed

from .biometric_rules import check_templates
from .card import BY_PATH, NAME_CHARS, PRINTABLE, PrintedField
from .images import check_photo, check_signature
from .messages import problem
from .nik import NikFormatError, ddmmyy_dates, parse_nik
from .problems import Problem

CARD_AGE = 17
MAX_PLAUSIBLE_AGE = 120
CLOCK_SKEW = dt.timedelta(minutes=5)
_BLOOD = re.compile(r"(?:A|B|AB|O)[+-]?|-")
_RT_RW = re.compile(r"\d{1,3}")
_DIGITS16 = re.compile(r"\d{16}")


def age_on(birth_date: dt.date, today: dt.date) -> int:
    """Completed years; someone born on 29 February turns a year older on 1 March of a common year."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def check_nik(nik: str) -> list[Problem]:
    """The NIK alone: 16 digits, a birth-date part that is a date, a serial, a known region."""
    try:
        parts = parse_nik(nik)
    except NikFormatError:
        return [problem("nik", "nik.format")]
    out = []
    if not parts.birth_date_candidates():
        out.append(problem("nik", "nik.date_invalid", date_part=nik[6:12]))
    if parts.serial == 0:
        out.append(problem("nik", "nik.serial_zero"))
    if regions.province(parts.province) is None:
        out.append(problem("nik", "nik.unknown_province", code=parts.province))
    elif regions.nik_regency(parts.regency) is None:
        out.append(problem("nik", "nik.unknown_regency", code=parts.regency))
    elif regions.district(parts.district) is None:
        out.append(problem("nik", "nik.unknown_district", code=parts.district))
    return out


def check_nik_agrees(nik: str, birth_date: dt.date, sex: str, today: dt.date) -> list[Problem]:
    """The NIK against the sex and birth date (nothing when the NIK or its date part is no good:
    `check_nik` says so, and the sex is in the date part: only a real date tells it)."""
    try:
        parts = parse_nik(nik)
    except NikFormatError:
        return []
    candidates = parts.birth_date_candidates()
    if not candidates:
        return []
    out = []
    if parts.sex != sex:
        out.append(problem("sex", "nik.sex_mismatch", sex=str(sex)))
    if (parts.birth_day, parts.month, parts.year2) != (birth_date.day, birth_date.month, birth_date.year % 100):
        nik_date = parts.birth_date(today) or candidates[0]
        out.append(problem("birth_date", "nik.birth_date_mismatch", birth_date=birth_date.strftime("%d-%m-%Y"),
                           nik_date=nik_date.strftime("%d-%m-%Y")))
    return out


def check_kk(kk: str) -> list[Problem]:
    """Kecamatan of issue (6 digits; its regency must exist), date of issue ``DDMMYY``, serial."""
    if not _DIGITS16.fullmatch(kk):
        return [problem("kk_number", "kk.format")]
    out = []
    code = f"{kk[0:2]}.{kk[2:4]}"
    if regions.nik_regency(code) is None:
        out.append(problem("kk_number", "kk.unknown_region", code=code))
    if not ddmmyy_dates(int(kk[6:8]), int(kk[8:10]), int(kk[10:12])):
        out.append(problem("kk_number", "kk.date_invalid", date_part=kk[6:12]))
    if kk[12:] == "0000":
        out.append(problem("kk_number", "kk.serial_zero"))
    return out


def check_name(name: str) -> list[Problem]:
    spec = BY_PATH["name"]
    if not name:
        return [problem("name", "name.empty")]
    out = []
    if len(name) > spec.max_length:
        out.append(problem("name", "name.too_long", length=len(name), max=spec.max_length))
    if any(c.isdigit() for c in name):
        out.append(problem("name", "name.digits"))
    bad = sorted({c for c in name if c not in NAME_CHARS and not c.isdigit()})
    if bad:
        out.append(problem("name", "name.invalid_chars", chars=" ".join(bad)))
    if not any(c.isalpha() and c.isascii() for c in name):
        out.append(problem("name", "name.no_letters"))
    elif len(name.split()) < 2:
        out.append(problem("name", "name.single_word"))
    if all(p.severity == "warning" for p in out):  # a name that may be printed: does it fit?
        out += _too_wide(spec, printed(name))
    return out


def check_text(value: str, spec: PrintedField, *, on_card: str | None = None) -> list[Problem]:
    """`on_card`: the line the value is printed on, if it shares it (the birth place and date)."""
    labels = {"label": spec.label_id, "label_en": spec.label_en}
    if not value:
        return [problem(spec.path, "text.empty", **labels)]
    out = []
    if len(value) > spec.max_length:
        out.append(problem(spec.path, "text.too_long", length=len(value), max=spec.max_length, **labels))
    bad = sorted({c for c in value if c not in PRINTABLE})
    if bad:
        out.append(problem(spec.path, "text.invalid_chars", chars=" ".join(bad), **labels))
    return out or _too_wide(spec, printed(on_card if on_card is not None else value))


def _too_wide(spec: PrintedField, text: str) -> list[Problem]:
    """Of a value of allowed length and characters: whether the card prints it in its place, in the
    card's font (wide letters take more room: sixty W do not go on the name's two lines)."""
    try:
        fit(spec.place, text)
    except DoesNotFit:
        return [problem(spec.path, "text.too_wide", label=spec.label_id, label_en=spec.label_en)]
    return []


def check_village(code: str) -> list[Problem]:
    field = "address.village_code"
    if not regions.is_code(code, 4):
        return [problem(field, "address.village_format")]
    if regions.district(code[:8]) is None:
        return [problem(field, "address.village_district_unknown", code=code[:8])]
    if regions.village(code) is None:
        return [problem(field, "address.village_unknown", code=code)]
    return []


def check_site(code: str, field: str) -> list[Problem]:
    return [] if regions.site(code) else [problem(field, "site.unknown", code=code)]


def check_served(rec: RecordingIn, sites: Sequence[str]) -> list[Problem]:
    """A pickup site of another regency: no print server of this dinas would ever print the card.
    `sites`: the dinas's sites (shared.sites.dinas_sites at the server; at a station, the list it
    last learned from the server). An unknown code is already `site.unknown`."""
    pickup = rec.pickup_site
    if pickup in sites or regions.site(pickup) is None:
        return []
    return [problem("pickup_site", "pickup_site.not_served", code=pickup, sites=list(sites))]


def check_dates(rec: RecordingIn, today: dt.date, now: dt.datetime) -> list[Problem]:
    out = []
    if rec.birth_date > today:
        out.append(problem("birth_date", "birth_date.future", birth_date=rec.birth_date.strftime("%d-%m-%Y")))
    else:
        age = age_on(rec.birth_date, today)
        if age > MAX_PLAUSIBLE_AGE:
            out.append(problem("birth_date", "birth_date.implausible", age=age))
        if age < CARD_AGE and rec.marital_status == MaritalStatus.BELUM_KAWIN:
            out.append(problem("birth_date", "card_age.too_young", age=age))
    recorded_at = rec.recording.recorded_at
    if recorded_at.tzinfo is None or recorded_at.utcoffset() is None:
        out.append(problem("recording.recorded_at", "recording.naive_time"))
    elif recorded_at > now + CLOCK_SKEW:
        out.append(problem("recording.recorded_at", "recording.future_time", recorded_at=recorded_at.isoformat()))
    return out


def _rt_rw(part: str) -> Rule:
    def rule(rec: RecordingIn, today: dt.date, now: dt.datetime) -> list[Problem]:
        if _RT_RW.fullmatch(getattr(rec.address, part)):
            return []
        return [problem(f"address.{part}", "address.rt_rw_format", label=part.upper())]

    return rule


def _blood_type(rec: RecordingIn, today: dt.date, now: dt.datetime) -> list[Problem]:
    return [] if _BLOOD.fullmatch(rec.blood_type.upper()) else [problem("blood_type", "blood_type.invalid")]


Rule = Callable[[RecordingIn, dt.date, dt.datetime], list[Problem]]

# Each rule reads the fields it names; `check_what_parsed` runs those whose fields parsed.
RULES: tuple[Rule, ...] = (
    lambda rec, today, now: check_nik(rec.nik),
    lambda rec, today, now: check_nik_agrees(rec.nik, rec.birth_date, rec.sex, today),
    lambda rec, today, now: check_kk(rec.kk_number),
    lambda rec, today, now: check_name(rec.name),
    lambda rec, today, now: check_text(rec.birth_place, BY_PATH["birth_place"],
                                       on_card=birth_line(rec.birth_place, rec.birth_date)),
    lambda rec, today, now: check_text(rec.address.street, BY_PATH["address.street"]),
    lambda rec, today, now: check_text(rec.occupation, BY_PATH["occupation"]),
    _rt_rw("rt"),
    _rt_rw("rw"),
    lambda rec, today, now: check_village(rec.address.village_code),
    _blood_type,
    lambda rec, today, now: check_dates(rec, today, now),
    lambda rec, today, now: check_site(rec.pickup_site, "pickup_site"),
    lambda rec, today, now: check_site(rec.recording.site, "recording.site"),
    lambda rec, today, now: check_photo(rec.biometrics.photo_jpeg, "biometrics.photo_jpeg"),
    lambda rec, today, now: check_signature(rec.biometrics.signature_png, "biometrics.signature_png"),
    lambda rec, today, now: check_templates(rec.biometrics),
)


def check_recording(rec: RecordingIn, *, today: dt.date, now: dt.datetime | None = None) -> list[Problem]:
    """Every problem of the recording, errors and warnings (an empty list: accept it).

    ``today`` (the local date at the site) decides ages and the NIK century; ``now`` (aware,
    default the current UTC time) bounds ``recording.recorded_at``, with 5 minutes of skew.
    """
    now = now or dt.datetime.now(dt.UTC)
    out: list[Problem] = []
    for rule in RULES:
        out += rule(rec, today, now)
    return out


def check_what_parsed(rec: RecordingIn, *, today: dt.date, now: dt.datetime | None = None) -> list[Problem]:
    """The rules of `check_recording` on a recording whose structure was refused, built from the
    fields that parsed (`partial.parsed_fields`): each rule whose fields are all there runs, so the
    answer lists the domain problems beside the structural ones."""
    now = now or dt.datetime.now(dt.UTC)
    out: list[Problem] = []
    for rule in RULES:
        try:
            out += rule(rec, today, now)
        except AttributeError:  # a field it reads did not parse: its problem is already reported
            continue
    return out
