"""The app factory every service is built with."""

from __future__ import annotations

import asyncio
import gc

from shared.app import GC_THRESHOLDS
from shared.settings import Settings


async def test_long_lived_objects_are_out_of_the_collectors_way_while_serving(tmp_path):
    from ektp.allinone import create_app
    from shared.migrate import upgrade

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", env="test", data_dir=tmp_path)
    await asyncio.to_thread(upgrade, settings.database_url)
    app = create_app(settings)
    gc.unfreeze()
    before = gc.get_threshold()
    async with app.router.lifespan_context(app):
        # modules, schemas, pools and the region table: skipped by the full collections under load
        assert gc.get_freeze_count() > 50_000
        assert gc.get_threshold() == GC_THRESHOLDS
    # given back at stop: what an app left behind in a test process can still be collected
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
