"""The licence-expiry scenario on the cluster (PostgreSQL + RabbitMQ): de-duplication is paused,
1,000 recordings arrive, nothing is decided, the backlog shows all 1,000 (per recording site, and
each one's place in the queue); on resume all 1,000 are decided — none lost, none twice, oldest
first."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx
import pytest

from shared.db import asyncpg_dsn
from tests.dedup.support import Recorder
from tests.support.api import auth, eventually

pytestmark = pytest.mark.slow

N = 1000
CHUNK = 250


async def _submit(enrollment: httpx.AsyncClient, recs: list[dict]) -> list[str]:
    """Through the batch endpoint when there is one, else concurrent single posts; returns ids."""
    ids: list[str] = []
    probe = await enrollment.post("/v1/enrollments/batch", content=b"", headers={"Content-Type": "application/x-ndjson"})
    if probe.status_code in (404, 405):
        sem = asyncio.Semaphore(8)

        async def one(rec: dict) -> str:
            async with sem:
                answer = await enrollment.post("/v1/enrollments", json=rec,
                                               headers={"Idempotency-Key": rec["station_recording_id"]})
                assert answer.status_code == 201, answer.text
                return answer.json()["id"]

        return list(await asyncio.gather(*(one(r) for r in recs)))
    for start in range(0, len(recs), CHUNK):
        body = "".join(json.dumps(r) + "\n" for r in recs[start:start + CHUNK]).encode()
        answer = await enrollment.post("/v1/enrollments/batch", content=body,
                                       headers={"Content-Type": "application/x-ndjson"}, timeout=300)
        assert answer.status_code == 200, answer.text[:2000]
        result = answer.json()
        assert result["created"] == len(recs[start:start + CHUNK]), [i for i in result["items"] if i["status"] != 201][:3]
        ids += [item["enrollment"]["id"] for item in result["items"]]
    return ids


async def test_pause_1000_arrive_resume_all_decided_once_in_order(cluster, token, pg_url):
    h = auth(token)
    enrollment = httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=h, timeout=60)
    dedup = httpx.AsyncClient(base_url=cluster.url("dedup"), headers=h, timeout=60)
    db = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        paused = await dedup.post("/v1/dedup/engine/pause", json={"reason": "lisensi penunggalan habis / licence expired"})
        assert paused.status_code == 200 and paused.json()["paused"] and not paused.json()["automatic"]

        r = Recorder(seed=1000)
        recs = [r.record()[0] for _ in range(N)]
        ids = await _submit(enrollment, recs)
        assert len(set(ids)) == N

        async def all_waiting() -> dict | None:
            body = (await dedup.get("/v1/dedup/backlog")).json()
            return body if body["waiting"] == N else None

        backlog = await eventually(all_waiting, timeout=300, interval=1, what="1,000 recordings in the backlog")
        # Paused: nothing decided, the reason shown, every waiting record counted by recording site.
        assert backlog["paused"] and "licence expired" in backlog["reason"]
        assert backlog["outcomes"] == {"waiting": N}
        expected_sites: dict[str, int] = {}
        for rec in recs:
            expected_sites[rec["recording"]["site"]] = expected_sites.get(rec["recording"]["site"], 0) + 1
        assert backlog["per_site"] == expected_sites
        assert {s["site"]: s["waiting"] for s in backlog["sites"]} == expected_sites
        assert backlog["oldest_wait_seconds"] >= 0

        # Each record's place in the queue follows the backlog's order.
        order = [str(row["enrollment_id"]) for row in
                 await db.fetch("SELECT enrollment_id FROM dedup.dedup_requests ORDER BY seq")]
        assert sorted(order) == sorted(ids)
        for place in (1, 2, 500, N):
            seen = (await dedup.get(f"/v1/dedup/backlog/position/{order[place - 1]}")).json()
            assert (seen["status"], seen["position"], seen["waiting"], seen["paused"]) == ("WAITING", place, N, True)

        resumed = await dedup.post("/v1/dedup/engine/resume")
        assert resumed.status_code == 200 and not resumed.json()["paused"]

        async def drained() -> dict | None:
            body = (await dedup.get("/v1/dedup/backlog")).json()
            return body if body["waiting"] == 0 and "adjudication" not in body["outcomes"] else None

        backlog = await eventually(drained, timeout=900, interval=2, what="the backlog drained")
        assert backlog["outcomes"] == {"unique": N}

        rows = await db.fetch("SELECT seq, enrollment_id, status, outcome, decided_at FROM dedup.dedup_requests ORDER BY seq")
        assert len(rows) == N and {str(row["enrollment_id"]) for row in rows} == set(ids)
        assert all((row["status"], row["outcome"]) == ("DECIDED", "unique") for row in rows)
        decided = [row["decided_at"] for row in rows]
        assert decided == sorted(decided), "decisions did not follow the backlog's order"
        events = await db.fetch("SELECT key, count(*) AS n FROM dedup.dedup_outbox WHERE type = 'dedup.unique' GROUP BY key")
        assert len(events) == N and all(e["n"] == 1 for e in events) and {e["key"] for e in events} == set(ids)

        async def all_relayed() -> bool:
            unsent = "SELECT count(*) FROM dedup.dedup_outbox WHERE type = 'dedup.unique' AND sent_at IS NULL"
            return await db.fetchval(unsent) == 0

        await eventually(all_relayed, timeout=120, what="every dedup.unique relayed")

        # Every resident's record moved on from RECEIVED, once.
        async def all_print_ready() -> dict | None:
            stats = (await enrollment.get("/v1/enrollments/stats")).json()
            done = sum(n for s, n in stats["by_status"].items() if s in ("PRINT_READY", "SENT_FOR_PRINTING"))
            return stats if done == N else None

        stats = await eventually(all_print_ready, timeout=300, interval=2, what="1,000 records print-ready")
        assert stats["total"] == N
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        await db.close()
        await asyncio.gather(enrollment.aclose(), dedup.aclose())
