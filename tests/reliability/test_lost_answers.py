"""Answers lost on the way: the service did the work and committed it, the client never heard of
it (a kecamatan link that drops, a gateway that times out, the service killed between its commit
and its answer). Nothing may be stuck or lost because of it, and nothing done twice."""

from __future__ import annotations

import pytest

from tests.print import pool
from tests.print.pool import add_stock, check_accounting, client, jobs_total, publish_jobs, query
from tests.support.api import eventually
from tests.support.flaky_proxy import FlakyProxy

pytestmark = pytest.mark.slow
print_cluster = pool.print_cluster  # the fixture: the print service alone, as its own process


async def test_a_print_server_that_never_heard_its_claim_answer_still_prints_those_cards_once(print_cluster):
    """The answer to a claim that handed out jobs is lost. The jobs stayed CLAIMED by a node that
    is alive and heartbeating, so no lease expiry ever gave them back: the cards were never
    printed, their blanks stayed RESERVED, and the jobs filled the agent's capacity, so the
    printer took no work at all until it was restarted. The agent now says which claims it holds
    when it asks for work, and gets back those it never heard of."""
    c = print_cluster
    site = "53.71.02"
    async with client(c) as api:
        await add_stock(api, site, "2200000001", 10)
        with FlakyProxy(c.ports["print"], cut_probability=0, cut_answer_with=b'"jobs":[{') as link:
            agent = c.start_agent(site, capacity=2, extra=("--sim-seconds", "0.05"),
                                  service_url=f"http://127.0.0.1:{link.port}")
            await publish_jobs(c.amqp_url, site, 3, seed=22)

            async def all_printed() -> int | None:
                n = await jobs_total(api, site=site, status="PRINTED")
                return n if n == 3 else None

            try:
                await eventually(all_printed, timeout=60, interval=0.5, what="the 3 cards printed")
            except AssertionError:
                print(c.logs())
                raise
            assert link.cut_answer_with is None, "no claim answer was cut"
            assert agent.alive
            agent.stop()  # it drains and leaves through the link, which then closes with nothing open
        # Each card once, on the blank its claim reserved; no blank wasted for an answer lost.
        assert await check_accounting(c.pg_url) == {"USED": 3, "AVAILABLE": 7}
        rows = await query(c.pg_url, "SELECT attempts FROM print.print_jobs")
        assert sorted(r["attempts"] for r in rows) == [1, 1, 1]
