"""Seeded synthetic residents of Kota Kupang (or any regency) that pass counter validation.

``make_resident(rng, today=...)`` returns the demographic part of a ``RecordingIn`` as a
JSON-ready dict: every field except ``biometrics``, ``recording``, ``station_recording_id``
and ``previous_enrollment_id``. Its NIK agrees with the birth date and sex, its region parts
are real Kemendagri codes (mostly the kecamatan of the address, sometimes another NTT regency
where the resident was first registered), and the address is a real kelurahan. Names are
fictitious combinations of common NTT given names and family names; any resemblance to a
real person is chance. ``make_photo_jpeg`` / ``make_signature_png`` draw plain images.
"""

from __future__ import annotations

import datetime as dt
import io
import random

from PIL import Image, ImageDraw

from services.enrollment.schemas import MaritalStatus, Religion, Sex
from services.enrollment.validation.card import BY_PATH
from services.enrollment.validation.nik import build_kk_number, build_nik
from shared import regions

# Kota Kupang, BPS: about 2/3 Protestant, 1/5 Catholic, 1/8 Muslim.
RELIGIONS_NTT = {Religion.KRISTEN: 64, Religion.KATHOLIK: 21, Religion.ISLAM: 13, Religion.HINDU: 1.5,
                 Religion.BUDHA: 0.4, Religion.KHONGHUCU: 0.05, Religion.KEPERCAYAAN: 0.05}
RELIGIONS_NATIONAL = {Religion.ISLAM: 87, Religion.KRISTEN: 7.4, Religion.KATHOLIK: 3.1, Religion.HINDU: 1.7,
                      Religion.BUDHA: 0.7, Religion.KHONGHUCU: 0.05, Religion.KEPERCAYAAN: 0.05}

MALE_CHRISTIAN = ("YOHANES", "PETRUS", "PAULUS", "MARKUS", "YOSEF", "ANDREAS", "MIKAEL", "DANIEL", "SAMUEL",
                  "YULIUS", "FRANSISKUS", "ALFONSUS", "DOMINGGUS", "ARNOLDUS", "STEFANUS", "YAKOBUS", "ROBERT",
                  "FERDINAND", "AGUSTINUS", "YOSUA", "ELIAS", "MATIAS", "BERNARDUS", "KORNELIS", "YERMIAS")
FEMALE_CHRISTIAN = ("MARIA", "YOSEFINA", "MARTHA", "ELISABETH", "MAGDALENA", "KATARINA", "REGINA", "YULIANA",
                    "AGUSTINA", "FRANSISKA", "SRIANI", "DOROTEA", "MARSELINA", "SELVIANA", "DEBORA", "RAHEL",
                    "NAOMI", "ESTER", "ANASTASIA", "MERLIN", "YUNITA", "FERONIKA", "LODIA", "SARCE")
MALE_MUSLIM = ("MUHAMMAD", "AHMAD", "ABDUL", "RIZKY", "FAISAL", "HASAN", "ISMAIL", "YUSUF", "ARIF", "HAMZAH")
FEMALE_MUSLIM = ("SITI", "NURUL", "AISYAH", "FATIMAH", "HALIMAH", "NUR", "RAHMA", "ZAINAB", "KHADIJAH", "SALMA")
MIDDLE = ("DE", "DA", "NUS", "KRISTIAN", "ARI", "DWI", "PUTRA", "PUTRI", "SRI", "EKA")
FAMILY_NTT = ("NDUN", "MESAH", "BENU", "ADU", "NDOEN", "TAOPAN", "MALELAK", "BAUN", "NALLE", "DETHAN",
              "KOLO", "SAU", "TEFA", "NENO", "SELAN", "MANAFE", "AMALO", "FOEH", "NDOLU", "RIWU", "BIRE",
              "KALE", "LEO", "RIHI", "HENUK", "MESSAKH", "PELLO", "FANGGIDAE", "LOMI", "TOULASIK",
              "DA COSTA", "DE ROZARI", "PARERA", "FERNANDEZ", "GOMES", "NOGO-LAMA", "D'COSTA", "SERAN",
              "BERE", "NAHAK", "TAEK", "ULY", "LAY", "TANAEM", "SNAE", "KAPITAN", "SUBAN", "KOTEN")
FAMILY_MUSLIM = ("ABUBAKAR", "SALEH", "HAMID", "BAHRUN", "RASYID", "IBRAHIM", "DJAWAS", "BADJIDEH", "SYARIF")
HINDU_MALE = ("I MADE", "I WAYAN", "I KETUT", "I NYOMAN", "I GEDE")
HINDU_FEMALE = ("NI LUH", "NI MADE", "NI KETUT", "NI WAYAN", "NI NYOMAN")
HINDU_GIVEN = ("SUARTA", "ARDANA", "SUDARMA", "ASTITI", "WIDIASTUTI", "PURNAMA", "SURYANI", "ADNYANA")
CHINESE_FAMILY = ("TANDY", "LIEM", "GUNAWAN", "SETIAWAN", "WIJAYA", "HALIM", "SANTOSO")

BIRTH_PLACES_NTT = ("KUPANG", "SOE", "KEFAMENANU", "ATAMBUA", "BETUN", "BAA", "SEBA", "KALABAHI", "LARANTUKA",
                    "LEWOLEBA", "MAUMERE", "ENDE", "BAJAWA", "RUTENG", "LABUAN BAJO", "WAINGAPU",
                    "WAIKABUBAK", "TAMBOLAKA", "MBAY", "BORONG", "OELAMASI")
BIRTH_PLACES_OTHER = ("DENPASAR", "SURABAYA", "MAKASSAR", "JAKARTA", "MATARAM", "AMBON", "DILI")
STREETS_KUPANG = ("JL. EL TARI", "JL. SOEKARNO", "JL. FRANS SEDA", "JL. W.J. LALAMENTIK", "JL. R.A. KARTINI",
                  "JL. AHMAD YANI", "JL. TIMOR RAYA", "JL. JEND. SUDIRMAN", "JL. MOH. HATTA", "JL. ADISUCIPTO",
                  "JL. PERINTIS KEMERDEKAAN", "JL. NANGKA", "JL. MONALISA", "JL. BUNDARAN PU", "JL. CAK DOKO",
                  "JL. KEJORA", "JL. FETOR FUNAY", "JL. OEKAM", "JL. SUMBA", "JL. PULAU INDAH", "JL. AMABI")
STREETS_GENERIC = ("JL. MERDEKA", "JL. PAHLAWAN", "JL. DIPONEGORO", "JL. GAJAH MADA", "JL. KARTINI",
                   "JL. SUDIRMAN", "JL. MAWAR", "JL. MELATI", "DUSUN I", "DUSUN II", "DUSUN III")
# SIAK occupation names, with rough weights for working-age city residents.
OCCUPATIONS = {"WIRASWASTA": 18, "KARYAWAN SWASTA": 14, "MENGURUS RUMAH TANGGA": 14,
               "PEGAWAI NEGERI SIPIL": 9, "BELUM/TIDAK BEKERJA": 8, "PETANI/PEKEBUN": 5,
               "NELAYAN/PERIKANAN": 2, "GURU": 4, "PEDAGANG": 5, "SOPIR": 3, "BURUH HARIAN LEPAS": 6,
               "TUKANG KAYU": 1.5, "TUKANG BATU": 1.5, "PERAWAT": 1.5, "BIDAN": 0.7, "DOSEN": 0.8,
               "TENTARA NASIONAL INDONESIA": 1, "KEPOLISIAN RI": 1, "PENDETA": 0.4, "PASTOR": 0.1,
               "KARYAWAN BUMN": 0.8, "KARYAWAN HONORER": 2}
BLOOD_TYPES = {"-": 40, "O": 22, "B": 17, "A": 15, "AB": 4, "O+": 1, "A+": 0.5, "B+": 0.5}


def _pick(rng: random.Random, weights: dict) -> object:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _birth_date(rng: random.Random, today: dt.date) -> dt.date:
    age = min(int(rng.expovariate(1 / 18)) + 17, 90)  # card-age adults, skewed young
    newest = _years_before(today, age)  # the birthday that makes them exactly `age` today
    return newest - dt.timedelta(days=rng.randrange(365))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _name(rng: random.Random, sex: Sex, religion: Religion, mononym: bool) -> str:
    female = sex == Sex.FEMALE
    if religion == Religion.ISLAM:
        given, family = (FEMALE_MUSLIM if female else MALE_MUSLIM), FAMILY_MUSLIM + FAMILY_NTT[:10]
    elif religion == Religion.HINDU:
        prefix = rng.choice(HINDU_FEMALE if female else HINDU_MALE)
        return prefix if mononym else f"{prefix} {rng.choice(HINDU_GIVEN)}"
    elif religion in (Religion.BUDHA, Religion.KHONGHUCU):
        given, family = (FEMALE_CHRISTIAN if female else MALE_CHRISTIAN), CHINESE_FAMILY
    else:
        given, family = (FEMALE_CHRISTIAN if female else MALE_CHRISTIAN), FAMILY_NTT
    first = rng.choice(given)
    if mononym:
        return first
    words = [first]
    if rng.random() < 0.35:
        words.append(rng.choice(MIDDLE + given))
    words.append(rng.choice(family))
    return " ".join(words)


def _marital(rng: random.Random, age: int) -> MaritalStatus:
    if age < 22:
        p_married = 0.1
    elif age < 30:
        p_married = 0.5
    else:
        p_married = 0.85
    if rng.random() >= p_married:
        return MaritalStatus.BELUM_KAWIN
    if age >= 55 and rng.random() < 0.2:
        return MaritalStatus.CERAI_MATI
    return MaritalStatus.CERAI_HIDUP if rng.random() < 0.05 else MaritalStatus.KAWIN


def _occupation(rng: random.Random, age: int, sex: Sex) -> str:
    if age <= 22 and rng.random() < 0.7:
        return "PELAJAR/MAHASISWA"
    if age >= 58 and rng.random() < 0.5:
        return "PENSIUNAN"
    occupation = str(_pick(rng, OCCUPATIONS))
    if occupation == "MENGURUS RUMAH TANGGA" and sex == Sex.MALE and rng.random() < 0.8:
        occupation = "WIRASWASTA"
    return occupation


def _first_district(rng: random.Random, address_district: str) -> str:
    """Kecamatan of first registration: mostly where they live, else elsewhere in the province."""
    if rng.random() < 0.75:
        return address_district
    province = address_district[:2]
    regency = rng.choice(regions.regencies(province))
    return rng.choice(regions.districts(regency.code)).code


def _birth_place(rng: random.Random, regency_code: str) -> str:
    if regency_code.startswith("53."):
        r = rng.random()
        if r < 0.55:
            return "KUPANG"
        return rng.choice(BIRTH_PLACES_NTT) if r < 0.93 else rng.choice(BIRTH_PLACES_OTHER)
    home = regions.regency(regency_code)
    place = "JAKARTA"
    if home:
        place = home.name.removeprefix("Kabupaten ").removeprefix("Kota ").removeprefix("Administrasi ").upper()
    # as a station operator writes a long one: cut to what the card's line holds
    place = place[:BY_PATH["birth_place"].max_length].strip()
    return place if rng.random() < 0.7 else rng.choice(BIRTH_PLACES_OTHER)


def make_resident(
    rng: random.Random,
    *,
    regency: str = "53.71",
    today: dt.date,
    mononym_rate: float = 0.0,
    taken_niks: set[str] | None = None,
) -> dict:
    """The demographic part of a valid ``RecordingIn`` for a resident of ``regency``.

    ``mononym_rate``: share of single-word names (accepted with a warning; 0 by default).
    ``taken_niks``: if given, NIKs already handed out; the new NIK is unique and added to it.
    """
    if regions.regency(regency) is None:
        raise ValueError(f"unknown regency {regency!r}")
    district = rng.choice(regions.districts(regency))
    village = rng.choice(regions.villages(district.code))
    sex = rng.choice((Sex.MALE, Sex.FEMALE))
    birth_date = _birth_date(rng, today)
    age = _age(birth_date, today)
    religion = Religion(_pick(rng, RELIGIONS_NTT if regency.startswith("53.") else RELIGIONS_NATIONAL))

    first_district = _first_district(rng, district.code)
    while True:
        nik = build_nik(first_district, birth_date, sex, rng.randint(1, 9999))
        if taken_niks is None or nik not in taken_niks:
            break
    if taken_niks is not None:
        taken_niks.add(nik)
    kk_issued = today - dt.timedelta(days=rng.randrange(1, 365 * 15))
    streets = STREETS_KUPANG if regency == "53.71" else STREETS_GENERIC
    street = f"{rng.choice(streets)} NO. {rng.randint(1, 150)}" if rng.random() < 0.8 else f"{rng.choice(streets)}"

    return {
        "nik": nik,
        "kk_number": build_kk_number(district.code, kk_issued, rng.randint(1, 9999)),
        "name": _name(rng, sex, religion, rng.random() < mononym_rate),
        "birth_place": _birth_place(rng, regency),
        "birth_date": birth_date.isoformat(),
        "sex": sex.value,
        "blood_type": str(_pick(rng, BLOOD_TYPES)),
        "address": {
            "street": street,
            "rt": f"{rng.randint(1, 45):03d}",
            "rw": f"{rng.randint(1, 15):03d}",
            "village_code": village.code,
        },
        "religion": religion.value,
        "marital_status": _marital(rng, age).value,
        "occupation": _occupation(rng, age, sex),
        "citizenship": "WNI",
        "pickup_site": district.code,
    }


def make_photo_jpeg(rng: random.Random) -> bytes:
    """A plain 300x400 portrait (head and shoulders on a red or blue background), < 30 KB."""
    bg = rng.choice(((200, 30, 40), (30, 70, 160)))  # card photos: red or blue background
    skin = tuple(rng.randint(90, 200) - d for d in (0, 25, 50))
    img = Image.new("RGB", (300, 400), bg)
    draw = ImageDraw.Draw(img)
    shirt = tuple(rng.randint(0, 255) for _ in range(3))
    draw.ellipse((40, 300, 260, 520), fill=shirt)  # shoulders
    draw.rectangle((125, 240, 175, 320), fill=skin)  # neck
    cx, cy = 150 + rng.randint(-8, 8), 170 + rng.randint(-8, 8)
    draw.ellipse((cx - 62, cy - 85, cx + 62, cy + 85), fill=skin)  # face
    draw.chord((cx - 66, cy - 95, cx + 66, cy + 20), 180, 360, fill=(25, 20, 20))  # hair
    for ex in (cx - 25, cx + 25):
        draw.ellipse((ex - 7, cy - 5, ex + 7, cy + 5), fill=(30, 25, 25))  # eyes
    draw.arc((cx - 22, cy + 25, cx + 22, cy + 50), 20, 160, fill=(120, 40, 40), width=3)  # mouth
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70, optimize=True)
    return buf.getvalue()


def make_signature_png(rng: random.Random) -> bytes:
    """A scribbled signature, black on white, 300x100 PNG."""
    img = Image.new("L", (300, 100), 255)
    draw = ImageDraw.Draw(img)
    x, y = 20.0, 50.0 + rng.uniform(-10, 10)
    points = [(x, y)]
    while x < 270:
        x += rng.uniform(5, 18)
        y = min(90.0, max(10.0, y + rng.uniform(-22, 22)))
        points.append((x, y))
    draw.line(points, fill=0, width=2, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()
