"""Helpers for the dedup service tests that drive the running system."""

from __future__ import annotations

import base64
import datetime as dt
import random
from typing import Any

import httpx
import numpy as np

from ektp.synth.biometrics import new_person
from ektp.synth.recordings import make_recording
from services.dedup.matcher import Gallery, decode, thresholds_for_fpir
from tests.support.api import eventually

SERVICE_THRESHOLDS = thresholds_for_fpir(40, gallery_size=1_000_000)  # the service's defaults


class Recorder:
    """Makes recordings of synthetic persons (one seeded source, no NIK twice)."""

    def __init__(self, seed: int) -> None:
        self.rng, self.nprng = random.Random(seed), np.random.default_rng(seed)
        self.taken: set[str] = set()

    def record(self, *, person=None, resident: dict | None = None, poor: bool = False,  # type: ignore[no-untyped-def]
               recording_site: str | None = None) -> tuple[dict, Any]:
        for _ in range(20):  # a random capture is now and then one the counter asks to re-capture
            rec, made = make_recording(self.rng, self.nprng, today=dt.date.today(), person=person,
                                       resident=resident, poor=poor, taken_niks=self.taken,
                                       recording_site=recording_site)
            if poor or accepted_at_counter(rec):
                break
        self.taken.add(rec["nik"])
        return rec, made

    def person(self):  # type: ignore[no-untyped-def]
        return new_person(self.nprng)


def accepted_at_counter(rec: dict) -> bool:
    from services.enrollment.schemas import RecordingIn
    from services.enrollment.validation import check_recording

    problems = check_recording(RecordingIn.model_validate(rec), today=dt.date.today())
    return not any(p.severity == "error" for p in problems)


def resident_of(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("station_recording_id", "recording", "biometrics")}


def grey_zone_face(probe_rec: dict, enrolled: dict | list[dict], *, target: float | None = None) -> dict:
    """The probe recording with its face template moved towards the enrolled one's (towards the
    sum of several enrolled faces: a look-alike of each), so that the best fused score against
    them lands mid grey zone (a stranger who looks alike)."""
    th = SERVICE_THRESHOLDS
    target = target if target is not None else (th.auto + th.grey) / 2
    recs = enrolled if isinstance(enrolled, list) else [enrolled]
    gallery = Gallery()
    for n, rec in enumerate(recs):
        gallery.add(f"enrolled-{n}", decode(rec["biometrics"]))
    slots = np.array([gallery._slot[f"enrolled-{n}"] for n in range(len(recs))])
    faces = np.array([decode(rec["biometrics"]).batch.face[0].astype(np.float64) for rec in recs])
    probe = decode(probe_rec["biometrics"])
    own = probe.batch.face[0].astype(np.float64)
    weights = np.ones(len(recs))
    for _ in range(30):  # several: lean towards the faces whose fused score (with the other modalities) is lowest
        toward = weights @ faces
        toward /= np.linalg.norm(toward)
        noise = own - (own @ toward) * toward
        noise /= np.linalg.norm(noise)
        lo, hi = 0.0, 1.0
        for _ in range(40):
            c = (lo + hi) / 2
            probe.batch.face[0] = (c * toward + np.sqrt(1 - c * c) * noise).astype(np.float32)
            fused = gallery.score(probe.batch, slots).fused
            lo, hi = (c, hi) if fused.max() < target else (lo, c)
        if len(recs) == 1 or fused.min() > target - 0.3:
            break
        weights *= np.exp(0.05 * (target - fused))
    face = probe.batch.face[0].astype("<f4")
    out = {**probe_rec, "biometrics": {**probe_rec["biometrics"]}}
    out["biometrics"]["face"] = {**probe_rec["biometrics"]["face"], "template": base64.b64encode(face.tobytes()).decode()}
    check = decode(out["biometrics"])
    fused = gallery.score(check.batch, slots).fused
    assert all(th.grey + 0.2 < f < th.auto - 0.2 for f in fused), f"crafted scores {fused} not inside the grey zone"
    return out


async def post(client: httpx.AsyncClient, rec: dict) -> dict:
    answer = await client.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": rec["station_recording_id"]})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def dedup_position(dedup: httpx.AsyncClient, enrollment_id: str, *, status: str = "DECIDED",
                         timeout: float = 90) -> dict:
    async def check() -> dict | None:
        answer = await dedup.get(f"/v1/dedup/backlog/position/{enrollment_id}")
        body = answer.json() if answer.status_code == 200 else None
        return body if body and body["status"] == status else None

    return await eventually(check, timeout=timeout, what=f"dedup status {status} of {enrollment_id}")


PRINT_READY_OR_LATER = ("PRINT_READY", "SENT_FOR_PRINTING")


async def wait_status_in(client: httpx.AsyncClient, receipt: str, statuses: tuple[str, ...] | str,
                         timeout: float = 90) -> dict:
    """The public status once it is one of `statuses` (a PRINT_READY record moves on to
    SENT_FOR_PRINTING as soon as the print service queues it)."""
    wanted = (statuses,) if isinstance(statuses, str) else statuses

    async def check() -> dict | None:
        body = (await client.get(f"/v1/status/{receipt}")).json()
        return body if body.get("status") in wanted else None

    return await eventually(check, timeout=timeout, what=f"status {wanted} of {receipt}")


async def publish_submitted(amqp_url: str, rec: dict) -> str:
    """An enrollment.submitted event straight onto the exchange, as the enrollment service would
    publish it, for recordings its counter now refuses (poor captures): dedup's own check is the
    second line of defence (older stations, a stricter matcher). Returns the enrollment id."""
    import uuid

    import aio_pika

    from shared.messaging import new_event
    from shared.messaging.amqp import AmqpTransport
    from shared.messaging.envelope import EXCHANGE

    enrollment_id = str(uuid.uuid4())
    record = {k: v for k, v in rec.items() if k not in ("biometrics", "station_recording_id")}
    event = new_event("enrollment.submitted", {"enrollment_id": enrollment_id, "receipt_number": "TEST-POOR-01",
                                               "record": record, "biometrics": rec["biometrics"]}, key=enrollment_id)
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EXCHANGE)
        await exchange.publish(AmqpTransport.message(event.outgoing()), routing_key=event.type)
    finally:
        await connection.close()
    return enrollment_id
