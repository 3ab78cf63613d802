"""Stopping a process while an embedded-queue consumer is in the middle of a delivery: the delivery
runs to its end (handled, acknowledged), then the consumer stops; nothing is logged as an error."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from shared.messaging import new_event
from shared.messaging.consumer import Consumer, run_consumer
from shared.messaging.embedded import messages_table
from shared.runtime import Platform
from shared.settings import Settings
from tests.messaging.probe import handled, probe_metadata, probe_tables


async def test_a_delivery_under_way_finishes_before_the_consumer_stops(tmp_path: Path, caplog):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'stop.db'}", env="test")
    platform = await Platform.open(settings, name="stop-test")
    try:
        async with platform.engine.begin() as conn:
            await conn.run_sync(probe_metadata.create_all)
        started = asyncio.Event()

        async def slow(session, event) -> None:  # type: ignore[no-untyped-def]
            await session.execute(insert(handled).values(queue="dedup.intake", event_id=str(event.event_id)))
            started.set()
            await asyncio.sleep(1.0)  # the process is told to stop now

        event = new_event("enrollment.submitted", {}, key="k")
        async with platform.sessions() as session, session.begin():
            await platform.transport.publish([event.outgoing()], session)
        consumer = Consumer("dedup.intake", {"enrollment.submitted": slow})
        task = asyncio.create_task(run_consumer(platform.transport, platform.sessions, probe_tables, consumer))
        await asyncio.wait_for(started.wait(), timeout=10)
        caplog.set_level(logging.ERROR)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async with platform.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(handled))).scalar_one() == 1
            left = (await session.execute(select(func.count()).select_from(messages_table)
                                          .where(messages_table.c.queue == "dedup.intake"))).scalar_one()
        assert left == 0, "the delivery was acknowledged"
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        await platform.close()
