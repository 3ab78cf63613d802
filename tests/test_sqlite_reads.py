"""On SQLite (the all-in-one) work that only reads (readiness, a credential's lookup, the public
status, the console's counts) does not take the write lock, so it answers while a writer holds
it; a transaction that may write still takes it at its start (BEGIN IMMEDIATE, shared/db.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ektp.allinone import create_app
from shared.auth.principal import Role, create_credential
from shared.db import create_engine, read_only
from shared.migrate import upgrade
from shared.settings import Settings
from tests.support.api import auth, recording

SITE = "53.71.04"
PROMPT = 3.0  # seconds; a read that waited for the lock would wait out the busy timeout (60 s)


async def test_reads_answer_while_a_writer_holds_the_lock(tmp_path, token):
    path = tmp_path / "ektp.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", env="test", data_dir=tmp_path,
                        bootstrap_token=token, log_json=False)
    await asyncio.to_thread(upgrade, settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=90,
                                     headers=auth(token)) as client:
            accepted = await client.post("/v1/enrollments", json=recording(7300, pickup_site=SITE),
                                         headers={"Idempotency-Key": str(uuid.uuid4())})
            assert accepted.status_code == 201, accepted.text
            receipt = accepted.json()["receipt_number"]
            async with app.state.platform.sessions() as session:  # a credential not looked up yet
                _, operator = await create_credential(session, name="Oebobo operator", role=Role.KECAMATAN_OPERATOR,
                                                      site=SITE)
                await session.commit()

            # Another process writes (an intake batch, `ektp credentials create`) and holds the lock.
            writer = sqlite3.connect(path, isolation_level=None, timeout=60)
            writer.execute("BEGIN IMMEDIATE")
            try:
                started = time.monotonic()
                ready = await asyncio.wait_for(client.get("/readyz"), PROMPT)
                status = await asyncio.wait_for(client.get(f"/v1/status/{receipt}"), PROMPT)
                stats = await asyncio.wait_for(client.get("/v1/enrollments/stats", headers=auth(operator)), PROMPT)
                took = time.monotonic() - started
            finally:
                writer.execute("ROLLBACK")
                writer.close()

    assert ready.status_code == 200 and ready.json()["checks"]["database"] is True, ready.text
    assert status.status_code == 200 and status.json()["timeline"][0]["step"] == "RECORDED", status.text
    assert stats.status_code == 200 and stats.json()["total"] == 1, stats.text
    assert took < PROMPT


async def test_a_read_only_transaction_refuses_a_write_at_once_and_its_connection_writes_after(tmp_path):
    # A write in a transaction declared read-only would have to upgrade its read lock, the
    # "database is locked" deadlock BEGIN IMMEDIATE avoids: it fails at once instead. The pooled
    # connection it ran on writes again in the next transaction that may write.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", application_name="ektp-test")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        started = time.monotonic()
        with pytest.raises(OperationalError, match="readonly database"):
            async with read_only(engine).begin() as conn:
                assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
                await conn.execute(text("INSERT INTO t VALUES (1)"))
        assert time.monotonic() - started < 1
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        async with read_only(engine).connect() as conn:
            assert (await conn.execute(text("SELECT x FROM t"))).scalars().all() == [2]
    finally:
        await engine.dispose()
