"""The engine: decides the backlog oldest first, one record at a time, unless paused.

Exactly one process runs it (on PostgreSQL it holds an advisory lock; other replicas only serve
the API), so the in-memory gallery sees every decision in order.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text

from services.dedup import repository, service
from services.dedup.matching import BuiltinMatcher
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

ENGINE_LOCK_ID = 0x4B54504C  # "KTPL"
IDLE_SECONDS = 0.2


async def _become_leader(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    """Returns a connection holding the engine lock (PostgreSQL), or None on SQLite."""
    engine = ctx.platform.engine
    if engine.dialect.name != "postgresql":
        return None
    while True:
        conn = await engine.connect()
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ENGINE_LOCK_ID})).scalar()
        await conn.commit()
        if got:
            return conn
        await conn.close()
        await asyncio.sleep(2.0)


async def decide_one(ctx: ServiceContext, matcher: BuiltinMatcher) -> bool:
    """Decide the oldest waiting record; False when there is none or the engine is paused."""
    async with ctx.sessions() as session, session.begin():
        state = await repository.engine_state(session)
        if state.paused:
            return False
        request = await repository.oldest_waiting(session)
        if request is None:
            return False
        decision = await matcher.identify(request.biometrics)
        await service.apply_decision(session, request, decision, auto_threshold=matcher.thresholds.auto)
    await matcher.sync(ctx.sessions)
    ctx.events_written()
    return True


async def run_engine(ctx: ServiceContext) -> None:
    matcher: BuiltinMatcher = ctx.state["matcher"]
    leader = await _become_leader(ctx)
    try:
        await matcher.load(ctx.sessions)
        ctx.state["engine_leader"] = True
        while True:
            try:
                if not await decide_one(ctx, matcher):
                    await matcher.sync(ctx.sessions)  # decisions made elsewhere (adjudication)
                    await asyncio.sleep(IDLE_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dedup engine step failed; retrying")
                await asyncio.sleep(1.0)
    finally:
        ctx.state["engine_leader"] = False
        if leader is not None:
            await leader.close()
