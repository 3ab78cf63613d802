"""While dedup is paused, a resident's status says why nothing moves, and where they stand.

Enrollment and dedup run as separate processes on PostgreSQL + RabbitMQ; the pause travels as
the event dedup.engine_paused to enrollment's timeline queue.
"""

from __future__ import annotations

import httpx
import pytest

from tests.enrollment.service_app import services_only
from tests.support.api import auth, eventually, recording, wait_status

SITE = "53.71.04"
REASON = "Lisensi ABIS habis / ABIS licence expired"


@pytest.fixture
def enrollment_and_dedup(pg_url, amqp_url, token, tmp_path):
    c = services_only(pg_url, amqp_url, token, tmp_path, "enrollment", "dedup")
    yield c
    c.stop()


@pytest.mark.slow
async def test_status_shows_backlog_position_and_the_pause_reason(enrollment_and_dedup, token):
    c = enrollment_and_dedup
    async with httpx.AsyncClient(base_url=c.url("enrollment"), headers=auth(token), timeout=60) as enrollment, \
            httpx.AsyncClient(base_url=c.url("dedup"), headers=auth(token), timeout=60) as dedup:
        paused = await dedup.post("/v1/dedup/engine/pause", json={"reason": REASON})
        assert paused.status_code == 200, paused.text
        answer = (await enrollment.post("/v1/enrollments/batch",
                                        json=[recording(6000 + i, pickup_site=SITE) for i in range(3)])).json()
        receipts = [i["receipt_number"] for i in answer["items"]]

        async def paused_on_status() -> dict | None:
            body = (await enrollment.get(f"/v1/status/{receipts[2]}")).json()
            return body if body.get("dedup_paused") else None

        try:
            status = await eventually(paused_on_status, timeout=60, what="the pause reason on the status")
        except AssertionError:
            print(c.logs())
            raise
        assert status["status"] == "RECEIVED" and status["waiting_position"] == 3
        assert status["dedup_paused"]["reason"] == REASON and status["dedup_paused"]["since"]
        assert REASON in status["dedup_paused"]["text_id"] and REASON in status["dedup_paused"]["text_en"]
        waiting = status["timeline"][-1]
        assert waiting["step"] == "WAITING_FOR_DEDUP"
        assert waiting["detail"] == {"position": 3, "reason": REASON}
        assert "antrean ke-3" in waiting["text_id"] and "position 3" in waiting["text_en"]
        first = (await enrollment.get(f"/v1/status/{receipts[0]}")).json()
        assert first["waiting_position"] == 1
        stats = (await enrollment.get("/v1/enrollments/stats")).json()
        assert stats["dedup_paused"]["reason"] == REASON and stats["by_status"] == {"RECEIVED": 3}

        assert (await dedup.post("/v1/dedup/engine/resume")).status_code == 200
        decided = await wait_status(enrollment, receipts[2], "PRINT_READY", timeout=120)
        assert decided["dedup_paused"] is None and decided["waiting_position"] is None
        assert "WAITING_FOR_DEDUP" not in [s["step"] for s in decided["timeline"]]
        assert (await enrollment.get("/v1/enrollments/stats")).json()["dedup_paused"] is None
