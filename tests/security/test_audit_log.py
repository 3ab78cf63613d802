"""Every read of personal data leaves an audit entry: who, what, when, which record. The tables
below say, for every route of the access matrix, which audit action it writes, or why it writes
none (it shows no personal data); a new route missing from both fails the test."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from shared.auth.models import AuditEntry
from tests.security.test_access_matrix import MATRIX
from tests.support.api import auth, eventually, recording, wait_status

# Routes that show personal data (NIK, name, address, photo, biometrics, card or certificate contents)
# or change a resident's record, and the audit action each writes naming the record.
AUDITED: dict[tuple[str, str], str] = {
    ("GET", "/v1/enrollments/{enrollment_id}"): "enrollment.read",
    ("GET", "/v1/enrollments"): "enrollment.search",
    ("GET", "/v1/dedup/cases"): "dedup.cases.list",
    ("GET", "/v1/dedup/cases/{case_id}"): "dedup.case.read",
    ("POST", "/v1/dedup/cases/{case_id}/decision"): "dedup.case.decide",
    ("POST", "/v1/dedup/cases/{case_id}/correct"): "dedup.case.correct",
    ("POST", "/v1/dedup/cases/next"): "dedup.case.take",
    ("POST", "/v1/dedup/cases/{case_id}/take"): "dedup.case.take",
    ("POST", "/v1/dedup/cases/{case_id}/release"): "dedup.case.release",
    ("GET", "/v1/dedup/biometrics/{reference_id}"): "dedup.biometrics.read",
    ("POST", "/v1/print/nodes/{node_id}/claim"): "print.card.claim",
    ("POST", "/v1/print/jobs/{job_id}/issue"): "print.card.hand_over",
    ("POST", "/v1/print/jobs/{job_id}/reprint"): "print.card.reprint",
    ("POST", "/v1/certificates"): "certificate.issue",
    ("GET", "/v1/certificates"): "certificate.list",
    ("GET", "/v1/certificates/{number}"): "certificate.read",
    ("GET", "/v1/certificates/{number}/pdf"): "certificate.pdf",
    ("POST", "/v1/certificates/{number}/revoke"): "certificate.revoke",
    ("POST", "/v1/certificates/{number}/renew"): "certificate.renew",
}
# Every other route, and why it writes no audit entry: it shows no personal data.
NOT_PERSONAL = {
    **dict.fromkeys([("POST", "/v1/enrollments"), ("POST", "/v1/enrollments/batch")],
                    "answers the id and receipt of what the caller sent, nothing more"),
    ("GET", "/v1/status/{receipt_number}"): "public: the name masked, no NIK, no address (docs/enrollment.md)",
    ("GET", "/v1/verify/{token}"): "public: what the signed token shown carries (name, masked NIK, birth date)",
    ("GET", "/v1/dedup/backlog/position/{enrollment_id}"): "a recording's place and outcome codes: no name or NIK",
    **dict.fromkeys([("GET", "/v1/enrollments/stats"), ("GET", "/v1/dedup/backlog"), ("GET", "/v1/certificates/stats"),
                     ("GET", "/v1/print/stock"), ("GET", "/v1/print/sites/{site}/queue")], "counts"),
    **dict.fromkeys([("GET", "/v1/dedup/engine"), ("POST", "/v1/dedup/engine/pause"),
                     ("POST", "/v1/dedup/engine/resume")], "the engine's state (pause and resume are audited)"),
    **dict.fromkeys([
        ("POST", "/v1/print/nodes"), ("POST", "/v1/print/nodes/{node_id}/heartbeat"),
        ("POST", "/v1/print/nodes/{node_id}/drain"), ("DELETE", "/v1/print/nodes/{node_id}"),
        ("GET", "/v1/print/nodes"), ("POST", "/v1/print/jobs/{job_id}/result"), ("GET", "/v1/print/jobs"),
        ("POST", "/v1/print/sites/{site}/stock"), ("POST", "/v1/print/sites/{site}/stock/transfer"),
        ("PUT", "/v1/print/sites/{site}/stock/threshold"), ("POST", "/v1/print/sites/{site}/redirect"),
        ("DELETE", "/v1/print/sites/{site}/redirect"), ("GET", "/v1/print/sites/routes"),
    ], "print nodes, jobs, stock and routes: ids, serials, sites and counts (stock and redirects are audited)"),
    ("GET", "/v1/certificates/keys"): "public keys",
    ("GET", "/v1/enrollments/sites"): "the dinas's site codes",
    **dict.fromkeys([("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")],
                    "operations: tests/security/test_operations_endpoints.py"),
    **dict.fromkeys([("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
                     ("GET", "/"), ("GET", "/console"), ("GET", "/console/"), ("GET", "/console/{page}"),
                     ("GET", "/console/{rest}"), ("GET", "/console/static/{name}"), ("POST", "/console/verify")],
                    "the API's description and the console's pages: no data (a page calls /v1 with the user's "
                    "credential; the QR upload hands back the token the caller sent)"),
    ("GET", "/console/session"): "the caller's own credential",
}


def test_every_route_either_audits_or_shows_no_personal_data():
    assert set(AUDITED) & set(NOT_PERSONAL) == set()
    unclassified = set(MATRIX) - set(AUDITED) - set(NOT_PERSONAL)
    assert unclassified == set(), "routes neither audited nor said to show no personal data"
    assert (set(AUDITED) | set(NOT_PERSONAL)) - set(MATRIX) == set(), "routes that no longer exist"


async def test_every_route_showing_personal_data_audits_who_saw_which_record(app_and_tokens):
    from services.dedup.abis import urls

    app, tokens, ids = app_and_tokens
    app.state.platform.settings.cert_renew_before_days = 400  # a new certificate may be renewed at once
    case = await _case(app, tokens)
    enrollment_id, nik = case["candidates"][0]["enrollment_id"], case["nik"]
    expected: dict[str, tuple[str, str]] = {}  # action -> (the record it names, the caller's role)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        async def call(role: str, method: str, path: str, **kwargs) -> dict:
            response = await client.request(method, path, headers=auth(tokens[role]) if role else None, **kwargs)
            assert response.status_code in (200, 201), (method, path, response.text)
            return response.json() if response.headers["content-type"] == "application/json" else {}

        def audits(action: str, subject: str, role: str) -> None:
            expected[action] = (subject, role)

        await call("dinas_operator", "GET", f"/v1/enrollments/{enrollment_id}")
        audits("enrollment.read", enrollment_id, "dinas_operator")
        await call("kecamatan_operator", "GET", "/v1/enrollments", params={"nik": nik})
        audits("enrollment.search", nik, "kecamatan_operator")
        await call("adjudicator", "GET", "/v1/dedup/cases")
        audits("dedup.cases.list", "OPEN", "adjudicator")
        await call("adjudicator", "GET", f"/v1/dedup/cases/{case['id']}")
        audits("dedup.case.read", case["id"], "adjudicator")
        await call("adjudicator", "POST", "/v1/dedup/cases/next")
        await call("adjudicator", "POST", f"/v1/dedup/cases/{case['id']}/release")
        audits("dedup.case.release", case["id"], "adjudicator")
        await call("adjudicator", "POST", f"/v1/dedup/cases/{case['id']}/take")
        audits("dedup.case.take", case["id"], "adjudicator")
        await call("adjudicator", "POST", f"/v1/dedup/cases/{case['id']}/decision",
                   json={"decision": "same_person", "note": "orang yang sama"})
        audits("dedup.case.decide", case["id"], "adjudicator")
        url = httpx.URL(urls.sign(app.state.platform.settings, enrollment_id))
        await call("", "GET", url.path, params=url.params)
        audits("dedup.biometrics.read", enrollment_id, "")

        await call("admin", "POST", "/v1/print/sites/53.71.04/stock", json={"first_serial": "0600000001", "count": 2})
        node = await call("print_agent", "POST", "/v1/print/nodes", json={"name": "ps1", "site": "53.71.04"})
        claim = f"/v1/print/nodes/{node['id']}/claim"
        (job,) = (await call("print_agent", "POST", claim, json={"wait_seconds": 0}))["jobs"]
        audits("print.card.claim", job["job_id"], "print_agent")
        await call("print_agent", "POST", f"/v1/print/jobs/{job['job_id']}/result",
                   json={"claim_id": job["claim_id"], "outcome": "printed"})
        await call("print_operator", "POST", f"/v1/print/jobs/{job['job_id']}/reprint", json={"reason": "foto buram"})
        audits("print.card.reprint", job["job_id"], "print_operator")

        number = (await call("kecamatan_operator", "POST", "/v1/certificates",
                             json={"enrollment_id": enrollment_id}))["number"]
        audits("certificate.issue", number, "kecamatan_operator")
        await call("dinas_operator", "GET", "/v1/certificates", params={"nik": nik})
        audits("certificate.list", "*", "dinas_operator")
        await call("kecamatan_operator", "GET", f"/v1/certificates/{number}")
        audits("certificate.read", number, "kecamatan_operator")
        await call("kecamatan_operator", "GET", f"/v1/certificates/{number}/pdf")
        audits("certificate.pdf", number, "kecamatan_operator")
        renewed = (await call("dinas_operator", "POST", f"/v1/certificates/{number}/renew"))["number"]
        audits("certificate.renew", renewed, "dinas_operator")
        await call("dinas_operator", "POST", f"/v1/certificates/{renewed}/revoke", json={"reason": "salah data"})
        audits("certificate.revoke", renewed, "dinas_operator")

        (printed,) = (await call("print_agent", "POST", claim, json={"wait_seconds": 5}))["jobs"]
        await call("print_agent", "POST", f"/v1/print/jobs/{printed['job_id']}/result",
                   json={"claim_id": printed["claim_id"], "outcome": "printed"})
        await call("kecamatan_operator", "POST", f"/v1/print/jobs/{printed['job_id']}/issue")
        audits("print.card.hand_over", printed["job_id"], "kecamatan_operator")
        # (last: the corrected recording's card joins the print queue)
        await call("adjudicator", "POST", f"/v1/dedup/cases/{case['id']}/correct", json={"reason": "orang berbeda"})
        audits("dedup.case.correct", case["id"], "adjudicator")

    assert set(AUDITED.values()) == set(expected), "each route of AUDITED is called here"
    async with app.state.platform.sessions() as session:
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
    actors = {role: (f"test {role} ({ids[role]})", role) for role in ids}
    actors[""] = ("external ABIS (signed URL) (system)", "admin")  # no credential: the signed URL
    found = {(e.action, e.subject_id, e.actor, e.role) for e in entries if e.at is not None}
    missing = [(action, subject, *actors[role]) for action, (subject, role) in expected.items()
               if (action, subject, *actors[role]) not in found]
    assert missing == []
    search = next(e for e in entries if e.action == "enrollment.search")  # names and NIKs listed: whose
    assert search.detail == {"count": 2, "ids": search.detail["ids"]}
    assert set(search.detail["ids"]) == {enrollment_id, case["enrollment_id"]}


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
