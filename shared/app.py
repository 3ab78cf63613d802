"""The one app factory every service (and the all-in-one) is built with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from shared import health, metrics
from shared.errors import ERROR_RESPONSES, install_error_handlers
from shared.limits import RequestGuardMiddleware
from shared.logs import CorrelationMiddleware, configure_logging
from shared.runtime import Platform, Runner, ServiceModule
from shared.settings import Settings


def build_app(modules: Sequence[ServiceModule], settings: Settings, *, title: str,
              extra_routers: Sequence[APIRouter] = (), configure_logs: bool = True) -> FastAPI:
    name = "-".join(m.name for m in modules) if len(modules) == 1 else "all-in-one"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if configure_logs:
            configure_logging(settings.log_level, json=settings.log_json, service=name)
        platform = await Platform.open(settings, name=name)
        runner = Runner(platform, modules)
        app.state.platform = platform
        try:
            await runner.start()
            app.state.contexts = runner.contexts
            yield
        finally:
            await runner.stop()
            await platform.close()

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan,
                  description="KTP-el issuance platform. Errors: {error, detail, fields[]}.")
    app.add_middleware(RequestGuardMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(metrics.MetricsMiddleware)
    app.add_middleware(CorrelationMiddleware)
    install_error_handlers(app)
    for module in modules:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    for router in extra_routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
