"""The sites this system prints for: the dinas (`EKTP_DINAS_CODE`, e.g. 53.71) and its kecamatan
offices, the districts of the dinas's regency in the Kemendagri region table (53.71.01-06), the
table the counter checks recording and pickup sites against. Site redirects and blank-card stock
name only these."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from shared import regions
from shared.errors import FieldProblem, InvalidInput


@cache
def dinas_sites(dinas_code: str) -> tuple[str, ...]:
    """The dinas's site code, then its kecamatan's."""
    return (dinas_code, *(d.code for d in regions.districts(dinas_code)))


def require_known(sites: Sequence[str], *named: tuple[str, str]) -> None:
    """Refuses (422) every (field, site code) whose site is not one of `sites`, naming the field."""
    dinas, kecamatan = sites[0], ", ".join(sites[1:]) or "-"
    problems = [
        FieldProblem(
            field=field, code="site.unknown",
            message_id=f"Lokasi {code} tidak dikenal: bukan dinas {dinas} dan bukan salah satu kecamatannya "
                       f"({kecamatan}).",
            message_en=f"Site {code} is not known: it is neither the dinas {dinas} nor one of its kecamatan "
                       f"({kecamatan}).")
        for field, code in named if code not in sites
    ]
    if problems:
        unknown = ", ".join(code for field, code in named if code not in sites)
        raise InvalidInput(f"lokasi tidak dikenal / unknown site: {unknown}", fields=problems)
