"""The de-duplication decision for one recording (pure: no database, no I/O).

    unusable templates                -> enroll_failure (reasons from templates.decode)
    best fused >= auto_threshold      -> duplicate
    grey_threshold <= best < auto     -> adjudication
    otherwise                         -> unique

`candidates` holds every candidate at or above the grey threshold (best first), or, for a
unique outcome, the best few for the record.  A recapture of an enrolled person (same NIK) is a
`duplicate` whose candidate is that person's own reference: the caller, which maps ref ids to
NIKs, tells the two apart; `ignore_ref_ids` leaves out references the caller already knows
belong to this recording (e.g. the record it replaces).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from .gallery import Candidate, Gallery
from .templates import Templates

OUTCOMES = ("unique", "duplicate", "adjudication", "enroll_failure")


@dataclass(frozen=True)
class Decision:
    outcome: str
    candidates: list[Candidate] = field(default_factory=list)
    reasons: tuple[str, ...] = ()


def decide(templates: Templates, gallery: Gallery, *, auto_threshold: float, grey_threshold: float,
           max_results: int = 10, ignore_ref_ids: Collection[str] = ()) -> Decision:  # fmt: skip
    if grey_threshold > auto_threshold:
        raise ValueError("grey_threshold must not exceed auto_threshold")
    if not templates.usable:
        return Decision("enroll_failure", reasons=templates.reasons)
    found = gallery.identify(templates, max_results=max_results + len(ignore_ref_ids))
    found = [c for c in found if c.ref_id not in ignore_ref_ids][:max_results]
    if not found:
        return Decision("unique", reasons=("empty_gallery",) if len(gallery) == 0 else ())
    best = found[0].fused
    if best >= auto_threshold:
        hits = [c for c in found if c.fused >= grey_threshold]
        return Decision("duplicate", hits, ("score_above_auto_threshold",))
    if best >= grey_threshold:
        hits = [c for c in found if c.fused >= grey_threshold]
        return Decision("adjudication", hits, ("score_in_grey_zone",))
    return Decision("unique", found[:3])
