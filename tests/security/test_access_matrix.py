"""Every route × every role: who may call what. The table below is the specification; the test
walks it over HTTP against the all-in-one (every service's routes and the console in one app) and
fails on any difference, and on any route that exists but is not in the table: a route a service
adds, documented or not (the console's, /metrics), is refused to anonymous callers unless this
table names it public."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.auth.principal import Role, revoke_credential
from shared.settings import Settings
from tests.security.conftest import SITE, routes

ANY_OPERATOR = {"dinas_operator", "kecamatan_operator"}
PRINT_SIDE = {"print_operator", "dinas_operator", "kecamatan_operator"}
EVERY_ROLE = {r.value for r in Role}
PUBLIC = None

# (method, path) -> roles admitted besides admin (None: public, no credential needed)
MATRIX: dict[tuple[str, str], set[str] | None] = {
    ("POST", "/v1/enrollments"): {"station", *ANY_OPERATOR},
    ("POST", "/v1/enrollments/batch"): {"station", *ANY_OPERATOR},
    ("GET", "/v1/enrollments/stats"): {*ANY_OPERATOR, "adjudicator", "print_operator"},
    ("GET", "/v1/enrollments/sites"): EVERY_ROLE,  # the dinas's site codes (a station checks pickup sites)
    ("GET", "/v1/enrollments/{enrollment_id}"): {*ANY_OPERATOR, "adjudicator", "print_operator"},
    ("GET", "/v1/enrollments"): {*ANY_OPERATOR, "adjudicator", "print_operator"},
    ("GET", "/v1/status/{receipt_number}"): PUBLIC,
    ("GET", "/v1/dedup/engine"): {*ANY_OPERATOR, "adjudicator"},
    ("POST", "/v1/dedup/engine/pause"): {"adjudicator"},
    ("POST", "/v1/dedup/engine/resume"): {"adjudicator"},
    ("GET", "/v1/dedup/backlog"): {*ANY_OPERATOR, "adjudicator"},
    ("GET", "/v1/dedup/backlog/position/{enrollment_id}"): {*ANY_OPERATOR, "adjudicator"},
    ("GET", "/v1/dedup/biometrics/{reference_id}"): PUBLIC,  # needs a signed, short-lived URL instead
    ("GET", "/v1/dedup/cases"): {"adjudicator"},
    ("GET", "/v1/dedup/cases/{case_id}"): {"adjudicator"},
    ("POST", "/v1/dedup/cases/{case_id}/decision"): {"adjudicator"},
    ("POST", "/v1/dedup/cases/{case_id}/correct"): {"adjudicator"},
    ("POST", "/v1/dedup/cases/next"): {"adjudicator"},
    ("POST", "/v1/dedup/cases/{case_id}/take"): {"adjudicator"},
    ("POST", "/v1/dedup/cases/{case_id}/release"): {"adjudicator"},
    ("POST", "/v1/print/nodes"): {"print_agent", "print_operator"},
    ("POST", "/v1/print/nodes/{node_id}/heartbeat"): {"print_agent", "print_operator"},
    ("POST", "/v1/print/nodes/{node_id}/claim"): {"print_agent", "print_operator"},
    ("POST", "/v1/print/jobs/{job_id}/result"): {"print_agent", "print_operator"},
    ("POST", "/v1/print/nodes/{node_id}/drain"): {"print_agent", "print_operator"},
    ("DELETE", "/v1/print/nodes/{node_id}"): {"print_agent", "print_operator"},
    ("GET", "/v1/print/nodes"): PRINT_SIDE,
    ("GET", "/v1/print/jobs"): PRINT_SIDE,
    ("POST", "/v1/print/jobs/{job_id}/issue"): PRINT_SIDE,
    ("POST", "/v1/print/jobs/{job_id}/reprint"): {"print_operator"},
    ("POST", "/v1/print/sites/{site}/stock"): PRINT_SIDE,
    ("POST", "/v1/print/sites/{site}/stock/transfer"): PRINT_SIDE,
    ("PUT", "/v1/print/sites/{site}/stock/threshold"): PRINT_SIDE,
    ("GET", "/v1/print/stock"): PRINT_SIDE,
    ("GET", "/v1/print/sites/{site}/queue"): {*PRINT_SIDE, "print_agent"},
    ("POST", "/v1/print/sites/{site}/redirect"): {"dinas_operator"},
    ("DELETE", "/v1/print/sites/{site}/redirect"): {"dinas_operator"},
    ("GET", "/v1/print/sites/routes"): PRINT_SIDE,
    ("GET", "/v1/certificates/keys"): PUBLIC,
    ("POST", "/v1/certificates"): ANY_OPERATOR,
    ("GET", "/v1/certificates"): ANY_OPERATOR,
    ("GET", "/v1/certificates/stats"): ANY_OPERATOR,
    ("GET", "/v1/certificates/{number}/pdf"): ANY_OPERATOR,
    ("POST", "/v1/certificates/{number}/revoke"): ANY_OPERATOR,
    ("POST", "/v1/certificates/{number}/renew"): ANY_OPERATOR,
    ("GET", "/v1/certificates/{number}"): ANY_OPERATOR,
    ("GET", "/v1/verify/{token}"): PUBLIC,
    # Operations (docs/operations.md: the gateway and the Ingress refuse /metrics and /readyz to the public).
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    # Each service's OpenAPI description (docs/api.md).
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    # The console (docs/console.md): page shells, whose script calls /v1 with the user's credential,
    # its static files, the public verification page's QR upload; who-am-I needs the credential.
    ("GET", "/"): PUBLIC,
    ("GET", "/console"): PUBLIC,
    ("GET", "/console/"): PUBLIC,
    ("GET", "/console/{page}"): PUBLIC,
    ("GET", "/console/{rest}"): PUBLIC,
    ("GET", "/console/static/{name}"): PUBLIC,
    ("POST", "/console/verify"): PUBLIC,
    ("GET", "/console/session"): EVERY_ROLE,
}

FILL = {"enrollment_id": str(uuid.uuid4()), "case_id": str(uuid.uuid4()), "node_id": str(uuid.uuid4()),
        "job_id": str(uuid.uuid4()), "site": SITE, "number": "470/0001/Dukcapil/2026", "token": "x.y.z",
        "receipt_number": "ABCD-EFGH-JK", "reference_id": str(uuid.uuid4()), "page": "dashboard",
        "rest": "a/b", "name": "console.css"}


def _path(template: str) -> str:
    path = template
    for name, value in FILL.items():
        path = path.replace("{" + name + "}", value)
    return path


def _admitted(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return False
    if response.status_code == 403:
        return response.json().get("error") != "wrong_role"
    return True


async def test_every_route_admits_exactly_the_roles_of_the_matrix(app_and_tokens):
    app, tokens, _ = app_and_tokens
    served = routes(app)
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= served
    assert served - set(MATRIX) == set(), "routes missing from the access matrix"
    assert set(MATRIX) - served == set(), "the matrix names routes that do not exist"

    wrong = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for (method, template), roles in sorted(MATRIX.items()):
            path = _path(template)
            body = {} if method in ("POST", "PUT") else None
            anonymous = await client.request(method, path, json=body)
            if roles is PUBLIC:
                if anonymous.status_code in (401, 403):
                    wrong.append(f"{method} {template}: public route refused anonymous ({anonymous.status_code})")
                continue
            if anonymous.status_code != 401:
                wrong.append(f"{method} {template}: anonymous got {anonymous.status_code}, not 401")
            for role, token in tokens.items():
                response = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
                expected = role == "admin" or role in roles
                if _admitted(response) != expected:
                    wrong.append(f"{method} {template}: {role} {'refused' if expected else 'admitted'} "
                                 f"({response.status_code} {response.text[:120]})")
    assert wrong == []


def test_every_service_serves_only_routes_of_the_matrix(tmp_path):
    """A service run on its own (the distributed deployment) adds no route the all-in-one lacks."""
    from services.certificate.app import create_app as certificate
    from services.dedup.app import create_app as dedup
    from services.enrollment.app import create_app as enrollment
    from services.print.app import create_app as print_

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", env="test", data_dir=tmp_path)
    for create_app in (enrollment, dedup, print_, certificate):
        assert routes(create_app(settings)) - set(MATRIX) == set(), create_app.__module__


async def test_a_revoked_credential_stops_working_at_once(app_and_tokens):
    app, tokens, ids = app_and_tokens
    headers = {"Authorization": f"Bearer {tokens['dinas_operator']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/v1/enrollments/stats", headers=headers)).status_code == 200
        async with app.state.platform.sessions() as session:
            await revoke_credential(session, ids["dinas_operator"])
            await session.commit()
        assert (await client.get("/v1/enrollments/stats", headers=headers)).status_code == 401


async def test_public_status_is_rate_limited_per_client(app_and_tokens):
    app, _, _ = app_and_tokens
    settings = app.state.platform.settings
    # A slow refill: at the default 20/s, burst + 20 requests that take over a second in all (a
    # loaded CI machine) are never limited, and the test would depend on the machine's speed.
    settings.status_rate_per_second = 0.01
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        codes = [(await client.get("/v1/status/ABCD-EFGH-JK")).status_code
                 for _ in range(settings.status_rate_burst + 20)]
    assert codes[0] == 404
    limited = [c for c in codes if c == 429]
    assert limited, "no request was limited"
    response = None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/v1/status/ABCD-EFGH-JK")
    assert response.status_code == 429 and response.json()["error"] == "rate_limited"
    assert "Retry-After" in response.headers
