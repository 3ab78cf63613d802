"""RabbitMQ transport (aio-pika): topic exchange, quorum queues, dead-lettering, confirms.

aio-pika's defaults are the opposite of what we need, so everything is explicit: durable
exchange and queues, persistent messages, publisher confirms, manual acknowledgement.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from sqlalchemy.ext.asyncio import AsyncSession

from shared import crypto
from shared.messaging.envelope import (
    DEAD_LETTER_EXCHANGE,
    EXCHANGE,
    SEALED,
    SEALED_BUNDLE,
    Event,
    Outgoing,
    PoisonMessage,
    pack_bundle,
    unpack_bundle,
)
from shared.messaging.topology import QUEUES
from shared.messaging.transport import DeadLetter, Deliver, to_the_end

log = logging.getLogger(__name__)

# A bundle (one broker message for consecutive events of one type) holds at most this many events
# and bytes: RabbitMQ's cost is mostly per message and per queue it goes to, so a relay pass of
# tens of recordings costs the broker and the relay a few messages; small enough that a consumer's
# prefetch of bundles stays a few tens of MB.
BUNDLE_MAX_EVENTS = 100
BUNDLE_MAX_BYTES = 1024 * 1024


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
            await asyncio.gather(*(self._exchange.publish(message, routing_key=message.type)
                                   for message in self.messages(messages)))

    @classmethod
    def messages(cls, outgoing: Sequence[Outgoing]) -> list[aio_pika.Message]:
        """The broker messages of events in order: consecutive events of one type in bundles of at
        most BUNDLE_MAX_EVENTS / BUNDLE_MAX_BYTES (a busy relay pass: one message for tens of
        recordings), a lone event in a message of its own."""
        runs: list[list[tuple[Outgoing, bytes]]] = []
        size = 0
        for event in outgoing:
            sealed = crypto.sealed_of(event.sealed)
            framed = 4 + len(sealed)
            run = runs[-1] if runs else None
            if (run is None or event.type != run[0][0].type or len(run) == BUNDLE_MAX_EVENTS
                    or size + framed > BUNDLE_MAX_BYTES):
                run, size = [], 0
                runs.append(run)
            run.append((event, sealed))
            size += framed
        return [cls._message(*run[0]) if len(run) == 1 else cls._bundle(run) for run in runs]

    @classmethod
    def message(cls, out: Outgoing) -> aio_pika.Message:
        """The AMQP message of one event: its body is the envelope's JSON sealed with the data key,
        as the outbox stored it (the broker holds no personal data in clear, on disk or on the
        wire); the correlation id travels in the envelope, where consumers read it."""
        return cls._message(out, crypto.sealed_of(out.sealed))

    @staticmethod
    def _message(event: Outgoing | Event, sealed: bytes) -> aio_pika.Message:
        return sealed_message(sealed, str(event.event_id), event.type, event.key)

    @staticmethod
    def _bundle(run: list[tuple[Outgoing, bytes]]) -> aio_pika.Message:
        first = run[0][0]
        return aio_pika.Message(
            pack_bundle([sealed for _, sealed in run]),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(first.event_id),  # the bundle's name in logs; each event has its own id inside
            content_type="application/octet-stream",
            content_encoding=SEALED_BUNDLE,
            type=first.type,
            headers={"events": len(run)},
        )

    @staticmethod
    def events_of(body: bytes, encoding: str | None) -> list[Event]:
        """The events a broker message carries (one, or a bundle's); PoisonMessage if one does not open."""
        if encoding == SEALED_BUNDLE:
            return [Event.from_sealed(part, SEALED) for part in unpack_bundle(body)]
        return [Event.from_sealed(body, encoding)]

    def published_elsewhere(self) -> None:
        """Nothing to do: the broker delivers to consumers as soon as it has a message."""

    # consuming -------------------------------------------------------------------------------
    async def consume(self, queue: str, bindings: Sequence[str], deliver: Deliver) -> None:
        assert self._connection is not None, "transport not started"
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        q = await self._declare(channel, queue, bindings)
        lanes: list[asyncio.Queue[Callable[[], Awaitable[None]]]] = [asyncio.Queue() for _ in range(self.lanes)]

        def lane(key: str) -> asyncio.Queue[Callable[[], Awaitable[None]]]:
            # One lane per ordering key keeps events of one key in order (bundled or not).
            return lanes[hash(key) % len(lanes)]

        async def lane_worker(work: asyncio.Queue[Callable[[], Awaitable[None]]]) -> None:
            while True:
                handle = await work.get()
                try:
                    # Stopping: the delivery under way ends (handled, acknowledged); waiting ones go back.
                    await to_the_end(handle())
                except asyncio.CancelledError:
                    raise
                except Exception:  # an ack on a channel that closed: the broker delivers it again
                    log.warning("settling a delivery of %s failed", queue, exc_info=True)

        workers = [asyncio.create_task(lane_worker(work)) for work in lanes]
        try:
            async with q.iterator() as iterator:
                async for message in iterator:
                    if message.content_encoding == SEALED_BUNDLE:
                        _Bundle(self, queue, message, deliver).dispatch(lane)
                    else:
                        key = (message.headers or {}).get("key") or message.message_id or ""
                        lane(str(key)).put_nowait(functools.partial(self._handle, message, deliver))
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
            count = delivery_count(message)
            log.warning("handling %s failed (delivery %d); requeued", message.message_id, count + 1, exc_info=True)
            await asyncio.sleep(backoff(count))
            await message.nack(requeue=True)
        else:
            await message.ack()

    async def dead_letter(self, queue: str, message: aio_pika.Message) -> None:
        """Puts one event of a bundle on `queue`'s dead letters (confirmed), as the broker does a message."""
        await self._dlx.publish(message, routing_key=queue)

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
            return [letter for m in seen for letter in _letters(m)][:limit]
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
                moved += len(_letters(message))
        finally:
            await channel.close()
        return moved


def sealed_message(sealed: bytes, message_id: str, type: str | None, key: str | None) -> aio_pika.Message:
    """A message of one sealed envelope (an event, or an event of a bundle that does not open)."""
    return aio_pika.Message(
        sealed,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        content_type="application/json",
        content_encoding=SEALED,
        type=type,
        headers={"key": key or ""},
    )


def part_name(message_id: str | None, index: int) -> str:
    """How an event of a bundle that does not open is named (it has no id of its own to show)."""
    return f"{message_id}#{index}"


def delivery_count(message: AbstractIncomingMessage) -> int:
    """How many times the broker delivered the message before (quorum queues count returns)."""
    return int((message.headers or {}).get("x-delivery-count", 0) or 0)


def backoff(count: int) -> float:
    """Seconds to wait before giving a failed delivery back, growing with its attempts."""
    return min(0.2 * 2**count, 5.0)


def _letters(message: AbstractIncomingMessage) -> list[DeadLetter]:
    """What an operator sees of a dead-lettered message: its event, or each event of a bundle the
    broker dead-lettered whole (a consumer that died at every attempt)."""
    if message.content_encoding != SEALED_BUNDLE:
        return [DeadLetter.of(message.message_id, message.body,
                              lambda body: Event.from_sealed(body, message.content_encoding))]
    try:
        parts = unpack_bundle(message.body)
    except PoisonMessage:
        return [DeadLetter.of(message.message_id, message.body, lambda body: Event.from_sealed(body, None))]
    return [DeadLetter.of(part_name(message.message_id, i), part, lambda body: Event.from_sealed(body, SEALED))
            for i, part in enumerate(parts)]


class _Bundle:
    """A delivered bundle of events. Each event goes to its key's lane and is handled on its own
    (its own transaction and inbox row, as a lone message's). The bundle is acknowledged when every
    event is handled or dead-lettered; if one failed and attempts remain, it is given back whole
    after the back-off (the handled ones are then duplicates, dropped by the inbox). An event that
    can never be handled (it does not open, or its type or version is unknown), and one that failed
    at the last attempt, is put on the dead letters alone: its neighbours are not."""

    def __init__(self, transport: AmqpTransport, queue: str, message: AbstractIncomingMessage,
                 deliver: Deliver) -> None:
        self.transport = transport
        self.queue = queue
        self.message = message
        self.deliver = deliver
        self.attempt = delivery_count(message)
        self.last_attempt = self.attempt + 1 >= transport.max_attempts
        self.pending = 0
        self.failed = False
        self.dead: list[aio_pika.Message] = []

    def dispatch(self, lane: Callable[[str], asyncio.Queue[Callable[[], Awaitable[None]]]]) -> None:
        try:
            parts = unpack_bundle(self.message.body)
        except PoisonMessage as exc:
            lane("").put_nowait(functools.partial(self._reject, exc))
            return
        self.pending = len(parts)
        for i, part in enumerate(parts):
            try:
                event = Event.from_sealed(part, SEALED)
            except PoisonMessage as exc:
                name = part_name(self.message.message_id, i)
                lane(name).put_nowait(functools.partial(self._poison, name, part, exc))
                continue
            lane(event.key or str(event.event_id)).put_nowait(functools.partial(self._handle, event, part))

    async def _reject(self, exc: PoisonMessage) -> None:
        log.error("dead-lettering poison bundle %s: %s", self.message.message_id, exc)
        await self.message.reject(requeue=False)

    async def _poison(self, name: str, part: bytes, exc: PoisonMessage) -> None:
        log.error("dead-lettering poison event %s: %s", name, exc)
        self.dead.append(sealed_message(part, name, self.message.type, None))
        await self._done()

    async def _handle(self, event: Event, part: bytes) -> None:
        try:
            await self.deliver(event, None)
        except PoisonMessage as exc:
            log.error("dead-lettering poison event %s: %s", event.event_id, exc)
            self.dead.append(AmqpTransport._message(event, part))
        except asyncio.CancelledError:
            raise
        except Exception:
            if self.last_attempt:
                log.error("handling %s failed at the last attempt (%d); dead-lettered", event.event_id,
                          self.attempt + 1, exc_info=True)
                self.dead.append(AmqpTransport._message(event, part))
            else:
                log.warning("handling %s failed (delivery %d); its bundle is requeued", event.event_id,
                            self.attempt + 1, exc_info=True)
                self.failed = True
                await asyncio.sleep(backoff(self.attempt))
        await self._done()

    async def _done(self) -> None:
        self.pending -= 1
        if self.pending:
            return
        if self.failed:
            # Dead ones are put on the dead letters by the attempt that settles the bundle, once.
            await self.message.nack(requeue=True)
            return
        try:
            for message in self.dead:
                await self.transport.dead_letter(self.queue, message)
        except Exception:
            log.warning("dead-lettering events of bundle %s failed; requeued", self.message.message_id,
                        exc_info=True)
            await self.message.nack(requeue=True)
            return
        await self.message.ack()
