"""RabbitMQ transport (aio-pika): topic exchange, quorum queues, dead-lettering, confirms.

aio-pika's defaults are the opposite of what we need, so everything is explicit: durable
exchange and queues, persistent messages, publisher confirms, manual acknowledgement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from sqlalchemy.ext.asyncio import AsyncSession

from shared import crypto
from shared.messaging.envelope import DEAD_LETTER_EXCHANGE, EXCHANGE, SEALED, Event, Outgoing, PoisonMessage
from shared.messaging.topology import QUEUES
from shared.messaging.transport import DeadLetter, Deliver, to_the_end

log = logging.getLogger(__name__)


class AmqpTransport:
    name = "amqp"

    def __init__(self, url: str, *, connection_name: str, prefetch: int = 32, max_attempts: int = 5,
                 lanes: int = 8) -> None:
        self.url = url
        self.connection_name = connection_name
        self.prefetch = prefetch
        self.max_attempts = max_attempts
        self.lanes = lanes
        self._connection: AbstractRobustConnection | None = None
        self._publish_lock = asyncio.Lock()

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": self.connection_name}
        )
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        self._dlx = await self._channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
        for queue, bindings in QUEUES.items():
            await self._declare(self._channel, queue, bindings)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def ready(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    # topology --------------------------------------------------------------------------------
    async def _declare(self, channel: aio_pika.abc.AbstractChannel, queue: str, bindings: Sequence[str]):  # type: ignore[no-untyped-def]
        dlq = await channel.declare_queue(f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(DEAD_LETTER_EXCHANGE, routing_key=queue)
        q = await channel.declare_queue(
            queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": queue,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-delivery-limit": self.max_attempts,
            },
        )
        for pattern in bindings:
            await q.bind(EXCHANGE, routing_key=pattern)
        return q

    # publishing ------------------------------------------------------------------------------
    async def publish(self, messages: Sequence[Outgoing], session: AsyncSession | None = None) -> None:
        if self._connection is None:
            raise RuntimeError("transport not started")
        async with self._publish_lock:
            # Publish all, then wait for every confirm; any nack raises and nothing is marked sent.
            await asyncio.gather(*(self._exchange.publish(self.message(m), routing_key=m.type) for m in messages))

    @staticmethod
    def message(out: Outgoing) -> aio_pika.Message:
        """The AMQP message of an event: its body is the envelope's JSON sealed with the data key,
        as the outbox stored it (the broker holds no personal data in clear, on disk or on the
        wire); the correlation id travels in the envelope, where consumers read it."""
        return aio_pika.Message(
            crypto.sealed_of(out.sealed),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(out.event_id),
            content_type="application/json",
            content_encoding=SEALED,
            type=out.type,
            headers={"key": out.key or ""},
        )

    def published_elsewhere(self) -> None:
        """Nothing to do: the broker delivers to consumers as soon as it has a message."""

    # consuming -------------------------------------------------------------------------------
    async def consume(self, queue: str, bindings: Sequence[str], deliver: Deliver) -> None:
        assert self._connection is not None, "transport not started"
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        q = await self._declare(channel, queue, bindings)
        lanes: list[asyncio.Queue[AbstractIncomingMessage]] = [asyncio.Queue() for _ in range(self.lanes)]

        async def lane_worker(lane: asyncio.Queue[AbstractIncomingMessage]) -> None:
            while True:
                message = await lane.get()
                # Stopping: the delivery under way ends (handled, acknowledged); waiting ones go back.
                await to_the_end(self._handle(message, deliver))

        workers = [asyncio.create_task(lane_worker(lane)) for lane in lanes]
        try:
            async with q.iterator() as iterator:
                async for message in iterator:
                    # One lane per ordering key keeps events of one key in order.
                    key = (message.headers or {}).get("key") or message.message_id or ""
                    lanes[hash(key) % len(lanes)].put_nowait(message)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if not channel.is_closed:
                await channel.close()

    async def _handle(self, message: AbstractIncomingMessage, deliver: Deliver) -> None:
        try:
            event = Event.from_sealed(message.body, message.content_encoding)
            await deliver(event, None)
        except PoisonMessage as exc:
            log.error("dead-lettering poison message %s: %s", message.message_id, exc)
            await message.reject(requeue=False)
        except asyncio.CancelledError:
            raise
        except Exception:
            count = int((message.headers or {}).get("x-delivery-count", 0) or 0)
            log.warning("handling %s failed (delivery %d); requeued", message.message_id, count + 1, exc_info=True)
            await asyncio.sleep(min(0.2 * 2**count, 5.0))
            await message.nack(requeue=True)
        else:
            await message.ack()

    # operators -------------------------------------------------------------------------------
    async def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        assert self._connection is not None
        channel = await self._connection.channel()
        try:
            dlq = await channel.get_queue(f"{queue}.dlq", ensure=True)
            seen: list[AbstractIncomingMessage] = []
            while len(seen) < limit:
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                seen.append(message)
            return [DeadLetter.of(m.message_id, m.body, lambda body, m=m: Event.from_sealed(body, m.content_encoding))
                    for m in seen]
        finally:
            await channel.close()  # unacked messages go back to the dead-letter queue

    async def replay_dead_letters(self, queue: str) -> int:
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=True)
        moved = 0
        try:
            dlq = await channel.get_queue(f"{queue}.dlq", ensure=True)
            while True:
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                await channel.default_exchange.publish(
                    aio_pika.Message(message.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                     message_id=message.message_id, content_type=message.content_type,
                                     content_encoding=message.content_encoding, type=message.type,
                                     headers={"key": (message.headers or {}).get("key", "")}),
                    routing_key=queue,
                )
                await message.ack()
                moved += 1
        finally:
            await channel.close()
        return moved
