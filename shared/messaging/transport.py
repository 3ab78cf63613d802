"""The one interface both transports implement."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.envelope import Event, Outgoing, PoisonMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered message as an operator sees it: the event, or the raw start of a message
    that is not one (a poison message)."""

    message_id: str
    event: Event | None
    preview: str

    @classmethod
    def of(cls, message_id: str | None, body: bytes | str,
           read: Callable[[bytes | str], Event] = Event.from_json) -> "DeadLetter":
        """`read` makes the event of the body (the broker's messages are sealed: Event.from_sealed)."""
        try:
            event = read(body)
        except PoisonMessage:
            event = None
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return cls(message_id=str(event.event_id) if event else (message_id or "?"), event=event, preview=text[:120])

    def describe(self) -> str:
        if self.event is None:
            return f"{self.message_id}  MALFORMED  {self.preview!r}"
        e = self.event
        return f"{e.event_id}  {e.type} v{e.version}  {e.occurred_at:%Y-%m-%d %H:%M:%S}  key={e.key}"


T = TypeVar("T")


async def to_the_end(work: Awaitable[T]) -> T:
    """Runs `work` to its end even when the awaiting task is cancelled (the process stopping), then
    passes the cancellation on. A delivery cut in the middle of its database transaction was
    rolled back by a cancelled task (which failed and was logged, SQLite's above all) and handled
    again after a restart: run to its end, it is handled and acknowledged once.
    The cancellation is passed on however the work ends: a failure then is logged, not raised (a
    caller's retry loop took it for an ordinary failure, went on, and the stop waited for it in vain)."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        try:
            await task
        except Exception:
            log.warning("work finished after the stop was asked, and failed", exc_info=True)
        raise


# Called by a transport for each delivery. It must run the handler and, in the same database
# transaction, call `ack_in_tx(session)` when the transport gives one (the embedded queue deletes
# its row there). It raises to refuse the delivery; PoisonMessage means never retry.
Deliver = Callable[[Event, Callable[[AsyncSession], Awaitable[None]] | None], Awaitable[None]]


class Transport(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ready(self) -> bool: ...

    async def publish(self, messages: Sequence[Outgoing], session: AsyncSession) -> None:
        """Publish durably. Returns only when the broker has confirmed every message."""

    def published_elsewhere(self) -> None:
        """Another instance of this transport (the relay thread's) has published: consumers waiting
        between two polls look now. Called on this transport's event loop."""

    async def consume(self, queue: str, bindings: Sequence[str], deliver: Deliver) -> None:
        """Declare the queue with its bindings and dead-letter queue; deliver until cancelled."""

    async def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]: ...

    async def replay_dead_letters(self, queue: str) -> int:
        """Move dead-lettered messages of `queue` back to it; returns how many."""
