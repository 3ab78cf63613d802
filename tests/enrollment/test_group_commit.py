"""Group commit of single recordings, over real HTTP against `ektp serve enrollment` (uvicorn):
concurrent POSTs share transactions, and a request waiting for its group does not hold the
connection the writer needs: the pool here has one connection, and 48 requests come at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import running_cluster
from tests.enrollment.service_app import credentials  # noqa: F401 (fixture)
from tests.support.api import recording

SITE = "53.71.04"


async def test_more_concurrent_recordings_than_database_connections_are_all_written(
        pg_url: str, amqp_url: str, token: str, tmp_path: Path, credentials):  # noqa: F811
    # A station's credential (not the bootstrap token): checking it takes a database connection.
    _, station = await credentials.create("station", SITE)
    recs = [recording(3100 + i, pickup_site=SITE) for i in range(48)]
    with running_cluster(pg_url, amqp_url, token, tmp_path, services=("enrollment",), EKTP_DB_POOL_SIZE="1") as c:
        limits = httpx.Limits(max_connections=48)
        async with httpx.AsyncClient(base_url=c.url("enrollment"), limits=limits, timeout=20,
                                     headers={"Authorization": f"Bearer {station}"}) as client:
            answers = await asyncio.gather(*(client.post("/v1/enrollments", json=r) for r in recs))
            again = await asyncio.gather(*(client.post("/v1/enrollments", json=r) for r in recs[:8]))
            total = (await client.get("/v1/enrollments", params={"site": SITE, "limit": 1},
                                      headers={"Authorization": f"Bearer {token}"})).json()["total"]

    assert [a.status_code for a in answers] == [201] * 48, [a.text for a in answers if a.status_code != 201][:2]
    assert len({a.json()["receipt_number"] for a in answers}) == 48
    assert [a.status_code for a in again] == [200] * 8
    assert [a.json()["receipt_number"] for a in again] == [a.json()["receipt_number"] for a in answers[:8]]
    assert total == 48
