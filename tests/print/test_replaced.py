"""A record replaced by a newer recording of the same person while a print server holds its card:
printed, the card is void (never handed over); spoiled, the job is cancelled, not queued again.
The print service in-process on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import httpx
import pytest

from tests.print.pool import add_stock, check_accounting, jobs_total, publish_jobs
from tests.support.api import eventually

SITE = "53.71.03"


async def _claimed_then_replaced(api: httpx.AsyncClient, amqp_url: str) -> tuple[str, dict]:
    """One record's card claimed by a print server, then a newer recording replaces the record."""
    await add_stock(api, SITE, "7100000001", 3)
    [old] = await publish_jobs(amqp_url, SITE, 1)
    await eventually(lambda: _total(api, "QUEUED", 1), timeout=30, what="the job queued")
    node = (await api.post("/v1/print/nodes", json={"name": "ps-oebobo-1", "site": SITE})).json()
    [job] = (await api.post(f"/v1/print/nodes/{node['id']}/claim", json={"max_jobs": 1, "wait_seconds": 5})).json()["jobs"]
    [new] = await publish_jobs(amqp_url, SITE, 1, seed=2, replacement_of=old)
    await eventually(lambda: _total(api, "QUEUED", 1, enrollment_id=new), timeout=30, what="the new card queued")
    return old, job


async def _total(api: httpx.AsyncClient, status: str, count: int, **params: str) -> bool:
    return await jobs_total(api, site=SITE, status=status, **params) == count


@pytest.mark.parametrize(("outcome", "reason", "status"), [("printed", None, "VOID"), ("spoiled", "jam", "CANCELLED")])
async def test_a_card_being_printed_when_its_record_is_replaced_is_never_handed_over(
        print_api, amqp_url, pg_url, outcome, reason, status):
    api = print_api
    old, job = await _claimed_then_replaced(api, amqp_url)

    result = await api.post(f"/v1/print/jobs/{job['job_id']}/result",
                            json={"claim_id": job["claim_id"], "outcome": outcome, "reason": reason})
    assert result.status_code == 200 and result.json()["report"] == outcome, result.text
    [after] = (await api.get("/v1/print/jobs", params={"enrollment_id": old})).json()["items"]
    assert after["status"] == status
    refused = await api.post(f"/v1/print/jobs/{job['job_id']}/issue")
    assert refused.status_code == 409 and refused.json()["error"] == "not_printed"
    # Only the new card waits; the old record's is not queued again.
    assert await _total(api, "QUEUED", 1) and await _total(api, "QUEUED", 0, enrollment_id=old)
    await check_accounting(pg_url)
