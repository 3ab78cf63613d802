"""The one app factory every service (and the all-in-one) is built with."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from shared import health, metrics
from shared.errors import ERROR_RESPONSES, install_error_handlers
from shared.limits import RequestGuardMiddleware
from shared.logs import CorrelationMiddleware, configure_logging
from shared.runtime import Platform, Runner, ServiceModule
from shared.settings import Settings

# Youngest generation of the cyclic collector: a collection every 20,000 net allocations instead
# of 700. A request allocates thousands of objects, nearly all freed by reference counting.
GC_THRESHOLDS = (20_000, 20, 10)


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
        thresholds = gc.get_threshold()
        try:
            await runner.start()
            app.state.contexts = runner.contexts
            # What exists now lives as long as the process (modules, schemas, pools, tables):
            # kept out of the cyclic collector's full scans, which walked all of it again and
            # again under load (about a fifth of the CPU of an accepted recording).
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            yield
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
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
