"""The one interface both transports implement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.envelope import Event

# Called by a transport for each delivery. It must run the handler and, in the same database
# transaction, call `ack_in_tx(session)` when the transport gives one (the embedded queue deletes
# its row there). It raises to refuse the delivery; PoisonMessage means never retry.
Deliver = Callable[[Event, Callable[[AsyncSession], Awaitable[None]] | None], Awaitable[None]]


class Transport(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ready(self) -> bool: ...

    async def publish(self, events: Sequence[Event], session: AsyncSession) -> None:
        """Publish durably. Returns only when the broker has confirmed every event."""

    async def consume(self, queue: str, bindings: Sequence[str], deliver: Deliver) -> None:
        """Declare the queue with its bindings and dead-letter queue; deliver until cancelled."""

    async def dead_letters(self, queue: str, limit: int = 100) -> list[Event]: ...

    async def replay_dead_letters(self, queue: str) -> int:
        """Move dead-lettered messages of `queue` back to it; returns how many."""
