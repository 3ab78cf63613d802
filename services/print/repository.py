"""All queries of the print service."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.print.models import (
    BlankCard, JobStatus, NodeRole, NodeStatus, PrintJob, PrintNode, PrintRecord, SerialStatus, SiteRoute, SiteStock,
)
from shared.db import conflict_insert, paginate


async def record(session: AsyncSession, enrollment_id: uuid.UUID, *, for_update: bool = True) -> PrintRecord | None:
    """Locked when it is to change. Reading its card or pickup site with a job locked, take no lock:
    a replacement locks the record before the job (`service._replace`), and the reverse order
    could deadlock."""
    stmt = select(PrintRecord).where(PrintRecord.enrollment_id == enrollment_id)
    return (await session.execute(stmt.with_for_update() if for_update else stmt)).scalar_one_or_none()


async def job_for_enrollment(session: AsyncSession, enrollment_id: uuid.UUID) -> PrintJob | None:
    return (await session.execute(
        select(PrintJob).where(PrintJob.enrollment_id == enrollment_id, PrintJob.status != JobStatus.CANCELLED)
    )).scalars().first()


async def live_job(session: AsyncSession, enrollment_id: uuid.UUID) -> PrintJob | None:
    """The record's job that is not cancelled or voided (a reprint leaves one of those), locked; a
    claim committed meanwhile shows in its status."""
    return (await session.execute(
        select(PrintJob).where(PrintJob.enrollment_id == enrollment_id,
                               PrintJob.status.not_in([JobStatus.CANCELLED, JobStatus.VOID])).with_for_update()
    )).scalars().first()


async def job(session: AsyncSession, job_id: uuid.UUID, *, for_update: bool = False) -> PrintJob | None:
    stmt = select(PrintJob).where(PrintJob.id == job_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def node(session: AsyncSession, node_id: uuid.UUID, *, for_update: bool = False) -> PrintNode | None:
    stmt = select(PrintNode).where(PrintNode.id == node_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def in_flight(session: AsyncSession, node_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not node_ids:
        return {}
    rows = (await session.execute(
        select(PrintJob.node_id, func.count()).where(PrintJob.status == JobStatus.CLAIMED, PrintJob.node_id.in_(node_ids))
        .group_by(PrintJob.node_id)
    )).all()
    return {n: int(c) for n, c in rows}


async def live_primaries(session: AsyncSession, site: str, now: dt.datetime) -> Sequence[PrintNode]:
    return await live_nodes(session, site, now, role=NodeRole.PRIMARY)


async def queued_jobs(session: AsyncSession, site: str, limit: int) -> Sequence[PrintJob]:
    return (await session.execute(
        select(PrintJob).where(PrintJob.site == site, PrintJob.status == JobStatus.QUEUED)
        .order_by(PrintJob.created_at, PrintJob.id).limit(limit).with_for_update(skip_locked=True)
    )).scalars().all()


async def next_blanks(session: AsyncSession, site: str, count: int) -> Sequence[BlankCard]:
    return (await session.execute(
        select(BlankCard).where(BlankCard.site == site, BlankCard.status == SerialStatus.AVAILABLE)
        .order_by(BlankCard.serial).limit(count).with_for_update(skip_locked=True)
    )).scalars().all()


async def blank_by_claim(session: AsyncSession, claim_id: uuid.UUID) -> BlankCard | None:
    return (await session.execute(
        select(BlankCard).where(BlankCard.claim_id == claim_id).with_for_update()
    )).scalar_one_or_none()


async def expired_nodes(session: AsyncSession, now: dt.datetime) -> Sequence[PrintNode]:
    return (await session.execute(
        select(PrintNode).where(PrintNode.status.in_([NodeStatus.LIVE, NodeStatus.DRAINING]),
                                PrintNode.lease_expires_at < now).with_for_update(skip_locked=True)
    )).scalars().all()


async def claimed_by(session: AsyncSession, node_id: uuid.UUID, *, lock: bool = True) -> Sequence[PrintJob]:
    stmt = select(PrintJob).where(PrintJob.node_id == node_id, PrintJob.status == JobStatus.CLAIMED)
    return (await session.execute(stmt.with_for_update() if lock else stmt)).scalars().all()


async def nodes(session: AsyncSession, *, site: str | None, status: str | None, limit: int,
                offset: int, role: str | None = None) -> tuple[Sequence[PrintNode], int]:
    stmt = select(PrintNode)
    if site:
        stmt = stmt.where(PrintNode.site == site)
    if status:
        stmt = stmt.where(PrintNode.status == status)
    if role:
        stmt = stmt.where(PrintNode.role == role)
    return await paginate(session, stmt, PrintNode.site, PrintNode.registered_at, limit=limit, offset=offset)


async def jobs(session: AsyncSession, *, site: str | None, status: str | None, enrollment_id: uuid.UUID | None,
               limit: int, offset: int, node_id: uuid.UUID | None = None) -> tuple[Sequence[PrintJob], int]:
    stmt = select(PrintJob)
    if node_id:
        stmt = stmt.where(PrintJob.node_id == node_id)
    if site:  # printed there, or to be collected there (a kecamatan's cards printed at the dinas)
        collected = select(PrintRecord.enrollment_id).where(PrintRecord.pickup_site == site)
        stmt = stmt.where(or_(PrintJob.site == site, PrintJob.enrollment_id.in_(collected)))
    if status:
        stmt = stmt.where(PrintJob.status == status)
    if enrollment_id:
        stmt = stmt.where(PrintJob.enrollment_id == enrollment_id)
    return await paginate(session, stmt, PrintJob.created_at, limit=limit, offset=offset)


async def existing_serials(session: AsyncSession, serials: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(serials), 500):
        chunk = serials[i:i + 500]
        found.update((await session.execute(select(BlankCard.serial).where(BlankCard.serial.in_(chunk)))).scalars())
    return found


async def stock_counts(session: AsyncSession, sites: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    """Blanks by site and status, of `sites` (None: every site)."""
    stmt = select(BlankCard.site, BlankCard.status, func.count()).group_by(BlankCard.site, BlankCard.status)
    if sites is not None:
        stmt = stmt.where(BlankCard.site.in_(sites))
    out: dict[str, dict[str, int]] = {}
    for s, status, count in (await session.execute(stmt)).all():
        out.setdefault(s, {})[status] = int(count)
    return out


async def set_wait_reason(session: AsyncSession, site: str, reason: str | None) -> None:
    """Rows another claim holds are skipped (it sets them itself): two claims never wait on each other."""
    free = (select(PrintJob.id).where(PrintJob.site == site, PrintJob.status == JobStatus.QUEUED)
            .with_for_update(skip_locked=True))
    await session.execute(update(PrintJob).where(PrintJob.id.in_(free)).values(wait_reason=reason))


async def route(session: AsyncSession, site: str, *, for_update: bool = False) -> SiteRoute | None:
    stmt = select(SiteRoute).where(SiteRoute.site == site)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def routes(session: AsyncSession) -> Sequence[SiteRoute]:
    return (await session.execute(select(SiteRoute).order_by(SiteRoute.site))).scalars().all()


async def move_waiting(session: AsyncSession, pickup_site: str, to_site: str) -> int:
    """Waiting jobs whose pickup site is `pickup_site`, wherever they wait, go to `to_site`."""
    waiting = select(PrintRecord.enrollment_id).where(PrintRecord.pickup_site == pickup_site)
    result = await session.execute(
        update(PrintJob).where(PrintJob.site != to_site, PrintJob.status == JobStatus.QUEUED,
                               PrintJob.enrollment_id.in_(waiting)).values(site=to_site)
    )
    return int(result.rowcount or 0)


async def available_up_to(session: AsyncSession, site: str, limit: int) -> int:
    """Available blanks at `site`, counted up to `limit` (cheap however large the stock)."""
    some = (select(BlankCard.serial).where(BlankCard.site == site, BlankCard.status == SerialStatus.AVAILABLE)
            .limit(limit).subquery())
    return int((await session.execute(select(func.count()).select_from(some))).scalar_one())


async def site_stock(session: AsyncSession, site: str, *, for_update: bool = False) -> SiteStock | None:
    stmt = select(SiteStock).where(SiteStock.site == site)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def ensure_site_stock(session: AsyncSession, site: str) -> SiteStock:
    """The site's stock row, created if missing (concurrent creators do not clash), locked."""
    await session.execute(conflict_insert(session, SiteStock).values(site=site, low=False).on_conflict_do_nothing())
    state = await site_stock(session, site, for_update=True)
    assert state is not None
    return state


async def site_stocks(session: AsyncSession) -> dict[str, SiteStock]:
    return {s.site: s for s in (await session.execute(select(SiteStock))).scalars()}


async def move_blanks(session: AsyncSession, from_site: str, to_site: str, first: str, last: str) -> int:
    """AVAILABLE blanks of `from_site` with serials first..last (one width) move to `to_site`."""
    result = await session.execute(
        update(BlankCard).where(BlankCard.site == from_site, BlankCard.status == SerialStatus.AVAILABLE,
                                BlankCard.serial >= first, BlankCard.serial <= last,
                                func.length(BlankCard.serial) == len(first))
        .values(site=to_site)
    )
    return int(result.rowcount or 0)


async def waiting_count(session: AsyncSession, site: str) -> int:
    return int((await session.execute(
        select(func.count()).where(PrintJob.site == site, PrintJob.status == JobStatus.QUEUED)
    )).scalar_one())


async def waiting_by_site(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(
        select(PrintJob.site, func.count()).where(PrintJob.status == JobStatus.QUEUED).group_by(PrintJob.site)
    )).all()
    return {site: int(n) for site, n in rows}


async def live_nodes(session: AsyncSession, site: str, now: dt.datetime, *, role: str | None = None) -> Sequence[PrintNode]:
    stmt = select(PrintNode).where(PrintNode.site == site, PrintNode.status == NodeStatus.LIVE,
                                   PrintNode.lease_expires_at > now)
    if role:
        stmt = stmt.where(PrintNode.role == role)
    return (await session.execute(stmt)).scalars().all()


async def lock_routes(session: AsyncSession) -> None:
    """Redirects are set one at a time (two at once, A to B and B to A, would each miss the other's
    and make a loop); reading the routes goes on. SQLite's transactions already write one at a time."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        table = session.bind.dialect.identifier_preparer.format_table(SiteRoute.__table__)
        await session.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
