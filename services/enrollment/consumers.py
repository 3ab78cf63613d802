"""Message handlers of the enrollment service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment import service
from services.enrollment.timeline import EVENT_STEPS
from shared.messaging import Event
from shared.messaging.consumer import Consumer
from shared.messaging.topology import QUEUES
from shared.runtime import ServiceContext


async def on_event(session: AsyncSession, event: Event) -> None:
    await service.apply_event(session, event)


async def on_engine(session: AsyncSession, event: Event) -> None:
    await service.note_dedup_engine(session, event)


async def on_other(session: AsyncSession, event: Event) -> None:
    """Events bound by pattern that carry no step for a resident (stock low, ...)."""


def consumers(ctx: ServiceContext) -> Sequence[Consumer]:
    handlers = {event_type: on_event for event_type in EVENT_STEPS}
    handlers |= {"dedup.engine_paused": on_engine, "dedup.engine_resumed": on_engine}
    return [TimelineConsumer("enrollment.timeline", handlers, fallback=on_other)]


class TimelineConsumer(Consumer):
    """Bound to whole families of events (`dedup.*`, ..., as shared.messaging.topology lists them for
    its queue); those without a step are acknowledged."""

    def __init__(self, queue: str, handlers, fallback) -> None:  # type: ignore[no-untyped-def]
        super().__init__(queue=queue, handlers=handlers)
        self.fallback = fallback

    @property
    def bindings(self) -> list[str]:
        return list(QUEUES[self.queue])

    def handler_for(self, event: Event):  # type: ignore[no-untyped-def]
        if event.type in self.handlers:
            return super().handler_for(event)
        if event.version != 1:
            return super().handler_for(event)
        return self.fallback
