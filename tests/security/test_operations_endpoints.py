"""/healthz, /readyz and /metrics: answered without a credential, as docs/operations.md says (the
gateway and the Ingress keep /metrics and /readyz from the public), and never carrying personal
data: after residents' NIKs, names, receipts and certificate numbers went through paths, queries
and bodies, none of them is in what these routes answer, and /metrics labels requests by route
template only."""

from __future__ import annotations

import re

import httpx

from tests.security.conftest import routes
from tests.support.api import auth, eventually, recording


async def test_health_and_metrics_answer_anyone_and_carry_no_personal_data(app_and_tokens):
    app, tokens, _ = app_and_tokens
    operator = auth(tokens["dinas_operator"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        rec = recording(71, pickup_site="53.71.04")
        accepted = (await client.post("/v1/enrollments", json=rec, headers=auth(tokens["station"]))).json()
        secrets = [rec["nik"], rec["name"], accepted["receipt_number"], accepted["id"]]
        await client.get(f"/v1/status/{accepted['receipt_number']}")
        await client.get(f"/v1/enrollments/{accepted['id']}", headers=operator)
        await client.get("/v1/enrollments", params={"nik": rec["nik"]}, headers=operator)
        await client.get(f"/v1/enrollments/{rec['nik']}")  # refused (401), the NIK in the path
        await client.get(f"/nowhere/{rec['nik']}/{rec['name']}")  # no such route

        async def issued() -> dict | None:
            response = await client.post("/v1/certificates", json={"enrollment_id": accepted["id"]}, headers=operator)
            return response.json() if response.status_code == 201 else None

        number = (await eventually(issued, what="certificate issued"))["number"]
        secrets.append(number)
        token = (await client.get(f"/v1/certificates/{number}", headers=operator)).json()["token"]
        assert (await client.get(f"/v1/verify/{token}")).json()["status"] == "valid"

        answers = {path: await client.get(path) for path in ("/healthz", "/readyz", "/metrics")}
    assert {path: r.status_code for path, r in answers.items()} == {"/healthz": 200, "/readyz": 200, "/metrics": 200}
    assert answers["/readyz"].json()["checks"] == {"database": True, "broker": True}
    for path, response in answers.items():
        for secret in secrets:
            assert secret not in response.text, (path, secret)
    labelled = {re.sub(r"\{(\w+):\w+\}", r"{\1}", label)  # "{number:path}" is "{number}"
                for label in re.findall(r'route="([^"]*)"', answers["/metrics"].text)}
    assert labelled and labelled <= {path for _, path in routes(app)} | {"unmatched"}
