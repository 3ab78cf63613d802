"""All queries of the certificate service."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.certificate.models import CertStatus, Certificate, DedupEngine, Resident
from services.certificate.models import Sequence as NumberSequence
from shared.db import conflict_insert


async def resident(session: AsyncSession, enrollment_id: uuid.UUID, *, for_update: bool = False) -> Resident | None:
    stmt = select(Resident).where(Resident.enrollment_id == enrollment_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def valid_for(session: AsyncSession, enrollment_id: uuid.UUID) -> Sequence[Certificate]:
    return (await session.execute(
        select(Certificate).where(Certificate.enrollment_id == enrollment_id, Certificate.status == CertStatus.VALID)
        .with_for_update()
    )).scalars().all()


async def valid_for_nik(session: AsyncSession, nik: str) -> Sequence[Certificate]:
    """The valid certificates of a person, whichever of their recordings each was issued for."""
    return (await session.execute(
        select(Certificate).where(Certificate.nik == nik, Certificate.status == CertStatus.VALID).with_for_update()
    )).scalars().all()


async def newest_waiting(session: AsyncSession, nik: str, statuses: Iterable[str]) -> Resident | None:
    """The person's most recent recording still waiting (in one of `statuses`), if any."""
    return (await session.execute(
        select(Resident).where(Resident.nik == nik, Resident.status.in_(list(statuses)))
        .order_by(Resident.recorded_at.desc()).limit(1)
    )).scalar_one_or_none()


async def has_certificate(session: AsyncSession, enrollment_id: uuid.UUID) -> bool:
    """Whether the resident ever had a certificate (valid, revoked or superseded)."""
    return (await session.execute(select(exists().where(Certificate.enrollment_id == enrollment_id)))).scalar_one()


async def certificate(session: AsyncSession, number: str, *, for_update: bool = False) -> Certificate | None:
    stmt = select(Certificate).where(Certificate.number == number)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def next_number(session: AsyncSession, pattern: str, year: int) -> tuple[str, int]:
    # The year's row is created race-free (two first certificates of a year at once), then locked.
    await session.execute(conflict_insert(session, NumberSequence).values(year=year, last=0).on_conflict_do_nothing())
    row = (await session.execute(
        select(NumberSequence).where(NumberSequence.year == year).with_for_update()
    )).scalar_one()
    row.last += 1
    await session.flush()
    return pattern.format(seq=row.last, year=year), row.last


# ---- policies --------------------------------------------------------------------------------

async def engine_state(session: AsyncSession, *, for_update: bool = False) -> DedupEngine | None:
    stmt = select(DedupEngine).where(DedupEngine.id == 1)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def waiting_without_certificate(session: AsyncSession, statuses: Iterable[str], *, limit: int,
                                      recorded_before: dt.datetime | None = None) -> Sequence[Resident]:
    """Residents still waiting who never had a certificate (one revoked by an operator stays revoked),
    locked; rows another process holds are skipped."""
    stmt = (select(Resident)
            .where(Resident.status.in_(list(statuses)),
                   ~exists().where(Certificate.enrollment_id == Resident.enrollment_id))
            .order_by(Resident.recorded_at).limit(limit).with_for_update(skip_locked=True))
    if recorded_before is not None:
        stmt = stmt.where(Resident.recorded_at <= recorded_before)
    return (await session.execute(stmt)).scalars().all()


async def expired_while_waiting(session: AsyncSession, statuses: Iterable[str], *, today: dt.date,
                                limit: int) -> Sequence[Certificate]:
    """Valid certificates past their date whose resident still waits for the card (by the recording
    it was issued for, or by a newer one that replaced it), locked."""
    statuses = list(statuses)
    newer = aliased(Resident)
    waits_again = and_(Resident.status == "REPLACED",
                       exists().where(newer.nik == Resident.nik, newer.status.in_(statuses)))
    stmt = (select(Certificate).join(Resident, Resident.enrollment_id == Certificate.enrollment_id)
            .where(Certificate.status == CertStatus.VALID, Certificate.valid_until < today,
                   or_(Resident.status.in_(statuses), waits_again))
            .order_by(Certificate.valid_until).limit(limit).with_for_update(of=Certificate, skip_locked=True))
    return (await session.execute(stmt)).scalars().all()


# ---- the console -----------------------------------------------------------------------------

def _filtered(stmt: Select, *, today: dt.date, enrollment_id: uuid.UUID | None = None, nik: str | None = None,
              status: CertStatus | None = None, site: str | None = None) -> Select:
    if enrollment_id is not None:
        stmt = stmt.where(Certificate.enrollment_id == enrollment_id)
    if nik is not None:
        stmt = stmt.where(Certificate.nik == nik)
    if status is CertStatus.EXPIRED:
        stmt = stmt.where(Certificate.status == CertStatus.VALID, Certificate.valid_until < today)
    elif status is CertStatus.VALID:
        stmt = stmt.where(Certificate.status == CertStatus.VALID, Certificate.valid_until >= today)
    elif status is not None:
        stmt = stmt.where(Certificate.status == status.value)
    if site is not None:
        stmt = stmt.where(Certificate.enrollment_id.in_(
            select(Resident.enrollment_id).where(or_(Resident.pickup_site == site, Resident.recording_site == site))))
    return stmt


async def search(session: AsyncSession, *, today: dt.date, limit: int, offset: int,
                 **filters: Any) -> tuple[Sequence[Certificate], int]:
    rows = (await session.execute(_filtered(select(Certificate), today=today, **filters)
                                  .order_by(Certificate.issued_at.desc(), Certificate.number)
                                  .limit(limit).offset(offset))).scalars().all()
    total = (await session.execute(_filtered(select(func.count()).select_from(Certificate), today=today,
                                             **filters))).scalar_one()
    return rows, int(total)


async def stats(session: AsyncSession, *, today: dt.date, site: str | None = None) -> dict[str, int]:
    """Counts by status, with VALID split into valid and expired by date."""
    expired = case((and_(Certificate.status == CertStatus.VALID, Certificate.valid_until < today), CertStatus.EXPIRED.value),
                   else_=Certificate.status)
    stmt = _filtered(select(expired, func.count()).select_from(Certificate), today=today, site=site).group_by(expired)
    return {str(status): int(n) for status, n in (await session.execute(stmt)).all()}
