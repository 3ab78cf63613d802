"""One contract, two transports: the embedded SQLite queue and RabbitMQ behave the same.

Promises: at-least-once delivery with exactly-once handling (duplicates ignored by event id),
order per key, redelivery after a consumer process dies before acknowledging, dead-lettering of
a message that fails every attempt (and at once of one that can never be handled), and replay of
dead letters by an operator.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter
from sqlalchemy import func, select

from shared.messaging import Event, new_event
from shared.messaging.consumer import Consumer
from shared.messaging.outbox import add_event
from shared.runtime import Platform, Runner, ServiceModule
from tests.messaging.probe import (
    MAX_ATTEMPTS,
    consuming,
    handled,
    handled_rows,
    probe_tables,
    queue_name,
    recorder,
    rows_when,
    stop,
)
from tests.support.api import eventually


async def publish(platform: Platform, events: list[Event]) -> None:
    async with platform.sessions() as session, session.begin():
        await platform.transport.publish([e.outgoing() for e in events], session)


async def test_a_duplicate_delivery_is_handled_once(platform):
    queue = queue_name()
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        event = new_event("probe.ping", {"seq": 1}, key="a")
        await publish(platform, [event])
        await publish(platform, [event])  # the relay re-published after a crash, say
        second = new_event("probe.ping", {"seq": 2}, key="a")
        await publish(platform, [second])
        rows = await eventually(lambda: rows_when(platform, queue, 2), what="both events handled")
        await asyncio.sleep(1.0)  # give a duplicate every chance to be handled again
        rows = await handled_rows(platform, queue)
        assert [r.event_id for r in rows] == [str(event.event_id), str(second.event_id)]
    finally:
        await stop(task)


async def test_events_of_one_key_are_handled_in_order(platform):
    queue = queue_name()
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        events = [new_event("probe.ping", {"seq": i}, key=f"k{i % 4}") for i in range(80)]
        for start in range(0, 80, 10):  # several relay batches
            await publish(platform, events[start:start + 10])
        rows = await eventually(lambda: rows_when(platform, queue, 80), timeout=60, what="80 events handled")
        for key in ("k0", "k1", "k2", "k3"):
            seqs = [r.seq for r in rows if r.key == key]
            assert seqs == sorted(seqs) and len(seqs) == 20
    finally:
        await stop(task)


# Published together, events of one type travel in one bundle on RabbitMQ; apart, alone.
TOGETHER = pytest.mark.parametrize("together", [True, False], ids=["together", "apart"])


async def publish_both(platform: Platform, events: list[Event], together: bool) -> None:
    for group in ([events] if together else [[e] for e in events]):
        await publish(platform, group)


@TOGETHER
async def test_a_failing_message_is_dead_lettered_after_the_attempts_and_can_be_replayed(platform, together):
    queue = queue_name()
    bad = new_event("probe.ping", {"seq": 1}, key="bad")
    good = new_event("probe.ping", {"seq": 2}, key="good")
    failing = {str(bad.event_id)}
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue, failing)}))
    try:
        await publish_both(platform, [bad, good], together)
        await eventually(lambda: rows_when(platform, queue, 1), what="the good event handled past the bad one")

        async def dead() -> list | None:
            letters = await platform.transport.dead_letters(queue)
            return letters or None

        letters = await eventually(dead, timeout=60, what="the bad event dead-lettered")
        assert [d.event.event_id for d in letters] == [bad.event_id]
        assert [r.event_id for r in await handled_rows(platform, queue)] == [str(good.event_id)]

        failing.clear()  # the operator fixed the cause
        assert await platform.transport.replay_dead_letters(queue) == 1
        rows = await eventually(lambda: rows_when(platform, queue, 2), what="the replayed event handled")
        assert {r.event_id for r in rows} == {str(bad.event_id), str(good.event_id)}
        assert await platform.transport.dead_letters(queue) == []
    finally:
        await stop(task)


@TOGETHER
async def test_an_event_of_unknown_version_goes_to_the_dead_letters_at_once(platform, together):
    queue = queue_name()
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        future = new_event("probe.ping", {"seq": 1}, key="x", version=9)
        await publish_both(platform, [future, new_event("probe.ping", {"seq": 2}, key="y")], together)
        await eventually(lambda: rows_when(platform, queue, 1), what="the known event handled")

        async def dead() -> list | None:
            return await platform.transport.dead_letters(queue) or None

        letters = await eventually(dead, what="the unknown version dead-lettered")
        assert [d.event.event_id for d in letters] == [future.event_id]
    finally:
        await stop(task)


async def test_a_consumer_that_dies_before_acknowledging_gets_the_message_again(platform):
    queue = queue_name()
    settings = platform.settings
    # Declare the queue and its binding first, as a deployed consumer would have.
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    await stop(task)
    event = new_event("probe.ping", {"seq": 1}, key="crash")
    await publish(platform, [event])

    env = {**os.environ, "EKTP_DATABASE_URL": settings.database_url, "EKTP_ENV": "test",
           "EKTP_EMBEDDED_VISIBILITY_SECONDS": "1", "EKTP_MAX_DELIVERY_ATTEMPTS": str(MAX_ATTEMPTS)}
    env.pop("EKTP_BROKER_URL", None)
    if settings.broker_url:
        env["EKTP_BROKER_URL"] = settings.broker_url
    crashed = subprocess.run([sys.executable, "-m", "tests.support.crashing_consumer", queue, "probe.ping"],
                             env=env, capture_output=True, text=True, timeout=60,
                             cwd=Path(__file__).resolve().parents[2])
    assert crashed.returncode == 17, crashed.stderr[-2000:]
    assert f"got {event.event_id}" in crashed.stdout
    assert await handled_rows(platform, queue) == []  # it died before committing anything

    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        rows = await eventually(lambda: rows_when(platform, queue, 1), timeout=30, what="redelivery")
        assert [r.event_id for r in rows] == [str(event.event_id)]
    finally:
        await stop(task)


async def test_nothing_is_handled_twice_under_concurrent_consumers(platform):
    queue = queue_name()
    consumers = [await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)})) for _ in range(3)]
    try:
        events = [new_event("probe.ping", {"seq": i}, key=f"k{i}") for i in range(60)]
        await publish(platform, events)
        await publish(platform, events[:30])  # and again, half of them
        await eventually(lambda: rows_when(platform, queue, 60), timeout=60, what="60 events handled")
        await asyncio.sleep(1.0)
        async with platform.sessions() as session:
            count = (await session.execute(select(func.count()).select_from(handled).where(handled.c.queue == queue))).scalar()
        assert count == 60
    finally:
        for task in consumers:
            await stop(task)


async def test_an_event_from_the_relay_thread_reaches_a_waiting_consumer_at_once(platform):
    """The relays publish on a thread of their own, through a transport of their own; consumers on
    the request loop are told. With the embedded queue polled only every 30 s, the event still
    arrives within seconds."""
    if hasattr(platform.transport, "poll_seconds"):
        platform.transport.poll_seconds = 30.0
    queue = "dedup.intake"  # a queue of the topology (the runner refuses others); a probe handles it here
    module = ServiceModule(name="probe", router=APIRouter(), tables=probe_tables,
                           consumers=lambda ctx: [Consumer(queue, {"enrollment.submitted": recorder(queue)})])
    runner = Runner(platform, [module])
    await runner.start()
    try:
        await asyncio.sleep(1.0)  # the consumer found its queue empty and waits
        event = new_event("enrollment.submitted", {"seq": 1}, key="k")
        async with platform.sessions() as session, session.begin():
            await add_event(session, probe_tables, event)
        runner.contexts["probe"].events_written()
        rows = await eventually(lambda: handled_rows(platform, queue), timeout=10, what="event handled")
        assert [r.event_id for r in rows] == [str(event.event_id)]
    finally:
        await runner.stop()
