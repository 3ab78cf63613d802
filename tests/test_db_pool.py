"""The PostgreSQL pool hands out no connection the server has closed (a restart, an administrator's
pg_terminate_backend), without pinging on every checkout."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from shared.db import create_engine


async def test_connections_the_server_closed_are_replaced_at_checkout(pg_url):
    name = f"ektp-pool-test-{uuid.uuid4().hex[:8]}"
    engine = create_engine(pg_url, application_name=name, pool_size=3)
    admin = create_engine(pg_url, application_name=f"{name}-admin", pool_size=1)
    try:
        async def backend_pid() -> int:
            async with engine.connect() as conn:
                return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        # Fill the pool: three connections, then idle in it.
        conns = [await engine.connect() for _ in range(3)]
        before = set()
        for conn in conns:
            before.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await conn.close()
        async with admin.connect() as conn:
            # The CTE is materialised first: only this engine's server processes are ended.
            killed = (await conn.execute(text(
                "WITH mine AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = :name) "
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM mine"), {"name": name})).scalar_one()
        assert killed == 3
        await asyncio.sleep(0.5)  # the idle connections read the server's goodbye

        # Every checkout works, on a new server process.
        pids = [await backend_pid() for _ in range(5)]
        assert not set(pids) & before
    finally:
        await engine.dispose()
        await admin.dispose()
