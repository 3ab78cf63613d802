"""The matchers as the engine sees them, chosen by EKTP_DEDUP_MATCHER: the built-in one (a gallery
kept in step with the database, below) or an external ABIS (services/dedup/abis/adapter.py).

Both implement `Matcher`: identify a recording (by its biometrics and reference id), follow the
gallery log, report their gallery size; an external one can be unreachable (`MatcherUnavailable`),
which the engine counts and answers with an automatic pause.

Only the engine's leader (one process) holds the gallery. It is rebuilt from the database at
start (records with ``in_gallery``) and then follows the gallery log, which every decision
writes in its own transaction — so a decision taken by any replica (an adjudicator's, say)
reaches the gallery, and nothing uncommitted ever does.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dedup import repository
from services.dedup.matcher import Decision, Gallery, Thresholds, decide, decode, thresholds_for_fpir
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class MatcherConfig:
    target_fpir: float = 40.0  # MOSIP convention: 40 → FPIR 1e-4
    expected_gallery_size: int = 1_000_000


class MatcherUnavailable(Exception):
    """The matcher cannot answer now; the record stays in the backlog."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Matcher(Protocol):
    name: str
    external: bool
    config: MatcherConfig
    thresholds: Thresholds

    @property
    def gallery_size(self) -> int | None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> int: ...

    async def sync(self, sessions: async_sessionmaker[AsyncSession]) -> int: ...

    async def identify(self, biometrics: dict, *, ref_id: str) -> Decision: ...

    async def ping(self) -> None:
        """Returns when the matcher answers; raises MatcherUnavailable otherwise."""


def make_matcher(settings: Settings) -> Matcher:
    config = MatcherConfig(target_fpir=settings.dedup_target_fpir)
    if settings.dedup_matcher == "abis":
        from services.dedup.abis.adapter import AbisMatcher

        return AbisMatcher(config, settings)
    return BuiltinMatcher(config)


class BuiltinMatcher:
    name = "builtin"
    external = False

    def __init__(self, config: MatcherConfig | None = None) -> None:
        self.config = config or MatcherConfig()
        self.gallery = Gallery()
        self.thresholds: Thresholds = thresholds_for_fpir(self.config.target_fpir,
                                                          gallery_size=self.config.expected_gallery_size)
        self._log_position = 0

    @property
    def gallery_size(self) -> int | None:
        return len(self.gallery)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session:
            self._log_position = await repository.last_gallery_log_id(session)
        last = 0
        while True:
            async with sessions() as session:
                rows = await repository.gallery_rows(session, last, 2000)
            if not rows:
                break
            for row in rows:
                self._enter(str(row.enrollment_id), row.biometrics)
            last = rows[-1].seq
        # Changes committed while loading are in the log after the position read first.
        await self.sync(sessions)
        log.info("gallery loaded: %d persons", len(self.gallery))
        return len(self.gallery)

    async def sync(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Apply gallery changes committed since the last sync; returns how many."""
        async with sessions() as session:
            changes = await repository.gallery_log_after(session, self._log_position)
            needed = [eid for _, eid, action in changes if action == "enter"]
            biometrics = await repository.biometrics_of(session, needed)
        for log_id, enrollment_id, action in changes:
            ref = str(enrollment_id)
            if action == "enter":
                self._enter(ref, biometrics[enrollment_id])
            else:
                self.gallery.remove(ref)
            self._log_position = log_id
        return len(changes)

    def _enter(self, ref_id: str, biometrics: dict) -> None:
        templates = decode(biometrics)
        if templates.usable and ref_id not in self.gallery:
            self.gallery.add(ref_id, templates)

    async def identify(self, biometrics: dict, *, ref_id: str | None = None) -> Decision:
        templates = decode(biometrics)
        return await asyncio.to_thread(
            decide, templates, self.gallery, auto_threshold=self.thresholds.auto,
            grey_threshold=self.thresholds.grey,
        )
