"""On SQLite (the all-in-one) work that only reads (readiness, a credential's lookup, the public
status and verification, the console's counts and print lists) does not take the write lock, so
it answers while a writer holds it; a transaction that may write still takes it at its start
(BEGIN IMMEDIATE, shared/db.py), and so does a read of personal data, which writes its audit entry
(tests/security/test_audit_log.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ektp.allinone import create_app
from shared.auth.principal import Role, create_credential
from shared.db import create_engine, make_sessionmaker, read_only
from shared.migrate import upgrade
from shared.settings import Settings
from tests.support.api import auth, eventually, recording

SITE = "53.71.04"
PROMPT = 3.0  # seconds; a read that waited for the lock would wait out the busy timeout (60 s)


@asynccontextmanager
async def _allinone(tmp_path: Path, token: str, seed: int) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict]]:
    """The all-in-one on SQLite, a client with the admin credential, and one recording accepted."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ektp.db'}", env="test", data_dir=tmp_path,
                        bootstrap_token=token, log_json=False)
    await asyncio.to_thread(upgrade, settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=90,
                                     headers=auth(token)) as client:
            accepted = await client.post("/v1/enrollments", json=recording(seed, pickup_site=SITE),
                                         headers={"Idempotency-Key": str(uuid.uuid4())})
            assert accepted.status_code == 201, accepted.text
            yield app, client, accepted.json()


@asynccontextmanager
async def _writer_holding_the_lock(tmp_path: Path) -> AsyncIterator[None]:
    """Another process writes (an intake batch, `ektp credentials create`) and holds the lock. It
    waits for the lock off the event loop: waiting on it, it kept the app's task that held the lock
    from finishing its transaction, both stuck until the 60 s busy timeout ran out."""
    writer = sqlite3.connect(tmp_path / "ektp.db", isolation_level=None, timeout=60, check_same_thread=False)
    try:
        await asyncio.to_thread(writer.execute, "BEGIN IMMEDIATE")
        yield
        writer.execute("ROLLBACK")
    finally:
        writer.close()


async def test_reads_answer_while_a_writer_holds_the_lock(tmp_path, token):
    async with _allinone(tmp_path, token, 7300) as (app, client, accepted):
        receipt = accepted["receipt_number"]
        async with app.state.platform.sessions() as session:  # a credential not looked up yet
            _, operator = await create_credential(session, name="Oebobo operator", role=Role.KECAMATAN_OPERATOR,
                                                  site=SITE)
            await session.commit()

        async with _writer_holding_the_lock(tmp_path):
            started = time.monotonic()
            ready = await asyncio.wait_for(client.get("/readyz"), PROMPT)
            status = await asyncio.wait_for(client.get(f"/v1/status/{receipt}"), PROMPT)
            stats = await asyncio.wait_for(client.get("/v1/enrollments/stats", headers=auth(operator)), PROMPT)
            took = time.monotonic() - started

    assert ready.status_code == 200 and ready.json()["checks"]["database"] is True, ready.text
    assert status.status_code == 200 and status.json()["timeline"][0]["step"] == "RECORDED", status.text
    assert stats.status_code == 200 and stats.json()["total"] == 1, stats.text
    assert took < PROMPT


async def test_the_services_reads_answer_while_a_writer_holds_the_lock(tmp_path, token):
    # The console's lists and counts, an autoscaler's queue and a verifier's check: read-only
    # sessions (ReadSessionDep) in dedup, print and certificate. Reads that are audited write.
    async with _allinone(tmp_path, token, 7301) as (_, client, accepted):
        enrollment_id = accepted["id"]
        received = await client.post(f"/v1/print/sites/{SITE}/stock", json={"first_serial": "7300000001", "count": 5})
        assert received.status_code == 201, received.text

        async def issued() -> httpx.Response | None:  # once the certificate service has the resident
            answer = await client.post("/v1/certificates", json={"enrollment_id": enrollment_id})
            return answer if answer.status_code == 201 else None

        async def in_dedup() -> bool:
            return (await client.get(f"/v1/dedup/backlog/position/{enrollment_id}")).status_code == 200

        certificate = (await eventually(issued, what="a certificate")).json()
        await eventually(in_dedup, what="the recording in de-duplication")
        reads = ["/v1/dedup/engine", "/v1/dedup/backlog", f"/v1/dedup/backlog/position/{enrollment_id}",
                 "/v1/print/nodes",
                 f"/v1/print/jobs?enrollment_id={enrollment_id}", f"/v1/print/stock?site={SITE}",
                 f"/v1/print/sites/{SITE}/queue", "/v1/print/sites/routes",
                 "/v1/certificates/stats", f"/v1/verify/{certificate['token']}"]

        async with _writer_holding_the_lock(tmp_path):
            started = time.monotonic()
            answers = {url: await asyncio.wait_for(client.get(url), PROMPT) for url in reads}
            took = time.monotonic() - started

    assert {url: a.status_code for url, a in answers.items()} == dict.fromkeys(reads, 200)
    assert answers[f"/v1/print/stock?site={SITE}"].json()[0]["available"] == 5
    assert answers["/v1/certificates/stats"].json()["valid"] == 1
    assert answers[f"/v1/verify/{certificate['token']}"].json()["status"] == "valid"
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


async def test_the_dedup_engine_state_is_read_before_its_row_is_made(tmp_path):
    # A fresh database (the engine has not run yet): a read answers the state the row will be made
    # with, and leaves making it to a transaction that may write.
    from services.dedup import repository

    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, application_name="ektp-test")
    try:
        async with make_sessionmaker(read_only(engine))() as session:
            state = await repository.engine_state(session, create=False)
            assert (state.paused, state.reason, state.automatic) == (False, None, False)
        async with make_sessionmaker(engine)() as session:
            assert (await session.execute(text("SELECT count(*) FROM dedup_engine"))).scalar_one() == 0
            assert (await repository.engine_state(session)).paused is False
            await session.commit()
            assert (await session.execute(text("SELECT count(*) FROM dedup_engine"))).scalar_one() == 1
    finally:
        await engine.dispose()
