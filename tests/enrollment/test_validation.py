"""Counter validation of a recording: one table row per rule, valid and invalid."""

from __future__ import annotations

import datetime as dt
import math
import random
import struct

import pytest

from services.enrollment.service import parse_recording
from services.enrollment.validation import Problem, check_recording, has_errors
from services.enrollment.validation.messages import CATALOGUE
from services.enrollment.validation.nik import build_nik
from services.enrollment.validation.templates import TEMPLATE_FORMATS, TemplateFormat, register
from shared.errors import InvalidInput, problem_dict

from .factories import (
    NOW, TODAY, b64, embedding, fingerprint, iris, jpeg, recording, recording_dict, set_path,
)


def found(rec, today=TODAY, now=NOW) -> set[tuple[str, str, str]]:
    return {(p.field, p.code, p.severity) for p in check_recording(rec, today=today, now=now)}


def test_valid_recording_has_no_problem():
    assert check_recording(recording(), today=TODAY, now=NOW) == []


def test_problem_shape_and_messages():
    problems = check_recording(recording({"nik": "53710445069000"}), today=TODAY, now=NOW)
    assert problems == [problems[0]]
    p = problems[0]
    assert isinstance(p, Problem)
    assert (p.field, p.code, p.severity) == ("nik", "nik.format", "error")
    assert "16 angka" in p.message_id and "16 digits" in p.message_en
    assert problem_dict(p)["message_en"] == p.message_en  # the shape of the error body's fields
    with pytest.raises(AttributeError):
        p.code = "x"  # frozen


def test_every_problem_at_once():
    rec = recording({
        "nik": "5371044506900000",
        "name": "MARIA 2",
        "address.rt": "0003",
        "blood_type": "C",
        "pickup_site": "99.99",
        "biometrics.fingerprints[0].quality": 10,
    })
    codes = {p.code for p in check_recording(rec, today=TODAY, now=NOW)}
    assert {"nik.serial_zero", "name.digits", "address.rt_rw_format", "blood_type.invalid", "site.unknown",
            "template.low_quality"} <= codes


def _refused(data: dict) -> set[tuple[str, str]]:
    with pytest.raises(InvalidInput) as exc:
        parse_recording(data, TODAY)
    return {(p.field, p.code) for p in exc.value.fields}


def test_a_structural_error_does_not_hide_the_rules_problems():
    # An enum value pydantic does not know used to be the only problem named.
    data = recording_dict()
    for path, value in {"religion": "islam", "nik": "5371044506900000", "kk_number": "5371041213150007",
                        "name": "MARIA 2", "blood_type": "C", "address.rt": "0003"}.items():
        set_path(data, path, value)
    assert _refused(data) == {("religion", "field.enum"), ("nik", "nik.serial_zero"),
                              ("kk_number", "kk.date_invalid"), ("name", "name.digits"),
                              ("blood_type", "blood_type.invalid"), ("address.rt", "address.rt_rw_format")}


def test_rules_run_on_what_parsed_in_an_object_that_did_not():
    data = recording_dict()
    set_path(data, "biometrics.fingerprints[3].quality", 101)  # the fingerprint list does not parse
    set_path(data, "biometrics.photo_jpeg", b64(b"GIF89a not a jpeg"))  # the photo does
    set_path(data, "address.postcode", "85111")  # nor does the address
    set_path(data, "address.village_code", "53.71.04.9999")  # but its village code does
    assert _refused(data) == {("biometrics.fingerprints[3].quality", "field.out_of_range"),
                              ("biometrics.photo_jpeg", "photo.not_jpeg"), ("address.postcode", "field.unknown"),
                              ("address.village_code", "address.village_unknown")}


def test_a_rule_whose_field_did_not_parse_is_not_run():
    data = recording_dict()
    set_path(data, "birth_date", "1990-13-01")  # the NIK is checked alone; against the date, not
    set_path(data, "sex", "L")
    assert _refused(data) == {("birth_date", "field.date_format"), ("sex", "field.enum")}
    assert _refused([data]) == {("body", "field.type")}  # not an object: nothing else to check


# (changes, expected (field, code, severity)); None = no problem at all.
CASES = {
    # NIK structure
    "nik 15 digits": ({"nik": "537104450690001"}, ("nik", "nik.format", "error")),
    "nik letters": ({"nik": "53710445069000A1"}, ("nik", "nik.format", "error")),
    "nik with dots": ({"nik": "53.71.04.450690.0001"}, ("nik", "nik.format", "error")),
    "nik serial 0000": ({"nik": "5371044506900000"}, ("nik", "nik.serial_zero", "error")),
    "nik serial 9999": ({"nik": "5371044506909999"}, None),
    "nik day 32": ({"nik": "5371043206900001", "sex": "LAKI-LAKI"}, ("nik", "nik.date_invalid", "error")),
    "nik day 72 (woman)": ({"nik": "5371047206900001"}, ("nik", "nik.date_invalid", "error")),
    "nik month 13": ({"nik": "5371044513900001"}, ("nik", "nik.date_invalid", "error")),
    "nik 31 April": ({"nik": "5371047104900001"}, ("nik", "nik.date_invalid", "error")),
    "nik day 00": ({"nik": "5371040006900001", "sex": "LAKI-LAKI"}, ("nik", "nik.date_invalid", "error")),
    # NIK regions
    "nik unknown province": ({"nik": "9971044506900001"}, ("nik", "nik.unknown_province", "error")),
    "nik unknown regency": ({"nik": "5399044506900001"}, ("nik", "nik.unknown_regency", "error")),
    "nik unknown kecamatan is a warning": ({"nik": "5371094506900001"}, ("nik", "nik.unknown_district", "warning")),
    "nik of another regency (first registration elsewhere)": ({"nik": "5301054506900001"}, None),
    "old Kota Sorong NIK (before the 2022 split)": ({"nik": "9271014506900001"}, ("nik", "nik.unknown_district", "warning")),
    # NIK against birth date and sex
    "man with a woman's NIK": ({"sex": "LAKI-LAKI"}, ("sex", "nik.sex_mismatch", "error")),
    "woman with a man's NIK": ({"nik": "5371040506900001"}, ("sex", "nik.sex_mismatch", "error")),
    "birth day differs": ({"birth_date": "1990-06-06"}, ("birth_date", "nik.birth_date_mismatch", "error")),
    "birth month differs": ({"birth_date": "1990-07-05"}, ("birth_date", "nik.birth_date_mismatch", "error")),
    "birth year differs": ({"birth_date": "1991-06-05"}, ("birth_date", "nik.birth_date_mismatch", "error")),
    "other century, same digits (a 136-year-old)": ({"birth_date": "1890-06-05"}, ("birth_date", "birth_date.implausible", "warning")),
    # KK
    "kk 15 digits": ({"kk_number": "537104120315000"}, ("kk_number", "kk.format", "error")),
    "kk unknown regency": ({"kk_number": "5399041203150007"}, ("kk_number", "kk.unknown_region", "error")),
    "kk of another regency": ({"kk_number": "5301051203150007"}, None),
    "kk month 13": ({"kk_number": "5371041213150007"}, ("kk_number", "kk.date_invalid", "error")),
    "kk day 00": ({"kk_number": "5371040003150007"}, ("kk_number", "kk.date_invalid", "error")),
    "kk 31 April": ({"kk_number": "5371043104150007"}, ("kk_number", "kk.date_invalid", "error")),
    "kk issued 29 February 2016": ({"kk_number": "5371042902160007"}, None),
    "kk issued 29 February 2000": ({"kk_number": "5371042902000007"}, None),
    "kk 29 February of a common year": ({"kk_number": "5371042902150007"}, ("kk_number", "kk.date_invalid", "error")),
    "kk serial 0000": ({"kk_number": "5371041203150000"}, ("kk_number", "kk.serial_zero", "error")),
    # name
    "name with apostrophe": ({"name": "YOHANES D'COSTA"}, None),
    "name with hyphen": ({"name": "MARIA NOGO-LAMA"}, None),
    "name with dot and comma": ({"name": "DR. MARIA DA COSTA, S.H."}, None),
    "name lowercase accepted": ({"name": "Maria da Costa"}, None),
    "name 60 chars": ({"name": ("A" * 29) + " " + ("B" * 30)}, None),
    "name 60 wide letters": ({"name": ("W" * 29) + " " + ("M" * 30)}, ("name", "text.too_wide", "error")),
    "name 60 chars of words": ({"name": "YOHANES MARIA FRANSISKUS XAVERIUS DA COSTA NDOLU MANUBULU AB"}, None),
    "mononym too wide for its line": ({"name": "W" * 30}, ("name", "text.too_wide", "error")),
    "name 61 chars": ({"name": ("A" * 30) + " " + ("B" * 30)}, ("name", "name.too_long", "error")),
    "name with digit": ({"name": "MARIA 2"}, ("name", "name.digits", "error")),
    "name with accent": ({"name": "JOSÉ DA COSTA"}, ("name", "name.invalid_chars", "error")),
    "name with curly apostrophe": ({"name": "YOHANES D’COSTA"}, ("name", "name.invalid_chars", "error")),
    "name with slash": ({"name": "MARIA/YOSEFINA NDUN"}, ("name", "name.invalid_chars", "error")),
    "name empty": ({"name": "   "}, ("name", "name.empty", "error")),
    "name only punctuation": ({"name": "-- ''"}, ("name", "name.no_letters", "error")),
    "mononym is a warning": ({"name": "SUKARNI"}, ("name", "name.single_word", "warning")),
    # printed text
    # the birth place shares its line with the date ("KUPANG, 17-08-1990"): 24 characters of 36
    "birth place 24": ({"birth_place": "K" * 24}, None),
    "birth place 25": ({"birth_place": "K" * 25}, ("birth_place", "text.too_long", "error")),
    "birth place of 24 wide letters": ({"birth_place": "W" * 24}, ("birth_place", "text.too_wide", "error")),
    "birth place abbreviated": ({"birth_place": "KAB. TIMOR TENGAH SELATAN"[:24]}, None),
    "birth place empty": ({"birth_place": ""}, ("birth_place", "text.empty", "error")),
    "street 60": ({"address.street": "JL. " + " ".join(["KAMPUNG"] * 7)}, None),
    "street 60 in one word": ({"address.street": "J" * 60}, ("address.street", "text.too_wide", "error")),
    "street of wide letters": ({"address.street": " ".join(["WWWWWWW"] * 7)},
                               ("address.street", "text.too_wide", "error")),
    "street 61": ({"address.street": "J" * 61}, ("address.street", "text.too_long", "error")),
    "street with emoji": ({"address.street": "JL. EL TARI 🙂"}, ("address.street", "text.invalid_chars", "error")),
    "street with slash and dot": ({"address.street": "JL. W.J. LALAMENTIK NO. 12/B"}, None),
    "occupation longest SIAK": ({"occupation": "ANGGOTA BADAN PEMERIKSA KEUANGAN"}, None),
    "occupation 34": ({"occupation": "PEGAWAI NEGERI SIPIL DAN PENSIUNAN"}, None),
    "occupation 35": ({"occupation": "O" * 35}, ("occupation", "text.too_long", "error")),
    "occupation in one wide word": ({"occupation": "W" * 30}, ("occupation", "text.too_wide", "error")),
    "occupation empty": ({"occupation": ""}, ("occupation", "text.empty", "error")),
    # RT/RW
    "rt one digit": ({"address.rt": "3"}, None),
    "rw two digits": ({"address.rw": "12"}, None),
    "rt four digits": ({"address.rt": "0003"}, ("address.rt", "address.rt_rw_format", "error")),
    "rw empty": ({"address.rw": ""}, ("address.rw", "address.rt_rw_format", "error")),
    "rw letters": ({"address.rw": "O2"}, ("address.rw", "address.rt_rw_format", "error")),
    # village and sites
    "village of another regency": ({"address.village_code": "53.01.05.1002"}, None),
    "village undotted": ({"address.village_code": "5371041001"}, ("address.village_code", "address.village_format", "error")),
    "village unknown": ({"address.village_code": "53.71.04.1099"}, ("address.village_code", "address.village_unknown", "error")),
    "village in unknown kecamatan": ({"address.village_code": "53.71.09.1001"}, ("address.village_code", "address.village_district_unknown", "error")),
    "pickup at the dinas": ({"pickup_site": "53.71"}, None),
    "pickup at another kecamatan": ({"pickup_site": "53.71.01"}, None),
    "pickup unknown": ({"pickup_site": "53.71.07"}, ("pickup_site", "site.unknown", "error")),
    "pickup at a village": ({"pickup_site": "53.71.04.1001"}, ("pickup_site", "site.unknown", "error")),
    "recording site unknown": ({"recording.site": "KUPANG"}, ("recording.site", "site.unknown", "error")),
    "recording site province": ({"recording.site": "53"}, ("recording.site", "site.unknown", "error")),
    # blood type
    **{f"blood {b}": ({"blood_type": b}, None) for b in ("A", "B", "AB", "O", "A+", "AB-", "O-", "-", "ab+")},
    **{f"blood {b!r} refused": ({"blood_type": b}, ("blood_type", "blood_type.invalid", "error"))
       for b in ("C", "A++", "0", "+", "AB+-", "", "O POS")},
    # citizenship
    "foreign resident (WNA)": ({"citizenship": "WNA"}, None),
    # recording time
    "recorded 4 minutes ahead (skew)": ({"recording.recorded_at": "2026-11-28T10:04:00+08:00"}, None),
    "recorded 6 minutes ahead": ({"recording.recorded_at": "2026-11-28T10:06:00+08:00"},
                                 ("recording.recorded_at", "recording.future_time", "error")),
    "recorded yesterday, synced today": ({"recording.recorded_at": "2026-11-27T15:00:00+08:00"}, None),
    "recorded without time zone": ({"recording.recorded_at": "2026-11-28T09:00:00"},
                                   ("recording.recorded_at", "recording.naive_time", "error")),
}


@pytest.mark.parametrize("changes,expected", CASES.values(), ids=CASES.keys())
def test_rule(changes, expected):
    problems = found(recording(changes))
    if expected is None:
        assert problems == set()
    else:
        assert expected in problems, problems
        if expected[0] != "birth_date":  # only the expected problem (birth date rows imply others)
            assert {p for p in problems if p[1] == expected[1]} == {expected}


def person(nik_district: str, birth: dt.date, sex: str, marital: str = "BELUM KAWIN", name: str = "YOHANES NDUN"):
    nik = build_nik(nik_district, birth, sex, 1)
    return recording({"nik": nik, "birth_date": birth.isoformat(), "sex": sex, "marital_status": marital, "name": name})


@pytest.mark.parametrize("birth,sex,marital,too_young", [
    (dt.date(2009, 11, 28), "LAKI-LAKI", "BELUM KAWIN", False),  # 17 today
    (dt.date(2009, 11, 29), "LAKI-LAKI", "BELUM KAWIN", True),  # 17 tomorrow
    (dt.date(2010, 3, 1), "PEREMPUAN", "BELUM KAWIN", True),  # 16, unmarried: refused
    (dt.date(2010, 3, 1), "PEREMPUAN", "KAWIN", False),  # 16, married: allowed
    (dt.date(2010, 3, 1), "PEREMPUAN", "CERAI HIDUP", False),  # 16, divorced: was married
    (dt.date(2012, 1, 1), "LAKI-LAKI", "CERAI MATI", False),
])
def test_card_age(birth, sex, marital, too_young):
    problems = found(person("53.71.04", birth, sex, marital))
    assert (("birth_date", "card_age.too_young", "error") in problems) is too_young
    assert {p for p in problems if p[1] != "card_age.too_young"} == set()


def test_birth_date_in_future():
    birth = dt.date(2027, 1, 1)
    rec = recording({"nik": "5371040101270001", "birth_date": birth.isoformat(), "sex": "LAKI-LAKI"})
    assert ("birth_date", "birth_date.future", "error") in found(rec)


@pytest.mark.parametrize("birth", [dt.date(2000, 2, 29), dt.date(2008, 2, 29), dt.date(1996, 2, 29)])
@pytest.mark.parametrize("sex", ["LAKI-LAKI", "PEREMPUAN"])
def test_29_february_of_leap_years(birth, sex):
    assert found(person("53.71.02", birth, sex, "KAWIN")) == set()


@pytest.mark.parametrize("nik", ["5371022902010001", "5371026902970001", "5371022902000001"])
def test_29_february_of_a_common_year_is_no_date(nik):
    # 29.02.01 and 29.02.97 never existed; 29.02.00 is 2000 (leap) but the birth date disagrees.
    rec = recording({"nik": nik, "birth_date": "1990-06-05", "sex": "PEREMPUAN" if nik[6] == "6" else "LAKI-LAKI"})
    codes = {c for _, c, _ in found(rec)}
    if nik[10:12] == "00":
        assert "nik.date_invalid" not in codes and "nik.birth_date_mismatch" in codes
    else:
        assert "nik.date_invalid" in codes


def test_born_29_february_turns_17_on_1_march():
    rec = person("53.71.02", dt.date(2008, 2, 29), "LAKI-LAKI")
    assert ("birth_date", "card_age.too_young", "error") in found(rec, today=dt.date(2025, 2, 28))
    assert found(rec, today=dt.date(2025, 3, 1)) == set()


def test_womens_nik_day_is_plus_40():
    rec = person("53.71.05", dt.date(1985, 12, 31), "PEREMPUAN", "KAWIN", "YOSEFINA D'COSTA")
    assert rec.nik[6:12] == "711285"
    assert found(rec) == set()


def test_nik_century_old_resident():
    rec = person("53.71.06", dt.date(1930, 1, 15), "LAKI-LAKI", "CERAI MATI")
    assert rec.nik[6:12] == "150130"
    assert found(rec) == set()


def test_warnings_do_not_block():
    rec = recording({"name": "SUKARNI", "nik": "5371094506900001"})
    problems = check_recording(rec, today=TODAY, now=NOW)
    assert problems and not has_errors(problems)


def test_every_code_has_both_languages():
    for code, (text_id, text_en) in CATALOGUE.items():
        assert text_id and text_en and text_id != text_en, code


# ---------- biometrics ----------

def bio_found(changes: dict, data: dict | None = None) -> set[tuple[str, str, str]]:
    return found(recording(changes, data))


def test_photo_too_small_and_landscape():
    problems = bio_found({"biometrics.photo_jpeg": b64(jpeg(320, 240))})
    assert ("biometrics.photo_jpeg", "photo.too_small", "error") in problems
    assert ("biometrics.photo_jpeg", "photo.not_portrait", "error") in problems


@pytest.mark.parametrize("size,ok", [((240, 320), True), ((239, 320), False), ((240, 319), False), ((600, 800), True)])
def test_photo_minimum(size, ok):
    problems = bio_found({"biometrics.photo_jpeg": b64(jpeg(*size))})
    assert (problems == set()) is ok


def test_photo_over_200_kb():
    big = jpeg(900, 1200, quality=95, noise=True)
    assert len(big) > 200 * 1024
    assert ("biometrics.photo_jpeg", "photo.too_large", "error") in bio_found({"biometrics.photo_jpeg": b64(big)})


@pytest.mark.parametrize("payload,code", [
    ("not base64!", "base64.invalid"),
    (b64(b"\x89PNG\r\n\x1a\n" + b"0" * 100), "photo.not_jpeg"),
    (b64(jpeg(300, 400)[:200]), "photo.not_jpeg"),  # truncated
])
def test_photo_not_a_jpeg(payload, code):
    assert ("biometrics.photo_jpeg", code, "error") in bio_found({"biometrics.photo_jpeg": payload})


def test_photo_with_corrupt_data_refused():
    """Zeroed bytes inside the entropy data: the header is fine and a lenient decoder fills the
    hole with grey blocks, which would be printed on the card; the counter refuses it."""
    photo = bytearray(jpeg(300, 400, noise=True))
    middle = len(photo) // 2
    photo[middle:middle + 64] = bytes(64)
    assert ("biometrics.photo_jpeg", "photo.not_jpeg", "error") in bio_found({"biometrics.photo_jpeg": b64(bytes(photo))})
    assert bio_found({"biometrics.photo_jpeg": b64(jpeg(300, 400, noise=True))}) == set()


def test_photo_png_refused():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 400)).save(buf, "PNG")
    assert ("biometrics.photo_jpeg", "photo.not_jpeg", "error") in bio_found({"biometrics.photo_jpeg": b64(buf.getvalue())})


@pytest.mark.parametrize("signature,ok", [(None, True), (b64(jpeg(300, 100)), True), (b64(b"GIF89a...."), False),
                                          ("***", False)])
def test_signature(signature, ok):
    problems = bio_found({"biometrics.signature_png": signature})
    assert (problems == set()) is ok


@pytest.mark.parametrize("changes,expected", [
    ({"biometrics.fingerprints[3].template": b64(b"\1" * 511)}, ("biometrics.fingerprints[3].template", "template.size")),
    ({"biometrics.fingerprints[3].template": b64(embedding(random.Random(1), 127))}, ("biometrics.fingerprints[3].template", "template.size")),
    ({"biometrics.fingerprints[3].template": "@@@"}, ("biometrics.fingerprints[3].template", "base64.invalid")),
    ({"biometrics.fingerprints[3].template": b64(b"\0" * 512)}, ("biometrics.fingerprints[3].template", "template.zero_vector")),
    ({"biometrics.fingerprints[3].template": b64(b"\xff\xff\xff\x7f" * 128)}, ("biometrics.fingerprints[3].template", "template.not_finite")),
    ({"biometrics.fingerprints[3].format": "nist-minutiae"}, ("biometrics.fingerprints[3].format", "template.unknown_format")),
    ({"biometrics.fingerprints[3].version": 2}, ("biometrics.fingerprints[3].format", "template.unknown_format")),
    ({"biometrics.fingerprints[3].format": "ektp-face-emb"}, ("biometrics.fingerprints[3].format", "template.unknown_format")),
    ({"biometrics.face.template": b64(b"\0" * 100)}, ("biometrics.face.template", "template.size")),
    ({"biometrics.face.format": "ektp-fp-emb"}, ("biometrics.face.format", "template.unknown_format")),
    ({"biometrics.irises[0].code": b64(b"\0" * 255)}, ("biometrics.irises[0].code", "template.size")),
    ({"biometrics.irises[1].mask": b64(b"\xff" * 257)}, ("biometrics.irises[1].mask", "template.size")),
])
def test_template_decoding(changes, expected):
    problems = bio_found(changes)
    assert (*expected, "error") in problems


def _f32(*values: float, fill: float = 1.0) -> bytes:
    return struct.pack("<128f", *values, *[fill] * (128 - len(values)))


def _words(*words: int, fill: int = 0x3F800000) -> bytes:
    """128 float32s given as their bits (default 1.0)."""
    return struct.pack("<128I", *words, *[fill] * (128 - len(words)))


@pytest.mark.parametrize("vector,code", [
    (_f32(fill=1.0), None),
    (_f32(fill=-0.0), "template.zero_vector"),  # -0.0 is zero too
    (_f32(1e-45, fill=0.0), None),  # one subnormal: not a zero vector
    (_f32(fill=3.4e38), None),  # the largest float32s: their sum must not overflow
    (_f32(-3.4e38, fill=3.4e38), None),
    (_f32(math.inf), "template.not_finite"),
    (_f32(math.inf, -math.inf), "template.not_finite"),  # sum NaN
    (_f32(math.nan, fill=0.0), "template.not_finite"),
    (_f32(fill=math.inf), "template.not_finite"),
    (_f32(*[1.0] * 127, math.nan), "template.not_finite"),  # the last word: no carry past the end
    (_f32(*[1.0] * 60, -math.inf), "template.not_finite"),
    (_words(0xFFC00000), "template.not_finite"),  # a negative quiet NaN
    (_words(0x7F800001), "template.not_finite"),  # a signalling NaN, the smallest payload
    (_words(0x7F7FFFFF), None),  # the largest finite float32: all exponent bits but one
    (_words(0x80000001, fill=0), None),  # a negative subnormal is not zero
    (_words(0x80000000, fill=0x80000000), "template.zero_vector"),
    (_words(0x00800000, fill=0), None),  # the smallest normal number
])
def test_float32_vector_check(vector, code):
    assert TEMPLATE_FORMATS[("ektp-fp-emb", 1)].check(vector) == code


def test_one_bad_finger_is_an_error_but_not_a_recapture():
    problems = bio_found({"biometrics.fingerprints[3].template": b64(b"\0" * 10)})
    assert "biometrics.recapture_required" not in {c for _, c, _ in problems}


def test_iris_mask_threshold():
    rng = random.Random(3)
    data = recording_dict()
    data["biometrics"]["irises"][0] = iris(rng, "RIGHT", usable=0.5)
    assert bio_found({}, data) == set()
    data["biometrics"]["irises"][0] = iris(rng, "RIGHT", usable=0.49)
    assert ("biometrics.irises[0].mask", "iris.mask_insufficient", "error") in bio_found({}, data)


def test_low_quality_finger_is_a_warning_when_enough_remain():
    problems = bio_found({"biometrics.fingerprints[0].quality": 39, "biometrics.fingerprints[1].quality": 10})
    assert problems == {("biometrics.fingerprints[0].quality", "template.low_quality", "warning"),
                        ("biometrics.fingerprints[1].quality", "template.low_quality", "warning")}
    assert bio_found({"biometrics.fingerprints[0].quality": 40}) == set()


def test_five_usable_fingers_need_recapture_naming_the_fingers():
    changes = {f"biometrics.fingerprints[{i}].quality": 20 for i in range(5)}
    rec = recording(changes)
    problems = [p for p in check_recording(rec, today=TODAY, now=NOW) if p.code == "biometrics.recapture_required"]
    assert len(problems) == 1
    p = problems[0]
    assert p.field == "biometrics.fingerprints" and p.severity == "error"
    assert p.params["positions"] == ["RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE"]
    assert "ibu jari kanan" in p.message_id and "right thumb" in p.message_en


def test_six_usable_fingers_are_enough():
    changes = {f"biometrics.fingerprints[{i}].quality": 20 for i in range(4)}
    assert "biometrics.recapture_required" not in {c for _, c, _ in bio_found(changes)}


def _with(data: dict, fingers: list[str] | None = None, eyes: list[str] | None = None, exceptions=()) -> dict:
    rng = random.Random(5)
    bio = data["biometrics"]
    if fingers is not None:
        bio["fingerprints"] = [fingerprint(rng, f) for f in fingers]
    if eyes is not None:
        bio["irises"] = [iris(rng, e) for e in eyes]
    bio["exceptions"] = [{"position": p, "reason": "AMPUTATED"} for p in exceptions]
    return data


def test_missing_finger_not_excepted_is_an_error():
    data = _with(recording_dict(), fingers=["RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING",
                                            "LEFT_THUMB", "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE"])
    rec = recording(data=data)
    problems = [p for p in check_recording(rec, today=TODAY, now=NOW)]
    assert [(p.field, p.code, p.params["positions"]) for p in problems] == [
        ("biometrics.fingerprints", "fingerprints.missing", ["RIGHT_LITTLE"])]


def test_amputated_hand_is_recorded_not_refused():
    right = ["RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE"]
    left = ["LEFT_THUMB", "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE"]
    data = _with(recording_dict(), fingers=left, exceptions=right)
    assert bio_found({}, data) == set()  # 5 usable of 5 capturable: enough


def test_excepted_hand_with_a_bad_finger_needs_recapture():
    right = ["RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE"]
    left = ["LEFT_THUMB", "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE"]
    data = _with(recording_dict(), fingers=left, exceptions=right)
    data["biometrics"]["fingerprints"][2]["quality"] = 5
    problems = check_recording(recording(data=data), today=TODAY, now=NOW)
    recapture = [p for p in problems if p.code == "biometrics.recapture_required"]
    assert [p.params["positions"] for p in recapture] == [["LEFT_MIDDLE"]]


def test_all_fingers_and_eyes_excepted_is_accepted_with_a_warning():
    everything = ["RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE", "LEFT_THUMB",
                  "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE", "RIGHT", "LEFT"]
    data = _with(recording_dict(), fingers=[], eyes=[], exceptions=everything)
    assert bio_found({}, data) == {("biometrics.exceptions", "biometrics.few_capturable", "warning")}


def test_no_usable_iris_needs_recapture():
    problems = check_recording(recording({"biometrics.irises[0].quality": 10, "biometrics.irises[1].quality": 30}),
                               today=TODAY, now=NOW)
    recapture = [p for p in problems if p.code == "biometrics.recapture_required"]
    assert [(p.field, p.params["positions"]) for p in recapture] == [("biometrics.irises", ["RIGHT", "LEFT"])]


def test_one_eye_excepted_one_usable_is_enough():
    data = _with(recording_dict(), eyes=["LEFT"], exceptions=["RIGHT"])
    assert bio_found({}, data) == set()


def test_missing_eye_not_excepted():
    data = _with(recording_dict(), eyes=["LEFT"])
    assert bio_found({}, data) == {("biometrics.irises", "irises.missing", "error")}


def test_duplicates_and_template_with_exception():
    data = recording_dict()
    bio = data["biometrics"]
    bio["fingerprints"][1] = {**bio["fingerprints"][1], "position": "RIGHT_THUMB"}
    bio["irises"][1] = {**bio["irises"][1], "eye": "RIGHT"}
    bio["exceptions"] = [{"position": "LEFT_LITTLE", "reason": "INJURY"}, {"position": "LEFT_LITTLE", "reason": "INJURY"}]
    problems = bio_found({}, data)
    assert ("biometrics.fingerprints[1].position", "fingerprints.duplicate_position", "error") in problems
    assert ("biometrics.irises[1].eye", "irises.duplicate_eye", "error") in problems
    assert ("biometrics.exceptions[1].position", "exceptions.duplicate", "error") in problems
    assert ("biometrics.fingerprints[9].position", "biometrics.template_and_exception", "error") in problems
    assert ("biometrics.fingerprints", "fingerprints.missing", "error") in problems  # RIGHT_INDEX
    assert ("biometrics.irises", "irises.missing", "error") in problems  # LEFT


def test_unusable_face_needs_recapture():
    problems = check_recording(recording({"biometrics.face.quality": 12}), today=TODAY, now=NOW)
    assert [(p.field, p.code) for p in problems if p.is_error] == [("biometrics.face", "biometrics.recapture_required")]


def test_a_new_extractor_format_is_one_registry_row():
    key = ("vendor-x-fp", 3)
    try:
        register(TemplateFormat("fingerprint", "vendor-x-fp", 3, 256))
        data = recording_dict()
        data["biometrics"]["fingerprints"][0].update(format="vendor-x-fp", version=3, template=b64(b"\1" * 256))
        assert bio_found({}, data) == set()
        data["biometrics"]["fingerprints"][0]["template"] = b64(b"\1" * 512)
        assert ("biometrics.fingerprints[0].template", "template.size", "error") in bio_found({}, data)
    finally:
        TEMPLATE_FORMATS.pop(key, None)


@pytest.mark.parametrize("nik", ["5371044006900001", "5371047206900001"])
def test_a_nik_date_that_is_no_date_does_not_also_claim_the_wrong_sex(nik):
    """Day 40 (or 72) is no one's birth day: the NIK does not tell the sex either."""
    found_ = found(recording({"nik": nik, "sex": "PEREMPUAN"}))
    assert ("nik", "nik.date_invalid", "error") in found_
    assert not any(code == "nik.sex_mismatch" for _, code, _ in found_), found_
