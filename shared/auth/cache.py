"""Credentials a process has checked, so that a request need not read the credential table.

PostgreSQL only. A trigger on ``auth.credentials`` notifies the channel ``ektp_credentials`` when a
change commits (a credential created or revoked, by `ektp credentials`, the API or a DBA's own
UPDATE). Each process listens on a connection of its own and forgets every credential at each
notice, so a revocation reaches it within milliseconds. While that connection is down the process
keeps nothing and reads the table on every request. An entry also expires after
``EKTP_CREDENTIAL_CACHE_SECONDS`` however quiet the channel (the bound, were a notice ever lost);
0 turns the cache off: every request reads the table, and a revocation holds from its commit on.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
from sqlalchemy.engine import URL

from shared.auth.principal import Principal, hash_token
from shared.db import asyncpg_dsn

log = logging.getLogger(__name__)

CHANNEL = "ektp_credentials"
MAX_ENTRIES = 10_000  # far above the credentials of an installation; forgets all when reached


class CredentialCache:
    def __init__(self, dsn: str | None, *, seconds: float) -> None:
        self.dsn = dsn  # None: keeps nothing (SQLite, or turned off)
        self.seconds = seconds
        self.generation = 0  # moves on at every notice and (re)connection of the listener
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._listening = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_database(cls, url: URL, *, seconds: float) -> "CredentialCache":
        if url.get_backend_name() != "postgresql" or seconds <= 0:
            return cls(None, seconds=seconds)
        return cls(asyncpg_dsn(url), seconds=seconds)

    async def start(self) -> None:
        if self.dsn is not None:
            self._task = asyncio.create_task(self._listen(), name="credential-cache")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._forget()

    @property
    def listening(self) -> bool:
        return self._listening

    def get(self, token: str | None) -> Principal | None:
        if not self._listening or not token:
            return None
        entry = self._entries.get(hash_token(token))
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, token: str | None, principal: Principal, generation: int) -> None:
        """Keep what a read begun at `generation` found, unless something changed since it began
        (a notice, a lost listener): the read may predate the change."""
        if not self._listening or not token or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[hash_token(token)] = (principal, time.monotonic() + self.seconds)

    def _forget(self, *_: object) -> None:
        self._entries.clear()
        self.generation += 1

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            lost = asyncio.Event()
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "ektp-credential-cache"})
                conn.add_termination_listener(lambda _: lost.set())
                await conn.add_listener(CHANNEL, self._forget)
                self._forget()  # what was kept before this connection may have missed notices
                self._listening = True
                delay = 0.5
                await lost.wait()
                log.warning("credential cache: notification connection lost; reading credentials on every request")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("credential cache: cannot listen (%s); reading credentials on every request", exc)
            finally:
                self._listening = False
                self._forget()
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
