"""Use cases of the dedup service. Functions flush; the caller commits.

A decision that puts a record into the gallery (or takes one out) writes it to the gallery log in
the same transaction; the engine's in-memory gallery follows that log, so it never holds what the
database does not, whichever process made the decision.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dedup import repository
from services.dedup.matcher import Candidate, Decision
from services.dedup.models import (
    Case, CaseStatus, DedupRequest, EngineState, GalleryLog, Outcome, RequestStatus, messaging,
)
from shared.auth.audit import audit
from shared.auth.principal import Principal
from shared.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from shared.messaging import Event, new_event
from shared.messaging.outbox import add_event


# ---- intake ----------------------------------------------------------------------------------

async def intake(session: AsyncSession, event: Event) -> None:
    """enrollment.submitted → a request in the backlog (whether or not the engine is paused)."""
    data = event.data
    enrollment_id = uuid.UUID(data["enrollment_id"])
    if await repository.request_by_enrollment(session, enrollment_id) is not None:
        return
    record = data["record"]
    session.add(DedupRequest(
        enrollment_id=enrollment_id,
        receipt_number=data["receipt_number"],
        nik=record["nik"],
        pickup_site=record["pickup_site"],
        recording_site=record["recording"]["site"],
        recorded_at=dt.datetime.fromisoformat(record["recording"]["recorded_at"]),
        received_at=dt.datetime.now(dt.UTC),
        status=RequestStatus.WAITING.value,
        biometrics=data["biometrics"],
    ))
    await session.flush()


# ---- engine state ----------------------------------------------------------------------------

async def set_paused(session: AsyncSession, *, paused: bool, reason: str | None, actor: str,
                     automatic: bool = False) -> EngineState:
    """An operator's pause or resume (or, with `automatic`, the engine's own pause).

    An operator pausing an automatically paused engine makes the pause theirs (it then outlasts the
    ABIS coming back); pausing a paused engine with another reason tells residents the new one."""
    state = await repository.engine_state(session, for_update=True)
    takes_over = paused and state.automatic and not automatic
    new_reason = paused and not automatic and reason != state.reason
    if state.paused == paused and not (takes_over or new_reason):
        return state
    state.paused = paused
    state.reason = reason if paused else None
    state.automatic = automatic and paused
    state.changed_by = actor
    state.changed_at = dt.datetime.now(dt.UTC)
    await add_event(session, messaging, new_event(
        "dedup.engine_paused" if paused else "dedup.engine_resumed",
        {"reason": reason, "automatic": automatic, "by": actor},
    ))
    await session.flush()
    return state


async def auto_pause(session: AsyncSession, reason: str) -> bool:
    """The engine pauses itself (an external ABIS stopped answering); never over a manual pause."""
    state = await repository.engine_state(session, for_update=True)
    if state.paused:
        return False
    await set_paused(session, paused=True, reason=reason, actor="dedup-engine", automatic=True)
    return True


async def auto_resume(session: AsyncSession) -> bool:
    """Lifts only a pause the engine made itself; a manual pause stays."""
    state = await repository.engine_state(session, for_update=True)
    if not (state.paused and state.automatic):
        return False
    await set_paused(session, paused=False, reason=None, actor="dedup-engine", automatic=True)
    return True


# ---- deciding --------------------------------------------------------------------------------

def _candidates_json(candidates: list[Candidate], known: dict[str, DedupRequest]) -> list[dict[str, Any]]:
    out = []
    for c in candidates:
        row = known.get(c.ref_id)
        out.append({
            "enrollment_id": c.ref_id,
            "nik": row.nik if row else None,
            "scores": {"finger": c.finger, "iris": c.iris, "face": c.face, "fused": c.fused},
        })
    return out


def _holder_first(candidates: list[dict[str, Any]], holder: DedupRequest) -> list[dict[str, Any]]:
    """A case about a NIK already in the gallery shows the record that holds it first, whether or
    not the matcher ranked it (biometrics that disagree give it no score): it is the conflict the
    adjudicator decides, and the match a 'same person' decision names (it named the matcher's first
    candidate, an unrelated person)."""
    ref = str(holder.enrollment_id)
    ranked = next((c for c in candidates if c["enrollment_id"] == ref), None)
    first = ranked or {"enrollment_id": ref, "nik": holder.nik,
                       "scores": {"finger": None, "iris": None, "face": None, "fused": None}}
    return [first, *(c for c in candidates if c["enrollment_id"] != ref)]


async def apply_decision(session: AsyncSession, request: DedupRequest, decision: Decision, *,
                         auto_threshold: float) -> None:
    """Turn the matcher's decision into the record's outcome, its events and gallery changes."""
    ref = str(request.enrollment_id)
    known = await repository.niks_of(session, [c.ref_id for c in decision.candidates])
    same_nik = [r for r in await repository.gallery_by_nik(session, request.nik) if r.enrollment_id != request.enrollment_id]
    request.candidates = _candidates_json(decision.candidates, known)
    request.reasons = list(decision.reasons)
    outcome = Outcome(decision.outcome)

    if outcome is not Outcome.ENROLL_FAILURE and same_nik:
        # The NIK is already in the gallery: the same person (a replacement card) or not.
        holder = same_nik[0]
        agrees = any(c.ref_id == str(holder.enrollment_id) and c.fused >= auto_threshold for c in decision.candidates)
        others = [c for c in decision.candidates if c.ref_id != str(holder.enrollment_id) and c.fused >= auto_threshold]
        if agrees and not others:
            request.replaces_enrollment_id = holder.enrollment_id
            holder.in_gallery = False
            session.add(GalleryLog(enrollment_id=holder.enrollment_id, action="leave"))
            outcome = Outcome.UNIQUE
            request.reasons = ["same_nik_same_person_replacement"]
        else:
            outcome = Outcome.ADJUDICATION
            request.reasons = ["same_nik_different_biometrics" if not agrees else "same_nik_and_other_match"]
            request.candidates = _holder_first(request.candidates, holder)
    elif outcome is Outcome.DUPLICATE:
        top = known.get(decision.candidates[0].ref_id)
        request.matched_nik = top.nik if top else None
    await _record_outcome(session, request, outcome)


async def _record_outcome(session: AsyncSession, request: DedupRequest, outcome: Outcome, *,
                          corrected_case: Case | None = None) -> None:
    now = dt.datetime.now(dt.UTC)
    request.outcome = outcome.value
    request.decided_at = now
    base = {"enrollment_id": str(request.enrollment_id), "nik": request.nik, "site": request.pickup_site}
    key = str(request.enrollment_id)
    if outcome is Outcome.UNIQUE:
        request.status = RequestStatus.DECIDED.value
        request.in_gallery = True
        session.add(GalleryLog(enrollment_id=request.enrollment_id, action="enter"))
        data = {**base, "replacement_of": str(request.replaces_enrollment_id) if request.replaces_enrollment_id else None}
        if corrected_case is not None:
            data["corrected_case_id"] = str(corrected_case.id)  # was DUPLICATE: a 'same person' decision corrected
        await add_event(session, messaging, new_event("dedup.unique", data, key=key))
    elif outcome is Outcome.DUPLICATE:
        request.status = RequestStatus.DECIDED.value
        await add_event(session, messaging, new_event(
            "dedup.duplicate", {**base, "matched_nik": request.matched_nik, "reason": "duplicate_record"}, key=key))
    elif outcome is Outcome.ENROLL_FAILURE:
        request.status = RequestStatus.DECIDED.value
        data = {**base, "reasons": request.reasons, "reason": ", ".join(request.reasons)}
        if corrected_case is not None:
            data["corrected_case_id"] = str(corrected_case.id)  # was DUPLICATE: a same-NIK case corrected
        await add_event(session, messaging, new_event("dedup.enroll_failure", data, key=key))
    else:
        request.status = RequestStatus.ADJUDICATION.value
        case = Case(id=uuid.uuid4(), enrollment_id=request.enrollment_id, nik=request.nik, site=request.pickup_site,
                    reason=", ".join(request.reasons) or "score_in_grey_zone", candidates=request.candidates,
                    status=CaseStatus.OPEN.value, opened_at=now)
        session.add(case)
        await add_event(session, messaging, new_event(
            "dedup.adjudication_opened", {**base, "case_id": str(case.id), "reason": case.reason}, key=key))
    await session.flush()


# ---- adjudication ----------------------------------------------------------------------------

# A same-NIK case decided (or corrected to) "different persons": the NIK belongs to the record
# that holds it, so the newer recording is not printed under it. It must be re-recorded once the
# dinas has checked the NIK against the family card (KK): ENROLL_FAILURE with this reason, out of
# the gallery (the enrollment service lets its re-capture carry a corrected NIK).
NIK_HELD = "nik_held_by_another_person"


def same_nik_case(case: Case) -> bool:
    """A case about a NIK already in the gallery (not a grey-zone score between two NIKs)."""
    return case.reason.startswith("same_nik")


async def _different_persons(session: AsyncSession, request: DedupRequest, case: Case, *,
                             corrected: bool = False) -> None:
    """Where a "different persons" decision sends the recording: unique (the gallery, a card) for
    a grey-zone case; re-recording after the NIK check for a same-NIK case."""
    if same_nik_case(case):
        request.reasons = [*request.reasons, NIK_HELD]
        await _record_outcome(session, request, Outcome.ENROLL_FAILURE, corrected_case=case if corrected else None)
    else:
        await _record_outcome(session, request, Outcome.UNIQUE, corrected_case=case if corrected else None)


def _utc(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "an unknown time"


def hold_running(case: Case, now: dt.datetime) -> bool:
    """An adjudicator took the case and their hold has not run out (else the case is free)."""
    return bool(case.held_by and case.held_until and case.held_until > now)


def held_by_other(case: Case, principal: Principal, now: dt.datetime) -> bool:
    """Another adjudicator took the case and their hold has not run out."""
    return hold_running(case, now) and case.held_by != principal.actor


async def _open_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID, now: dt.datetime) -> Case:
    """The case, locked, if it is still open and nobody else holds it; else a 409 that names who
    decided it (or holds it) and when, so the second adjudicator knows whom to ask."""
    case = await repository.case(session, case_id, for_update=True)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    if case.status != CaseStatus.OPEN:
        raise Conflict(f"case {case_id} was already decided ({case.decision}) by {case.decided_by} at "
                       f"{_utc(case.decided_at)}", code="case_decided")
    if held_by_other(case, principal, now):
        raise Conflict(f"case {case_id} is being decided by {case.held_by} (taken until {_utc(case.held_until)})",
                       code="case_held")
    return case


async def _hold(session: AsyncSession, principal: Principal, case: Case, now: dt.datetime, hold: dt.timedelta) -> Case:
    case.held_by = principal.actor
    case.held_until = now + hold
    await audit(session, principal, "dedup.case.take", "case", str(case.id),
                {"enrollment_ids": [str(case.enrollment_id), *(str(c["enrollment_id"]) for c in case.candidates)],
                 "held_until": case.held_until.isoformat()})
    await session.flush()
    return case


async def take_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID, *, hold: dt.timedelta) -> Case:
    """Hold one case for `hold` (again: the hold is renewed); refused if decided or held by another."""
    now = dt.datetime.now(dt.UTC)
    return await _hold(session, principal, await _open_case(session, principal, case_id, now), now, hold)


async def take_next_case(session: AsyncSession, principal: Principal, *, hold: dt.timedelta, site: str | None = None,
                         reason: str | None = None) -> Case | None:
    """The next case for this adjudicator (one they hold, else the oldest free one), held for them;
    two adjudicators asking at once get two different cases. None: nothing is free."""
    now = dt.datetime.now(dt.UTC)
    case = await repository.next_case(session, actor=principal.actor, now=now, site=site, reason=reason)
    return None if case is None else await _hold(session, principal, case, now, hold)


async def release_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    """Give a held case back undecided (its holder; or anyone once the hold ran out)."""
    now = dt.datetime.now(dt.UTC)
    case = await _open_case(session, principal, case_id, now)
    await audit(session, principal, "dedup.case.release", "case", str(case.id), {"held_by": case.held_by})
    case.held_by = case.held_until = None
    await session.flush()
    return case


def _same_as(case: Case, candidate: uuid.UUID | None) -> dict[str, Any]:
    """The candidate a 'same person' decision names: the one the adjudicator chose, else the
    first (a same-NIK case's holder, or the only NIK among the candidates). A grey-zone case with
    candidates of several NIKs needs the choice: the first was named whoever the adjudicator saw."""
    if candidate is not None:
        chosen = next((c for c in case.candidates if c["enrollment_id"] == str(candidate)), None)
        if chosen is None:
            raise InvalidInput("the candidate is not one of this case's", fields=[FieldProblem(
                "candidate", "field.invalid", f"{candidate} bukan kandidat kasus ini",
                f"{candidate} is not a candidate of this case")])
        return chosen
    niks = {c.get("nik") for c in case.candidates if c.get("nik")}
    if len(niks) > 1 and not same_nik_case(case):
        raise InvalidInput("say which candidate the recording is the same person as", fields=[FieldProblem(
            "candidate", "field.missing", f"Kasus ini punya kandidat dengan {len(niks)} NIK: pilih kandidat yang "
            "orangnya sama", f"This case has candidates of {len(niks)} NIKs: name the one that is the same person")])
    return next((c for c in case.candidates if c.get("nik")), case.candidates[0] if case.candidates else {})


async def decide_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID, *, same_person: bool,
                      note: str, candidate: uuid.UUID | None = None) -> Case:
    if candidate is not None and not same_person:
        raise InvalidInput("a candidate is named only with same_person", fields=[FieldProblem(
            "candidate", "field.invalid", "Kandidat hanya disebut untuk keputusan same_person",
            "A candidate is named only with the decision same_person")])
    now = dt.datetime.now(dt.UTC)
    case = await _open_case(session, principal, case_id, now)
    same_as = _same_as(case, candidate) if same_person else None
    request = await repository.request_by_enrollment(session, case.enrollment_id, for_update=True)
    assert request is not None
    case.status = CaseStatus.DECIDED.value
    case.decision = "same_person" if same_person else "different_persons"
    case.note = note
    case.decided_by = principal.actor
    case.decided_at = now
    case.held_by = case.held_until = None
    request.reasons = [*request.reasons, f"adjudicated:{case.decision}"]
    if same_as is not None:
        case.matched_enrollment_id = uuid.UUID(same_as["enrollment_id"]) if same_as.get("enrollment_id") else None
        request.matched_nik = same_as.get("nik")
        await _record_outcome(session, request, Outcome.DUPLICATE)
    else:
        await _different_persons(session, request, case)
    await audit(session, principal, "dedup.case.decide", "case", str(case.id),
                {"decision": case.decision, "enrollment_id": str(case.enrollment_id),
                 "same_as": str(case.matched_enrollment_id) if case.matched_enrollment_id else None})
    return case


async def correct_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID, *, reason: str) -> Case:
    """A 'same person' decision found wrong: the recording is another person after all. It goes
    where a 'different persons' decision would have sent it, the event naming the case in
    `corrected_case_id`: a grey-zone case's recording is taken into the gallery and decided unique
    (`dedup.unique`: the enrollment service moves the record from DUPLICATE to PRINT_READY, print
    and certificate follow as for any unique record); a same-NIK case's must be re-recorded after
    the NIK check (`dedup.enroll_failure`, reason NIK_HELD: DUPLICATE to ENROLL_FAILURE). Only this
    direction: a 'different persons' decision may have a card printed already (docs/dedup.md)."""
    case = await repository.case(session, case_id, for_update=True)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    if case.corrected_at is not None:
        raise Conflict(f"case {case_id} was already corrected by {case.corrected_by} at {_utc(case.corrected_at)}",
                       code="case_corrected")
    if case.status != CaseStatus.DECIDED:
        raise Conflict(f"case {case_id} is not decided yet: decide it (POST /v1/dedup/cases/{case_id}/decision)",
                       code="case_open")
    if case.decision != "same_person":
        raise Conflict(f"case {case_id} was decided {case.decision} by {case.decided_by} at {_utc(case.decided_at)}: "
                       "only a same_person decision can be corrected", code="case_not_same_person")
    request = await repository.request_by_enrollment(session, case.enrollment_id, for_update=True)
    assert request is not None
    now = dt.datetime.now(dt.UTC)
    same_as = case.matched_enrollment_id
    case.decision = "different_persons"
    case.corrected_by = principal.actor
    case.corrected_at = now
    case.correction_reason = reason
    request.reasons = [*request.reasons, "adjudication_corrected:different_persons"]
    request.matched_nik = None
    await _different_persons(session, request, case, corrected=True)
    await audit(session, principal, "dedup.case.correct", "case", str(case.id),
                {"from": "same_person", "to": "different_persons", "reason": reason,
                 "enrollment_id": str(case.enrollment_id), "was_same_as": str(same_as) if same_as else None})
    return case


# ---- reads for operators and adjudicators ----------------------------------------------------

def _side(row: DedupRequest) -> dict[str, Any]:
    bio = row.biometrics or {}
    return {
        "enrollment_id": row.enrollment_id, "nik": row.nik, "receipt_number": row.receipt_number,
        "recording_site": row.recording_site, "pickup_site": row.pickup_site, "recorded_at": row.recorded_at,
        "status": row.status, "outcome": row.outcome, "photo_jpeg": bio.get("photo_jpeg"),
        "fingers_captured": len(bio.get("fingerprints") or ()), "irises_captured": len(bio.get("irises") or ()),
        "exceptions": [str(e.get("position")) for e in bio.get("exceptions") or ()],
    }


async def case_detail(session: AsyncSession, case: Case) -> dict[str, Any]:
    """The case with the recording and each candidate side by side (photos and scores)."""
    rows = await repository.niks_of(session, [str(case.enrollment_id), *(c["enrollment_id"] for c in case.candidates)])
    recording = rows.get(str(case.enrollment_id))
    if recording is None:
        raise NotFound(f"the recording of case {case.id} is gone")
    matches = [{**_side(rows[c["enrollment_id"]]), "scores": c["scores"]}
               for c in case.candidates if c["enrollment_id"] in rows]
    return {"recording": _side(recording), "matches": matches}


async def position(session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID) -> dict[str, Any]:
    """Where a recording waits, or how it was decided: for its recording or pickup site's credentials."""
    request = await repository.request_by_enrollment(session, enrollment_id)
    if request is None:
        raise NotFound(f"enrollment {enrollment_id} is not in de-duplication")
    if not (principal.may_act_for(request.recording_site) or principal.may_act_for(request.pickup_site)):
        raise Forbidden(f"enrollment {enrollment_id} belongs to another site", code="wrong_site")
    waiting, _, _ = await repository.backlog(session)
    state = await repository.engine_state(session, create=False)
    ahead = await repository.waiting_ahead(session, request.seq) if request.status == RequestStatus.WAITING else None
    return {
        "enrollment_id": request.enrollment_id, "status": request.status, "outcome": request.outcome,
        "reasons": list(request.reasons or ()), "position": None if ahead is None else ahead + 1,
        "waiting": waiting, "received_at": request.received_at, "decided_at": request.decided_at,
        "paused": state.paused, "reason": state.reason,
    }
