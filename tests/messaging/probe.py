"""A tiny "service" for the messaging tests: its own inbox/outbox and a table of what its
handlers did, so a test can count exactly how often each event was handled; and the helpers to
run its consumers."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from shared.messaging import Event
from shared.messaging.consumer import Consumer, run_consumer
from shared.messaging.tables import messaging_tables
from shared.runtime import Platform

MAX_ATTEMPTS = 3

probe_metadata = MetaData(schema="auth")  # an existing schema; translated away on SQLite
probe_tables = messaging_tables(probe_metadata, "probe")
handled = Table(
    "probe_handled", probe_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(120), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("key", String(120)),
    Column("seq", Integer),
)


def queue_name() -> str:
    return f"test.{uuid.uuid4().hex[:8]}"


def recorder(queue: str, fail_for: set[str] | None = None):  # type: ignore[no-untyped-def]
    async def handle(session, event: Event) -> None:  # type: ignore[no-untyped-def]
        if fail_for is not None and str(event.event_id) in fail_for:
            raise RuntimeError("this event always fails")
        await session.execute(insert(handled).values(queue=queue, event_id=str(event.event_id), key=event.key,
                                                     seq=event.data.get("seq")))

    return handle


async def handled_rows(platform: Platform, queue: str) -> list:
    async with platform.sessions() as session:
        return list((await session.execute(
            select(handled.c.event_id, handled.c.key, handled.c.seq).where(handled.c.queue == queue).order_by(handled.c.id)
        )).all())


async def rows_when(platform: Platform, queue: str, count: int) -> list | None:
    """What the handlers of `queue` did, once at least `count` events were handled (for `eventually`)."""
    rows = await handled_rows(platform, queue)
    return rows if len(rows) >= count else None


async def consuming(platform: Platform, consumer: Consumer) -> asyncio.Task:
    task = asyncio.create_task(run_consumer(platform.transport, platform.sessions, probe_tables, consumer))
    await asyncio.sleep(0.5)  # the queue is declared and bound
    return task


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
