"""A resident recorded again while the first card still waits (a new station id, no link): dedup
knows the person (same NIK, same biometrics) and names the first record replaced. The resident
gets one card, the new one; the first record ends REPLACED and its receipt sends the resident to
the new one; a certificate follows the newer recording."""

from __future__ import annotations

import httpx
import pytest

from tests.dedup.support import Recorder, post, resident_of
from tests.support.api import auth, eventually, wait_status

pytestmark = pytest.mark.slow


async def test_a_resident_recorded_again_while_the_first_card_waits_gets_one_card(cluster, token):
    h = auth(token)
    clients = {name: httpx.AsyncClient(base_url=cluster.url(name), headers=h, timeout=30)
               for name in ("enrollment", "print", "certificate")}
    enrollment, printing, certificate = clients["enrollment"], clients["print"], clients["certificate"]
    r = Recorder(seed=811)
    try:
        first_rec, person = r.record()
        site = first_rec["pickup_site"]
        first = await post(enrollment, first_rec)
        # No blank cards at the site yet: the first card waits in the queue.
        await wait_status(enrollment, first["receipt_number"], "SENT_FOR_PRINTING", timeout=90)
        cert = await certificate.post("/v1/certificates", json={"enrollment_id": first["id"]})
        assert cert.status_code == 201, cert.text

        again_rec, _ = r.record(person=person, resident=resident_of(first_rec))
        second = await post(enrollment, again_rec)
        await wait_status(enrollment, second["receipt_number"], "SENT_FOR_PRINTING", timeout=90)
        old = await wait_status(enrollment, first["receipt_number"], "REPLACED", timeout=60)
        assert {"REPLACED", "PRINT_CANCELLED"} <= {s["step"] for s in old["timeline"]}
        assert second["receipt_number"] in old["status_en"] and second["receipt_number"] in old["status_id"]

        jobs = (await printing.get("/v1/print/jobs", params={"enrollment_id": first["id"]})).json()["items"]
        assert [(j["status"], j["serial"]) for j in jobs] == [("CANCELLED", None)]
        assert second["id"] in jobs[0]["wait_reason"]

        # The certificate service follows: none for the replaced recording, one for the newer.
        async def refused() -> dict | None:
            response = await certificate.post("/v1/certificates", json={"enrollment_id": first["id"]})
            return response.json() if response.status_code == 409 else None

        answer = await eventually(refused, what="issuing for the replaced record refused")
        assert answer["error"] == "recording_replaced"
        newer = await certificate.post("/v1/certificates", json={"enrollment_id": second["id"]})
        assert newer.status_code == 201, newer.text
        assert newer.json()["status"] == "VALID"
        assert (await certificate.get(f"/v1/certificates/{cert.json()['number']}")).json()["status"] == "SUPERSEDED"

        # Blank cards arrive and a print server starts: one card is printed, the new one.
        cluster.start_agent(site, driver="render")
        response = await printing.post(f"/v1/print/sites/{site}/stock", json={"first_serial": "4100000001", "count": 5})
        assert response.status_code == 201, response.text
        await wait_status(enrollment, second["receipt_number"], "PRINTED", timeout=90)
        printed = (await printing.get("/v1/print/jobs", params={"site": site, "status": "PRINTED"})).json()["items"]
        assert [j["enrollment_id"] for j in printed] == [second["id"]]
        assert (await enrollment.get(f"/v1/status/{first['receipt_number']}")).json()["status"] == "REPLACED"
    finally:
        for client in clients.values():
            await client.aclose()
