"""The print pool with agents as separate processes on PostgreSQL + RabbitMQ: self-registration,
load sharing, backups, kill -9 mid-print, no stock, drain (SIGTERM and from the API).

Bounds are generous (2 shared cores): tests assert outcomes, never timings.
"""

from __future__ import annotations

import json

import pytest

from tests.print.pool import (  # noqa: F401 (print_cluster is a fixture)
    add_stock, check_accounting, client, jobs_total, nodes, print_cluster, printed_by_node, publish_jobs, query,
    wait_jobs,
)
from tests.support.api import eventually
from shared.crypto import cipher

pytestmark = pytest.mark.slow

KECAMATAN = ("53.71.01", "53.71.02", "53.71.04")
DINAS = "53.71"


async def _all_printed(api, site: str, count: int, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    async def done() -> int | None:
        n = await jobs_total(api, site=site, status="PRINTED")
        return n if n >= count else None

    await eventually(done, timeout=timeout, interval=0.5, what=f"{count} cards printed at {site}")


async def test_five_new_agents_register_and_all_get_work(print_cluster):
    c = print_cluster
    async with client(c) as api:
        for i, site in enumerate((*KECAMATAN, DINAS)):
            await add_stock(api, site, f"{i + 1}00000001", 50)
            await publish_jobs(c.amqp_url, site, 12, seed=i)
        await wait_jobs(api, 48)
        for site in KECAMATAN:
            c.start_agent(site, extra=("--sim-seconds", "0.2"))
        for _ in range(2):
            c.start_agent(DINAS, role="backup", extra=("--sim-seconds", "0.2"))

        async def everyone_worked() -> list[dict] | None:
            found = await nodes(api)
            return found if len(found) == 5 and all(n["cards_printed"] > 0 for n in found) else None

        try:
            found = await eventually(everyone_worked, timeout=90, what="all five agents printed a card")
        except AssertionError:
            print(c.logs())
            raise
        assert sorted((n["site"], n["role"]) for n in found) == sorted(
            [(s, "primary") for s in KECAMATAN] + [(DINAS, "backup")] * 2)
        backups = await nodes(api, role="backup")
        assert len(backups) == 2 and {n["site"] for n in backups} == {DINAS}
        page = (await api.get("/v1/print/nodes", params={"limit": 2, "offset": 1})).json()
        assert page["total"] == 5 and len(page["items"]) == 2
        for n in found:
            assert n["status"] == "LIVE" and n["last_heartbeat"] and n["cards_per_hour"] > 0
    await check_accounting(c.pg_url)


async def test_equal_primaries_share_a_site_within_ten_percent(print_cluster):
    c = print_cluster
    site, total = "53.71.04", 450
    async with client(c) as api:
        await publish_jobs(c.amqp_url, site, total)
        await wait_jobs(api, total, site=site)
        names = [c.start_agent(site, extra=("--sim-seconds", "0.05")).name for _ in range(3)]

        async def registered() -> bool:
            return len(await nodes(api, site=site, status="LIVE")) == 3

        await eventually(registered, timeout=60, what="three agents registered")
        # Stock arrives once all three wait, so they start together.
        await add_stock(api, site, "4000000001", total)
        try:
            await _all_printed(api, site, total)
        except AssertionError:
            print(c.logs())
            raise
    counts = await printed_by_node(c.pg_url)
    print("cards per agent:", counts)
    mean = total / 3
    assert sum(counts[n] for n in names) == total
    for name in names:
        assert abs(counts[name] - mean) <= 0.10 * mean, counts
    assert (await check_accounting(c.pg_url)) == {"USED": total}


async def test_backups_stay_idle_while_primaries_keep_up_and_take_over_when_they_die(print_cluster):
    c = print_cluster
    async with client(c) as api:
        await add_stock(api, DINAS, "5000000001", 100)
        primaries = [c.start_agent(DINAS, capacity=2, extra=("--sim-seconds", "0.05")) for _ in range(2)]
        backups = [c.start_agent(DINAS, role="backup", capacity=2, extra=("--sim-seconds", "0.05")) for _ in range(2)]

        async def registered() -> bool:
            return len(await nodes(api, site=DINAS, status="LIVE")) == 4

        await eventually(registered, timeout=60, what="four agents registered")
        # The primaries keep up: work arrives in batches smaller than their free capacity (4).
        printed = 0
        try:
            for batch in range(6):
                await publish_jobs(c.amqp_url, DINAS, 2, seed=batch)
                printed += 2
                await _all_printed(api, DINAS, printed)
        except AssertionError:
            print(c.logs())
            raise
        counts = await printed_by_node(c.pg_url)
        assert all(counts[b.name] == 0 for b in backups), counts
        assert sum(counts[p.name] for p in primaries) == printed

        for p in primaries:
            p.kill()  # kill -9: no drain, no goodbye
        await publish_jobs(c.amqp_url, DINAS, 20, seed=99)
        try:
            await _all_printed(api, DINAS, printed + 20)
        except AssertionError:
            print(c.logs())
            raise
        counts = await printed_by_node(c.pg_url)
        assert sum(counts[b.name] for b in backups) == 20, counts
        lost = await nodes(api, site=DINAS, status="LOST")
        assert sorted(n["name"] for n in lost) == sorted(p.name for p in primaries)
    await check_accounting(c.pg_url)


async def test_kill_9_mid_print_loses_no_card_and_uses_no_serial_twice(print_cluster):
    c = print_cluster
    site = "53.71.02"
    async with client(c) as api:
        await add_stock(api, site, "2000000001", 10)
        slow = c.start_agent(site, capacity=2, extra=("--sim-seconds", "600"))
        await publish_jobs(c.amqp_url, site, 2)

        async def held() -> bool:
            return await jobs_total(api, site=site, status="CLAIMED") == 2

        await eventually(held, timeout=90, what="the slow agent holds both jobs")
        slow_claims = [(r["id"], r["claim_id"]) for r in await query(
            c.pg_url, "SELECT id, claim_id FROM print.print_jobs WHERE status = 'CLAIMED'")]
        fast = c.start_agent(site, capacity=2, extra=("--sim-seconds", "0.05"))
        slow.kill()  # mid-print
        try:
            await _all_printed(api, site, 2)
        except AssertionError:
            print(c.logs())
            raise
        counts = await printed_by_node(c.pg_url)
        assert counts[fast.name] == 2 and counts[slow.name] == 0
        assert (await nodes(api, site=site, status="LOST"))[0]["name"] == slow.name

        # The dead agent's card comes back late: recorded as void, never a second PRINTED card.
        job_id, claim_id = slow_claims[0]
        late = await api.post(f"/v1/print/jobs/{job_id}/result", json={"claim_id": str(claim_id), "outcome": "printed"})
        assert late.status_code == 200 and late.json()["report"] == "void", late.text
        assert late.json()["status"] == "PRINTED"

        counts_by_status = await check_accounting(c.pg_url)
        assert counts_by_status == {"USED": 2, "SPOILED": 2, "AVAILABLE": 6}
        spoiled = await query(c.pg_url, "SELECT reason FROM print.print_blank_cards WHERE status = 'SPOILED'")
        assert all("agent lost" in r["reason"] for r in spoiled)
        assert sum("late report: printed" in r["reason"] for r in spoiled) == 1

        # Stock transfer: only the AVAILABLE blanks of the range move; audited.
        moved = await api.post(f"/v1/print/sites/{site}/stock/transfer",
                               json={"first_serial": "2000000001", "count": 10, "to_site": DINAS})
        assert moved.status_code == 200, moved.text
        body = moved.json()
        assert (body["moved"], body["not_moved"]) == (6, 4)
        stock = {s["site"]: s for s in (await api.get("/v1/print/stock")).json()}
        assert stock[site]["available"] == 0 and stock[site]["used"] == 2 and stock[site]["spoiled"] == 2
        assert stock[DINAS]["available"] == 6
        again = await api.post(f"/v1/print/sites/{site}/stock/transfer",
                               json={"first_serial": "2000000001", "count": 10, "to_site": DINAS})
        assert again.status_code == 409
        audited = await query(c.pg_url, "SELECT detail FROM auth.audit_log WHERE action = 'print.stock.transfer'")
        assert len(audited) == 1


async def test_no_stock_jobs_wait_visibly_and_resume_when_stock_arrives(print_cluster):
    c = print_cluster
    site = "53.71.01"
    async with client(c) as api:
        c.start_agent(site, extra=("--sim-seconds", "0.05"))
        await publish_jobs(c.amqp_url, site, 5)
        await wait_jobs(api, 5, site=site)

        async def waiting_for_stock() -> dict | None:
            body = (await api.get(f"/v1/print/sites/{site}/queue")).json()
            return body if body["waiting"] == 5 and "blangko habis" in (body["reason"] or "") else None

        await eventually(waiting_for_stock, timeout=60, what="jobs waiting for stock")

        async def flagged() -> bool:
            jobs = (await api.get("/v1/print/jobs", params={"site": site})).json()["items"]
            return all("blangko habis" in (j["wait_reason"] or "") for j in jobs)

        await eventually(flagged, timeout=60, what="each waiting job shows the reason")

        async def gauge() -> bool:
            text = (await api.get("/metrics")).text
            return f'ektp_print_jobs_waiting{{site="{site}"}} 5.0' in text

        await eventually(gauge, timeout=30, what="the waiting-jobs gauge")

        # A site threshold of 2: three blanks arrive, printing crosses it once.
        response = await api.put(f"/v1/print/sites/{site}/stock/threshold", json={"threshold": 2})
        assert response.status_code == 200 and response.json()["threshold"] == 2
        await add_stock(api, site, "1000000001", 3)
        await _all_printed(api, site, 3)

        async def low_again() -> dict | None:
            body = (await api.get(f"/v1/print/sites/{site}/queue")).json()
            return body if body["waiting"] == 2 and "blangko habis" in (body["reason"] or "") else None

        await eventually(low_again, timeout=60, what="two jobs waiting for stock again")
        stock = (await api.get("/v1/print/stock", params={"site": site})).json()
        assert stock == [{"site": site, "available": 0, "reserved": 0, "used": 3, "spoiled": 0, "threshold": 2,
                          "low": True}]
        # Stock transferred from the dinas: the rest resume.
        await add_stock(api, DINAS, "9000000001", 10)
        moved = await api.post(f"/v1/print/sites/{DINAS}/stock/transfer",
                               json={"first_serial": "9000000001", "count": 5, "to_site": site})
        assert moved.status_code == 200 and moved.json()["moved"] == 5
        await _all_printed(api, site, 5)
        queue = (await api.get(f"/v1/print/sites/{site}/queue")).json()
        assert queue == {"site": site, "waiting": 0, "reason": None}
        stock = (await api.get("/v1/print/stock", params={"site": site})).json()[0]
        assert stock["available"] == 3 and stock["low"] is False

    rows = await query(c.pg_url, "SELECT body FROM print.print_outbox WHERE type = 'print.stock_low' ORDER BY id")
    events = [json.loads(cipher().decrypt(r["body"])) for r in rows]  # outbox bodies are encrypted at rest
    # Once per crossing: when the threshold was set on an empty site, and when printing took the
    # three blanks down to two; not again at one or zero, nor after the transfer (3 left).
    assert [e["data"]["available"] for e in events if e["data"]["site"] == site] == [0, 2]
    await check_accounting(c.pg_url)


async def _agent_holding_a_job(c, api, site: str, first_serial: str, *, jobs: int):  # type: ignore[no-untyped-def]
    """Five blanks, `jobs` jobs, one agent (5 s a card) that holds one of them."""
    await add_stock(api, site, first_serial, 5)
    agent = c.start_agent(site, extra=("--sim-seconds", "5"))
    await publish_jobs(c.amqp_url, site, jobs)

    async def claimed() -> bool:
        return await jobs_total(api, site=site, status="CLAIMED") == 1

    await eventually(claimed, timeout=60, what="the agent holds a job")
    return agent


async def test_sigterm_drains_the_card_in_flight_and_leaves_the_pool(print_cluster):
    c = print_cluster
    site = "53.71.04"
    async with client(c) as api:
        agent = await _agent_holding_a_job(c, api, site, "4100000001", jobs=1)
        assert agent.stop(timeout=60) == 0, agent.log()[-3000:]
        assert await jobs_total(api, site=site, status="PRINTED") == 1
        [node] = await nodes(api, site=site)
        assert node["status"] == "GONE" and node["cards_printed"] == 1
    assert await check_accounting(c.pg_url) == {"USED": 1, "AVAILABLE": 4}


async def test_drain_from_the_api_finishes_the_card_and_deregisters(print_cluster):
    c = print_cluster
    site = "53.71.04"
    async with client(c) as api:
        agent = await _agent_holding_a_job(c, api, site, "4200000001", jobs=2)
        [node] = await nodes(api, site=site)
        drained = await api.post(f"/v1/print/nodes/{node['id']}/drain")
        assert drained.status_code == 200 and drained.json()["status"] == "DRAINING"

        async def gone() -> dict | None:
            [n] = await nodes(api, site=site)
            return n if n["status"] == "GONE" and not agent.alive else None

        found = await eventually(gone, timeout=90, what="the drained agent deregistered and exited")
        assert found["cards_printed"] == 1
        assert await jobs_total(api, site=site, status="PRINTED") == 1
        assert await jobs_total(api, site=site, status="QUEUED") == 1  # the second job was not taken
    assert await check_accounting(c.pg_url) == {"USED": 1, "AVAILABLE": 4}
