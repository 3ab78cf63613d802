"""Writing events to the outbox, and the relay that publishes them after commit.

A service function calls `add_event` inside the caller's transaction. The relay reads unsent rows
in order, hands them to the transport (which returns only when the broker confirmed them, or,
embedded, inserts them into the queue table in the same transaction) and marks them sent.
A crash between publish and mark re-publishes; consumers drop the duplicate by event id.
Rows sent longer ago than `keep_sent` are deleted by the relay, a batch at a time between passes:
an event is on the broker and in its consumers' databases once sent, and the enrollment's carry
a resident's biometrics and photo, which no table should keep for nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy import Text, delete, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import crypto
from shared.db import AdvisoryLock
from shared.messaging.envelope import Event, Outgoing
from shared.messaging.tables import MessagingTables
from shared.messaging.transport import Transport
from shared.metrics import EVENTS_PUBLISHED

log = logging.getLogger(__name__)


async def add_event(session: AsyncSession, tables: MessagingTables, event: Event) -> None:
    await add_events(session, tables, [event])


async def add_events(session: AsyncSession, tables: MessagingTables, events: list[Event]) -> None:
    """Many events in one statement (a batch of recordings), in list order."""
    if events:
        await session.execute(tables.outbox.insert(), [
            {"event_id": e.event_id, "type": e.type, "key": e.key, "body": e.to_json().decode()} for e in events
        ])


def sealed(stored: str) -> str:
    """An outbox body in its sealed form; one written before encryption at rest (in clear) is sealed now."""
    return stored if stored.startswith(crypto.PREFIX) else crypto.cipher().encrypt(stored.encode())


class OutboxRelay:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], tables: MessagingTables, transport: Transport,
                 *, poll_seconds: float = 0.2, batch: int = 1000, publish_twice: bool = False,
                 after_publish: Callable[[], None] | None = None, lead: AdvisoryLock | None = None,
                 keep_sent: dt.timedelta | None = None, prune_seconds: float = 60.0) -> None:
        # `batch` rows a pass: a pass costs a few round trips whatever its size, so bigger passes
        # keep up with more events a second.
        self.sessions = sessions
        # PostgreSQL: one relay of the service at a time among all its processes (the lock's holder);
        # the others stand by and try for it once a second. Relays of every worker took turns on
        # the same rows (FOR UPDATE) and each cost its process the CPU of a publishing thread.
        self.lead = lead
        # Fault injection for the reliability suite: every event reaches the broker twice.
        self.publish_twice = publish_twice
        self.tables = tables
        self.transport = transport
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.after_publish = after_publish  # called after a pass that published (and committed)
        self.keep_sent = keep_sent  # None: sent rows are kept
        self.prune_seconds = prune_seconds  # between two pruning passes (sooner while a backlog lasts)
        self._next_prune = 0.0
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """Ask for an immediate pass (after a commit that wrote events)."""
        self._wake.set()

    async def relay_once(self) -> int:
        outbox = self.tables.outbox
        async with self.sessions() as session, session.begin():
            # FOR UPDATE (not SKIP LOCKED): a second relay waits instead of overtaking, so order holds.
            # The body as stored (sealed), not decrypted: it is sent as it is.
            body = type_coerce(outbox.c.body, Text).label("body")
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.event_id, outbox.c.type, outbox.c.key, body).where(outbox.c.sent_at.is_(None))
                    .order_by(outbox.c.id).limit(self.batch).with_for_update()
                )
            ).all()
            if not rows:
                return 0
            messages = [Outgoing(r.event_id, r.type, r.key, sealed(r.body)) for r in rows]
            await self.transport.publish(messages, session)
            if self.publish_twice:
                await self.transport.publish(messages, session)
            await session.execute(
                update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(sent_at=dt.datetime.now(dt.UTC))
            )
        EVENTS_PUBLISHED.labels(self.tables.service).inc(len(rows))
        if self.after_publish is not None:
            self.after_publish()
        return len(rows)

    async def prune_once(self) -> int:
        """Deletes those of the `batch` oldest rows that were sent before `keep_sent` ago; returns
        how many. Rows are sent in order, so the oldest go first, and a pass reads `batch` rows
        through the primary key however long the table (no index on sent_at to keep up)."""
        if self.keep_sent is None:
            return 0
        outbox = self.tables.outbox
        cutoff = dt.datetime.now(dt.UTC) - self.keep_sent
        oldest = select(outbox.c.id).order_by(outbox.c.id).limit(self.batch).scalar_subquery()
        async with self.sessions() as session, session.begin():
            result = await session.execute(delete(outbox).where(outbox.c.id.in_(oldest), outbox.c.sent_at < cutoff))
        return result.rowcount

    async def _prune_when_due(self) -> None:
        if self.keep_sent is None or time.monotonic() < self._next_prune:
            return
        pruned = await self.prune_once()
        # A backlog (the first start after an upgrade, say) goes a batch a second, between passes.
        self._next_prune = time.monotonic() + (1.0 if pruned == self.batch else self.prune_seconds)
        if pruned:
            log.info("outbox of %s: deleted %d rows sent over %s ago", self.tables.service, pruned, self.keep_sent)

    async def run(self) -> None:
        try:
            while True:
                try:
                    if self.lead is None or await self.lead.held():
                        sent = await self.relay_once()
                        if sent == self.batch:
                            continue
                        await self._prune_when_due()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("outbox relay of %s failed; retrying", self.tables.service, exc_info=True)
                    await asyncio.sleep(1.0)
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            if self.lead is not None:
                await self.lead.release()
