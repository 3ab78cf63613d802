"""Every read of personal data leaves an audit entry: who, what, when."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from shared.auth.models import AuditEntry
from tests.support.api import auth, eventually, recording, wait_status


async def test_reads_of_personal_data_are_audited_with_who_what_and_when(app_and_tokens):
    app, tokens, ids = app_and_tokens
    headers = {"Authorization": f"Bearer {tokens['dinas_operator']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers) as client:
        station = {"Authorization": f"Bearer {tokens['station']}"}
        rec = recording(51, pickup_site="53.71.04")
        accepted = await client.post("/v1/enrollments", json=rec, headers=station)
        assert accepted.status_code == 201, accepted.text
        enrollment_id = accepted.json()["id"]
        assert (await client.get(f"/v1/enrollments/{enrollment_id}")).status_code == 200
        found = await client.get("/v1/enrollments", params={"nik": rec["nik"]})
        assert found.json()["total"] == 1

        async def issued() -> dict | None:
            response = await client.post("/v1/certificates", json={"enrollment_id": enrollment_id})
            return response.json() if response.status_code == 201 else None

        number = (await eventually(issued, what="certificate issued"))["number"]
        assert (await client.get(f"/v1/certificates/{number}")).status_code == 200
        assert (await client.get(f"/v1/certificates/{number}/pdf")).status_code == 200

    async with app.state.platform.sessions() as session:
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
    seen = {(e.action, e.subject_id) for e in entries}
    assert ("enrollment.read", enrollment_id) in seen
    assert ("enrollment.search", rec["nik"]) in seen  # names and NIKs listed: who looked for whom
    search = next(e for e in entries if e.action == "enrollment.search")
    assert search.detail == {"count": 1, "ids": [enrollment_id]}
    assert ("certificate.issue", number) in seen
    assert ("certificate.read", number) in seen
    assert ("certificate.pdf", number) in seen
    operator = f"test dinas_operator ({ids['dinas_operator']})"
    for entry in entries:
        assert entry.actor == operator and entry.role == "dinas_operator" and entry.at is not None


async def test_pausing_and_resuming_dedup_are_audited_and_a_new_reason_reaches_residents(app_and_tokens):
    app, tokens, ids = app_and_tokens
    headers = {"Authorization": f"Bearer {tokens['adjudicator']}"}  # the ministry's side pauses
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers) as client:
        first = await client.post("/v1/dedup/engine/pause", json={"reason": "lisensi habis"})
        again = await client.post("/v1/dedup/engine/pause", json={"reason": "pemeliharaan server"})
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.json()["reason"] == "pemeliharaan server"  # the first reason stayed
        assert (await client.post("/v1/dedup/engine/resume")).status_code == 200

    async with app.state.platform.sessions() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.action.like("dedup.engine.%"))
                                         .order_by(AuditEntry.id))).scalars().all()
    assert [(e.action, (e.detail or {}).get("reason")) for e in entries] == [
        ("dedup.engine.pause", "lisensi habis"), ("dedup.engine.pause", "pemeliharaan server"),
        ("dedup.engine.resume", None)]


async def _case(app, tokens: dict[str, str]) -> dict:
    """An open adjudication case: a resident's NIK recorded again with another person's biometrics."""
    station, adjudicator = auth(tokens["station"]), auth(tokens["adjudicator"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        first = recording(61, pickup_site="53.71.04")
        accepted = await client.post("/v1/enrollments", json=first, headers=station)
        assert accepted.status_code == 201, accepted.text
        await wait_status(client, accepted.json()["receipt_number"], "SENT_FOR_PRINTING")
        resident = {k: v for k, v in first.items() if k not in ("station_recording_id", "recording", "biometrics")}
        again = await client.post("/v1/enrollments", json=recording(62, resident=resident), headers=station)
        assert again.status_code == 201, again.text

        async def opened() -> dict | None:
            cases = (await client.get("/v1/dedup/cases", headers=adjudicator)).json()["items"]
            return next((c for c in cases if c["enrollment_id"] == again.json()["id"]), None)

        return await eventually(opened, what="adjudication case opened")


async def test_a_list_of_cases_is_audited_with_the_records_whose_niks_it_shows(app_and_tokens):
    app, tokens, _ = app_and_tokens
    case = await _case(app, tokens)
    async with app.state.platform.sessions() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.action == "dedup.cases.list")
                                         .order_by(AuditEntry.id))).scalars().all()
    shown = entries[-1].detail
    assert case["id"] in shown["ids"]
    assert {case["enrollment_id"], *(c["enrollment_id"] for c in case["candidates"])} <= set(shown["enrollment_ids"])


async def test_templates_an_abis_fetches_through_a_signed_url_are_audited(app_and_tokens):
    from services.dedup.abis import urls

    app, tokens, _ = app_and_tokens
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        accepted = await client.post("/v1/enrollments", json=recording(63, pickup_site="53.71.04"),
                                     headers=auth(tokens["station"]))
        enrollment_id = accepted.json()["id"]
        url = httpx.URL(urls.sign(app.state.platform.settings, enrollment_id))

        async def fetched() -> httpx.Response | None:
            response = await client.get(url.path, params=url.params)
            return response if response.status_code == 200 else None

        assert "fingerprints" in (await eventually(fetched, what="templates served")).json()
    async with app.state.platform.sessions() as session:
        (entry,) = (await session.execute(select(AuditEntry).where(AuditEntry.action == "dedup.biometrics.read")
                                          .where(AuditEntry.subject_id == enrollment_id))).scalars().all()
    assert entry.actor == "external ABIS (signed URL) (system)" and entry.detail["client"]


async def test_the_card_data_a_print_agent_claims_is_audited(app_and_tokens):
    app, tokens, _ = app_and_tokens
    agent = auth(tokens["print_agent"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        stock = await client.post("/v1/print/sites/53.71.04/stock", json={"first_serial": "0700000001", "count": 1},
                                  headers=auth(tokens["admin"]))
        accepted = await client.post("/v1/enrollments", json=recording(64, pickup_site="53.71.04"),
                                     headers=auth(tokens["station"]))
        assert (stock.status_code, accepted.status_code) == (201, 201)
        await wait_status(client, accepted.json()["receipt_number"], "SENT_FOR_PRINTING")
        node = (await client.post("/v1/print/nodes", json={"name": "oebobo-ps1", "site": "53.71.04"},
                                  headers=agent)).json()
        claimed = await client.post(f"/v1/print/nodes/{node['id']}/claim", json={"wait_seconds": 0}, headers=agent)
        (job,) = claimed.json()["jobs"]
        assert job["card"]["record"]["nik"]  # personal data handed to the agent
    async with app.state.platform.sessions() as session:
        (entry,) = (await session.execute(select(AuditEntry).where(AuditEntry.action == "print.card.claim"))).scalars()
    assert (entry.subject_id, entry.role) == (job["job_id"], "print_agent")
    assert entry.detail == {"enrollment_id": accepted.json()["id"], "node_id": node["id"], "serial": "0700000001"}
