"""Use cases of the enrollment service. Functions flush; the caller commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment import repository
from services.enrollment.models import DedupEngineState, Enrollment, Status, TimelineEntry, messaging
from services.enrollment.receipts import new_receipt, normalise
from services.enrollment.schemas import RecordingIn
from services.enrollment.timeline import moves_forward, nik_held, step_of
from services.enrollment.validation import check_recording, check_served, every_problem
from services.enrollment.validation.messages import problem
from services.enrollment.validation.problems import Problem
from shared import regions
from shared.auth.audit import audit
from shared.auth.principal import Principal
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, problem_dict
from shared.messaging import Event, new_event
from shared.messaging.outbox import add_events

LINK = "previous_enrollment_id"  # the field a refused correction names
REFUSED = "Rekaman ditolak: perbaiki kolom berikut / recording refused: fix these fields"

# Status of the previous record → what a new recording linked to it is.
CORRECTIONS = {
    Status.ENROLL_FAILURE: "recapture",   # biometrics were unusable: record again
    Status.PRINTED: "replacement",        # data changed after printing: a replacement card
    Status.ISSUED: "replacement",
}


def as_json(recording: RecordingIn) -> dict[str, Any]:
    """The recording as JSON data, dumped once: hashed, stored and sent on from this one dict."""
    return recording.model_dump(mode="json")


def request_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, compact) of a recording's `as_json` data."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def key_conflict(key: str, existing: Enrollment) -> Conflict:
    return Conflict(
        f"idempotency key {key!r} was already used for a different recording",
        code="idempotency_key_reused",
        extra={"enrollment_id": str(existing.id), "receipt_number": existing.receipt_number},
    )


async def find_replay(session: AsyncSession, recording: RecordingIn, key: str | None, digest: str) -> Enrollment | None:
    """The enrollment a retry with this key already created, or None; a different body is a 409."""
    if not key:
        return None
    existing = await repository.by_idempotency_key(session, recording.recording.site, key)
    if existing is None:
        return None
    if existing.request_hash != digest:
        raise key_conflict(key, existing)
    return existing


def parse_recording(raw: Any, today: dt.date) -> RecordingIn:
    """The recording's structure, or InvalidInput naming every problem: the structural ones and
    what the counter's rules find in the fields that parsed."""
    try:
        return RecordingIn.model_validate(raw)
    except ValidationError as exc:
        raise refused_structure(exc.errors(), raw, today, strip=()) from None


def refused_structure(errors: list[Any], raw: Any, today: dt.date, *, strip: tuple[str, ...]) -> InvalidInput:
    """The refusal of a recording whose structure failed (pydantic's `errors`, located under `strip`)."""
    return InvalidInput(REFUSED, fields=every_problem(errors, raw, today, strip=strip))


def counter_check(recording: RecordingIn, today: dt.date, sites: Sequence[str]) -> list[Problem]:
    """The warnings of an acceptable recording; every problem at once (422) if it has errors.
    `sites`: the dinas's sites (shared.sites.dinas_sites), where a card can be printed and collected."""
    problems = check_recording(recording, today=today) + check_served(recording, sites)
    if any(p.severity == "error" for p in problems):
        raise InvalidInput(REFUSED, fields=problems)
    return problems


async def correction_of(session: AsyncSession, recording: RecordingIn) -> str | None:
    """Checks the link to a previous record: a re-capture after ENROLL_FAILURE, or a replacement card
    after printing, of the same NIK (a re-capture after `nik_held_by_another_person`: the NIK the
    dinas checked, which may differ), not already corrected by another recording."""
    previous_id = recording.previous_enrollment_id
    if previous_id is None:
        return None
    previous = await repository.get(session, previous_id, for_update=True)
    if previous is None:
        raise NotFound(f"previous enrollment {previous_id} not found", code="previous_enrollment_not_found",
                       fields=[problem(LINK, "previous_enrollment.not_found", previous_id=str(previous_id))])
    kind = CORRECTIONS.get(Status(previous.status))
    if kind is None:
        raise Conflict(
            f"previous enrollment is {previous.status}: only ENROLL_FAILURE (re-capture) or PRINTED/ISSUED "
            "(replacement) records can be corrected", code="previous_enrollment_not_correctable",
            fields=[problem(LINK, "previous_enrollment.not_correctable", status=previous.status)],
            extra={"previous_status": previous.status})
    if previous.nik != recording.nik and not nik_held(previous.status_reason):
        # (a recording refused because its NIK is another person's is recorded again with the NIK
        # the dinas found on the family card)
        raise Conflict("a correction keeps the NIK of the previous enrollment", code="previous_enrollment_other_nik",
                       fields=[problem(LINK, "previous_enrollment.other_nik")])
    successors = await repository.successors(session, previous_id)
    if successors:
        raise Conflict("the previous enrollment was already corrected; link to the newest record",
                       code="previous_enrollment_superseded",
                       fields=[problem(LINK, "previous_enrollment.superseded", next_id=str(successors[0].id))],
                       extra={"next_enrollment_id": str(successors[0].id)})
    return kind


@dataclass
class NewRecord:
    row: dict[str, Any]
    timeline: list[dict[str, Any]]
    event: Event


def new_record(principal: Principal, recording: RecordingIn, data: dict[str, Any], *, key: str | None, digest: str,
               warnings: list[Problem], correction: str | None, now: dt.datetime) -> NewRecord:
    """The rows one accepted recording (and its `as_json` data) writes: the enrollment, its first
    two steps, its event."""
    demographics = {k: v for k, v in data.items() if k not in ("biometrics", "station_recording_id")}
    demographics["place_names"] = place_names(recording.address.village_code)
    enrollment_id = uuid.uuid4()
    row = dict(
        id=enrollment_id,
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
        correction=correction,
        created_at=now,
        updated_at=now,
    )
    timeline = [
        dict(enrollment_id=enrollment_id, at=recording.recording.recorded_at, step="RECORDED", status=None,
             detail={"site": recording.recording.site}),
        dict(enrollment_id=enrollment_id, at=now, step="SENT_TO_DEDUP", status=Status.RECEIVED.value, detail={}),
    ]
    event = new_event(
        "enrollment.submitted",
        {
            "enrollment_id": str(enrollment_id),
            "receipt_number": row["receipt_number"],
            "record": demographics,
            "biometrics": data["biometrics"],
            **({"previous_enrollment_id": str(recording.previous_enrollment_id), "correction": correction}
               if correction else {}),
        },
        key=str(enrollment_id),
    )
    return NewRecord(row, timeline, event)


async def insert_new(session: AsyncSession, records: list[NewRecord]) -> None:
    """Many accepted recordings in three statements (a batch)."""
    if not records:
        return
    await repository.insert_enrollments(session, [r.row for r in records],
                                        [entry for r in records for entry in r.timeline])
    await add_events(session, messaging, [r.event for r in records])


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


async def read_enrollment(session: AsyncSession, principal: Principal,
                          enrollment_id: uuid.UUID) -> tuple[Enrollment, Sequence[TimelineEntry], list[uuid.UUID]]:
    """One enrollment (audited), its timeline and the ids of the records that correct it."""
    enrollment = await repository.get(session, enrollment_id)
    if enrollment is None:
        raise NotFound(f"enrollment {enrollment_id} not found")
    if not (principal.may_act_for(enrollment.recording_site) or principal.may_act_for(enrollment.pickup_site)):
        raise Forbidden(f"enrollment {enrollment_id} belongs to another site", code="wrong_site")
    await audit(session, principal, "enrollment.read", "enrollment", str(enrollment.id))
    successors = await repository.successors(session, enrollment.id)
    return enrollment, await repository.timeline(session, enrollment.id), [s.id for s in successors]


async def search_enrollments(session: AsyncSession, principal: Principal, *, nik: str | None, receipt: str | None,
                             status: Status | None, site: str | None, limit: int,
                             offset: int) -> tuple[Sequence[Enrollment], int]:
    """A page of the register, of the sites `principal` acts for (audited: names and NIKs of
    residents, so who looked for whom is kept, as for a record opened)."""
    site = principal.scope(site)
    rows, total = await repository.search(session, nik=nik, receipt=receipt, status=status, site=site,
                                          limit=limit, offset=offset)
    await audit(session, principal, "enrollment.search", "enrollments", nik or receipt or site or "all",
                {"count": len(rows), "ids": [str(r.id) for r in rows]})
    return rows, total


@dataclass
class PublicStatusData:
    enrollment: Enrollment
    entries: list[TimelineEntry]
    position: int | None
    dedup: DedupEngineState | None


async def public_status(session: AsyncSession, receipt: str) -> PublicStatusData:
    normalised = normalise(receipt)
    enrollment = await repository.by_receipt(session, normalised) if normalised else None
    if enrollment is None:
        raise NotFound("receipt number not found / nomor tanda terima tidak ditemukan", code="unknown_receipt")
    entries = list(await repository.timeline(session, enrollment.id))
    if enrollment.status != Status.RECEIVED:
        return PublicStatusData(enrollment, entries, None, None)
    position = await repository.waiting_position(session, enrollment)
    return PublicStatusData(enrollment, entries, position, await repository.dedup_state(session))


async def stats(session: AsyncSession, principal: Principal, site: str | None) -> dict[str, Any]:
    """Counts for the console: by status, by pickup site and status; a kecamatan sees its own site."""
    site = principal.scope(site)
    by_site = await repository.counts_by_site_and_status(session, site=site)
    by_status: dict[str, int] = {}
    for counts in by_site.values():
        for status, n in counts.items():
            by_status[status] = by_status.get(status, 0) + n
    dedup = await repository.dedup_state(session)
    return {
        "site": site,
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_site": by_site,
        "dedup_paused": dedup if dedup is not None and dedup.paused else None,
    }


# ---- events of other services ----------------------------------------------------------------

async def apply_event(session: AsyncSession, event: Event) -> None:
    """Another service's event: add it to the resident's timeline and move the status forward."""
    step = step_of(event.type, event.data)
    enrollment_id = event.data.get("enrollment_id")
    if step is None or not enrollment_id:
        return  # not about one resident; nothing to record here
    enrollment = await repository.get(session, uuid.UUID(enrollment_id), for_update=True)
    if enrollment is None:
        raise NotFound(f"event {event.event_id} for unknown enrollment {enrollment_id}")
    code, new_status = step
    detail: dict[str, Any] = {k: v for k, v in event.data.items()
                              if k in ("site", "serial", "reason", "number", "valid_until", "replacement_of",
                                       "code", "supersedes", "superseded_by") and v}
    session.add(TimelineEntry(enrollment_id=enrollment.id, at=event.occurred_at, step=code,
                              status=new_status.value if new_status else None, detail=detail))
    if new_status is not None and moves_forward(Status(enrollment.status), new_status, code):
        enrollment.status = new_status.value
        enrollment.status_reason = event.data.get("reason")
    replaced = event.data.get("replacement_of") if event.type == "dedup.unique" else None
    if replaced:
        # The old card's record learns that a replacement is on its way.
        session.add(TimelineEntry(enrollment_id=uuid.UUID(replaced), at=event.occurred_at, step="REPLACED",
                                  status=None, detail={"replacement_receipt": enrollment.receipt_number}))
        if enrollment.previous_enrollment_id is None:
            # Recorded again without the link (a new station id, no previous_enrollment_id): dedup
            # found the same person; the two records are linked as a linked correction would be.
            enrollment.previous_enrollment_id = uuid.UUID(replaced)
            enrollment.correction = "replacement"
    await session.flush()


async def note_dedup_engine(session: AsyncSession, event: Event) -> None:
    """dedup.engine_paused / dedup.engine_resumed: remember it, so residents are told why they wait.
    An older event arriving late changes nothing."""
    state = await repository.dedup_state(session, for_update=True)
    if state is None:
        state = DedupEngineState(id=1, paused=False)
        session.add(state)
    elif state.since is not None and event.occurred_at < state.since:
        return
    state.paused = event.type == "dedup.engine_paused"
    state.reason = event.data.get("reason") if state.paused else None
    state.since = event.occurred_at
    await session.flush()
