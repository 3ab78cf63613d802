from __future__ import annotations

from shared import regions


def test_kota_kupang():
    assert regions.province("53").name == "Nusa Tenggara Timur"
    assert regions.regency("53.71").name == "Kota Kupang"
    assert [(d.code, d.name) for d in regions.districts("53.71")] == [
        ("53.71.01", "Alak"), ("53.71.02", "Maulafa"), ("53.71.03", "Kelapa Lima"),
        ("53.71.04", "Oebobo"), ("53.71.05", "Kota Raja"), ("53.71.06", "Kota Lama"),
    ]
    assert sum(len(regions.villages(d.code)) for d in regions.districts("53.71")) == 51
    assert regions.village("53.71.04.1001").name == "Oebobo"
    assert all(v.code.startswith("53.71.04.") for v in regions.villages("53.71.04"))


def test_all_indonesia():
    provinces = [regions.province(f"{n:02d}") for n in range(100)]
    assert sum(p is not None for p in provinces) == 38
    assert regions.regency("31.74").name.upper().endswith("JAKARTA SELATAN")
    assert regions.village("11.01.01.2001").name == "Keude Bakongan"


def test_unknown_and_malformed_codes():
    for lookup, code in [(regions.province, "99"), (regions.regency, "53.99"), (regions.district, "53.71.07"),
                         (regions.village, "53.71.04.9999"), (regions.regency, "5371"), (regions.district, "53.71"),
                         (regions.village, "53.71.04"), (regions.province, "")]:
        assert lookup(code) is None, code
    assert regions.districts("53.99") == [] and regions.villages("53.71.99") == []


def test_every_code_of_the_table_has_its_levels_shape():
    """The lookups rely on it: a known code of the right number of parts needs no pattern."""
    names = regions._table().names
    assert len(names) > 90_000
    assert [c for c in names if not regions.is_code(c, c.count(".") + 1)] == []
    assert regions.province(None) is None and regions.village(" 53.71.04.1001") is None


def test_sites():
    assert regions.site("53.71") and regions.site("53.71.04")
    assert regions.site("53") is None and regions.site("53.71.04.1001") is None


def test_legacy_papua_codes_are_accepted_for_niks_only():
    assert regions.regency("92.71") is None
    assert regions.nik_regency("92.71").name == "Kota Sorong"
    assert regions.nik_regency("91.01").name == "Kabupaten Merauke"
    assert regions.nik_regency("53.71").name == "Kota Kupang"
    assert regions.nik_regency("92.99") is None
    assert regions.site("92.71") is None


def test_legacy_table_is_consistent():
    for code, (name, now) in regions._legacy().items():
        assert regions.regency(code) is None, code
        assert regions.regency(now).name.replace("Fak Fak", "Fakfak") == name
