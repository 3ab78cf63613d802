"""The embedded queue: a durable queue kept in the same SQLite database as the services.

Publishing inserts one row per bound queue, in the relay's transaction (which also marks the
outbox rows sent); a consumer claims the oldest message whose key has no older message waiting,
handles it, and deletes the row in the handler's own transaction. A claim is a lease: if the
process dies before that commit, the message becomes visible again after the visibility timeout.
After `max_attempts` claims, or at once for a poison message, it moves to the dead letters.
No server is needed; the semantics match the AMQP transport (see tests/messaging).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.crypto import EncryptedText
from shared.messaging.envelope import Event, Outgoing, PoisonMessage
from shared.messaging.topology import QUEUES, topic_matches
from shared.messaging.transport import DeadLetter, Deliver, to_the_end

log = logging.getLogger(__name__)

broker_metadata = MetaData()

bindings_table = Table(
    "broker_bindings", broker_metadata,
    Column("queue", String(120), primary_key=True),
    Column("pattern", String(120), primary_key=True),
)
messages_table = Table(
    "broker_messages", broker_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(120), nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("key", String(120)),
    Column("body", EncryptedText, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("available_at", Float, nullable=False),
    Column("enqueued_at", Float, nullable=False),
)
dead_letters_table = Table(
    "broker_dead_letters", broker_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(120), nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("key", String(120)),
    Column("body", EncryptedText, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("dead_at", Float, nullable=False),
)

# An event enters the queue as the outbox stored it (sealed): its body is not encrypted again.
_ENQUEUE = insert(messages_table).values(body=bindparam("sealed", type_=Text))


@dataclass(frozen=True)
class Claimed:
    id: int
    event_id: str
    key: str | None
    body: str
    attempts: int


class EmbeddedTransport:
    name = "embedded"

    def __init__(self, engine: AsyncEngine, *, max_attempts: int = 5, visibility_seconds: float = 30.0,
                 poll_seconds: float = 0.1) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("the embedded queue lives in a SQLite database; set EKTP_BROKER_URL for PostgreSQL")
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.max_attempts = max_attempts
        self.visibility_seconds = visibility_seconds
        self.poll_seconds = poll_seconds
        self._published = asyncio.Event()
        self._started = False

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(broker_metadata.create_all)
        async with self.sessions() as session, session.begin():
            for queue, patterns in QUEUES.items():
                await self._bind(session, queue, patterns)
        self._started = True

    async def close(self) -> None:
        self._started = False

    async def ready(self) -> bool:
        return self._started

    async def _bind(self, session: AsyncSession, queue: str, patterns: Sequence[str]) -> None:
        existing = set((await session.execute(select(bindings_table.c.pattern).where(bindings_table.c.queue == queue))).scalars())
        for pattern in patterns:
            if pattern not in existing:
                await session.execute(insert(bindings_table).values(queue=queue, pattern=pattern))

    # publishing ------------------------------------------------------------------------------
    async def publish(self, messages: Sequence[Outgoing], session: AsyncSession) -> None:
        bindings = (await session.execute(select(bindings_table.c.queue, bindings_table.c.pattern))).all()
        now = time.time()
        rows = []
        for out in messages:
            queues = {q for q, p in bindings if topic_matches(p, out.type)}
            rows.extend(
                {"queue": q, "event_id": str(out.event_id), "key": out.key, "sealed": out.sealed,
                 "attempts": 0, "available_at": now, "enqueued_at": now}
                for q in sorted(queues)
            )
        if rows:
            await session.execute(_ENQUEUE, rows)
        self._published.set()

    def published_elsewhere(self) -> None:
        self._published.set()

    # consuming -------------------------------------------------------------------------------
    async def consume(self, queue: str, bindings: Sequence[str], deliver: Deliver) -> None:
        async with self.sessions() as session, session.begin():
            await self._bind(session, queue, bindings)
        while True:
            claimed = await to_the_end(self._claim(queue))
            if claimed is None:
                self._published.clear()
                try:
                    await asyncio.wait_for(self._published.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                continue
            await to_the_end(self._handle(queue, claimed, deliver))

    async def _claim(self, queue: str) -> Claimed | bool | None:
        """The claimed message; None when none is waiting; False when one was dead-lettered."""
        m, older = messages_table, messages_table.alias("older")
        now = time.time()
        async with self.sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(m.c.id, m.c.event_id, m.c.key, m.c.body, m.c.attempts)
                    .where(m.c.queue == queue, m.c.available_at <= now)
                    .where(
                        ~select(older.c.id)
                        .where(older.c.queue == m.c.queue, older.c.key == m.c.key, older.c.id < m.c.id)
                        .exists()
                    )
                    .order_by(m.c.id)
                    .limit(1)
                )
            ).first()
            if row is None:
                return None
            attempts = row.attempts + 1
            if attempts > self.max_attempts:
                await self._dead_letter(session, queue, row, attempts - 1, "delivery limit reached")
                return False
            await session.execute(
                update(m).where(m.c.id == row.id).values(attempts=attempts, available_at=now + self.visibility_seconds)
            )
        return Claimed(id=row.id, event_id=row.event_id, key=row.key, body=row.body, attempts=attempts)

    async def _handle(self, queue: str, row: Claimed | bool, deliver: Deliver) -> None:
        if not isinstance(row, Claimed):
            return

        async def ack_in_tx(session: AsyncSession) -> None:
            await session.execute(delete(messages_table).where(messages_table.c.id == row.id))

        try:
            event = Event.from_json(row.body)
            await deliver(event, ack_in_tx)
        except PoisonMessage as exc:
            log.error("dead-lettering poison message %s on %s: %s", row.event_id, queue, exc)
            async with self.sessions() as session, session.begin():
                await self._dead_letter(session, queue, row, row.attempts, str(exc))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("handling %s on %s failed (attempt %d)", row.event_id, queue, row.attempts, exc_info=True)
            backoff = min(0.2 * 2 ** (row.attempts - 1), 5.0)
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(messages_table).where(messages_table.c.id == row.id)
                    .values(available_at=time.time() + backoff)
                )

    async def _dead_letter(self, session: AsyncSession, queue: str, row, attempts: int, reason: str) -> None:  # type: ignore[no-untyped-def]
        await session.execute(
            insert(dead_letters_table).values(queue=queue, event_id=row.event_id, key=row.key, body=row.body,
                                              attempts=attempts, reason=reason[:2000], dead_at=time.time())
        )
        await session.execute(delete(messages_table).where(messages_table.c.id == row.id))

    # operators -------------------------------------------------------------------------------
    async def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        d = dead_letters_table
        async with self.sessions() as session:
            rows = (await session.execute(
                select(d.c.event_id, d.c.body).where(d.c.queue == queue).order_by(d.c.id).limit(limit)
            )).all()
        return [DeadLetter.of(row.event_id, row.body) for row in rows]

    async def replay_dead_letters(self, queue: str) -> int:
        d = dead_letters_table
        now = time.time()
        async with self.sessions() as session, session.begin():
            rows = (await session.execute(select(d).where(d.c.queue == queue).order_by(d.c.id))).all()
            if rows:
                await session.execute(insert(messages_table), [
                    {"queue": queue, "event_id": r.event_id, "key": r.key, "body": r.body, "attempts": 0,
                     "available_at": now, "enqueued_at": now} for r in rows
                ])
                await session.execute(delete(d).where(d.c.id.in_([r.id for r in rows])))
        self._published.set()
        return len(rows)
