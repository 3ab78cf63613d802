"""Events on RabbitMQ are sealed with the installation's data key: the broker (its disk, its
management UI, the wire) holds no personal data in clear, and a message nobody sealed with the key
(forged, altered, unsealed) is never handled: it goes to the dead letters at once."""

from __future__ import annotations

import asyncio
import os

import aio_pika
import pytest

from shared.crypto import DataCipher
from shared.messaging import new_event
from shared.messaging.amqp import AmqpTransport
from shared.messaging.consumer import Consumer
from shared.messaging.envelope import EXCHANGE, SEALED, Event, PoisonMessage
from shared.messaging.outbox import OutboxRelay, add_event
from tests.messaging.probe import consuming, handled_rows, probe_tables, queue_name, recorder, stop
from tests.support.api import eventually


def test_a_sealed_body_opens_only_with_the_key_and_unaltered():
    event = new_event("probe.ping", {"nik": "5371041201900001"}, key="k")
    sealed = AmqpTransport.message(event.outgoing()).body
    assert b"5371041201900001" not in sealed
    assert Event.from_sealed(sealed, SEALED) == event
    other = DataCipher(os.urandom(32))
    for body, encoding, reason in [
        (event.to_json(), None, "not sealed"),
        (sealed, None, "not sealed"),
        (sealed[:-1] + bytes([sealed[-1] ^ 1]), SEALED, "does not open"),
        (other.seal(event.to_json()), SEALED, "does not open"),
        (b"short", SEALED, "does not open"),
    ]:
        with pytest.raises(PoisonMessage, match=reason):
            Event.from_sealed(body, encoding)


@pytest.mark.parametrize("platform", ["amqp"], indirect=True)
async def test_the_relay_puts_sealed_events_on_the_broker(platform, amqp_url):
    """What a broker operator would see with `rabbitmqctl` or the management UI: no name, no NIK."""
    queue = queue_name()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, exclusive=True)
        await q.bind(EXCHANGE, routing_key="probe.sealed")
        event = new_event("probe.sealed", {"name": "SITI NURHALIZA", "nik": "5371045101900002"}, key="a")
        async with platform.sessions() as session, session.begin():
            await add_event(session, probe_tables, event)
        assert await OutboxRelay(platform.sessions, probe_tables, platform.transport).relay_once() >= 1

        async def got() -> aio_pika.abc.AbstractIncomingMessage | None:
            return await q.get(no_ack=True, fail=False)

        message = await eventually(got, what="the relayed message")
    assert message.content_encoding == SEALED
    assert b"SITI" not in message.body and b"5371045101900002" not in message.body
    assert Event.from_sealed(message.body, message.content_encoding) == event


@pytest.mark.parametrize("platform", ["amqp"], indirect=True)
async def test_a_forged_message_is_dead_lettered_and_not_handled(platform, amqp_url):
    queue = queue_name()
    task = await consuming(platform, Consumer(queue, {"probe.ping": recorder(queue)}))
    try:
        forged = new_event("probe.ping", {"seq": 1}, key="f")
        genuine = new_event("probe.ping", {"seq": 2}, key="g")
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(EXCHANGE)
            sealed_elsewhere = DataCipher(os.urandom(32)).seal(forged.to_json())
            for body, encoding in ((sealed_elsewhere, SEALED), (forged.to_json(), None)):
                await exchange.publish(aio_pika.Message(body, content_encoding=encoding, message_id="forged",
                                                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                       routing_key="probe.ping")
            await exchange.publish(AmqpTransport.message(genuine.outgoing()), routing_key="probe.ping")

        async def dead() -> list | None:
            letters = await platform.transport.dead_letters(queue)
            return letters if len(letters) == 2 else None

        letters = await eventually(dead, what="both forged messages dead-lettered")
        assert [(d.message_id, d.event) for d in letters] == [("forged", None), ("forged", None)]
        await asyncio.sleep(0.5)
        assert [r.seq for r in await handled_rows(platform, queue)] == [2]
    finally:
        await stop(task)
