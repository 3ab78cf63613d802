"""An adjudicator's 'same person' decision found wrong is corrected to 'different persons': the
recording enters the gallery and is decided unique (dedup.unique naming the case), the correction
is audited with its reason; a case not decided 'same person', or corrected already, is refused.
The dedup service in-process on real PostgreSQL and RabbitMQ (the pipeline: tests/e2e)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from services.dedup.models import Case, DedupRequest, GalleryLog, messaging
from shared.auth.models import AuditEntry
from tests.dedup.test_case_holds import desk, open_cases  # noqa: F401  (the fixture, and the cases it decides)


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

    async with desk["sessions"]() as session:
        row = (await session.execute(select(Case).where(Case.id == uuid.UUID(case_id)))).scalar_one()
        request = (await session.execute(select(DedupRequest).where(DedupRequest.enrollment_id == row.enrollment_id))
                   ).scalar_one()
        log = (await session.execute(select(GalleryLog.action).where(GalleryLog.enrollment_id == row.enrollment_id))
               ).scalars().all()
        events = [json.loads(body) for body in (await session.execute(
            select(messaging.outbox.c.body).where(messaging.outbox.c.key == str(row.enrollment_id))
            .order_by(messaging.outbox.c.id))).scalars()]
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
