"""Request/response over RabbitMQ to an ABIS: publish to ``abis.request`` with ``reply_to`` and
``correlation_id``; wait for the answer on this process's own ``abis.response.<instance>``.

A request not answered within the timeout is sent again (with a new requestId: a late answer to
the old one is ignored) up to `retries` times, then `AbisUnavailable` is raised. Requests carry a
message TTL equal to the timeout, so an ABIS that comes back does not work through stale ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from services.dedup.abis import protocol

log = logging.getLogger(__name__)

NOT_ANSWERING = "ABIS tidak menjawab / not answering"


class AbisUnavailable(Exception):
    """The ABIS did not answer (timeouts after retries, or its broker is unreachable)."""

    def __init__(self, reason: str = NOT_ANSWERING) -> None:
        super().__init__(reason)
        self.reason = reason


def declare_request_queue(channel: aio_pika.abc.AbstractChannel, name: str):  # type: ignore[no-untyped-def]
    """Both sides declare it the same way: durable, classic (per-message TTL)."""
    return channel.declare_queue(name, durable=True)


class AbisClient:
    def __init__(self, url: str, *, request_queue: str = "abis.request", instance: str | None = None,
                 timeout: float = 10.0, retries: int = 1) -> None:
        self.url = url
        self.request_queue = request_queue
        self.response_queue = f"abis.response.{instance or uuid.uuid4().hex[:12]}"
        self.timeout = timeout
        self.retries = retries
        self._connection: AbstractRobustConnection | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    async def _ensure(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            return
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed:
                return
            try:
                connection = await asyncio.wait_for(aio_pika.connect_robust(
                    self.url, client_properties={"connection_name": "ektp-dedup-abis"}), self.timeout)
                channel = await connection.channel()
                await declare_request_queue(channel, self.request_queue)
                responses = await channel.declare_queue(self.response_queue, durable=False, exclusive=True,
                                                        auto_delete=True)
                await responses.consume(self._on_response, no_ack=True)
            except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPError) as exc:
                raise AbisUnavailable(f"{NOT_ANSWERING}: broker {exc.__class__.__name__}") from exc
            self._connection, self._channel = connection, channel

    async def _on_response(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.pop(message.correlation_id or "", None)
        if future is None or future.done():
            return  # a late answer to a request we gave up on
        try:
            future.set_result(json.loads(message.body))
        except ValueError:
            future.set_result(protocol.response({}, ok=False, failure=protocol.FailureReason.UNEXPECTED_ERROR))

    async def call(self, operation: str, *, retries: int | None = None, **fields: Any) -> dict[str, Any]:
        """Send one request and return the ABIS's answer (which may be a failure)."""
        await self._ensure()
        attempts = 1 + (self.retries if retries is None else retries)
        for attempt in range(attempts):
            body = protocol.request(operation, **fields)
            request_id = body["requestId"]
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._waiting[request_id] = future
            try:
                await self._channel.default_exchange.publish(
                    aio_pika.Message(json.dumps(body).encode(), content_type="application/json",
                                     correlation_id=request_id, reply_to=self.response_queue, type=operation,
                                     delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                     expiration=self.timeout),
                    routing_key=self.request_queue,
                )
                return await asyncio.wait_for(future, self.timeout)
            except asyncio.TimeoutError:
                log.warning("ABIS %s timed out (attempt %d of %d)", operation, attempt + 1, attempts)
            except aio_pika.exceptions.AMQPError as exc:
                log.warning("ABIS broker error on %s: %s", operation, exc)
                await asyncio.sleep(min(self.timeout, 1.0))
            finally:
                self._waiting.pop(request_id, None)
        raise AbisUnavailable()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
