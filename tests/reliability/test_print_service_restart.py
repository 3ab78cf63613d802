"""The print service goes away while print servers are printing: killed and restarted (a crash, an
upgrade of its one container), or cut off from its database. The print servers are alive and
keep printing, only they cannot reach it or it cannot record them. Nothing is spoiled or printed
twice because of it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.print import pool
from tests.print.pool import add_stock, check_accounting, client, jobs_total, nodes, publish_jobs, query
from tests.support import infra
from tests.support.api import eventually
from tests.support.processes import Cluster

pytestmark = pytest.mark.slow
print_cluster = pool.print_cluster  # the fixture: the print service alone, as its own process


async def _printing_through(c: Cluster, serials: str, outage: Callable[[], Awaitable[None]]) -> None:
    """An agent holds two cards (6 s each) when `outage` happens; both are printed once."""
    site = "53.71.02"
    async with client(c) as api:
        await add_stock(api, site, serials, 10)
        agent = c.start_agent(site, capacity=2, extra=("--sim-seconds", "6"))
        await publish_jobs(c.amqp_url, site, 2, seed=23)

        async def both_claimed() -> bool:
            return await jobs_total(api, site=site, status="CLAIMED") == 2

        await eventually(both_claimed, timeout=90, what="the agent holds both cards")
        await outage()

        async def both_printed() -> bool:
            return await jobs_total(api, site=site, status="PRINTED") == 2

        try:
            await eventually(both_printed, timeout=90, interval=0.5, what="both cards printed")
        except AssertionError:
            print(c.logs())
            raise
        assert agent.alive
        assert [n["status"] for n in await nodes(api, site=site)] == ["LIVE"]
    assert await check_accounting(c.pg_url) == {"USED": 2, "AVAILABLE": 8}
    rows = await query(c.pg_url, "SELECT attempts FROM print.print_jobs")
    assert [r["attempts"] for r in rows] == [1, 1]
    assert "VOID" not in agent.log()


async def test_print_servers_outlive_a_restart_of_the_print_service_without_a_card_printed_twice(print_cluster):
    """The print service was away longer than a lease (4 s here, 15 s by default). At its start
    the reaper declared every print server LOST, since none could renew its lease while it was
    away: each card they were printing was written off as spoiled, printed a second time elsewhere,
    and the first one, reported late, was void."""
    c = print_cluster

    async def restart() -> None:
        c.procs["print"].kill()
        await asyncio.sleep(31)  # many leases: the agent backs off to a try every 15 s meanwhile
        await asyncio.to_thread(c.start_service, "print")

    await _printing_through(c, "2300000001", restart)


async def test_print_servers_outlive_an_outage_of_the_print_database(print_cluster):
    """The print service could not reach PostgreSQL for longer than a lease (a failover, a
    restart): heartbeats failed meanwhile, and its first pass with the database back declared
    every print server LOST, with the same cards printed twice."""
    c = print_cluster
    database = make_url(c.pg_url).database

    async def outage() -> None:
        admin = await asyncpg.connect(infra.PG_ADMIN_DSN)
        try:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
            await asyncio.sleep(25)  # six leases, and past the grace the service has after its start
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        finally:
            await admin.close()

    await _printing_through(c, "2400000001", outage)
