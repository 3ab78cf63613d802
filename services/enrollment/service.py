"""Use cases of the enrollment service. Functions flush; the caller commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment import repository
from services.enrollment.models import Enrollment, Status, TimelineEntry, messaging
from services.enrollment.receipts import new_receipt, normalise
from services.enrollment.schemas import RecordingIn
from services.enrollment.timeline import EVENT_STEPS, moves_forward
from services.enrollment.validation import check_recording, regions
from shared.auth.audit import audit
from shared.auth.principal import Principal
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, problem_dict
from shared.messaging import Event, new_event
from shared.messaging.outbox import add_event


@dataclass
class Submitted:
    enrollment: Enrollment
    created: bool


def request_hash(recording: RecordingIn) -> str:
    canonical = json.dumps(recording.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def find_replay(session: AsyncSession, recording: RecordingIn, key: str | None, digest: str) -> Enrollment | None:
    """The enrollment a retry with this key already created, or None; a different body is a 409."""
    if not key:
        return None
    existing = await repository.by_idempotency_key(session, recording.recording.site, key)
    if existing is None:
        return None
    if existing.request_hash != digest:
        raise Conflict(
            f"idempotency key {key!r} was already used for a different recording",
            code="idempotency_key_reused",
            extra={"enrollment_id": str(existing.id), "receipt_number": existing.receipt_number},
        )
    return existing


async def submit(session: AsyncSession, principal: Principal, recording: RecordingIn, *,
                 idempotency_key: str | None, today: dt.date) -> Submitted:
    principal.require_site(recording.recording.site)
    key = idempotency_key or recording.station_recording_id
    digest = request_hash(recording)
    replay = await find_replay(session, recording, key, digest)
    if replay is not None:
        return Submitted(replay, created=False)

    problems = check_recording(recording, today=today)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InvalidInput("Rekaman ditolak: perbaiki kolom berikut / recording refused: fix these fields",
                           fields=problems)
    warnings = [p for p in problems if p.severity != "error"]

    if recording.previous_enrollment_id is not None:
        previous = await repository.get(session, recording.previous_enrollment_id)
        if previous is None:
            raise NotFound(f"previous enrollment {recording.previous_enrollment_id} not found")

    now = dt.datetime.now(dt.UTC)
    demographics = recording.model_dump(mode="json", exclude={"biometrics", "station_recording_id"})
    demographics["place_names"] = place_names(recording.address.village_code)
    enrollment = Enrollment(
        id=uuid.uuid4(),
        receipt_number=new_receipt(),
        nik=recording.nik,
        name=recording.name.upper(),
        pickup_site=recording.pickup_site,
        recording_site=recording.recording.site,
        station=recording.recording.station,
        operator=recording.recording.operator,
        recorded_at=recording.recording.recorded_at,
        status=Status.RECEIVED.value,
        record=demographics,
        warnings=[problem_dict(w) for w in warnings],
        idempotency_key=key,
        request_hash=digest,
        submitted_by=principal.id,
        previous_enrollment_id=recording.previous_enrollment_id,
        created_at=now,
        updated_at=now,
    )
    session.add(enrollment)
    session.add_all([
        TimelineEntry(enrollment_id=enrollment.id, at=recording.recording.recorded_at, step="RECORDED",
                      status=None, detail={"site": recording.recording.site}),
        TimelineEntry(enrollment_id=enrollment.id, at=now, step="SENT_TO_DEDUP", status=Status.RECEIVED.value,
                      detail={}),
    ])
    await session.flush()
    await add_event(session, messaging, new_event(
        "enrollment.submitted",
        {
            "enrollment_id": str(enrollment.id),
            "receipt_number": enrollment.receipt_number,
            "record": demographics,
            "biometrics": recording.biometrics.model_dump(mode="json"),
        },
        key=str(enrollment.id),
    ))
    return Submitted(enrollment, created=True)


def place_names(village_code: str) -> dict[str, str]:
    """Names printed on the card and the certificate, resolved once at the counter."""
    parts = village_code.split(".")
    found = {
        "province": regions.province(parts[0]),
        "regency": regions.regency(".".join(parts[:2])),
        "district": regions.district(".".join(parts[:3])),
        "village": regions.village(village_code),
    }
    return {level: region.name for level, region in found.items() if region is not None}


async def read_enrollment(session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID) -> Enrollment:
    enrollment = await repository.get(session, enrollment_id)
    if enrollment is None:
        raise NotFound(f"enrollment {enrollment_id} not found")
    if not (principal.may_act_for(enrollment.recording_site) or principal.may_act_for(enrollment.pickup_site)):
        raise Forbidden(f"enrollment {enrollment_id} belongs to another site", code="wrong_site")
    await audit(session, principal, "enrollment.read", "enrollment", str(enrollment.id))
    return enrollment


async def public_status(session: AsyncSession, receipt: str) -> tuple[Enrollment, list[TimelineEntry], int | None]:
    normalised = normalise(receipt)
    enrollment = await repository.by_receipt(session, normalised) if normalised else None
    if enrollment is None:
        raise NotFound("receipt number not found / nomor tanda terima tidak ditemukan", code="unknown_receipt")
    entries = list(await repository.timeline(session, enrollment.id))
    position = await repository.waiting_position(session, enrollment) if enrollment.status == Status.RECEIVED else None
    return enrollment, entries, position


async def apply_event(session: AsyncSession, event: Event) -> None:
    """Another service's event: add it to the resident's timeline and move the status forward."""
    step = EVENT_STEPS.get(event.type)
    enrollment_id = event.data.get("enrollment_id")
    if step is None or not enrollment_id:
        return  # not about one resident (e.g. engine paused); nothing to record here
    enrollment = await repository.get(session, uuid.UUID(enrollment_id), for_update=True)
    if enrollment is None:
        raise NotFound(f"event {event.event_id} for unknown enrollment {enrollment_id}")
    code, new_status = step
    detail: dict[str, Any] = {k: v for k, v in event.data.items() if k in ("site", "serial", "reason", "number", "valid_until")}
    session.add(TimelineEntry(enrollment_id=enrollment.id, at=event.occurred_at, step=code,
                              status=new_status.value if new_status else None, detail=detail))
    if new_status is not None and moves_forward(Status(enrollment.status), new_status):
        enrollment.status = new_status.value
        enrollment.status_reason = event.data.get("reason")
    await session.flush()
