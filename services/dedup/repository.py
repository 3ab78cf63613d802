"""All queries of the dedup service."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import case as when
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dedup.models import Case, CaseStatus, DedupRequest, EngineState, GalleryLog, RequestStatus
from shared.db import conflict_insert, paginate


async def engine_state(session: AsyncSession, *, for_update: bool = False, create: bool = True) -> EngineState:
    """The row; `create=False` (a read-only session) leaves a missing one unmade and answers what
    it would be made with."""
    stmt = select(EngineState).where(EngineState.id == 1)
    if for_update:
        stmt = stmt.with_for_update()
    state = (await session.execute(stmt)).scalar_one_or_none()
    if state is not None:
        return state
    first = dict(id=1, paused=False, automatic=False, changed_at=dt.datetime.now(dt.UTC))
    if not create:
        return EngineState(**first)
    # The first callers on a fresh database (the engine starting, an operator pausing) may race to
    # make the row: one makes it, the others read it.
    await session.execute(conflict_insert(session, EngineState).values(**first).on_conflict_do_nothing())
    return (await session.execute(stmt)).scalar_one()


async def request_by_enrollment(session: AsyncSession, enrollment_id: uuid.UUID, *,
                                for_update: bool = False) -> DedupRequest | None:
    stmt = select(DedupRequest).where(DedupRequest.enrollment_id == enrollment_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def oldest_waiting(session: AsyncSession) -> DedupRequest | None:
    return (
        await session.execute(
            select(DedupRequest).where(DedupRequest.status == RequestStatus.WAITING)
            .order_by(DedupRequest.seq).limit(1).with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()


async def gallery_rows(session: AsyncSession, after_seq: int, limit: int) -> Sequence[DedupRequest]:
    return (
        await session.execute(
            select(DedupRequest).where(DedupRequest.in_gallery.is_(True), DedupRequest.seq > after_seq)
            .order_by(DedupRequest.seq).limit(limit)
        )
    ).scalars().all()


async def gallery_by_nik(session: AsyncSession, nik: str) -> Sequence[DedupRequest]:
    return (
        await session.execute(select(DedupRequest).where(DedupRequest.nik == nik, DedupRequest.in_gallery.is_(True)))
    ).scalars().all()


async def niks_of(session: AsyncSession, enrollment_ids: Sequence[str]) -> dict[str, DedupRequest]:
    if not enrollment_ids:
        return {}
    rows = (
        await session.execute(
            select(DedupRequest).where(DedupRequest.enrollment_id.in_([uuid.UUID(e) for e in enrollment_ids]))
        )
    ).scalars().all()
    return {str(r.enrollment_id): r for r in rows}


async def backlog(session: AsyncSession) -> tuple[int, dt.datetime | None, dict[str, int]]:
    waiting = DedupRequest.status == RequestStatus.WAITING
    count, oldest = (
        await session.execute(select(func.count(), func.min(DedupRequest.received_at)).where(waiting))
    ).one()
    per_site = dict(
        (await session.execute(
            select(DedupRequest.recording_site, func.count()).where(waiting).group_by(DedupRequest.recording_site)
        )).all()
    )
    return int(count), oldest, {k: int(v) for k, v in per_site.items()}


async def backlog_sites(session: AsyncSession) -> Sequence[tuple[str, int, dt.datetime]]:
    """(recording site, waiting, oldest received) per site, most waiting first."""
    return (
        await session.execute(
            select(DedupRequest.recording_site, func.count(), func.min(DedupRequest.received_at))
            .where(DedupRequest.status == RequestStatus.WAITING).group_by(DedupRequest.recording_site)
            .order_by(func.count().desc(), DedupRequest.recording_site)
        )
    ).all()


async def outcome_counts(session: AsyncSession) -> dict[str, int]:
    """How many records are waiting, in adjudication, or decided each way."""
    rows = (
        await session.execute(
            select(DedupRequest.status, DedupRequest.outcome, func.count())
            .group_by(DedupRequest.status, DedupRequest.outcome)
        )
    ).all()
    counts: dict[str, int] = {}
    for status, outcome, n in rows:
        key = outcome if status == RequestStatus.DECIDED and outcome else status.lower()
        counts[key] = counts.get(key, 0) + int(n)
    return counts


async def waiting_ahead(session: AsyncSession, seq: int) -> int:
    """Waiting records before the one at `seq` in the backlog's order."""
    stmt = select(func.count()).where(DedupRequest.status == RequestStatus.WAITING, DedupRequest.seq < seq)
    return int((await session.execute(stmt)).scalar_one())


async def cases(session: AsyncSession, *, status: str | None, site: str | None, limit: int,
                offset: int, reason: str | None = None, opened_from: dt.date | None = None,
                opened_to: dt.date | None = None) -> tuple[Sequence[Case], int]:
    """Cases oldest first; `opened_from` / `opened_to` are whole days (UTC), both included."""
    stmt = select(Case)
    if status:
        stmt = stmt.where(Case.status == status)
    if site:
        stmt = stmt.where(Case.site == site)
    if reason:
        stmt = stmt.where(Case.reason.contains(reason, autoescape=True))
    if opened_from:
        stmt = stmt.where(Case.opened_at >= dt.datetime.combine(opened_from, dt.time(), dt.UTC))
    if opened_to:
        stmt = stmt.where(Case.opened_at < dt.datetime.combine(opened_to + dt.timedelta(days=1), dt.time(), dt.UTC))
    return await paginate(session, stmt, Case.opened_at, limit=limit, offset=offset)


async def next_case(session: AsyncSession, *, actor: str, now: dt.datetime, site: str | None = None,
                    reason: str | None = None) -> Case | None:
    """The open case `actor` should decide next, locked: one they already hold, else the oldest
    that nobody holds (or whose hold ran out). Cases another adjudicator is taking at this very
    moment are skipped, not waited for."""
    mine = (Case.held_by == actor) & (Case.held_until > now)
    stmt = select(Case).where(Case.status == CaseStatus.OPEN,
                              or_(Case.held_by.is_(None), Case.held_until <= now, Case.held_by == actor))
    if site:
        stmt = stmt.where(Case.site == site)
    if reason:
        stmt = stmt.where(Case.reason.contains(reason, autoescape=True))
    stmt = stmt.order_by(when((mine, 0), else_=1), Case.opened_at, Case.id).limit(1).with_for_update(skip_locked=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
    stmt = select(Case).where(Case.id == case_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def gallery_log_after(session: AsyncSession, after_id: int, limit: int = 1000) -> Sequence[tuple[int, uuid.UUID, str]]:
    return (
        await session.execute(
            select(GalleryLog.id, GalleryLog.enrollment_id, GalleryLog.action)
            .where(GalleryLog.id > after_id).order_by(GalleryLog.id).limit(limit)
        )
    ).all()


async def last_gallery_log_id(session: AsyncSession) -> int:
    return int((await session.execute(select(func.coalesce(func.max(GalleryLog.id), 0)))).scalar_one())


async def biometrics_of(session: AsyncSession, enrollment_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict]:
    if not enrollment_ids:
        return {}
    rows = (await session.execute(
        select(DedupRequest.enrollment_id, DedupRequest.biometrics).where(DedupRequest.enrollment_id.in_(enrollment_ids))
    )).all()
    return dict(rows)
