"""What a service process keeps of the credentials it checked (PostgreSQL): kept while it hears of
every change to the credential table, forgotten at each change, at the latest after its lifetime,
and not kept at all while the process cannot hear."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from shared.auth.cache import CredentialCache
from shared.auth.principal import Principal, Role
from shared.db import asyncpg_dsn
from tests.enrollment.service_app import credentials, enrollment_api  # noqa: F401 (fixtures)
from tests.support.api import as_, eventually, recording

SITE = "53.71.04"


async def until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    await eventually(condition, timeout=10, interval=0.01, what=what)


async def a_change_heard(cache: CredentialCache, since: int) -> None:
    await until(lambda: cache.generation != since, "the change's notice")


async def sql(pg_url: str, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


async def a_station_heard_of(api: httpx.AsyncClient, credentials) -> tuple[CredentialCache, object, str]:  # type: ignore[no-untyped-def]
    """A new station credential, once the listening process heard of its creation (a change too)."""
    cache = api.app.state.platform.credentials  # type: ignore[attr-defined]
    await until(lambda: cache.listening, "listening")
    before = cache.generation
    credential_id, token = await credentials.create("station", SITE)
    await a_change_heard(cache, before)
    return cache, credential_id, token


async def test_a_revoked_credential_is_refused_once_the_service_hears_of_it(enrollment_api, credentials):
    cache, credential_id, token = await a_station_heard_of(enrollment_api, credentials)
    async with as_(enrollment_api, token) as station:
        assert (await station.post("/v1/enrollments", json=recording(2101, pickup_site=SITE))).status_code == 201
        assert cache.get(token) == Principal(id=str(credential_id), name=f"test station {SITE}", role=Role.STATION,
                                             site=SITE)

        before = cache.generation
        await credentials.revoke(credential_id)  # as `ektp credentials revoke` does, in its own process
        await a_change_heard(cache, before)
        assert cache.get(token) is None
        refused = await station.post("/v1/enrollments", json=recording(2102, pickup_site=SITE))
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
        batch = await station.post("/v1/enrollments/batch", json=[recording(2103, pickup_site=SITE)])
        assert batch.status_code == 401


async def test_a_revocation_by_hand_in_the_database_is_heard_too(enrollment_api, credentials, pg_url):
    cache, credential_id, token = await a_station_heard_of(enrollment_api, credentials)
    async with as_(enrollment_api, token) as station:
        assert (await station.post("/v1/enrollments", json=recording(2111, pickup_site=SITE))).status_code == 201
        assert cache.get(token) is not None
        before = cache.generation
        await sql(pg_url, "UPDATE auth.credentials SET revoked_at = now() WHERE id = $1", credential_id)
        await a_change_heard(cache, before)
        assert (await station.post("/v1/enrollments", json=recording(2112, pickup_site=SITE))).status_code == 401


async def test_while_the_process_cannot_hear_it_keeps_nothing_and_reads_every_time(enrollment_api, credentials, pg_url):
    cache, credential_id, token = await a_station_heard_of(enrollment_api, credentials)
    async with as_(enrollment_api, token) as station:
        assert (await station.post("/v1/enrollments", json=recording(2121, pickup_site=SITE))).status_code == 201
        assert cache.get(token) is not None

        await sql(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'ektp-credential-cache' AND datname = current_database()")
        await until(lambda: not cache.listening, "the lost connection noticed")
        assert cache.get(token) is None
        # Deaf: revoked while nobody listens, and refused all the same (read from the table).
        await credentials.revoke(credential_id)
        assert (await station.post("/v1/enrollments", json=recording(2122, pickup_site=SITE))).status_code == 401

    # Back: it listens again and keeps what it checks.
    await until(lambda: cache.listening, "listening again")
    _, _, other = await a_station_heard_of(enrollment_api, credentials)
    async with as_(enrollment_api, other) as station:
        assert (await station.post("/v1/enrollments", json=recording(2123, pickup_site=SITE))).status_code == 201
        assert (await station.post("/v1/enrollments", json=recording(2124, pickup_site=SITE))).status_code == 201
    assert cache.get(other) is not None


async def test_an_entry_lives_its_lifetime_and_a_read_older_than_a_change_is_not_kept(pg_url):
    from sqlalchemy.engine import make_url

    cache = CredentialCache.for_database(make_url(pg_url), seconds=0.3)
    principal = Principal(id="1", name="station", role=Role.STATION, site=SITE)
    await cache.start()
    try:
        await until(lambda: cache.listening, "listening")
        cache.put("token-a", principal, cache.generation)
        assert cache.get("token-a") == principal
        await asyncio.sleep(0.35)
        assert cache.get("token-a") is None  # expired: read again

        read_began = cache.generation
        await sql(pg_url, "SELECT pg_notify('ektp_credentials', '')")
        await a_change_heard(cache, read_began)
        cache.put("token-b", principal, read_began)  # what that read found may predate the change
        assert cache.get("token-b") is None
    finally:
        await cache.close()


@pytest.mark.parametrize("url, seconds", [("sqlite+aiosqlite:///x.db", 5.0), ("postgresql+asyncpg://u@h/d", 0.0)])
async def test_nothing_is_kept_on_sqlite_or_when_turned_off(url, seconds):
    from sqlalchemy.engine import make_url

    cache = CredentialCache.for_database(make_url(url), seconds=seconds)
    await cache.start()
    cache.put("token", Principal(id="1", name="s", role=Role.STATION, site=SITE), cache.generation)
    assert not cache.listening and cache.get("token") is None
    await cache.close()
