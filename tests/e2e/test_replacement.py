"""A resident recorded again while the first card still waits (a new station id, no link): dedup
knows the person (same NIK, same biometrics) and names the first record replaced. The resident
gets one card, the new one; the first record ends REPLACED and its receipt sends the resident to
the new one; a certificate follows the newer recording."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.dedup.support import Recorder, post, resident_of
from tests.support.api import auth, eventually, wait_status

pytestmark = pytest.mark.slow


@contextlib.asynccontextmanager
async def apis(cluster, token: str) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:  # type: ignore[no-untyped-def]
    """Clients of the enrollment, print and certificate services, as the admin."""
    async with contextlib.AsyncExitStack() as stack:
        yield tuple([await stack.enter_async_context(httpx.AsyncClient(base_url=cluster.url(name), headers=auth(token),
                                                                       timeout=30))
                     for name in ("enrollment", "print", "certificate")])


async def test_a_resident_recorded_again_while_the_first_card_waits_gets_one_card(cluster, token):
    r = Recorder(seed=811)
    async with apis(cluster, token) as (enrollment, printing, certificate):
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


async def test_a_card_printed_but_not_collected_is_void_when_the_data_change_replaces_it(cluster, token):
    """Printed, waiting for pickup, and the resident changes their data (married since): the new
    recording is linked to the old one; the old card, with the old data, is void and never handed
    over; the new card is printed."""
    r = Recorder(seed=812)
    async with apis(cluster, token) as (enrollment, printing, _):
        first_rec, person = r.record()
        site = first_rec["pickup_site"]
        cluster.start_agent(site, driver="render")
        response = await printing.post(f"/v1/print/sites/{site}/stock", json={"first_serial": "4200000001", "count": 5})
        assert response.status_code == 201, response.text
        first = await post(enrollment, first_rec)
        await wait_status(enrollment, first["receipt_number"], "PRINTED", timeout=90)
        [old_job] = (await printing.get("/v1/print/jobs", params={"enrollment_id": first["id"]})).json()["items"]

        married = {**resident_of(first_rec), "marital_status": "KAWIN"}
        again_rec, _ = r.record(person=person, resident=married)
        second = await post(enrollment, {**again_rec, "previous_enrollment_id": first["id"]})
        detail = (await enrollment.get(f"/v1/enrollments/{second['id']}")).json()
        assert detail["correction"] == "replacement"
        await wait_status(enrollment, second["receipt_number"], "PRINTED", timeout=90)
        old = await wait_status(enrollment, first["receipt_number"], "REPLACED", timeout=60)
        assert second["receipt_number"] in old["status_en"]

        [voided] = (await printing.get("/v1/print/jobs", params={"enrollment_id": first["id"]})).json()["items"]
        assert (voided["id"], voided["status"], voided["serial"]) == (old_job["id"], "VOID", old_job["serial"])
        refused = await printing.post(f"/v1/print/jobs/{old_job['id']}/issue")
        assert refused.status_code == 409 and refused.json()["error"] == "not_printed"
        [new_job] = (await printing.get("/v1/print/jobs", params={"enrollment_id": second["id"]})).json()["items"]
        assert new_job["status"] == "PRINTED" and new_job["serial"] != old_job["serial"]
        handed = await printing.post(f"/v1/print/jobs/{new_job['id']}/issue")
        assert handed.status_code == 200, handed.text
