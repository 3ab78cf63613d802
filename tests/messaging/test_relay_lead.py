"""On PostgreSQL one relay of a service publishes at a time, among all its processes: the holder
of the service's advisory lock. The others stand by and take over when the holder goes."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import asyncpg
import pytest

from shared.db import AdvisoryLock, asyncpg_dsn
from shared.messaging import new_event
from shared.messaging.amqp import AmqpTransport
from shared.messaging.envelope import EXCHANGE
from shared.messaging.outbox import OutboxRelay, add_events
from tests.messaging.probe import probe_tables, queue_name
from tests.support.api import eventually


@pytest.mark.parametrize("platform", ["amqp"], indirect=True)
async def test_one_relay_publishes_and_another_takes_over_when_it_goes(platform, amqp_url, pg_url):
    lock_name = f"outbox-probe-{uuid.uuid4().hex[:8]}"
    passes = {"a": 0, "b": 0}

    def relay(name: str) -> OutboxRelay:
        return OutboxRelay(platform.sessions, probe_tables, platform.transport, poll_seconds=0.05,
                           after_publish=lambda: passes.__setitem__(name, passes[name] + 1),
                           lead=AdvisoryLock(platform.engine.url, lock_name))

    relays = {"a": relay("a"), "b": relay("b")}
    tasks = {name: asyncio.create_task(r.run()) for name, r in relays.items()}
    connection = await aio_pika.connect(amqp_url)
    received: list[str] = []
    try:
        channel = await connection.channel()
        q = await channel.declare_queue(queue_name(), exclusive=True)
        await q.bind(EXCHANGE, routing_key="probe.lead")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.extend(str(e.event_id) for e in AmqpTransport.events_of(message.body, message.content_encoding))

        await q.consume(on_message, no_ack=True)

        async def write(n: int) -> set[str]:
            events = [new_event("probe.lead", {"seq": i}, key="k") for i in range(n)]
            async with platform.sessions() as session, session.begin():
                await add_events(session, probe_tables, events)
            return {str(e.event_id) for e in events}

        async def all_of(ids: set[str]) -> bool:
            return ids <= set(received)

        async def counted(before: int) -> bool:  # the pass's count comes after its commit
            return sum(passes.values()) > before

        first = await write(5)
        await eventually(lambda: all_of(first), what="the first events published", interval=0.05)
        await eventually(lambda: counted(0), what="the pass counted", interval=0.05)
        leader = next(name for name, n in passes.items() if n > 0)
        other = "b" if leader == "a" else "a"
        assert passes[other] == 0  # standing by: published nothing

        # The holder's connection ends (a PostgreSQL restart, an administrator): events still flow.
        admin = await asyncpg.connect(asyncpg_dsn(pg_url))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", relays[leader].lead._conn.get_server_pid())
        finally:
            await admin.close()
        second = await write(5)
        await eventually(lambda: all_of(second), what="events after the lock's connection ended", interval=0.05)

        # The holder stops (its process ends): the other takes over.
        holder = leader if await relays[leader].lead.held() else other
        tasks.pop(holder).cancel()
        before = dict(passes)
        third = await write(5)
        await eventually(lambda: all_of(third), what="events after the holder stopped", interval=0.05)
        await eventually(lambda: counted(sum(before.values())), what="the pass counted", interval=0.05)
        standby = "b" if holder == "a" else "a"
        assert passes[standby] > before[standby] and passes[holder] == before[holder]
        assert len(received) == len(set(received)) == 15  # nothing lost, nothing sent twice
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await connection.close()
