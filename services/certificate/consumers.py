"""Message handlers of the certificate service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from services.certificate import service
from shared.messaging import Event
from shared.messaging.consumer import Consumer, Handler
from shared.runtime import ServiceContext


def consumers(ctx: ServiceContext) -> Sequence[Consumer]:
    def waking_policies(handler: Callable[[AsyncSession, Event], Awaitable[None]]) -> Handler:
        """After the handler's transaction commits, the policies run at once (not only on their timer)."""

        async def handle(session: AsyncSession, event: Event) -> None:
            await handler(session, event)
            sa_event.listen(session.sync_session, "after_commit", lambda _: ctx.state["policy_wake"].set(), once=True)

        return handle

    submitted = service.on_enrollment_submitted
    handlers = {"enrollment.submitted": waking_policies(submitted) if ctx.settings.cert_auto_issue_when_paused else submitted}
    handlers.update({t: service.on_status_event for t in service.STATUS_BY_EVENT})
    handlers.update({t: waking_policies(service.on_engine_event) for t in ("dedup.engine_paused", "dedup.engine_resumed")})
    return [Consumer("certificate.records", handlers)]
