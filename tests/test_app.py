"""The app factory every service is built with."""

from __future__ import annotations

import asyncio
import gc

from fastapi import FastAPI, Request

from shared.app import GC_THRESHOLDS
from shared.errors import install_error_handlers
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


async def test_a_client_gone_mid_upload_is_no_server_error(caplog):
    """A kecamatan link dropping mid-upload: logged as what it is, not as an unhandled error."""
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/upload")
    async def upload(request: Request) -> dict:
        return {"size": len(await request.body())}

    incoming = [{"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": [], "query_string": b"",
             "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80), "root_path": ""}
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert "client went away during POST /upload" in caplog.text
