"""A stranger who looks like an enrolled resident is decided 'same person' by mistake: the record
ends DUPLICATE and the resident would never get a card. An adjudicator corrects the decision to
'different persons': the record enters the gallery (a later recording of that person under another
NIK is a duplicate of theirs), the enrollment service moves it from DUPLICATE to PRINT_READY, the
resident's timeline says so in both languages, a certificate may be issued again, and the card is
printed. A NIK recorded with another person's biometrics is never printed twice: 'different
persons' (decided, or corrected to) sends the newer recording back to be re-recorded after the NIK
check. The services as separate processes on PostgreSQL and RabbitMQ."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from services.enrollment.timeline import STEP_TEXT
from tests.dedup.support import (
    PRINT_READY_OR_LATER,
    Recorder,
    dedup_position,
    grey_zone_face,
    post,
    resident_of,
    wait_status_in,
)
from tests.dedup.test_service_decisions import query_matched_nik
from tests.support.api import auth, eventually, wait_status

pytestmark = pytest.mark.slow


async def same_person_then_corrected(dedup: httpx.AsyncClient, enrollment: httpx.AsyncClient, case_id: str,
                                     receipt: str) -> dict:
    """The case decided 'same person' (the record ends DUPLICATE), then corrected: the case."""
    decided = await dedup.post(f"/v1/dedup/cases/{case_id}/decision", json={"decision": "same_person",
                                                                          "note": "wajah sama"})
    assert decided.status_code == 200, decided.text
    await wait_status(enrollment, receipt, "DUPLICATE", timeout=90)
    corrected = await dedup.post(f"/v1/dedup/cases/{case_id}/correct",
                                 json={"reason": "sidik jari dan iris diperiksa ulang: orang yang berbeda"})
    assert corrected.status_code == 200, corrected.text
    return corrected.json()


async def test_a_same_person_decision_corrected_gets_the_resident_a_card(cluster, token, pg_url):
    r = Recorder(seed=921)
    async with contextlib.AsyncExitStack() as stack:
        enrollment, dedup, printing, certificate = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=cluster.url(name), headers=auth(token),
                                                              timeout=30))
            for name in ("enrollment", "dedup", "print", "certificate")]
        try:
            rec_a, _ = r.record()
            a = await post(enrollment, rec_a)
            await wait_status_in(enrollment, a["receipt_number"], PRINT_READY_OR_LATER)
            rec_b, person_b = r.record()
            b = await post(enrollment, grey_zone_face(rec_b, rec_a))  # looks like A: a case
            await wait_status(enrollment, b["receipt_number"], "ADJUDICATION", timeout=90)
            issued = await certificate.post("/v1/certificates", json={"enrollment_id": b["id"]})
            assert issued.status_code == 201, issued.text
            [case] = [c for c in (await dedup.get("/v1/dedup/cases")).json()["items"] if c["enrollment_id"] == b["id"]]

            # Decided 'same person' by mistake (DUPLICATE, the certificate revoked, no card), corrected.
            corrected = await same_person_then_corrected(dedup, enrollment, case["id"], b["receipt_number"])
            assert corrected["decision"] == "different_persons"
            status = await wait_status_in(enrollment, b["receipt_number"], PRINT_READY_OR_LATER)
            steps = [s["step"] for s in status["timeline"]]
            assert steps.index("DEDUP_DUPLICATE") < steps.index("DEDUP_CORRECTED")
            [step] = [s for s in status["timeline"] if s["step"] == "DEDUP_CORRECTED"]
            assert (step["text_id"], step["text_en"]) == STEP_TEXT["DEDUP_CORRECTED"]
            assert (await dedup_position(dedup, b["id"]))["outcome"] == "unique"
            again = await dedup.post(f"/v1/dedup/cases/{case['id']}/correct", json={"reason": "sekali lagi"})
            assert again.status_code == 409 and again.json()["error"] == "case_corrected"

            # The certificate service follows: a new certificate may be issued for the record.
            async def reissued() -> dict | None:
                answer = await certificate.post("/v1/certificates", json={"enrollment_id": b["id"]})
                return answer.json() if answer.status_code == 201 else None

            assert (await eventually(reissued, what="a certificate issued after the correction"))["status"] == "VALID"

            # The gallery took B in: B recorded under another NIK is a duplicate of B's NIK.
            rec_b2, _ = r.record(person=person_b)
            b2 = await post(enrollment, rec_b2)
            await wait_status(enrollment, b2["receipt_number"], "DUPLICATE", timeout=90)
            assert (await dedup_position(dedup, b2["id"]))["outcome"] == "duplicate"
            assert await query_matched_nik(pg_url, b2["id"]) == rec_b["nik"]

            # Blank cards and a print server: B's card is printed.
            site = rec_b["pickup_site"]
            cluster.start_agent(site, driver="render")
            stocked = await printing.post(f"/v1/print/sites/{site}/stock", json={"first_serial": "4300000001",
                                                                                 "count": 5})
            assert stocked.status_code == 201, stocked.text
            await wait_status(enrollment, b["receipt_number"], "PRINTED", timeout=90)
            [job] = (await printing.get("/v1/print/jobs", params={"enrollment_id": b["id"]})).json()["items"]
            assert job["status"] == "PRINTED" and job["serial"]
        except BaseException:
            print(cluster.logs())
            raise


NIK_HELD_ID = ("NIK ini sudah terdaftar atas orang lain: bawa Kartu Keluarga (KK) ke Dinas untuk pemeriksaan NIK, "
               "lalu rekam ulang")
NIK_HELD_EN = ("This NIK is registered to another person: bring your family card (KK) to the dinas to have the NIK "
               "checked, then record again")


async def test_a_nik_recorded_with_another_persons_biometrics_is_never_printed_twice(cluster, token):
    """A's NIK recorded again with another person's biometrics. Decided 'different persons', the
    newer recording is not printed under A's NIK (two cards, one NIK): it must be re-recorded after
    the dinas checks the NIK against the family card, which the resident's status page says; the
    re-capture with the NIK the dinas found is printed. A 'same person' decision on such a case,
    corrected, ends the same way."""
    r = Recorder(seed=931)
    async with contextlib.AsyncExitStack() as stack:
        enrollment, dedup, printing = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=cluster.url(name), headers=auth(token),
                                                              timeout=30))
            for name in ("enrollment", "dedup", "print")]
        try:
            rec_a, _ = r.record()
            a = await post(enrollment, rec_a)
            await wait_status(enrollment, a["receipt_number"], "SENT_FOR_PRINTING", timeout=90)

            async def case_of(enrollment_id: str) -> dict:
                async def opened() -> dict | None:
                    items = (await dedup.get("/v1/dedup/cases", params={"reason": "same_nik"})).json()["items"]
                    return next((c for c in items if c["enrollment_id"] == enrollment_id), None)
                return await eventually(opened, timeout=90, what="a same-NIK case")

            rec_b, person_b = r.record(resident=resident_of(rec_a))  # another person, A's NIK and data
            b = await post(enrollment, rec_b)
            case = await case_of(b["id"])
            decided = await dedup.post(f"/v1/dedup/cases/{case['id']}/decision",
                                       json={"decision": "different_persons", "note": "sidik jari dan iris berbeda"})
            assert decided.status_code == 200, decided.text
            status = await wait_status(enrollment, b["receipt_number"], "ENROLL_FAILURE", timeout=90)
            [step] = [s for s in status["timeline"] if s["step"] == "DEDUP_ENROLL_FAILURE"]
            assert (step["text_id"], step["text_en"]) == (NIK_HELD_ID, NIK_HELD_EN)
            seen = await dedup_position(dedup, b["id"])
            assert seen["outcome"] == "enroll_failure" and "nik_held_by_another_person" in seen["reasons"]

            # Recorded again with the NIK the dinas found on B's family card: unique, to print.
            rec_b2, _ = r.record(person=person_b)
            assert rec_b2["nik"] != rec_a["nik"]
            b2 = await post(enrollment, {**rec_b2, "previous_enrollment_id": b["id"]})
            await wait_status(enrollment, b2["receipt_number"], "SENT_FOR_PRINTING", timeout=90)
            assert (await dedup_position(dedup, b2["id"]))["outcome"] == "unique"

            # The same NIK once more with a third person's biometrics, decided 'same person', corrected.
            rec_c, _ = r.record(resident=resident_of(rec_a))
            c = await post(enrollment, rec_c)
            case = await case_of(c["id"])
            await same_person_then_corrected(dedup, enrollment, case["id"], c["receipt_number"])
            status = await wait_status(enrollment, c["receipt_number"], "ENROLL_FAILURE", timeout=90)
            assert [s["step"] for s in status["timeline"]][-2:] == ["DEDUP_DUPLICATE", "DEDUP_CORRECTED_RERECORD"]
            assert (status["timeline"][-1]["text_id"], status["timeline"][-1]["text_en"]) == (NIK_HELD_ID, NIK_HELD_EN)

            # One NIK, one card: A's (and B's under the NIK the dinas found); no print job for B or C.
            jobs = {e["id"]: (await printing.get("/v1/print/jobs", params={"enrollment_id": e["id"]})).json()["items"]
                    for e in (a, b, b2, c)}
            assert [len(jobs[e["id"]]) for e in (a, b, b2, c)] == [1, 0, 1, 0], jobs
            assert (await wait_status(enrollment, a["receipt_number"], "SENT_FOR_PRINTING"))["status"]
        except BaseException:
            print(cluster.logs())
            raise
