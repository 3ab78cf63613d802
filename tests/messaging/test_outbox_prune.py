"""The relay deletes outbox rows some time after it sent them (EKTP_OUTBOX_KEEP_SENT_HOURS): the
enrollment's events carry biometrics and photos, and a sent event lives on in the broker and in
its consumers. Unsent rows are never deleted, however old."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, update

from shared.messaging import new_event
from shared.messaging.outbox import OutboxRelay, add_events
from tests.messaging.probe import probe_tables
from tests.support.api import eventually

outbox = probe_tables.outbox


async def _write(platform, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    async with platform.sessions() as session, session.begin():
        await add_events(session, probe_tables, [new_event("probe.prune", {"i": i}) for i in range(n)])
        return list((await session.execute(select(outbox.c.id).order_by(outbox.c.id.desc()).limit(n))).scalars())[::-1]


async def _mark_sent(platform, ids: list[int], ago: dt.timedelta) -> None:  # type: ignore[no-untyped-def]
    async with platform.sessions() as session, session.begin():
        await session.execute(update(outbox).where(outbox.c.id.in_(ids)).values(sent_at=dt.datetime.now(dt.UTC) - ago))


async def _left(platform, ids: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    async with platform.sessions() as session:
        rows = await session.execute(select(outbox.c.id).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
        return list(rows.scalars())


async def test_rows_sent_before_the_window_go_oldest_first_and_unsent_ones_stay(platform):
    ids = await _write(platform, 7)
    old, recent, unsent = ids[:3], ids[3:5], ids[5:]
    await _mark_sent(platform, old, dt.timedelta(hours=30))
    await _mark_sent(platform, recent, dt.timedelta(hours=2))
    async with platform.sessions() as session, session.begin():  # unsent for long: still never deleted
        await session.execute(update(outbox).where(outbox.c.id.in_(unsent))
                              .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30)))
    relay = OutboxRelay(platform.sessions, probe_tables, platform.transport, batch=2,
                        keep_sent=dt.timedelta(hours=24))
    assert await relay.prune_once() == 2
    assert await _left(platform, ids) == [old[2], *recent, *unsent]
    assert await relay.prune_once() == 1
    assert await relay.prune_once() == 0
    assert await _left(platform, ids) == [*recent, *unsent]
    assert await OutboxRelay(platform.sessions, probe_tables, platform.transport).prune_once() == 0  # keeps all


async def test_the_running_relay_publishes_then_prunes(platform):
    relay = OutboxRelay(platform.sessions, probe_tables, platform.transport, poll_seconds=0.05,
                        keep_sent=dt.timedelta(0), prune_seconds=0.1)
    task = asyncio.create_task(relay.run())
    try:
        ids = await _write(platform, 5)
        relay.poke()

        async def gone() -> bool:
            return await _left(platform, ids) == []

        await eventually(gone, what="the sent rows deleted", interval=0.05)
        async with platform.sessions() as session:
            unsent = (await session.execute(select(func.count()).select_from(outbox)
                                            .where(outbox.c.sent_at.is_(None)))).scalar_one()
        assert unsent == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
