"""A stranger who looks like an enrolled resident is decided 'same person' by mistake: the record
ends DUPLICATE and the resident would never get a card. An adjudicator corrects the decision to
'different persons': the record enters the gallery (a later recording of that person under another
NIK is a duplicate of theirs), the enrollment service moves it from DUPLICATE to PRINT_READY, the
resident's timeline says so in both languages, a certificate may be issued again, and the card is
printed. The services as separate processes on PostgreSQL and RabbitMQ."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from services.enrollment.timeline import STEP_TEXT
from tests.dedup.support import PRINT_READY_OR_LATER, Recorder, dedup_position, grey_zone_face, post, wait_status_in
from tests.dedup.test_service_decisions import query_matched_nik
from tests.support.api import auth, eventually, wait_status

pytestmark = pytest.mark.slow


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

            # Decided 'same person' by mistake: DUPLICATE, the certificate revoked, no card.
            decided = await dedup.post(f"/v1/dedup/cases/{case['id']}/decision",
                                       json={"decision": "same_person", "note": "wajah sama"})
            assert decided.status_code == 200, decided.text
            await wait_status(enrollment, b["receipt_number"], "DUPLICATE", timeout=90)

            corrected = await dedup.post(f"/v1/dedup/cases/{case['id']}/correct",
                                         json={"reason": "sidik jari dan iris diperiksa ulang: orang yang berbeda"})
            assert corrected.status_code == 200, corrected.text
            assert corrected.json()["decision"] == "different_persons"
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
