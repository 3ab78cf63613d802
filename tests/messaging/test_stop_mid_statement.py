"""Stopping a process while a background pass is in the middle of a statement of its transaction
(SQLite, the all-in-one): the stop cancels the pass, and the database is free for the next writer
at once. The cancelled pass's connection was closed without a rollback while its statement was
still open, and SQLite kept that transaction, and its write lock, until the interpreter's cyclic
collector happened to free the statement: every other connection waited out its busy timeout."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading

import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.runtime import Platform, Runner, ServiceContext, ServiceModule
from tests.messaging.probe import probe_tables


def can_write_at_once(platform: Platform) -> bool:
    """A new connection takes the write lock without waiting (busy timeout 0)."""
    conn = sqlite3.connect(make_url(platform.settings.database_url).database, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # database is locked
        return False
    finally:
        conn.close()


@pytest.mark.parametrize("platform", ["embedded"], indirect=True)
async def test_a_pass_stopped_in_the_middle_of_a_statement_leaves_the_database_free(platform, caplog):
    reached, release = threading.Event(), threading.Event()

    def held() -> int:  # a SQL function: the statement waits in it, on the connection's thread
        reached.set()
        release.wait(30)
        return 1

    async def a_pass(ctx: ServiceContext) -> None:
        async with ctx.sessions() as session, session.begin():  # BEGIN IMMEDIATE: the write lock
            raw = await (await session.connection()).get_raw_connection()
            await raw.driver_connection.create_function("held", 0, held)
            # Three rows: after the first the statement is still open, with more to read.
            await session.execute(text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT held() FROM n"))

    runner = Runner(platform, [ServiceModule(name="probe", router=APIRouter(), tables=probe_tables, tasks=[a_pass])])
    await runner.start()
    assert await asyncio.to_thread(reached.wait, 30), "the pass is in its statement"
    caplog.set_level(logging.WARNING, logger="shared.runtime")
    stopping = asyncio.create_task(runner.stop())
    await asyncio.sleep(0)  # the stop has cancelled the pass while its statement runs
    release.set()
    await stopping

    assert can_write_at_once(platform), "the cancelled pass's transaction was rolled back"
    assert [r.getMessage() for r in caplog.records if "without waiting" in r.getMessage()] == []
