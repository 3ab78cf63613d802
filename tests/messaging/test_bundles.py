"""On RabbitMQ the relay bundles consecutive events of one type into one message; consumers still
handle, retry and dead-letter each event on its own (the transport contract, run through bundles
and lone messages alike, is in test_transport_contract.py)."""

from __future__ import annotations

import asyncio
import os

import aio_pika
import pytest

from shared.crypto import DataCipher
from shared.messaging import new_event
from shared.messaging.amqp import BUNDLE_MAX_BYTES, BUNDLE_MAX_EVENTS, AmqpTransport
from shared.messaging.consumer import Consumer
from shared.messaging.envelope import EXCHANGE, SEALED, SEALED_BUNDLE, PoisonMessage, pack_bundle, unpack_bundle
from tests.messaging.probe import consuming, handled_rows, queue_name, recorder, rows_when, stop
from tests.support.api import eventually


def test_runs_of_one_type_become_bundles_in_order(data_key):
    events = ([new_event("probe.a", {"i": i}, key=f"k{i}") for i in range(3)]
              + [new_event("probe.b", {"i": 3})]
              + [new_event("probe.a", {"i": i}) for i in range(4, 4 + BUNDLE_MAX_EVENTS + 1)])
    messages = AmqpTransport.messages([e.outgoing() for e in events])
    assert [(m.type, m.content_encoding) for m in messages] == [
        ("probe.a", SEALED_BUNDLE), ("probe.b", SEALED), ("probe.a", SEALED_BUNDLE), ("probe.a", SEALED)]
    carried = [AmqpTransport.events_of(m.body, m.content_encoding) for m in messages]
    assert [len(c) for c in carried] == [3, 1, BUNDLE_MAX_EVENTS, 1]
    assert [e for c in carried for e in c] == events
    assert messages[1].headers == {"key": ""} and messages[1].message_id == str(events[3].event_id)


def test_a_bundle_stays_under_its_byte_limit(data_key):
    big = "x" * (BUNDLE_MAX_BYTES // 3)
    events = [new_event("probe.a", {"blob": big, "i": i}) for i in range(7)]
    messages = AmqpTransport.messages([e.outgoing() for e in events])
    assert all(len(m.body) <= BUNDLE_MAX_BYTES for m in messages)
    assert [e for m in messages for e in AmqpTransport.events_of(m.body, m.content_encoding)] == events
    assert len(messages) == 4  # two a message, and the last alone


@pytest.mark.parametrize("body", [b"\x00\x00\x00\x09short", b"\x00\x00", b""])
def test_broken_framing_is_poison(body):
    with pytest.raises(PoisonMessage):
        unpack_bundle(body)


def test_framing_round_trips():
    parts = [b"", b"a", os.urandom(70_000)]
    assert unpack_bundle(pack_bundle(parts)) == parts


async def _publish_raw(amqp_url: str, routing_key: str, message: aio_pika.Message, exchange: str = EXCHANGE) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange)
        await target.publish(message, routing_key=routing_key)


@pytest.mark.parametrize("platform", ["amqp"], indirect=True)
async def test_an_event_of_a_bundle_that_does_not_open_is_dead_lettered_alone(platform, amqp_url):
    queue = queue_name()
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        good = [new_event("probe.ping", {"seq": i}, key=f"g{i}") for i in range(3)]
        forged = DataCipher(os.urandom(32)).seal(new_event("probe.ping", {"seq": 9}).to_json())
        parts = [AmqpTransport.message(e.outgoing()).body for e in good]
        body = pack_bundle([parts[0], forged, parts[1], parts[2]])
        await _publish_raw(amqp_url, "probe.ping", aio_pika.Message(
            body, content_encoding=SEALED_BUNDLE, message_id="b1", type="probe.ping",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT))

        async def dead() -> list | None:
            return await platform.transport.dead_letters(queue) or None

        letters = await eventually(dead, what="the forged event dead-lettered")
        assert [(d.message_id, d.event) for d in letters] == [("b1#1", None)]
        rows = await eventually(lambda: rows_when(platform, queue, 3), what="the three genuine events handled")
        assert sorted(r.seq for r in rows) == [0, 1, 2]
        await asyncio.sleep(0.5)
        assert len(await handled_rows(platform, queue)) == 3
    finally:
        await stop(task)


@pytest.mark.parametrize("platform", ["amqp"], indirect=True)
async def test_a_bundle_with_broken_framing_is_dead_lettered_whole(platform, amqp_url):
    queue = queue_name()
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        await _publish_raw(amqp_url, "probe.ping", aio_pika.Message(
            b"\x00\x00\x01\x00cut", content_encoding=SEALED_BUNDLE, message_id="cut", type="probe.ping",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT))

        async def dead() -> list | None:
            return await platform.transport.dead_letters(queue) or None

        letters = await eventually(dead, what="the broken bundle dead-lettered")
        assert [(d.message_id, d.event) for d in letters] == [("cut", None)]
    finally:
        await stop(task)


@pytest.mark.parametrize("platform", ["amqp"], indirect=True)
async def test_a_bundle_the_broker_dead_lettered_is_listed_and_replayed_event_by_event(platform, amqp_url):
    """The broker dead-letters a bundle whole when consumers die at every attempt: the operator
    sees its events one by one, and a replay hands them all back."""
    queue = queue_name()
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    await stop(task)  # the queue and its dead-letter queue exist; nobody consumes
    events = [new_event("probe.ping", {"seq": i}, key="k") for i in range(4)]
    [bundle] = AmqpTransport.messages([e.outgoing() for e in events])
    await _publish_raw(amqp_url, f"{queue}.dlq", bundle, exchange="")

    async def dead() -> list | None:
        return await platform.transport.dead_letters(queue) or None

    letters = await eventually(dead, what="the dead-lettered bundle listed")
    assert [d.event for d in letters] == events
    assert await platform.transport.replay_dead_letters(queue) == 4
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        rows = await eventually(lambda: rows_when(platform, queue, 4), what="the replayed events handled")
        assert [r.seq for r in rows] == [0, 1, 2, 3]  # one key: in order
        assert await platform.transport.dead_letters(queue) == []
    finally:
        await stop(task)
