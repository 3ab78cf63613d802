"""A site-bound credential (kecamatan operator, station, print operator, print agent) acts for its
own site only. Another site's records exist (a recording of Alak with its print job, certificate,
print node and blank stock); for every route a site-bound role may call (the access matrix), the
table below says how a credential of Oebobo asking about them is answered: refused (403 wrong_site,
or 404), or answered without them. A route missing from the table fails the test, so a new route
states how it keeps to the caller's site."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.security.conftest import SITE, routes
from tests.security.test_access_matrix import MATRIX, PUBLIC
from tests.support.api import auth, eventually, recording

OTHER = "53.71.01"  # Alak; the credentials are Oebobo's (SITE)
SITE_BOUND = ("kecamatan_operator", "station", "print_operator", "print_agent")


@dataclass
class Ask:
    """One request about the other site's records; `filtered` checks a 2xx answer, else it must be refused."""

    path: Callable[[dict], str] | str = ""
    params: Callable[[dict], dict] | dict = field(default_factory=dict)
    body: Callable[[dict], Any] | Any = None
    filtered: Callable[[dict, Any], bool] | None = None


def _v(value: Any, other: dict) -> Any:
    return value(other) if callable(value) else value


def _own(items: list[dict], *keys: str) -> bool:
    return all(any(item[k] == SITE for k in keys) for item in items)


def _other_recording(other: dict) -> dict:
    rec = recording(other["seed"] + 1, pickup_site=OTHER)
    rec["station_recording_id"] = f"other-{uuid.uuid4()}"
    return rec


# (method, path) -> what a site-bound credential asking about the other site's records gets, or why
# the route holds no site's records (a str). Routes no site-bound role may call are left out.
SCOPE: dict[tuple[str, str], list[Ask] | str] = {
    ("POST", "/v1/enrollments"): [Ask(body=_other_recording)],
    ("POST", "/v1/enrollments/batch"): [
        Ask(body=lambda o: [_other_recording(o)], filtered=lambda o, b: [i["status"] for i in b["items"]] == [403])],
    ("GET", "/v1/enrollments/stats"): [
        Ask(params={"site": OTHER}),
        Ask(filtered=lambda o, b: b["site"] == SITE and set(b["by_site"]) <= {SITE})],
    ("GET", "/v1/enrollments/sites"): "the dinas's site codes, the same for every site: no record",
    ("GET", "/v1/enrollments/{enrollment_id}"): [Ask(lambda o: f"/v1/enrollments/{o['enrollment_id']}")],
    ("GET", "/v1/enrollments"): [
        Ask(params={"site": OTHER}),
        Ask(params=lambda o: {"nik": o["nik"]}, filtered=lambda o, b: b["total"] == 0),
        Ask(params=lambda o: {"receipt": o["receipt"]}, filtered=lambda o, b: b["total"] == 0),
        Ask(filtered=lambda o, b: _own(b["items"], "pickup_site", "recording_site"))],
    ("GET", "/v1/dedup/engine"): "the engine's state: no site's records",
    ("GET", "/v1/dedup/backlog"): "counts of waiting recordings per site: no record",
    ("GET", "/v1/dedup/backlog/position/{enrollment_id}"): [
        Ask(lambda o: f"/v1/dedup/backlog/position/{o['enrollment_id']}")],
    ("POST", "/v1/print/nodes"): [Ask(body={"name": "alak-ps9", "site": OTHER})],
    ("POST", "/v1/print/nodes/{node_id}/heartbeat"): [Ask(lambda o: f"/v1/print/nodes/{o['node_id']}/heartbeat")],
    ("POST", "/v1/print/nodes/{node_id}/claim"): [
        Ask(lambda o: f"/v1/print/nodes/{o['node_id']}/claim", body={"max_jobs": 1, "wait_seconds": 0})],
    ("POST", "/v1/print/jobs/{job_id}/result"): [
        Ask(lambda o: f"/v1/print/jobs/{o['job_id']}/result",
            body={"claim_id": str(uuid.uuid4()), "outcome": "printed"})],
    ("POST", "/v1/print/nodes/{node_id}/drain"): [Ask(lambda o: f"/v1/print/nodes/{o['node_id']}/drain")],
    ("DELETE", "/v1/print/nodes/{node_id}"): [Ask(lambda o: f"/v1/print/nodes/{o['node_id']}")],
    ("GET", "/v1/print/nodes"): [
        Ask(params={"site": OTHER}),
        Ask(filtered=lambda o, b: _own(b["items"], "site"))],
    ("GET", "/v1/print/jobs"): [
        Ask(params={"site": OTHER}),
        Ask(params=lambda o: {"enrollment_id": o["enrollment_id"]}, filtered=lambda o, b: b["total"] == 0),
        Ask(filtered=lambda o, b: _own(b["items"], "site"))],
    ("POST", "/v1/print/jobs/{job_id}/issue"): [Ask(lambda o: f"/v1/print/jobs/{o['job_id']}/issue")],
    ("POST", "/v1/print/jobs/{job_id}/reprint"): [
        Ask(lambda o: f"/v1/print/jobs/{o['job_id']}/reprint", body={"reason": "foto buram"})],
    ("POST", "/v1/print/sites/{site}/stock"): [
        Ask(f"/v1/print/sites/{OTHER}/stock", body={"first_serial": "0900000001", "count": 1})],
    ("POST", "/v1/print/sites/{site}/stock/transfer"): [
        Ask(f"/v1/print/sites/{OTHER}/stock/transfer",
            body=lambda o: {"first_serial": o["serial"], "count": 1, "to_site": SITE})],
    ("PUT", "/v1/print/sites/{site}/stock/threshold"): [
        Ask(f"/v1/print/sites/{OTHER}/stock/threshold", body={"threshold": 5})],
    ("GET", "/v1/print/stock"): [
        Ask(params={"site": OTHER}),
        Ask(filtered=lambda o, b: [s["site"] for s in b] == [SITE])],
    ("GET", "/v1/print/sites/{site}/queue"): [Ask(f"/v1/print/sites/{OTHER}/queue")],
    ("GET", "/v1/print/sites/routes"): "which sites print at which: the dinas's plan, no record",
    ("POST", "/v1/certificates"): [Ask(body=lambda o: {"enrollment_id": o["enrollment_id"]})],
    ("GET", "/v1/certificates"): [
        Ask(params={"site": OTHER}),
        Ask(params=lambda o: {"nik": o["nik"]}, filtered=lambda o, b: b["total"] == 0),
        Ask(params=lambda o: {"enrollment_id": o["enrollment_id"]}, filtered=lambda o, b: b["total"] == 0),
        Ask(filtered=lambda o, b: o["number"] not in {c["number"] for c in b["items"]})],
    ("GET", "/v1/certificates/stats"): [
        Ask(params={"site": OTHER}),
        Ask(filtered=lambda o, b: b["site"] == SITE and b["issued"] == 0)],
    ("GET", "/v1/certificates/{number}/pdf"): [Ask(lambda o: f"/v1/certificates/{o['number']}/pdf")],
    ("POST", "/v1/certificates/{number}/revoke"): [
        Ask(lambda o: f"/v1/certificates/{o['number']}/revoke", body={"reason": "salah cetak"})],
    ("POST", "/v1/certificates/{number}/renew"): [Ask(lambda o: f"/v1/certificates/{o['number']}/renew")],
    ("GET", "/v1/certificates/{number}"): [Ask(lambda o: f"/v1/certificates/{o['number']}")],
    ("GET", "/console/session"): "the caller's own credential",
}


def _site_bound_may_call(route: tuple[str, str]) -> bool:
    roles = MATRIX[route]
    return roles is not PUBLIC and any(role in roles for role in SITE_BOUND)


@pytest.fixture
async def other_site(app_and_tokens) -> dict:
    """Records of Alak, made by the admin: a recording, its print job, a certificate, a print node, blanks."""
    app, tokens, _ = app_and_tokens
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers=auth(tokens["admin"])) as admin:
        seed = 4101
        rec = recording(seed, pickup_site=OTHER)
        accepted = await admin.post("/v1/enrollments", json=rec)
        assert accepted.status_code == 201, accepted.text
        enrollment_id = accepted.json()["id"]

        async def job() -> dict | None:
            items = (await admin.get("/v1/print/jobs", params={"enrollment_id": enrollment_id})).json()["items"]
            return items[0] if items else None

        async def certificate() -> dict | None:
            response = await admin.post("/v1/certificates", json={"enrollment_id": enrollment_id})
            return response.json() if response.status_code == 201 else None

        print_job = await eventually(job, what="the print job of Alak's recording")
        cert = await eventually(certificate, what="a certificate for Alak's recording")
        node = await admin.post("/v1/print/nodes", json={"name": "alak-ps1", "site": OTHER})
        stock = await admin.post(f"/v1/print/sites/{OTHER}/stock", json={"first_serial": "0800000001", "count": 2})
        assert (node.status_code, stock.status_code) == (201, 201), (node.text, stock.text)
    return {"seed": seed, "enrollment_id": enrollment_id, "nik": rec["nik"],
            "receipt": accepted.json()["receipt_number"], "job_id": print_job["id"], "number": cert["number"],
            "node_id": node.json()["id"], "serial": "0800000001"}


async def _walk(app, tokens: dict[str, str], other: dict, scope: dict[tuple[str, str], list[Ask] | str]) -> list[str]:
    """What each site-bound role admitted to a route got when asking about the other site's records, where wrong."""
    wrong = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for (method, template), asks in sorted(scope.items()):
            if isinstance(asks, str):
                continue
            for role in SITE_BOUND:
                if role not in MATRIX[(method, template)]:
                    continue
                for ask in asks:
                    body = _v(ask.body, other)
                    response = await client.request(
                        method, _v(ask.path, other) or template, params=_v(ask.params, other),
                        json=body if body is not None or method in ("GET", "DELETE") else {},
                        headers=auth(tokens[role]))
                    what = f"{role} {method} {template} {_v(ask.params, other) or ''}"
                    answer = f"({response.status_code} {response.text[:200]})"
                    if ask.filtered is not None:
                        if response.status_code != 200 or not ask.filtered(other, response.json()):
                            wrong.append(f"{what}: not limited to its site {answer}")
                    elif not (response.status_code == 404 or (
                            response.status_code == 403 and response.json().get("error") == "wrong_site")):
                        wrong.append(f"{what}: not refused {answer}")
    return wrong


async def test_a_site_bound_credential_reaches_no_record_of_another_site(app_and_tokens, other_site):
    app, tokens, _ = app_and_tokens
    reachable = {route for route in routes(app) if _site_bound_may_call(route)}
    assert reachable - set(SCOPE) == set(), "routes a site-bound credential may call, missing from SCOPE"
    assert set(SCOPE) - reachable == set(), "SCOPE names routes no site-bound credential may call"
    wrong = await _walk(app, tokens, other_site, SCOPE)
    assert not wrong, "\n".join(wrong)
