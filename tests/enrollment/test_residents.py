"""The synthetic residents are valid recordings once biometrics are added."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ektp.synth.residents import make_photo_jpeg, make_resident, make_signature_png
from services.enrollment.schemas import RecordingIn
from services.enrollment.validation import check_recording
from services.enrollment.validation.images import PHOTO_MIN_HEIGHT, PHOTO_MIN_WIDTH
from services.enrollment.validation.nik import parse_nik
from shared import regions

from .factories import NOW, TODAY, b64, recording_context, valid_biometrics

_BIOMETRICS = valid_biometrics(random.Random(11))
DEMOGRAPHIC_FIELDS = set(RecordingIn.model_fields) - {"biometrics", "recording", "station_recording_id",
                                                       "previous_enrollment_id"}


def as_recording(resident: dict, recorded_at: dt.datetime | None = None) -> RecordingIn:
    context = recording_context()
    if recorded_at is not None:
        context["recorded_at"] = recorded_at.isoformat()
    return RecordingIn.model_validate({**resident, "biometrics": _BIOMETRICS, "recording": context})


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_every_generated_resident_passes(seed):
    resident = make_resident(random.Random(seed), today=TODAY)
    assert set(resident) == DEMOGRAPHIC_FIELDS
    assert check_recording(as_recording(resident), today=TODAY, now=NOW) == []


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["53.01", "53.10", "31.71", "11.01", "96.71"]),
       st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)))
def test_other_regencies_and_days(seed, regency, today):
    resident = make_resident(random.Random(seed), regency=regency, today=today)
    now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    assert check_recording(as_recording(resident, now), today=today, now=now) == []
    assert resident["address"]["village_code"].startswith(regency + ".")


def test_parts_agree():
    rng = random.Random(2026)
    for _ in range(300):
        r = make_resident(rng, today=TODAY)
        parts = parse_nik(r["nik"])
        assert parts.matches(dt.date.fromisoformat(r["birth_date"]), r["sex"])
        assert regions.district(parts.district) is not None
        assert r["pickup_site"] == r["address"]["village_code"][:8]
        assert regions.district(r["pickup_site"]).code.startswith("53.71.")


def test_seeded_and_plausible():
    assert make_resident(random.Random(5), today=TODAY) == make_resident(random.Random(5), today=TODAY)
    rng = random.Random(1)
    residents = [make_resident(rng, today=TODAY) for _ in range(2000)]
    religions = Counter(r["religion"] for r in residents)
    assert religions["KRISTEN"] + religions["KATHOLIK"] > 0.75 * len(residents)
    assert religions["ISLAM"] > 0.05 * len(residents)
    assert all(len(r["name"].split()) >= 2 for r in residents)
    assert len({r["address"]["village_code"] for r in residents}) == 51
    assert len({r["pickup_site"] for r in residents}) == 6


def test_unique_niks_on_request():
    taken: set[str] = set()
    rng = random.Random(9)
    niks = [make_resident(rng, today=TODAY, taken_niks=taken)["nik"] for _ in range(500)]
    assert len(set(niks)) == 500 and taken == set(niks)


def test_mononyms_only_when_asked():
    rng = random.Random(3)
    names = [make_resident(rng, today=TODAY, mononym_rate=0.5)["name"] for _ in range(200)]
    single = [n for n in names if len(n.split()) == 1]
    assert 50 < len(single) < 150
    problems = check_recording(as_recording({**make_resident(random.Random(4), today=TODAY), "name": single[0]}),
                               today=TODAY, now=NOW)
    assert [(p.code, p.severity) for p in problems] == [("name.single_word", "warning")]


def test_images():
    from io import BytesIO

    from PIL import Image

    rng = random.Random(8)
    photo = make_photo_jpeg(rng)
    img = Image.open(BytesIO(photo))
    assert img.format == "JPEG" and img.size == (300, 400) and len(photo) < 30 * 1024
    assert img.size[0] >= PHOTO_MIN_WIDTH and img.size[1] >= PHOTO_MIN_HEIGHT
    sig = Image.open(BytesIO(make_signature_png(rng)))
    assert sig.format == "PNG"
    assert b64(photo)
