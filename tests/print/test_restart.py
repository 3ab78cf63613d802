"""A print agent restarted (kill -9, then started again: a pod's container restarted, `ektp up`
started again) takes over the node of its previous process at once: the cards that process held go
back to the queue as a lost node's do, and no card waits for the lease (or, after an `ektp up`
restart, for the print service's restart grace of ~30 s). A second agent of the same name running
at the same time takes over nothing. Agents and the print service as processes on PostgreSQL and
RabbitMQ, the lease long enough (120 s) that only a takeover can free a node."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection
from pathlib import Path

import httpx
import pytest

from tests.conftest import DATA_KEY
from tests.print.pool import add_stock, check_accounting, client, jobs_total, nodes, publish_jobs, query
from tests.support.api import auth, eventually
from tests.support.processes import Proc, ektp, free_port, wait_http

pytestmark = pytest.mark.slow

SITE = "53.71.02"
NAME = "ps-maulafa-1"


@pytest.mark.parametrize("print_cluster_lease", ["120"])
async def test_an_agent_killed_and_started_again_takes_its_cards_back_at_once(print_cluster):
    c = print_cluster
    async with client(c) as api:
        await add_stock(api, SITE, "4900000001", 10)
        first = c.start_agent(SITE, capacity=2, name=NAME, extra=("--sim-seconds", "600"))
        await publish_jobs(c.amqp_url, SITE, 2)
        await eventually(lambda: _claimed(api, 2), timeout=90, what="the first process holds both cards")
        [old] = await nodes(api, site=SITE)

        # The same name at the same time (two agents on one host, one --name): it joins as a node of
        # its own and takes nothing over.
        twin = c.start_agent(SITE, name=NAME, extra=("--sim-seconds", "0.05"))
        await eventually(lambda: _live(api, 2), timeout=90, what="the twin registered")
        assert await jobs_total(api, site=SITE, status="CLAIMED") == 2
        assert "another print agent named 'ps-maulafa-1' runs with" in twin.log()
        assert twin.stop() == 0

        first.kill()  # mid-print
        again = c.start_agent(SITE, name=NAME, extra=("--sim-seconds", "0.05"))

        async def printed() -> bool:
            return await jobs_total(api, site=SITE, status="PRINTED") == 2

        try:
            await eventually(printed, timeout=90, what="both cards printed by the restarted agent")
        except AssertionError:
            print(c.logs())
            raise
        statuses = {n["id"]: n["status"] for n in await nodes(api, site=SITE)}
        assert statuses.pop(old["id"]) == "LOST" and sorted(statuses.values()) == ["GONE", "LIVE"], statuses
        [new_id] = [i for i, s in statuses.items() if s == "LIVE"]
        jobs = await query(c.pg_url, "SELECT node_id::text FROM print.print_jobs WHERE status = 'PRINTED'")
        assert [r["node_id"] for r in jobs] == [new_id] * 2
        spoiled = await query(c.pg_url, "SELECT reason FROM print.print_blank_cards WHERE status = 'SPOILED'")
        assert [r["reason"][:15] for r in spoiled] == ["agent restarted"] * 2, spoiled
        assert f"took over node {old['id']} of this print server's previous process: its 2 claimed" in again.log()
    assert await check_accounting(c.pg_url) == {"USED": 2, "SPOILED": 2, "AVAILABLE": 6}


async def _live(api: httpx.AsyncClient, count: int) -> bool:
    return len(await nodes(api, site=SITE, status="LIVE")) == count


async def _claimed(api: httpx.AsyncClient, count: int) -> bool:
    return await jobs_total(api, site=SITE, status="CLAIMED") == count


async def test_ektp_up_killed_and_started_again_takes_its_print_nodes_over_at_once(token: str, tmp_path: Path) -> None:
    """`ektp up` killed (a power cut) and started again on its data: its five agents take over the
    five nodes of the last run as they register, while the print service's restart grace (lease
    300 s here) still holds the reaper back. Before, the pool showed ten nodes, five of them dead."""
    data = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    env.update({"EKTP_BOOTSTRAP_TOKEN": token, "EKTP_PRINT_LEASE_SECONDS": "300", "EKTP_DATA_KEY": DATA_KEY})

    def up(run: int) -> tuple[Proc, httpx.AsyncClient]:
        port = free_port()
        proc = Proc(f"ektp-up-{run}", ektp("up", "--port", str(port), "--data-dir", str(data), "--driver", "sim"),
                    env, tmp_path / f"up-{run}.log").start()
        wait_http(f"http://127.0.0.1:{port}/readyz", proc=proc, timeout=90)
        return proc, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=auth(token), timeout=30)

    async def five_live(api: httpx.AsyncClient, but: Collection[str] = ()) -> list[dict] | None:
        found = [n for n in (await api.get("/v1/print/nodes", params={"status": "LIVE"})).json()["items"]
                 if n["id"] not in but]
        return found if len(found) == 5 else None

    first, api = up(1)
    try:
        async with api:
            before = await eventually(lambda: five_live(api), timeout=90, what="the first run's five agents")
    finally:
        first.kill()
    second, api = up(2)
    try:
        async with api:
            after = await eventually(lambda: five_live(api, but={n["id"] for n in before}), timeout=90,
                                     what="the second run's five agents")
            statuses = {n["id"]: n["status"] for n in (await api.get("/v1/print/nodes")).json()["items"]}
    finally:
        assert second.stop(timeout=60) == 0, second.log()[-4000:]
    assert {statuses[n["id"]] for n in before} == {"LOST"}, statuses
    assert sorted(n["name"] for n in after) == sorted(n["name"] for n in before)
    assert second.log().count("took over node ") == 5, second.log()[-4000:]
    with sqlite3.connect(data / "ektp.db") as db:
        restarted = db.execute("SELECT count(*) FROM audit_log WHERE action = 'print.node.restarted'").fetchone()
    assert restarted == (5,)
