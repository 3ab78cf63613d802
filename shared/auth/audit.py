"""Every read or change of personal data is written to the audit log: who, what, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import AuditEntry
from shared.auth.principal import Principal
from shared.logs import correlation_id


async def audit(session: AsyncSession, principal: Principal, action: str, subject_type: str, subject_id: str,
                detail: dict[str, Any] | None = None) -> None:
    session.add(
        AuditEntry(
            actor=principal.actor, role=principal.role.value, action=action, subject_type=subject_type,
            subject_id=subject_id, detail=detail, correlation_id=correlation_id.get(),
        )
    )
    await session.flush()
