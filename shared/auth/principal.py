"""Who is calling: roles, sites, and the bearer-token check."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth.models import Credential
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.settings import new_token


class Role(StrEnum):
    ADMIN = "admin"
    DINAS_OPERATOR = "dinas_operator"
    KECAMATAN_OPERATOR = "kecamatan_operator"
    STATION = "station"
    ADJUDICATOR = "adjudicator"
    PRINT_OPERATOR = "print_operator"
    PRINT_AGENT = "print_agent"


# Roles whose reach is the whole dinas (every site of the city); the others act for their own site.
CITY_WIDE = frozenset({Role.ADMIN, Role.DINAS_OPERATOR, Role.ADJUDICATOR})


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role
    site: str

    @property
    def actor(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def city_wide(self) -> bool:
        return self.role in CITY_WIDE

    def may_act_for(self, site: str) -> bool:
        return self.city_wide or self.site == site

    def require_site(self, site: str) -> None:
        if not self.may_act_for(site):
            raise Forbidden(f"credential of site {self.site} may not act for site {site}", code="wrong_site")

    def scope(self, site: str | None) -> str | None:
        """The site a list or count is limited to: the one asked for (403 if not this credential's),
        else every site for a city-wide role and its own site for the others."""
        if site is None:
            return None if self.city_wide else self.site
        self.require_site(site)
        return site


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bootstrap_principal(dinas_code: str) -> Principal:
    return Principal(id="bootstrap", name="bootstrap admin", role=Role.ADMIN, site=dinas_code)


async def authenticate(session: AsyncSession | AsyncConnection, token: str | None, *, bootstrap_token: str | None,
                       dinas_code: str) -> Principal:
    if not token:
        raise Unauthorized("missing credential: send Authorization: Bearer <token>")
    if bootstrap_token and hmac.compare_digest(token.encode(), bootstrap_token.encode()):
        return bootstrap_principal(dinas_code)
    # Columns, not the ORM entity: this runs on every request.
    row = (await session.execute(
        select(Credential.id, Credential.name, Credential.role, Credential.site, Credential.revoked_at)
        .where(Credential.token_hash == hash_token(token))
    )).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked credential")
    return Principal(id=str(row.id), name=row.name, role=Role(row.role), site=row.site)


async def create_credential(session: AsyncSession, *, name: str, role: Role, site: str) -> tuple[Credential, str]:
    """Returns the stored credential and the token, which is shown once and stored only hashed."""
    token = "ektp_" + new_token()
    credential = Credential(name=name, role=role.value, site=site, token_hash=hash_token(token))
    session.add(credential)
    await session.flush()
    return credential, token


async def revoke_credential(session: AsyncSession, credential_id: uuid.UUID) -> None:
    result = await session.execute(
        update(Credential).where(Credential.id == credential_id, Credential.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    if not result.rowcount:
        raise NotFound(f"no active credential {credential_id}")


async def list_credentials(session: AsyncSession) -> list[Credential]:
    return list((await session.execute(select(Credential).order_by(Credential.created_at))).scalars())
