"""An adjudicator's 'same person' decision found wrong is corrected to 'different persons': the
recording enters the gallery and is decided unique (dedup.unique naming the case), the correction
is audited with its reason; a case not decided 'same person', or corrected already, is refused.
A same-NIK case's 'different persons' (decided, or corrected to) is an enroll failure instead: the
NIK is another person's, so the recording is re-recorded after the NIK check, never printed.
The dedup service in-process on real PostgreSQL and RabbitMQ (the pipeline: tests/e2e)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from services.dedup import service
from services.dedup.matcher import Decision
from services.dedup.models import Case, DedupRequest, GalleryLog, RequestStatus, messaging
from shared.auth.models import AuditEntry
from tests.dedup.test_case_holds import _request, desk, open_cases  # noqa: F401  (the fixture, and the cases it decides)


async def _outcome(sessions, case_id: str) -> tuple[DedupRequest, list[str], list[dict]]:  # type: ignore[no-untyped-def]
    """The recording of a case, its gallery log and the events about it, oldest first."""
    async with sessions() as session:
        row = (await session.execute(select(Case).where(Case.id == uuid.UUID(case_id)))).scalar_one()
        request = (await session.execute(select(DedupRequest).where(DedupRequest.enrollment_id == row.enrollment_id))
                   ).scalar_one()
        log = (await session.execute(select(GalleryLog.action).where(GalleryLog.enrollment_id == row.enrollment_id))
               ).scalars().all()
        events = [json.loads(body) for body in (await session.execute(
            select(messaging.outbox.c.body).where(messaging.outbox.c.key == str(row.enrollment_id))
            .order_by(messaging.outbox.c.id))).scalars()]
    return request, list(log), events


async def test_a_same_person_decision_corrected_makes_the_recording_unique_and_is_audited(desk):  # noqa: F811
    ani, budi = desk["clients"]["Ani"], desk["clients"]["Budi"]
    (case_id,) = await open_cases(desk["sessions"], 1)
    decided = await ani.post(f"/v1/dedup/cases/{case_id}/decision",
                             json={"decision": "same_person", "note": "wajah sama"})
    assert decided.status_code == 200, decided.text
    same_as = decided.json()["matched_enrollment_id"]

    corrected = await budi.post(f"/v1/dedup/cases/{case_id}/correct",
                                json={"reason": "  sidik jari diperiksa ulang: orang yang berbeda  "})
    assert corrected.status_code == 200, corrected.text
    case = corrected.json()
    assert (case["decision"], case["corrected_by"], case["correction_reason"]) == (
        "different_persons", budi.actor, "sidik jari diperiksa ulang: orang yang berbeda")
    assert case["corrected_at"] and case["decided_by"] == ani.actor  # the first decision stays on record
    assert (await budi.get(f"/v1/dedup/cases/{case_id}")).json()["corrected_by"] == budi.actor

    request, log, events = await _outcome(desk["sessions"], case_id)
    async with desk["sessions"]() as session:
        audits = (await session.execute(select(AuditEntry).where(AuditEntry.action == "dedup.case.correct"))
                  ).scalars().all()
    # in the gallery (the engine's matcher takes it from the log), decided unique
    assert (request.outcome, request.in_gallery, request.matched_nik) == ("unique", True, None)
    assert request.reasons[-1] == "adjudication_corrected:different_persons"
    assert log == ["enter"]
    assert [e["type"] for e in events] == ["dedup.adjudication_opened", "dedup.duplicate", "dedup.unique"]
    assert events[-1]["data"]["corrected_case_id"] == case_id
    [entry] = audits
    assert (entry.actor, entry.subject_id) == (budi.actor, case_id)
    assert entry.detail["reason"] == "sidik jari diperiksa ulang: orang yang berbeda"
    assert entry.detail["was_same_as"] == same_as

    # once is all: the second correction names who made the first and when
    again = await ani.post(f"/v1/dedup/cases/{case_id}/correct", json={"reason": "diperiksa lagi"})
    assert again.status_code == 409 and again.json()["error"] == "case_corrected"
    assert "Adjudicator Budi" in again.json()["detail"] and case["corrected_at"][:10] in again.json()["detail"]


async def test_a_correction_is_refused_without_a_reason_or_on_a_case_not_decided_same_person(desk):  # noqa: F811
    ani = desk["clients"]["Ani"]
    still_open, different, same = await open_cases(desk["sessions"], 3)
    assert (await ani.post(f"/v1/dedup/cases/{different}/decision",
                           json={"decision": "different_persons", "note": "iris berbeda"})).status_code == 200
    assert (await ani.post(f"/v1/dedup/cases/{same}/decision",
                           json={"decision": "same_person", "note": "orang yang sama"})).status_code == 200

    for body, code in (({}, "field.missing"), ({"reason": "   "}, "field.blank")):
        refused = await ani.post(f"/v1/dedup/cases/{same}/correct", json=body)
        assert refused.status_code == 422, refused.text
        assert [(f["field"], f["code"]) for f in refused.json()["fields"]] == [("reason", code)]
    for case_id, error in ((still_open, "case_open"), (different, "case_not_same_person")):
        refused = await ani.post(f"/v1/dedup/cases/{case_id}/correct", json={"reason": "salah keputusan"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == error
    assert (await ani.post(f"/v1/dedup/cases/{uuid.uuid4()}/correct",
                           json={"reason": "salah keputusan"})).status_code == 404

    # nothing changed: the same-person case is still a duplicate, the open one still open
    cases = {c["id"]: c for c in (await ani.get("/v1/dedup/cases", params={"status": "DECIDED"})).json()["items"]}
    assert cases[same]["decision"] == "same_person" and cases[same]["corrected_at"] is None
    assert (await ani.get(f"/v1/dedup/cases/{still_open}")).json()["status"] == "OPEN"
    async with desk["sessions"]() as session:
        assert (await session.execute(select(AuditEntry).where(AuditEntry.action == "dedup.case.correct"))
                ).scalars().all() == []


# ---- same-NIK cases: "different persons" is no card under that NIK ---------------------------

async def open_same_nik_case(sessions, i: int) -> str:  # type: ignore[no-untyped-def]
    """A NIK in the gallery recorded again with biometrics that do not agree (the matcher ranks
    nobody): a `same_nik_different_biometrics` case, made by the service's own decision step."""
    nik = f"53710441019{i:05d}"
    async with sessions() as session:
        holder = _request(nik, "53.71.04", RequestStatus.DECIDED.value)
        holder.outcome, holder.in_gallery = "unique", True
        probe = _request(nik, "53.71.04", RequestStatus.WAITING.value)
        session.add_all([holder, probe])
        await session.flush()
        await service.apply_decision(session, probe, Decision("unique", [], ()), auto_threshold=10.0)
        await session.commit()
        case = (await session.execute(select(Case).where(Case.enrollment_id == probe.enrollment_id))).scalar_one()
    assert case.reason == "same_nik_different_biometrics"
    return str(case.id)


async def test_a_same_nik_case_decided_different_persons_is_re_recorded_not_printed(desk):  # noqa: F811
    """Two persons with one NIK: the NIK stays its holder's; the newer recording does not enter the
    gallery and is not decided unique (no dedup.unique: no print job, no card), it is an enroll
    failure whose reason says the NIK is another person's. A grey-zone case (two NIKs) decided
    'different persons' is still unique."""
    ani = desk["clients"]["Ani"]
    same_nik = await open_same_nik_case(desk["sessions"], 1)
    (grey,) = await open_cases(desk["sessions"], 1)
    for case_id in (same_nik, grey):
        decided = await ani.post(f"/v1/dedup/cases/{case_id}/decision",
                                 json={"decision": "different_persons", "note": "sidik jari dan iris berbeda"})
        assert decided.status_code == 200, decided.text
        assert decided.json()["decision"] == "different_persons"

    request, log, events = await _outcome(desk["sessions"], same_nik)
    assert (request.outcome, request.status, request.in_gallery) == ("enroll_failure", "DECIDED", False)
    assert request.reasons == ["same_nik_different_biometrics", "adjudicated:different_persons",
                               "nik_held_by_another_person"]
    assert log == []
    assert [e["type"] for e in events] == ["dedup.adjudication_opened", "dedup.enroll_failure"]
    assert events[-1]["data"]["reasons"] == request.reasons
    assert "nik_held_by_another_person" in events[-1]["data"]["reason"].split(", ")
    assert "corrected_case_id" not in events[-1]["data"]
    position = (await ani.get(f"/v1/dedup/backlog/position/{request.enrollment_id}")).json()
    assert position["outcome"] == "enroll_failure" and "nik_held_by_another_person" in position["reasons"]

    request, log, events = await _outcome(desk["sessions"], grey)
    assert (request.outcome, request.in_gallery) == ("unique", True)
    assert "nik_held_by_another_person" not in request.reasons
    assert log == ["enter"]
    assert [e["type"] for e in events] == ["dedup.adjudication_opened", "dedup.unique"]


async def test_a_same_nik_same_person_decision_corrected_is_re_recorded_not_printed(desk):  # noqa: F811
    """The correction of a same-NIK case goes where 'different persons' sends one: an enroll
    failure naming the case (the enrollment service moves the record from DUPLICATE), out of the
    gallery; never unique, which would print a second card under the NIK."""
    ani, budi = desk["clients"]["Ani"], desk["clients"]["Budi"]
    case_id = await open_same_nik_case(desk["sessions"], 2)
    assert (await ani.post(f"/v1/dedup/cases/{case_id}/decision",
                           json={"decision": "same_person", "note": "NIK sama, wajah mirip"})).status_code == 200
    corrected = await budi.post(f"/v1/dedup/cases/{case_id}/correct",
                                json={"reason": "sidik jari diperiksa ulang: orang yang berbeda"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["decision"] == "different_persons" and corrected.json()["corrected_by"] == budi.actor

    request, log, events = await _outcome(desk["sessions"], case_id)
    assert (request.outcome, request.in_gallery, request.matched_nik) == ("enroll_failure", False, None)
    assert request.reasons[-2:] == ["adjudication_corrected:different_persons", "nik_held_by_another_person"]
    assert log == []
    assert [e["type"] for e in events] == ["dedup.adjudication_opened", "dedup.duplicate", "dedup.enroll_failure"]
    assert events[-1]["data"]["corrected_case_id"] == case_id
    assert "nik_held_by_another_person" in events[-1]["data"]["reason"].split(", ")
