from __future__ import annotations

from services.enrollment.validation import check_recording, normalise_recording
from services.enrollment.validation.card import PRINTED_FIELDS

from .factories import NOW, TODAY, recording


def test_normalised_for_print():
    rec = recording({"name": "Yohanes  d'Costa", "address.rt": "3", "address.rw": "12", "blood_type": "ab+",
                   "birth_place": "Kupang", "occupation": "guru", "address.street": "jl. el tari"})
    assert check_recording(rec, today=TODAY, now=NOW) == []
    out = normalise_recording(rec)
    assert (out.name, out.address.rt, out.address.rw, out.blood_type) == ("YOHANES D'COSTA", "003", "012", "AB+")
    assert (out.birth_place, out.occupation, out.address.street) == ("KUPANG", "GURU", "JL. EL TARI")
    assert check_recording(out, today=TODAY, now=NOW) == []


def test_card_limits_table():
    limits = {f.path: f.max_length for f in PRINTED_FIELDS}
    assert limits == {"name": 60, "birth_place": 24, "address.street": 60, "occupation": 34}  # as docs/enrollment.md says
