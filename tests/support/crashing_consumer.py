"""A consumer process that dies (os._exit) while handling, before it can acknowledge.

Used by the transport contract tests: `python -m tests.support.crashing_consumer QUEUE EVENT_TYPE`
with EKTP_DATABASE_URL / EKTP_BROKER_URL set. It writes a line to stdout when it has the message.
"""

from __future__ import annotations

import asyncio
import os
import sys

from shared.messaging.consumer import Consumer, run_consumer
from shared.runtime import Platform
from shared.settings import Settings
from tests.messaging.probe import probe_tables


async def main(queue: str, event_type: str) -> None:
    platform = await Platform.open(Settings(), name="crashing-consumer")

    async def handler(session, event) -> None:  # type: ignore[no-untyped-def]
        print(f"got {event.event_id}", flush=True)
        os._exit(17)  # the process dies mid-handling: no commit, no acknowledgement

    await run_consumer(platform.transport, platform.sessions, probe_tables, Consumer(queue, {event_type: handler}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
