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


def served(sites: Sequence[str]) -> tuple[str, str]:
    """How a message names `sites` (the dinas's, as `dinas_sites` gives them), in Indonesian and English:
    "dinas 53.71 atau salah satu kecamatannya (53.71.01, ...)". The one wording of the list, for a site
    refused here as unknown and for a pickup site the counter (the enrollment service's, a station's)
    refuses as not served."""
    dinas, kecamatan = sites[0], ", ".join(sites[1:]) or "-"
    return (f"dinas {dinas} atau salah satu kecamatannya ({kecamatan})",
            f"the dinas {dinas} or one of its kecamatan ({kecamatan})")


def require_known(sites: Sequence[str], *named: tuple[str, str]) -> None:
    """Refuses (422) every (field, site code) whose site is not one of `sites`, naming the field."""
    served_id, served_en = served(sites)
    problems = [
        FieldProblem(field=field, code="site.unknown", message_id=f"Lokasi {code} tidak dikenal: bukan {served_id}.",
                     message_en=f"Site {code} is not known: it is not {served_en}.")
        for field, code in named if code not in sites
    ]
    if problems:
        unknown = ", ".join(code for field, code in named if code not in sites)
        raise InvalidInput(f"lokasi tidak dikenal / unknown site: {unknown}", fields=problems)


def place(code: str) -> tuple[str, str]:
    """How a resident is told a site, in Indonesian and English: "Kantor Kecamatan Oebobo (53.71.04)" /
    "Oebobo kecamatan office (53.71.04)", "Dinas Dukcapil Kota Kupang (53.71)" / "Kota Kupang civil
    registry (53.71)"; a code the region table does not know, as it is."""
    region = regions.site(code)
    if region is None:
        return code, code
    if regions.district(code) is not None:
        return f"Kantor Kecamatan {region.name} ({code})", f"{region.name} kecamatan office ({code})"
    return f"Dinas Dukcapil {region.name} ({code})", f"{region.name} civil registry ({code})"
