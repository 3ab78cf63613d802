"""The dedup engine's single state row on a fresh database, on real PostgreSQL."""

from __future__ import annotations

import asyncio


async def test_the_first_callers_on_a_fresh_database_share_one_engine_row(pg_url):
    """The engine starting and an operator pausing at once on a new database: both read the one
    engine row (the second made it too and failed on its primary key)."""
    from services.dedup import repository
    from shared.db import create_engine, make_sessionmaker

    engine = create_engine(pg_url, application_name="ektp-test-engine-row", pool_size=2)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as first, sessions() as second:
            await repository.engine_state(first, for_update=True)  # made, not committed yet
            later = asyncio.create_task(repository.engine_state(second, for_update=True))
            await asyncio.sleep(0.2)  # the second now waits on the first's row
            await first.commit()
            state = await later
            await second.commit()
        assert state.id == 1 and state.paused is False
    finally:
        await engine.dispose()
