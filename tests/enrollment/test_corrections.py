"""Corrections: a re-capture after ENROLL_FAILURE, a replacement after printing, linked both ways."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select, update

from services.enrollment import service
from services.enrollment.models import Enrollment, messaging
from shared.messaging import new_event
from tests.enrollment.service_app import credentials, enrollment_api  # noqa: F401 (fixtures)
from tests.support.api import recording

SITE = "53.71.04"


async def set_status(client, enrollment_id: str, status: str) -> None:
    async with client.app.state.platform.sessions() as session:
        await session.execute(update(Enrollment).where(Enrollment.id == enrollment_id).values(status=status))
        await session.commit()


async def submitted_event(client, enrollment_id: str) -> dict:
    async with client.app.state.platform.sessions() as session:
        bodies = (await session.execute(select(messaging.outbox.c.body))).scalars().all()
    events = [json.loads(b) for b in bodies]
    return next(e["data"] for e in events if e["data"]["enrollment_id"] == enrollment_id)


async def post(client, rec: dict) -> dict:
    response = await client.post("/v1/enrollments", json=rec)
    assert response.status_code == 201, response.text
    return response.json()


async def recorded_twice(client, seed: int) -> tuple[dict, dict]:
    """A resident recorded, then recorded again without the link (a new station id and capture)."""
    rec = recording(seed, pickup_site=SITE)
    first = await post(client, rec)
    fresh = recording(seed + 1, pickup_site=SITE)
    second = await post(client, {**rec, "station_recording_id": fresh["station_recording_id"],
                                 "biometrics": fresh["biometrics"], "recording": fresh["recording"]})
    return first, second


def again(rec: dict, seed: int, previous_id: str, **changes) -> dict:
    """A new recording of the same resident (new station id and capture), linked to the previous one."""
    fresh = recording(seed, pickup_site=SITE)
    return {**rec, "station_recording_id": fresh["station_recording_id"], "biometrics": fresh["biometrics"],
            "recording": fresh["recording"], "previous_enrollment_id": previous_id, **changes}


@pytest.mark.parametrize("status", ["RECEIVED", "ADJUDICATION", "DUPLICATE", "PRINT_READY", "SENT_FOR_PRINTING"])
async def test_only_failed_or_printed_records_can_be_corrected(enrollment_api, status):
    rec = recording(3001, pickup_site=SITE)
    first = await post(enrollment_api, rec)
    await set_status(enrollment_api, first["id"], status)

    response = await enrollment_api.post("/v1/enrollments", json=again(rec, 3002, first["id"]))

    assert response.status_code == 409, response.text
    assert response.json()["error"] == "previous_enrollment_not_correctable"
    assert response.json()["previous_status"] == status
    (field,) = response.json()["fields"]
    assert (field["field"], field["code"]) == ("previous_enrollment_id", "previous_enrollment.not_correctable")
    assert status in field["message_id"] and status in field["message_en"]


async def test_recapture_after_enroll_failure_is_linked_both_ways(enrollment_api):
    rec = recording(3010, pickup_site=SITE)
    first = await post(enrollment_api, rec)
    await set_status(enrollment_api, first["id"], "ENROLL_FAILURE")

    second = await post(enrollment_api, again(rec, 3011, first["id"]))

    new = (await enrollment_api.get(f"/v1/enrollments/{second['id']}")).json()
    old = (await enrollment_api.get(f"/v1/enrollments/{first['id']}")).json()
    assert new["previous_enrollment_id"] == first["id"] and new["correction"] == "recapture"
    assert old["next_enrollment_ids"] == [second["id"]] and old["correction"] is None
    event = await submitted_event(enrollment_api, second["id"])
    assert event["previous_enrollment_id"] == first["id"] and event["correction"] == "recapture"

    # The old record was corrected once; a second correction must link to the newest record.
    third = await enrollment_api.post("/v1/enrollments", json=again(rec, 3012, first["id"]))
    assert third.status_code == 409 and third.json()["error"] == "previous_enrollment_superseded"
    assert third.json()["next_enrollment_id"] == second["id"]
    assert second["id"] in third.json()["fields"][0]["message_en"]


@pytest.mark.parametrize("status", ["PRINTED", "ISSUED"])
async def test_a_data_change_after_printing_is_a_replacement(enrollment_api, status):
    rec = recording(3020, pickup_site=SITE)
    first = await post(enrollment_api, rec)
    await set_status(enrollment_api, first["id"], status)

    moved = again(rec, 3021, first["id"], marital_status="KAWIN", occupation="GURU")
    answer = (await enrollment_api.post("/v1/enrollments/batch", json=[moved])).json()

    assert answer["items"][0]["status"] == 201, answer
    new_id = answer["items"][0]["enrollment"]["id"]
    new = (await enrollment_api.get(f"/v1/enrollments/{new_id}")).json()
    assert new["correction"] == "replacement" and new["record"]["occupation"] == "GURU"
    assert (await enrollment_api.get(f"/v1/enrollments/{first['id']}")).json()["next_enrollment_ids"] == [new_id]

    # Dedup finds the new recording unique and names the card it replaces: the old receipt's public
    # status sends the resident to the new receipt (it said "printed, ready for pickup").
    async with enrollment_api.app.state.platform.sessions() as session:
        await service.apply_event(session, new_event("dedup.unique", {"enrollment_id": new_id,
                                                                      "replacement_of": first["id"]}, key=new_id))
        await session.commit()
    old = (await enrollment_api.get(f"/v1/status/{first['receipt_number']}")).json()
    new_receipt = answer["items"][0]["enrollment"]["receipt_number"]
    assert old["timeline"][-1]["step"] == "REPLACED"
    assert old["timeline"][-1]["detail"] == {"replacement_receipt": new_receipt}
    assert old["status_en"] == f"Replaced by a replacement card: follow receipt {new_receipt}"
    assert new_receipt in old["status_id"]


async def test_a_correction_keeps_the_nik_and_needs_a_known_record(enrollment_api):
    rec = recording(3030, pickup_site=SITE)
    first = await post(enrollment_api, rec)
    await set_status(enrollment_api, first["id"], "ENROLL_FAILURE")
    stranger = recording(3031, pickup_site=SITE)

    other_nik = await enrollment_api.post("/v1/enrollments", json={**stranger, "previous_enrollment_id": first["id"]})
    assert other_nik.status_code == 409 and other_nik.json()["error"] == "previous_enrollment_other_nik"
    assert [(f["field"], f["code"]) for f in other_nik.json()["fields"]] == [
        ("previous_enrollment_id", "previous_enrollment.other_nik")]

    unknown = await enrollment_api.post("/v1/enrollments", json=again(rec, 3032, "00000000-0000-4000-8000-000000000000"))
    assert unknown.status_code == 404 and unknown.json()["error"] == "previous_enrollment_not_found"
    (field,) = unknown.json()["fields"]
    assert field["field"] == "previous_enrollment_id"
    assert "00000000-0000-4000-8000-000000000000" in field["message_id"]


async def test_a_same_person_recorded_again_without_the_link_is_linked_when_dedup_finds_it(enrollment_api):
    first, second = await recorded_twice(enrollment_api, 3040)

    async with enrollment_api.app.state.platform.sessions() as session:
        await service.apply_event(session, new_event("dedup.unique", {"enrollment_id": second["id"],
                                                                      "replacement_of": first["id"]}, key=second["id"]))
        await session.commit()
    new = (await enrollment_api.get(f"/v1/enrollments/{second['id']}")).json()
    old = (await enrollment_api.get(f"/v1/enrollments/{first['id']}")).json()
    assert new["previous_enrollment_id"] == first["id"] and new["correction"] == "replacement"
    assert old["next_enrollment_ids"] == [second["id"]]


async def test_a_record_whose_waiting_card_was_cancelled_for_its_replacement_ends_replaced(enrollment_api):
    first, second = await recorded_twice(enrollment_api, 3050)
    old_id, new_id = first["id"], second["id"]
    events = [
        new_event("print.job_queued", {"enrollment_id": old_id, "site": SITE}, key=old_id),
        new_event("dedup.unique", {"enrollment_id": new_id, "replacement_of": old_id}, key=new_id),
        new_event("print.card_cancelled", {"enrollment_id": old_id, "site": SITE, "reason": "replaced",
                                           "replaced_by": new_id}, key=old_id),
        new_event("print.job_queued", {"enrollment_id": old_id, "site": SITE}, key=old_id),  # late: moves nothing
    ]
    async with enrollment_api.app.state.platform.sessions() as session:
        for event in events:
            await service.apply_event(session, event)
        await session.commit()

    old = (await enrollment_api.get(f"/v1/status/{first['receipt_number']}")).json()
    assert old["status"] == "REPLACED"
    assert second["receipt_number"] in old["status_en"]
    assert "PRINT_CANCELLED" in [s["step"] for s in old["timeline"]]
    detail = (await enrollment_api.get(f"/v1/enrollments/{old_id}")).json()
    assert (detail["status"], detail["siak_status"]) == ("REPLACED", "REPLACED_RECORD")
    listed = (await enrollment_api.get("/v1/enrollments", params={"status": "REPLACED"})).json()["items"]
    assert [e["id"] for e in listed] == [old_id]


async def test_a_printed_card_voided_for_its_replacement_is_not_said_to_be_unprinted(enrollment_api):
    """A correction after printing: the printed card is void (print.card_voided) and no card of the old
    record will be handed over (print.card_cancelled, no job). The resident's timeline said
    "Card printed", then "This card is not printed"."""
    rec = recording(3060, pickup_site=SITE)
    old_id = (await post(enrollment_api, rec))["id"]
    receipt = (await enrollment_api.get(f"/v1/enrollments/{old_id}")).json()["receipt_number"]

    async def apply(*events) -> None:
        async with enrollment_api.app.state.platform.sessions() as session:
            for event in events:
                await service.apply_event(session, event)
            await session.commit()

    await apply(new_event("print.job_queued", {"enrollment_id": old_id, "site": SITE}, key=old_id),
                new_event("print.card_printed", {"enrollment_id": old_id, "site": SITE, "serial": "0400000001"},
                          key=old_id))
    new_id = (await post(enrollment_api, again(rec, 3061, old_id)))["id"]
    await apply(new_event("dedup.unique", {"enrollment_id": new_id, "replacement_of": old_id}, key=new_id),
                new_event("print.card_cancelled", {"job_id": None, "enrollment_id": old_id, "site": SITE,
                                                   "reason": "replaced", "replaced_by": new_id}, key=old_id))

    old = (await enrollment_api.get(f"/v1/status/{receipt}")).json()
    steps = {s["step"]: s for s in old["timeline"]}
    assert old["status"] == "REPLACED" and {"CARD_PRINTED", "PRINT_CANCELLED"} <= set(steps)
    cancelled = steps["PRINT_CANCELLED"]
    assert "not printed" not in cancelled["text_en"] and "tidak dicetak" not in cancelled["text_id"]
    assert "handed over" in cancelled["text_en"] and "diserahkan" in cancelled["text_id"]


NIK_HELD_ID = ("NIK ini sudah terdaftar atas orang lain: bawa Kartu Keluarga (KK) ke Dinas untuk pemeriksaan NIK, "
               "lalu rekam ulang")
NIK_HELD_EN = ("This NIK is registered to another person: bring your family card (KK) to the dinas to have the NIK "
               "checked, then record again")


async def dedup_event(client, event_type: str, enrollment_id: str, **data) -> None:  # type: ignore[no-untyped-def]
    async with client.app.state.platform.sessions() as session:
        await service.apply_event(session, new_event(event_type, {"enrollment_id": enrollment_id, **data},
                                                     key=enrollment_id))
        await session.commit()


HELD_REASONS = ["same_nik_different_biometrics", "adjudicated:different_persons", "nik_held_by_another_person"]


async def test_a_recording_whose_nik_is_another_persons_says_so_and_is_recorded_again_with_the_checked_nik(
        enrollment_api):
    """A same-NIK case decided 'different persons': the resident is told the NIK is registered to
    another person and to bring the family card to the dinas; the re-capture linked to the record
    carries the NIK the dinas found, which may be another. A re-capture after unusable biometrics
    still keeps the NIK."""
    rec = recording(3050, pickup_site=SITE)
    first = await post(enrollment_api, rec)
    await dedup_event(enrollment_api, "dedup.adjudication_opened", first["id"], site=SITE, case_id=str(uuid.uuid4()),
                      reason=HELD_REASONS[0])
    assert (await enrollment_api.get(f"/v1/status/{first['receipt_number']}")).json()["status"] == "ADJUDICATION"
    await dedup_event(enrollment_api, "dedup.enroll_failure", first["id"], site=SITE, reasons=HELD_REASONS,
                      reason=", ".join(HELD_REASONS))
    status = (await enrollment_api.get(f"/v1/status/{first['receipt_number']}")).json()
    assert status["status"] == "ENROLL_FAILURE"
    [step] = [s for s in status["timeline"] if s["step"] == "DEDUP_ENROLL_FAILURE"]
    assert (step["text_id"], step["text_en"]) == (NIK_HELD_ID, NIK_HELD_EN)

    checked = recording(3051, pickup_site=SITE)  # the NIK the family card gives, and a new capture
    assert checked["nik"] != rec["nik"]
    recaptured = await enrollment_api.post("/v1/enrollments", json={**checked, "previous_enrollment_id": first["id"]})
    assert recaptured.status_code == 201, recaptured.text
    new = (await enrollment_api.get(f"/v1/enrollments/{recaptured.json()['id']}")).json()
    assert (new["nik"], new["correction"], new["previous_enrollment_id"]) == (checked["nik"], "recapture", first["id"])

    # unusable biometrics: the words of a re-capture, and the NIK stays the record's
    poor = await post(enrollment_api, recording(3052, pickup_site=SITE))
    await dedup_event(enrollment_api, "dedup.enroll_failure", poor["id"], site=SITE, reasons=["no_usable_iris"],
                      reason="no_usable_iris")
    [step] = [s for s in (await enrollment_api.get(f"/v1/status/{poor['receipt_number']}")).json()["timeline"]
              if s["step"] == "DEDUP_ENROLL_FAILURE"]
    assert step["text_id"].startswith("Biometrik tidak terbaca") and "KK" not in step["text_id"]
    other = await enrollment_api.post("/v1/enrollments", json={**recording(3053, pickup_site=SITE),
                                                                "previous_enrollment_id": poor["id"]})
    assert other.status_code == 409 and other.json()["error"] == "previous_enrollment_other_nik"


async def test_a_same_nik_duplicate_corrected_must_be_recorded_again(enrollment_api):
    """A 'same person' decision on a same-NIK case corrected: the DUPLICATE record becomes one to
    record again after the NIK check (dedup.enroll_failure naming the corrected case), not ready to
    print; its timeline says the decision was corrected and what the resident does."""
    first = await post(enrollment_api, recording(3060, pickup_site=SITE))
    await dedup_event(enrollment_api, "dedup.duplicate", first["id"], site=SITE, matched_nik="5371044101900001",
                      reason="duplicate_record")
    reasons = [*HELD_REASONS[:1], "adjudicated:same_person", "adjudication_corrected:different_persons",
               "nik_held_by_another_person"]
    await dedup_event(enrollment_api, "dedup.enroll_failure", first["id"], site=SITE, reasons=reasons,
                      reason=", ".join(reasons), corrected_case_id="2b7c7d4e-0000-4000-8000-000000000001")
    status = (await enrollment_api.get(f"/v1/status/{first['receipt_number']}")).json()
    assert status["status"] == "ENROLL_FAILURE"
    assert [s["step"] for s in status["timeline"]][-2:] == ["DEDUP_DUPLICATE", "DEDUP_CORRECTED_RERECORD"]
    assert (status["timeline"][-1]["text_id"], status["timeline"][-1]["text_en"]) == (NIK_HELD_ID, NIK_HELD_EN)
    detail = (await enrollment_api.get(f"/v1/enrollments/{first['id']}")).json()
    assert detail["status"] == "ENROLL_FAILURE" and "nik_held_by_another_person" in detail["status_reason"]
