"""Whole synthetic recordings (demographics + biometrics + photo), as a station would post them."""

from __future__ import annotations

import base64
import datetime as dt
import random

import numpy as np

from ektp.synth.biometrics import Person, capture, new_person
from ektp.synth.residents import make_photo_jpeg, make_resident, make_signature_png


def make_recording(rng: random.Random, nprng: np.random.Generator, *, today: dt.date,
                   person: Person | None = None, resident: dict | None = None, station: str = "ST01",
                   operator: str = "op-001", recording_site: str | None = None, poor: bool = False,
                   taken_niks: set[str] | None = None) -> tuple[dict, Person]:
    """A valid recording (JSON-ready) and the person whose biometrics it carries.

    Pass `person` to re-record the same person (a duplicate under another NIK, or a recapture),
    and `resident` to keep the same demographic record.
    """
    person = person or new_person(nprng)
    resident = dict(resident) if resident else make_resident(rng, today=today, taken_niks=taken_niks)
    biometrics = capture(person, nprng, poor=poor)
    biometrics["photo_jpeg"] = base64.b64encode(make_photo_jpeg(rng)).decode()
    biometrics["signature_png"] = base64.b64encode(make_signature_png(rng)).decode()
    site = recording_site or resident["pickup_site"]
    recorded_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=rng.randint(1, 240))
    recording = {
        **resident,
        "station_recording_id": f"{site}-{station}-{rng.getrandbits(48):012x}",
        "recording": {"site": site, "station": station, "operator": operator,
                      "recorded_at": recorded_at.isoformat()},
        "biometrics": biometrics,
    }
    return recording, person
