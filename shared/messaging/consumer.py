"""Idempotent consumers: each event id is handled at most once per consumer.

A consumer is a named queue with handlers per event type. The handler runs in one database
transaction together with the inbox row (consumer, event_id); a redelivered event finds its row
and is acknowledged without running again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import conflict_insert
from shared.logs import correlation_id
from shared.messaging.envelope import Event, PoisonMessage
from shared.messaging.tables import MessagingTables
from shared.messaging.transport import Transport
from shared.metrics import EVENTS_CONSUMED

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Event], Awaitable[None]]


@dataclass
class Consumer:
    """`queue` is the durable queue's name (``<service>.<purpose>``); handlers map event type →
    (supported versions, handler)."""

    queue: str
    handlers: dict[str, Handler]
    versions: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def bindings(self) -> list[str]:
        return sorted(self.handlers)

    def handler_for(self, event: Event) -> Handler:
        handler = self.handlers.get(event.type)
        if handler is None:
            raise PoisonMessage(f"{self.queue} has no handler for {event.type}")
        if event.version not in self.versions.get(event.type, frozenset({1})):
            raise PoisonMessage(f"{self.queue} does not know {event.type} version {event.version}")
        return handler


async def _claim_inbox(session: AsyncSession, tables: MessagingTables, consumer: str, event: Event) -> bool:
    stmt = conflict_insert(session, tables.inbox).values(consumer=consumer, event_id=event.event_id).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return bool(result.rowcount)


def make_deliver(sessions: async_sessionmaker[AsyncSession], tables: MessagingTables, consumer: Consumer,
                 after_commit: Callable[[], None] | None = None):  # type: ignore[no-untyped-def]
    async def deliver(event: Event, ack_in_tx: Callable[[AsyncSession], Awaitable[None]] | None) -> None:
        handler = consumer.handler_for(event)
        token = correlation_id.set(event.correlation_id)
        try:
            async with sessions() as session, session.begin():
                fresh = await _claim_inbox(session, tables, consumer.queue, event)
                if fresh:
                    await handler(session, event)
                if ack_in_tx is not None:
                    await ack_in_tx(session)
            EVENTS_CONSUMED.labels(consumer.queue, "handled" if fresh else "duplicate").inc()
            if fresh and after_commit is not None:
                after_commit()
        finally:
            correlation_id.reset(token)

    return deliver


async def run_consumer(transport: Transport, sessions: async_sessionmaker[AsyncSession], tables: MessagingTables,
                       consumer: Consumer, after_commit: Callable[[], None] | None = None) -> None:
    deliver = make_deliver(sessions, tables, consumer, after_commit)
    while True:
        try:
            await transport.consume(consumer.queue, consumer.bindings, deliver)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("consumer %s stopped; restarting", consumer.queue, exc_info=True)
            await asyncio.sleep(1.0)
