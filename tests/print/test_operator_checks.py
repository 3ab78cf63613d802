"""What the print service refuses an operator, and what it tells the rest of the system: redirects
and blank-card stock only for the dinas's sites (53.71 and its kecamatan 53.71.01-06), no
redirect loops. The print service in-process on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.print.app import create_app
from shared.settings import Settings
from tests.print.pool import query

DINAS = "53.71"


@pytest.fixture
async def print_api(pg_url: str, amqp_url: str, token: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The print service in-process; the client carries the bootstrap admin token."""
    settings = Settings(database_url=pg_url, broker_url=amqp_url, env="test", bootstrap_token=token,
                        data_dir=tmp_path, log_json=False, print_lease_seconds=1.0)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            yield client


def _refused(response: httpx.Response, status: int, error: str) -> dict[str, dict]:
    """The refusal's field problems by field, after checking its status and error code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    for problem in body["fields"]:
        assert problem["message_id"] and problem["message_en"]
    return {p["field"]: p for p in body["fields"]}


async def _redirect(api: httpx.AsyncClient, site: str, to_site: str) -> httpx.Response:
    return await api.post(f"/v1/print/sites/{site}/redirect", json={"to_site": to_site, "reason": "server rusak"})


async def _routes(api: httpx.AsyncClient) -> dict[str, str]:
    return {r["site"]: r["print_site"] for r in (await api.get("/v1/print/sites/routes")).json()}


async def test_a_redirect_names_sites_of_the_dinas_only(print_api, pg_url):
    api = print_api
    # 53.71.07 is no kecamatan of Kota Kupang; 53.01 (Kabupaten Kupang) is another dinas.
    for site, to_site, fields in [("53.71.04", "53.71.07", {"to_site"}), ("53.71.07", DINAS, {"path.site"}),
                                  ("53.01", DINAS, {"path.site"}), ("53.99.01", "53.01", {"path.site", "to_site"})]:
        problems = _refused(await _redirect(api, site, to_site), 422, "invalid_input")
        assert set(problems) == fields, (site, to_site, problems)
        for problem in problems.values():
            assert problem["code"] == "site.unknown"
            assert "53.71.04" in problem["message_en"]  # it names the sites that are known
    assert await _routes(api) == {}
    assert await query(pg_url, "SELECT 1 FROM auth.audit_log WHERE action = 'print.site.redirect'") == []

    ok = await _redirect(api, "53.71.04", DINAS)
    assert ok.status_code == 200, ok.text
    assert await _routes(api) == {"53.71.04": DINAS}


async def test_a_redirect_loop_is_refused_however_long(print_api):
    api = print_api
    for site, to_site in [("53.71.04", DINAS), ("53.71.01", "53.71.02"), ("53.71.02", "53.71.03")]:
        assert (await _redirect(api, site, to_site)).status_code == 200
    before = await _routes(api)

    back = _refused(await _redirect(api, DINAS, "53.71.04"), 409, "redirect_loop")
    assert back["to_site"]["code"] == "redirect.loop"
    assert "53.71 → 53.71.04 → 53.71" in back["to_site"]["message_en"]
    round_three = _refused(await _redirect(api, "53.71.03", "53.71.01"), 409, "redirect_loop")
    assert "53.71.03 → 53.71.01 → 53.71.02 → 53.71.03" in round_three["to_site"]["message_id"]
    assert await _routes(api) == before

    # Not loops: a redirect moved to another site, and one onto a site that is redirected elsewhere.
    assert (await _redirect(api, "53.71.04", "53.71.05")).status_code == 200
    assert (await _redirect(api, DINAS, "53.71.04")).status_code == 200
    assert (await _redirect(api, "53.71.06", "53.71.01")).status_code == 200
    assert await _routes(api) == {**before, "53.71.04": "53.71.05", DINAS: "53.71.04", "53.71.06": "53.71.01"}


async def test_blank_stock_is_received_for_sites_of_the_dinas_only(print_api, pg_url):
    api = print_api
    for site in ("53.71.07", "53.01"):
        refused = await api.post(f"/v1/print/sites/{site}/stock", json={"first_serial": "7000000001", "count": 5})
        problems = _refused(refused, 422, "invalid_input")
        assert list(problems) == ["path.site"] and problems["path.site"]["code"] == "site.unknown"
        threshold = await api.put(f"/v1/print/sites/{site}/stock/threshold", json={"threshold": 3})
        assert list(_refused(threshold, 422, "invalid_input")) == ["path.site"]
    received = await api.post(f"/v1/print/sites/{DINAS}/stock", json={"first_serial": "7000000001", "count": 5})
    assert received.status_code == 201, received.text
    moved = await api.post(f"/v1/print/sites/{DINAS}/stock/transfer",
                           json={"first_serial": "7000000001", "count": 2, "to_site": "53.71.07"})
    assert list(_refused(moved, 422, "invalid_input")) == ["to_site"]

    stock = (await api.get("/v1/print/stock")).json()
    assert [(s["site"], s["available"]) for s in stock] == [(DINAS, 5)]
    assert [r["site"] for r in await query(pg_url, "SELECT site FROM print.print_site_stock")] == [DINAS]
    audited = await query(pg_url, "SELECT action FROM auth.audit_log WHERE action LIKE 'print.stock.%'")
    assert [r["action"] for r in audited] == ["print.stock.receive"]
