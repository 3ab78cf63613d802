"""The platform the messaging tests run on: the embedded queue (SQLite) and RabbitMQ
(+ PostgreSQL) in turn; a test for one transport asks with
`@pytest.mark.parametrize("platform", ["amqp"], indirect=True)`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.runtime import Platform
from shared.settings import Settings
from tests.messaging.probe import MAX_ATTEMPTS, probe_metadata


@pytest.fixture(params=["embedded", "amqp"])
async def platform(request, tmp_path: Path) -> AsyncIterator[Platform]:
    if request.param == "embedded":
        database_url, broker_url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}", None
    else:
        database_url = request.getfixturevalue("pg_url")
        broker_url = request.getfixturevalue("amqp_url")
    settings = Settings(database_url=database_url, broker_url=broker_url, max_delivery_attempts=MAX_ATTEMPTS,
                        embedded_visibility_seconds=1.0, env="test")
    p = await Platform.open(settings, name=f"contract-{request.param}")
    async with p.engine.begin() as conn:
        await conn.run_sync(probe_metadata.create_all)
    try:
        yield p
    finally:
        await p.close()
