"""Indonesian regions by Kemendagri code, from the package data in ``data/`` (see its README).

Codes have dots: province ``53``, regency/city ``53.71``, district (kecamatan) ``53.71.04``,
village (kelurahan/desa) ``53.71.04.1001``. Lookups return a small record or ``None``; the
table is read once, on first use (about 92,000 rows, well under a second).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_PATTERNS = {
    1: re.compile(r"\d{2}"),
    2: re.compile(r"\d{2}\.\d{2}"),
    3: re.compile(r"\d{2}\.\d{2}\.\d{2}"),
    4: re.compile(r"\d{2}\.\d{2}\.\d{2}\.\d{4}"),
}


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str

    @property
    def level(self) -> int:
        """1 province, 2 regency/city, 3 district, 4 village."""
        return self.code.count(".") + 1


@dataclass(frozen=True, slots=True)
class _Table:
    names: dict[str, str]
    children: dict[str, tuple[str, ...]]


@cache
def _table() -> _Table:
    raw = resources.files(__package__).joinpath("data").joinpath("regions.tsv.gz").read_bytes()
    names: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        code, name = line.split("\t", 1)
        names[code] = name
        parent = code.rpartition(".")[0]
        if parent:
            children.setdefault(parent, []).append(code)
    return _Table(names, {k: tuple(v) for k, v in children.items()})


def is_code(code: str, level: int) -> bool:
    """True if ``code`` has the shape of a code of that level (known or not)."""
    return bool(_PATTERNS[level].fullmatch(code))


def _lookup(code: str, level: int) -> Region | None:
    # Every code of the table has its level's shape: a known code of the right level needs no
    # pattern (a recording looks up ten codes).
    name = _table().names.get(code) if isinstance(code, str) else None
    if name is None or code.count(".") != level - 1:
        return None
    return Region(code, name)


def province(code: str) -> Region | None:
    return _lookup(code, 1)


def regency(code: str) -> Region | None:
    return _lookup(code, 2)


def district(code: str) -> Region | None:
    return _lookup(code, 3)


def village(code: str) -> Region | None:
    return _lookup(code, 4)


def _children(code: str) -> list[Region]:
    table = _table()
    return [Region(c, table.names[c]) for c in table.children.get(code, ())]


def regencies(province_code: str) -> list[Region]:
    return _children(province_code) if province(province_code) else []


def districts(regency_code: str) -> list[Region]:
    return _children(regency_code) if regency(regency_code) else []


def villages(district_code: str) -> list[Region]:
    return _children(district_code) if district(district_code) else []


@cache
def _legacy() -> dict[str, tuple[str, str]]:
    text = resources.files(__package__).joinpath("data").joinpath("legacy_regencies.tsv").read_text("utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {code: (name, now) for code, name, now in rows}


def legacy_regency(code: str) -> Region | None:
    """A regency code no longer in the table but still carried by old NIKs/KKs (2022 Papua split)."""
    row = _legacy().get(code)
    return Region(code, row[0]) if row else None


def nik_regency(code: str) -> Region | None:
    """The regency of a NIK or KK number: a current code or a legacy one."""
    return regency(code) or legacy_regency(code)


def site(code: str) -> Region | None:
    """A recording or pickup site: a dinas (regency ``PP.KK``) or a kecamatan office (``PP.KK.CC``)."""
    return regency(code) or district(code)
