"""Group commit of single recordings: concurrent `POST /v1/enrollments` share one transaction.

Each request checks its recording itself (the CPU work, in parallel with the others), then hands
it to the process's `GroupCommit` and waits. One writer at a time takes everything that is
waiting and writes it with `batch.commit` (the batch endpoint's own path: idempotency keys looked
up together, three inserts, one commit). While it writes, the next requests gather, so under load
a transaction carries tens of recordings and at rest it carries one: no timer, no added delay.
A request is answered only after the commit that holds its recording.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.enrollment import batch
from services.enrollment.batch import ItemAnswer, Ready

MAX_GROUP = 200  # recordings in one transaction


class GroupCommit:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], on_commit: Callable[[], None]) -> None:
        self.sessions = sessions
        self.on_commit = on_commit
        self._waiting: list[tuple[Ready, asyncio.Future[ItemAnswer]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, ready: Ready) -> ItemAnswer:
        """The answer for one checked recording, after the commit that holds it."""
        answer: asyncio.Future[ItemAnswer] = asyncio.get_running_loop().create_future()
        # A client that hangs up does not stop the write; its retry is then a replay.
        answer.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((ready, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="enrollment.group_commit")
        return await asyncio.shield(answer)

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            items = [dataclasses.replace(ready, index=i) for i, (ready, _) in enumerate(group)]
            try:
                async with self.sessions() as session:
                    answers = await batch.commit(session, items)
            except Exception as exc:  # the database is away: every request of the group fails alike
                for _, answer in group:
                    answer.set_exception(exc)
                continue
            if any(a.status == 201 for a in answers.values()):
                self.on_commit()
            for i, (_, answer) in enumerate(group):
                answer.set_result(answers[i])
