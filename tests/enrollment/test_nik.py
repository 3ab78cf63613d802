from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.enrollment.schemas import Sex
from services.enrollment.validation.nik import NikFormatError, build_kk_number, build_nik, parse_nik

districts = st.builds(lambda p, k, c: f"{p:02d}.{k:02d}.{c:02d}", st.integers(11, 96), st.integers(1, 99), st.integers(1, 99))
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))


@given(districts, birth_dates, st.sampled_from(list(Sex)), st.integers(1, 9999))
def test_build_then_parse_round_trips(district, birth, sex, serial):
    nik = build_nik(district, birth, sex, serial)
    assert len(nik) == 16 and nik.isdigit()
    parts = parse_nik(nik)
    assert parts.district == district and parts.regency == district[:5] and parts.province == district[:2]
    assert parts.sex == sex and parts.serial == serial
    assert birth in parts.birth_date_candidates()
    assert parts.matches(birth, sex)
    assert parts.birth_date(today=birth) == birth  # on the day of birth, the century is that one


@given(birth_dates, st.sampled_from(list(Sex)))
def test_century_is_the_one_not_in_the_future(birth, sex):
    parts = parse_nik(build_nik("53.71.04", birth, sex, 1))
    today = birth + dt.timedelta(days=365 * 50)
    chosen = parts.birth_date(today)
    assert chosen is not None and chosen <= today and chosen.year % 100 == birth.year % 100


def test_examples():
    p = parse_nik("5371044506900001")
    assert (p.province, p.regency, p.district) == ("53", "53.71", "53.71.04")
    assert p.sex == Sex.FEMALE and p.birth_day == 5 and p.month == 6 and p.year2 == 90 and p.serial == 1
    assert p.birth_date(dt.date(2026, 1, 1)) == dt.date(1990, 6, 5)
    assert parse_nik("5371040506250001").birth_date(dt.date(2026, 1, 1)) == dt.date(2025, 6, 5)
    assert parse_nik("5371040506300001").birth_date(dt.date(2026, 1, 1)) == dt.date(1930, 6, 5)


def test_29_february():
    assert parse_nik("5371022902000001").birth_date_candidates() == (dt.date(2000, 2, 29),)  # 1900 not leap
    assert parse_nik("5371026902960001").birth_date_candidates() == (dt.date(1996, 2, 29), dt.date(2096, 2, 29))
    assert parse_nik("5371026902960001").birth_date(dt.date(2026, 1, 1)) == dt.date(1996, 2, 29)
    assert parse_nik("5371022902010001").birth_date_candidates() == ()


@pytest.mark.parametrize("bad", ["", "537104450690000", "53710445069000011", "5371-44506900001", " 5371044506900001", None])
def test_parse_refuses_non_16_digits(bad):
    with pytest.raises(NikFormatError):
        parse_nik(bad)


def test_build_refuses_bad_parts():
    with pytest.raises(ValueError):
        build_nik("53.71", dt.date(1990, 1, 1), Sex.MALE, 1)
    with pytest.raises(ValueError):
        build_nik("53.71.04", dt.date(1990, 1, 1), Sex.MALE, 0)
    with pytest.raises(ValueError):
        build_nik("53.71.04", dt.date(1990, 1, 1), Sex.MALE, 10000)


def test_kk_number():
    assert build_kk_number("53.71.04", dt.date(2015, 3, 12), 7) == "5371041203150007"
