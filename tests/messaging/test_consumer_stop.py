"""Stopping a process while a consumer is in the middle of a delivery, on either transport: the
delivery runs to its end (handled, acknowledged), then the consumer stops; nothing is logged as an
error, and nothing is left to be handled again after a restart."""

from __future__ import annotations

import asyncio
import logging

import aio_pika
import pytest
from sqlalchemy import func, insert, select

from shared.messaging import new_event
from shared.messaging.consumer import Consumer, run_consumer
from shared.messaging.embedded import messages_table
from shared.runtime import Platform
from tests.messaging.probe import handled, probe_tables, queue_name


async def waiting_messages(platform: Platform, queue: str) -> int:
    if platform.transport.name == "embedded":
        async with platform.sessions() as session:
            return (await session.execute(select(func.count()).select_from(messages_table)
                                          .where(messages_table.c.queue == queue))).scalar_one()
    connection = await aio_pika.connect(platform.settings.broker_url)
    async with connection:
        channel = await connection.channel()
        return (await channel.declare_queue(queue, passive=True)).declaration_result.message_count


async def test_a_delivery_under_way_finishes_before_the_consumer_stops(platform, caplog):
    queue = queue_name()
    started = asyncio.Event()

    async def slow(session, event) -> None:  # type: ignore[no-untyped-def]
        await session.execute(insert(handled).values(queue=queue, event_id=str(event.event_id)))
        started.set()
        await asyncio.sleep(1.0)  # the process is told to stop now

    consumer = Consumer(queue, {"probe.slow": slow})
    task = asyncio.create_task(run_consumer(platform.transport, platform.sessions, probe_tables, consumer))
    await asyncio.sleep(0.5)  # the queue is declared and bound
    async with platform.sessions() as session, session.begin():
        await platform.transport.publish([new_event("probe.slow", {}, key="k").outgoing()], session)
    await asyncio.wait_for(started.wait(), timeout=10)
    caplog.set_level(logging.ERROR)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async with platform.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(handled).where(handled.c.queue == queue)))
        assert count.scalar_one() == 1, "the handler's transaction was committed"
    assert await waiting_messages(platform, queue) == 0, "the delivery was acknowledged"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
