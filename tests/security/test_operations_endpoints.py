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


def _series(metrics: str) -> set[tuple[str, str, str]]:
    """(method, route, status) of every ektp_http_requests_total series /metrics shows."""
    return set(re.findall(r'^ektp_http_requests_total\{method="([^"]*)",route="([^"]*)",status="([^"]*)"\}',
                          metrics, re.MULTILINE))


async def test_a_method_of_the_clients_making_adds_no_series_to_metrics(app_and_tokens):
    """Any token is a valid HTTP method: a client sending a new one with each request must not make a
    new series each time (Prometheus would drown). Every method beyond the standard ones is "other",
    and a path that no route matches is "unmatched", whatever was asked."""
    app, _, _ = app_and_tokens
    odd = ["PURGE", "X-NIK-5371041708900001", "BREW", "FOO" * 30]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for method in ("GET", "POST"):  # the series of the standard methods exist before
            await client.request(method, "/v1/enrollments/stats")
            await client.request(method, "/nowhere/0")
        await client.get("/metrics")  # counted once it has answered
        before = _series((await client.get("/metrics")).text)
        for n, method in enumerate(odd):
            await client.request(method, "/v1/enrollments/stats")
            await client.request(method, f"/nowhere/{n}/{method}")
        after = (await client.get("/metrics")).text

    new = _series(after) - before
    assert {method for method, _, _ in new} <= {"other"}, new
    assert {route for _, route, _ in new} <= {"/v1/enrollments/stats", "unmatched"}, new
    for method in odd:
        assert f'method="{method}"' not in after
        assert "/nowhere/" not in after
    # The odd requests are still counted, as "other".
    other = re.findall(r'^ektp_http_requests_total\{method="other",route="unmatched",status="404"\} (\S+)',
                       after, re.MULTILINE)
    assert other and float(other[0]) >= len(odd)
