"""Fixtures for the enrollment service's API tests: the app in-process on real PostgreSQL and
RabbitMQ, and credentials of any role and site. Import the fixtures into a test module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import service_env
from tests.support.processes import Cluster

from services.enrollment.app import create_app
from shared.auth.principal import Role, create_credential, revoke_credential
from shared.db import create_engine, make_sessionmaker
from shared.settings import Settings


class Credentials:
    """Makes and revokes credentials in the test database, as `ektp credentials` does."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url, application_name="ektp-test-credentials", pool_size=1)
        self.sessions = make_sessionmaker(self.engine)

    async def create(self, role: str, site: str) -> tuple[uuid.UUID, str]:
        async with self.sessions() as session:
            credential, token = await create_credential(session, name=f"test {role} {site}", role=Role(role), site=site)
            await session.commit()
        return credential.id, token

    async def revoke(self, credential_id: uuid.UUID) -> None:
        async with self.sessions() as session:
            await revoke_credential(session, credential_id)
            await session.commit()


@pytest.fixture
async def enrollment_api(pg_url: str, amqp_url: str, token: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The enrollment service in-process; the client carries the bootstrap admin token."""
    settings = Settings(database_url=pg_url, broker_url=amqp_url, env="test", bootstrap_token=token,
                        data_dir=tmp_path, log_json=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def credentials(pg_url: str) -> AsyncIterator[Credentials]:
    made = Credentials(pg_url)
    try:
        yield made
    finally:
        await made.engine.dispose()


async def total_at(client: httpx.AsyncClient, site: str) -> int:
    """How many enrollments the register lists for `site` (recorded or to be picked up there)."""
    return (await client.get("/v1/enrollments", params={"site": site, "limit": 1})).json()["total"]


def services_only(pg_url: str, amqp_url: str, token: str, tmp_path: Path, *names: str) -> Cluster:
    """Some of the services as separate processes (stop() them); `cluster` starts all four."""
    env = service_env(database_url=pg_url, broker_url=amqp_url, token=token, data_dir=tmp_path)
    c = Cluster(env=env, workdir=tmp_path, token=token)
    try:
        for name in names:
            c.start_service(name)
    except BaseException:
        c.stop()
        raise
    return c
