"""One recording travels the whole pipeline, as users drive it, on both ways to run:

a kecamatan posts a recording → accepted durably → dedup decides unique → a print job is queued
at the resident's site → a print agent that registered itself prints the card → an operator
hands it over; meanwhile an interim certificate is issued, and revoked at hand-over.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import auth, eventually, recording, wait_status

SITE = "53.71.04"  # Oebobo: one of the three kecamatan that got a print server

EXPECTED_STEPS = ["RECORDED", "SENT_TO_DEDUP", "DEDUP_UNIQUE", "PRINT_QUEUED", "CERTIFICATE_ISSUED",
                  "CARD_PRINTED", "CARD_ISSUED", "CERTIFICATE_REVOKED"]


async def run_pipeline(urls: dict[str, str], token: str, *, seed: int) -> None:
    h = auth(token)
    clients = {name: httpx.AsyncClient(base_url=url, headers=h, timeout=30) for name, url in urls.items()}
    enrollment, printing, certificate = clients["enrollment"], clients["print"], clients["certificate"]
    try:
        rec = recording(seed, pickup_site=SITE)
        answer = await enrollment.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": rec["station_recording_id"]})
        assert answer.status_code == 201, answer.text
        accepted = answer.json()
        receipt, enrollment_id = accepted["receipt_number"], accepted["id"]
        assert accepted["status"] == "RECEIVED" and accepted["siak_status"] == "SENT_FOR_ENROLLMENT"

        # A retry with the same key answers the first answer and records nothing twice.
        again = await enrollment.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": rec["station_recording_id"]})
        assert again.status_code == 200 and again.json()["id"] == enrollment_id

        # The interim certificate, while the resident waits for the card.
        async def issue() -> dict | None:
            response = await certificate.post("/v1/certificates", json={"enrollment_id": enrollment_id})
            return response.json() if response.status_code == 201 else None

        cert = await eventually(issue, what="certificate issued")
        assert cert["status"] == "VALID"
        verify = (await certificate.get(f"/v1/verify/{cert['token']}")).json()
        assert verify["status"] == "valid" and verify["nik_masked"].startswith(rec["nik"][:4])

        await wait_status(enrollment, receipt, "PRINTED", timeout=60)
        jobs = (await printing.get("/v1/print/jobs", params={"enrollment_id": enrollment_id})).json()["items"]
        assert len(jobs) == 1 and jobs[0]["status"] == "PRINTED" and jobs[0]["serial"]
        handed = await printing.post(f"/v1/print/jobs/{jobs[0]['id']}/issue")
        assert handed.status_code == 200 and handed.json()["status"] == "ISSUED"

        status = await wait_status(enrollment, receipt, "ISSUED")

        async def revoked() -> dict | None:
            body = (await certificate.get(f"/v1/verify/{cert['token']}")).json()
            return body if body["status"] == "revoked" else None

        await eventually(revoked, what="certificate revoked after hand-over")

        async def full_timeline() -> list[str] | None:
            steps = [s["step"] for s in (await enrollment.get(f"/v1/status/{receipt}")).json()["timeline"]]
            return steps if set(EXPECTED_STEPS) <= set(steps) else None

        steps = await eventually(full_timeline, what="every step on the public timeline")
        assert steps[:2] == ["RECORDED", "SENT_TO_DEDUP"] and steps.index("CARD_PRINTED") < steps.index("CARD_ISSUED")
        # The public sees the name masked and never the NIK.
        assert rec["nik"] not in str(status) and status["name_masked"] != rec["name"]
    finally:
        for client in clients.values():
            await client.aclose()


@pytest.mark.slow
async def test_pipeline_across_separate_processes_on_rabbitmq_and_postgresql(cluster, token):
    cluster.start_agent(SITE, driver="render")
    async with httpx.AsyncClient(base_url=cluster.url("print"), headers=auth(token)) as printing:
        response = await printing.post(f"/v1/print/sites/{SITE}/stock", json={"first_serial": "4000000001", "count": 10})
        assert response.status_code == 201, response.text
    try:
        await run_pipeline({s: cluster.url(s) for s in ("enrollment", "print", "certificate")}, token, seed=11)
    except BaseException:
        print(cluster.logs())
        raise
    # The agent rendered the card it printed.
    assert list((cluster.workdir / "cards" / SITE).glob("*-front.png"))


@pytest.mark.slow
async def test_pipeline_on_the_all_in_one(allinone, token):
    url, proc = allinone
    try:
        await run_pipeline({s: url for s in ("enrollment", "print", "certificate")}, token, seed=12)
    except BaseException:
        print(proc.log()[-6000:])
        raise
