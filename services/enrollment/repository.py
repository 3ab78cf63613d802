"""All queries of the enrollment service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment.models import DedupEngineState, Enrollment, Status, TimelineEntry
from shared.db import paginate, with_keys


async def insert_enrollments(session: AsyncSession, rows: Sequence[dict], timeline: Sequence[dict]) -> None:
    """New enrollments and their first timeline steps, each table in one statement (a batch's)."""
    await session.execute(insert(Enrollment.__table__), list(rows))
    await session.execute(insert(TimelineEntry.__table__), list(timeline))


async def get(session: AsyncSession, enrollment_id: uuid.UUID, *, for_update: bool = False) -> Enrollment | None:
    stmt = select(Enrollment).where(Enrollment.id == enrollment_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_receipt(session: AsyncSession, receipt: str) -> Enrollment | None:
    return (await session.execute(select(Enrollment).where(Enrollment.receipt_number == receipt))).scalar_one_or_none()


async def by_idempotency_key(session: AsyncSession, site: str, key: str) -> Enrollment | None:
    return (
        await session.execute(
            select(Enrollment).where(Enrollment.recording_site == site, Enrollment.idempotency_key == key)
        )
    ).scalar_one_or_none()


async def by_idempotency_keys(session: AsyncSession, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Enrollment]:
    """(recording site, key) → the enrollment created with it, for the keys that were used."""
    if not keys:
        return {}
    stmt = with_keys(session, select(Enrollment), (Enrollment.recording_site, Enrollment.idempotency_key), sorted(keys))
    rows = (await session.execute(stmt)).scalars()
    return {(e.recording_site, e.idempotency_key): e for e in rows if e.idempotency_key}


async def successors(session: AsyncSession, enrollment_id: uuid.UUID) -> Sequence[Enrollment]:
    """Later recordings that correct this one (re-capture or replacement), oldest first."""
    return (
        await session.execute(
            select(Enrollment).where(Enrollment.previous_enrollment_id == enrollment_id)
            .order_by(Enrollment.created_at)
        )
    ).scalars().all()


async def timeline(session: AsyncSession, enrollment_id: uuid.UUID) -> Sequence[TimelineEntry]:
    return (
        await session.execute(
            select(TimelineEntry).where(TimelineEntry.enrollment_id == enrollment_id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    ).scalars().all()


async def search(session: AsyncSession, *, nik: str | None = None, receipt: str | None = None,
                 status: str | None = None, site: str | None = None, limit: int = 50,
                 offset: int = 0) -> tuple[Sequence[Enrollment], int]:
    stmt = select(Enrollment)
    if nik:
        stmt = stmt.where(Enrollment.nik == nik)
    if receipt:
        stmt = stmt.where(Enrollment.receipt_number == receipt)
    if status:
        stmt = stmt.where(Enrollment.status == status)
    if site:  # recorded there or to be picked up there: the records a kecamatan deals with
        stmt = stmt.where(or_(Enrollment.recording_site == site, Enrollment.pickup_site == site))
    return await paginate(session, stmt, Enrollment.created_at.desc(), limit=limit, offset=offset)


async def counts_by_site_and_status(session: AsyncSession, *, site: str | None = None) -> dict[str, dict[str, int]]:
    """pickup site → status → count."""
    stmt = select(Enrollment.pickup_site, Enrollment.status, func.count()).group_by(
        Enrollment.pickup_site, Enrollment.status)
    if site:
        stmt = stmt.where(Enrollment.pickup_site == site)
    out: dict[str, dict[str, int]] = {}
    for pickup_site, status, count in (await session.execute(stmt)).all():
        out.setdefault(pickup_site, {})[status] = count
    return out


async def dedup_state(session: AsyncSession, *, for_update: bool = False) -> DedupEngineState | None:
    stmt = select(DedupEngineState).where(DedupEngineState.id == 1)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def waiting_position(session: AsyncSession, enrollment: Enrollment) -> int:
    """1-based position among recordings still waiting for dedup, oldest first."""
    ahead = (
        await session.execute(
            select(func.count()).select_from(Enrollment)
            .where(Enrollment.status == Status.RECEIVED, Enrollment.created_at < enrollment.created_at)
        )
    ).scalar_one()
    return int(ahead) + 1
