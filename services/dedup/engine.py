"""The engine: decides the backlog oldest first, one record at a time, unless paused.

Exactly one process runs it (on PostgreSQL it holds an advisory lock; other replicas only serve
the API), so the in-memory gallery sees every decision in order.

With an external ABIS the engine also watches it: EKTP_ABIS_PAUSE_AFTER failed calls in a row
(timeouts, or failures that cannot become an outcome) pause de-duplication automatically with the
reason; while so paused (and, when idle, every EKTP_ABIS_PING_SECONDS) it pings the ABIS, and the
first answer resumes it. An automatic resume only ever lifts an automatic pause: a pause an
operator made stays until an operator lifts it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text

from services.dedup import repository, service
from services.dedup.matching import Matcher, MatcherUnavailable
from shared.messaging.transport import to_the_end
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


async def decide_one(ctx: ServiceContext, matcher: Matcher) -> bool:
    """Decide the oldest waiting record; False when there is none or the engine is paused. The
    matcher first takes every gallery change committed so far (this engine's decisions and the
    adjudicators'), so a record is matched against every person decided before it came."""
    await matcher.sync(ctx.sessions)
    async with ctx.sessions() as session, session.begin():
        state = await repository.engine_state(session)
        if state.paused:
            return False
        request = await repository.oldest_waiting(session)
        if request is None:
            return False
        decision = await matcher.identify(request.biometrics, ref_id=str(request.enrollment_id))
        await service.apply_decision(session, request, decision, auto_threshold=matcher.thresholds.auto)
    ctx.events_written()
    return True


async def _set_automatic(ctx: ServiceContext, *, paused: bool, reason: str | None = None) -> None:
    async with ctx.sessions() as session, session.begin():
        changed = await (service.auto_pause(session, reason or "") if paused else service.auto_resume(session))
    if changed:
        log.warning("dedup %s automatically%s", "paused" if paused else "resumed", f": {reason}" if reason else "")
        ctx.events_written()


class _Watch:
    """Counts failed calls to an external matcher and pings it when it is due."""

    def __init__(self, ctx: ServiceContext, matcher: Matcher) -> None:
        self.ctx, self.matcher = ctx, matcher
        self.failures = 0
        self.last_ping = time.monotonic()

    async def failed(self, exc: MatcherUnavailable) -> None:
        self.failures += 1
        log.warning("matcher unavailable (%d in a row): %s", self.failures, exc.reason)
        if self.failures >= self.ctx.settings.abis_pause_after:
            await _set_automatic(self.ctx, paused=True, reason=exc.reason)
            self.failures = 0

    async def idle(self) -> None:
        if not self.matcher.external or time.monotonic() - self.last_ping < self.ctx.settings.abis_ping_seconds:
            return
        self.last_ping = time.monotonic()
        await self.matcher.ping()
        self.failures = 0
        await _set_automatic(self.ctx, paused=False)


async def run_engine(ctx: ServiceContext) -> None:
    matcher: Matcher = ctx.state["matcher"]
    leader = await _become_leader(ctx)
    try:
        await matcher.start()
        await matcher.load(ctx.sessions)
        ctx.state["engine_leader"] = True
        watch = _Watch(ctx, matcher)
        while True:
            try:
                if await to_the_end(decide_one(ctx, matcher)):
                    watch.failures = 0
                    continue
                await to_the_end(watch.idle())
                await asyncio.sleep(IDLE_SECONDS)
            except asyncio.CancelledError:
                raise
            except MatcherUnavailable as exc:
                await watch.failed(exc)
                await asyncio.sleep(IDLE_SECONDS)
            except Exception:
                log.exception("dedup engine step failed; retrying")
                await asyncio.sleep(1.0)
    finally:
        ctx.state["engine_leader"] = False
        if leader is not None:
            await leader.close()
