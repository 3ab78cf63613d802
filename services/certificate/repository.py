"""All queries of the certificate service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.certificate.models import CertStatus, Certificate, Resident
from services.certificate.models import Sequence as NumberSequence


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


async def certificate(session: AsyncSession, number: str, *, for_update: bool = False) -> Certificate | None:
    stmt = select(Certificate).where(Certificate.number == number)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def next_number(session: AsyncSession, pattern: str, year: int) -> tuple[str, int]:
    row = (await session.execute(
        select(NumberSequence).where(NumberSequence.year == year).with_for_update()
    )).scalar_one_or_none()
    if row is None:
        row = NumberSequence(year=year, last=0)
        session.add(row)
    row.last += 1
    await session.flush()
    return pattern.format(seq=row.last, year=year), row.last


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(select(Certificate.status, func.count()).group_by(Certificate.status))).all()
    return {status: int(n) for status, n in rows}
