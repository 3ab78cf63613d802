"""Every service answers /healthz, /readyz (database and broker checked) and /metrics."""

from __future__ import annotations

import importlib

import httpx
import pytest

from shared.settings import Settings


@pytest.mark.parametrize("service", ["enrollment", "dedup", "print", "certificate"])
async def test_health_readiness_and_metrics_of_each_service(service, tmp_path, pg_url, amqp_url):
    settings = Settings(database_url=pg_url, broker_url=amqp_url, env="test", data_dir=tmp_path)
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": True, "broker": True}
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200 and "ektp_http_requests_total" in metrics.text
            assert (await client.get("/openapi.json")).status_code == 200


async def test_readiness_fails_when_the_database_is_gone(tmp_path):
    from ektp.allinone import create_app

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", env="test", data_dir=tmp_path)
    from shared.migrate import upgrade
    import asyncio

    await asyncio.to_thread(upgrade, settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/readyz")).status_code == 200
            await app.state.platform.engine.dispose()
            (tmp_path / "db.sqlite").rename(tmp_path / "moved.sqlite")
            (tmp_path / "db.sqlite").mkdir()  # the path is no longer a database
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"]["database"] is False
