"""Helpers for the print-pool tests and the dispatch benchmark: the print service alone as a
separate process on PostgreSQL + RabbitMQ, jobs fed to it as the events it consumes, and the
print database read back to check the accounting.

Jobs come in as `enrollment.submitted` + `dedup.unique` events published to the service's own
queue (`print.records`): the print service creates them exactly as in production, while the other
services (not started here) spend no CPU matching hundreds of residents.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest

from services.enrollment.service import place_names
from shared.db import asyncpg_dsn
from shared.messaging import new_event
from shared.messaging.amqp import AmqpTransport
from tests.conftest import running_cluster
from tests.support.api import auth, eventually, recording
from tests.support.processes import Cluster


@pytest.fixture
def print_cluster(pg_url: str, amqp_url: str, token: str, tmp_path: Path,
                  print_cluster_lease: str | None) -> Iterator[Cluster]:
    """Only the print service, as its own uvicorn process; agents via `start_agent`. Its lease:
    `print_cluster_lease` (tests/conftest.py)."""
    lease = {"EKTP_PRINT_LEASE_SECONDS": print_cluster_lease} if print_cluster_lease else {}
    with running_cluster(pg_url, amqp_url, token, tmp_path, ("print",), EKTP_PRINT_QUEUE_METRICS_SECONDS="0.5",
                         **lease) as c:
        c.pg_url = pg_url  # type: ignore[attr-defined]
        c.amqp_url = amqp_url  # type: ignore[attr-defined]
        yield c


def card_event_data(site: str, seed: int) -> tuple[dict, dict]:
    """(record, biometrics) as enrollment publishes them, for a resident who collects at `site`."""
    rec = recording(seed)
    rec["pickup_site"] = site  # the dinas (53.71) is a pickup site too
    return event_parts(rec)


def event_parts(recording_: dict) -> tuple[dict, dict]:
    """(record, biometrics) of a recording as enrollment publishes them (index fingers only)."""
    rec = dict(recording_)
    bio = rec.pop("biometrics")
    rec.pop("station_recording_id")
    rec["place_names"] = place_names(rec["address"]["village_code"])
    fingers = [f for f in bio["fingerprints"] if f["position"] in ("RIGHT_INDEX", "LEFT_INDEX")]
    return rec, {"fingerprints": fingers, "photo_jpeg": bio["photo_jpeg"], "signature_png": bio["signature_png"]}


async def publish_jobs(amqp_url: str, site: str, count: int, *, seed: int = 1,
                       replacement_of: str | None = None) -> list[str]:
    """Publishes the two events that make a print job, `count` times (one resident's data each
    time under a new enrollment id; dedup's decision names `replacement_of` if given); returns
    the enrollment ids."""
    record, biometrics = card_event_data(site, seed)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        for enrollment_id in ids:
            for event in (
                new_event("enrollment.submitted", {"enrollment_id": enrollment_id, "receipt_number": "R-" + enrollment_id[:8],
                                                   "record": record, "biometrics": biometrics}, key=enrollment_id),
                new_event("dedup.unique", {"enrollment_id": enrollment_id, "site": site,
                                           "replacement_of": replacement_of}, key=enrollment_id),
            ):
                await channel.default_exchange.publish(AmqpTransport.message(event.outgoing()),
                                                       routing_key="print.records")
    finally:
        await connection.close()
    return ids


def client(cluster: Cluster) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=cluster.url("print"), headers=auth(cluster.token), timeout=30)


async def jobs_total(api: httpx.AsyncClient, **params: str) -> int:
    response = await api.get("/v1/print/jobs", params={**params, "limit": 1})
    response.raise_for_status()
    return int(response.json()["total"])


async def wait_jobs(api: httpx.AsyncClient, count: int, *, timeout: float = 120, **params: str) -> None:
    async def enough() -> int | None:
        n = await jobs_total(api, **params)
        return n if n >= count else None

    await eventually(enough, timeout=timeout, interval=0.5, what=f"{count} jobs {params}")


async def add_stock(api: httpx.AsyncClient, site: str, first_serial: str, count: int) -> dict:
    response = await api.post(f"/v1/print/sites/{site}/stock", json={"first_serial": first_serial, "count": count})
    assert response.status_code == 201, response.text
    return response.json()


async def nodes(api: httpx.AsyncClient, **params: str) -> list[dict]:
    response = await api.get("/v1/print/nodes", params={"limit": 200, **params})
    response.raise_for_status()
    return response.json()["items"]


async def query(pg_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def check_accounting(pg_url: str) -> dict[str, int]:
    """The invariants of the print database; returns counts of blanks by status.

    Every job printed has exactly one USED blank carrying its claim; no serial is on two jobs;
    every SPOILED blank has a reason; RESERVED blanks belong to CLAIMED jobs only."""
    # One snapshot of both tables: agents may still be reporting while this reads.
    conn = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            jobs = await conn.fetch("SELECT id, status, claim_id, serial FROM print.print_jobs")
            blanks = await conn.fetch("SELECT serial, status, job_id, claim_id, reason FROM print.print_blank_cards")
    finally:
        await conn.close()
    used_by_job: dict[uuid.UUID, list[str]] = {}
    for b in blanks:
        if b["status"] == "USED":
            used_by_job.setdefault(b["job_id"], []).append(b["serial"])
        if b["status"] == "SPOILED":
            assert b["reason"], f"spoiled blank {b['serial']} without a reason"
    for j in jobs:
        if j["status"] in ("PRINTED", "ISSUED", "VOID"):
            assert len(used_by_job.get(j["id"], [])) == 1, f"job {j['id']} has blanks {used_by_job.get(j['id'])}"
            assert used_by_job[j["id"]] == [j["serial"]]
        else:
            assert j["id"] not in used_by_job, f"job {j['id']} ({j['status']}) has a used blank"
    printed_serials = [j["serial"] for j in jobs if j["serial"] is not None]
    assert len(printed_serials) == len(set(printed_serials)), "a serial is on two jobs"
    claimed = {j["claim_id"] for j in jobs if j["status"] == "CLAIMED"}
    for b in blanks:
        if b["status"] == "RESERVED":
            assert b["claim_id"] in claimed, f"blank {b['serial']} reserved for no live claim"
    counts: dict[str, int] = {}
    for b in blanks:
        counts[b["status"]] = counts.get(b["status"], 0) + 1
    return counts


async def printed_by_node(pg_url: str) -> dict[str, int]:
    """Cards each node printed, by node name."""
    rows = await query(pg_url, """
        SELECT n.name, count(j.id) AS printed FROM print.print_nodes n
        LEFT JOIN print.print_jobs j ON j.node_id = n.id AND j.status = 'PRINTED'
        GROUP BY n.name""")
    return {r["name"]: int(r["printed"]) for r in rows}
