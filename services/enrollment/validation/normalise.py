"""The recording as it is stored and printed: upper case, single spaces, RT/RW of 3 digits."""

from __future__ import annotations

from services.enrollment.schemas import RecordingIn
from shared.card.values import printed

from .card import normalise_rt_rw


def normalise_recording(rec: RecordingIn) -> RecordingIn:
    """A copy ready for storage; call it on a recording that ``check_recording`` accepted."""
    address = rec.address.model_copy(update={
        "street": printed(rec.address.street),
        "rt": normalise_rt_rw(rec.address.rt),
        "rw": normalise_rt_rw(rec.address.rw),
    })
    return rec.model_copy(update={
        "name": printed(rec.name),
        "birth_place": printed(rec.birth_place),
        "occupation": printed(rec.occupation),
        "blood_type": rec.blood_type.strip().upper(),
        "address": address,
    })
