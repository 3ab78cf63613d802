"""FastAPI dependencies every service uses: the database session, the caller, the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.principal import Principal, Role, authenticate
from shared.db import single_read
from shared.errors import Forbidden
from shared.runtime import ServiceContext
from shared.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="A credential: Authorization: Bearer <token>")


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def` dependency
# in its thread pool, which costs a thread hand-off on every request.

async def get_settings(request: Request) -> Settings:
    return request.app.state.platform.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for this request. The route handler commits what it changed; anything not
    committed is rolled back when the request ends."""
    async with request.app.state.platform.sessions() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for a request that only reads (shared.db.read_only): on SQLite it does not wait
    behind a writer; a write in it fails."""
    async with request.app.state.platform.read_sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Checked against the credential table, or against what this process found there lately while
    it hears of every change to it (`shared.auth.cache`: a revocation reaches every process within
    milliseconds). The read is one autocommit query whose connection is given back before the
    route takes one: a request never holds two."""
    platform = request.app.state.platform
    settings: Settings = platform.settings
    token = credentials.credentials if credentials else None
    if (known := platform.credentials.get(token)) is not None:
        return known
    generation = platform.credentials.generation
    async with single_read(platform.engine) as conn:
        principal = await authenticate(conn, token, bootstrap_token=settings.bootstrap_token,
                                       dinas_code=settings.dinas_code)
    platform.credentials.put(token, principal, generation)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency admitting only the given roles (admin is always admitted)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not do this; needs one of "
                            + ", ".join(sorted(r.value for r in allowed)), code="wrong_role")
        return principal

    return check


def service_context(name: str) -> Callable[[Request], Awaitable[ServiceContext]]:
    async def get(request: Request) -> ServiceContext:
        return request.app.state.contexts[name]

    return get
