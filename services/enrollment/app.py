"""The enrollment service's app factory."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from console.routes import router as console_router
from services.enrollment import api, consumers
from services.enrollment.group_commit import GroupCommit
from services.enrollment.models import messaging
from shared.app import build_app
from shared.runtime import ServiceContext, ServiceModule
from shared.settings import Settings


async def startup(ctx: ServiceContext) -> None:
    ctx.state["group_commit"] = GroupCommit(ctx.sessions, on_commit=ctx.events_written)
    # Batches checked at once in a process. Checking is CPU work: more at once adds no speed, only
    # memory and longer turns of the event loop for every other request.
    ctx.state["batch_slots"] = asyncio.Semaphore(ctx.settings.batch_concurrency)


def module() -> ServiceModule:
    return ServiceModule(name="enrollment", router=api.router, tables=messaging, consumers=consumers.consumers,
                         startup=startup)


def create_app(settings: Settings | None = None) -> FastAPI:
    # The gateway routes / and /console here: the operator console and the public pages.
    return build_app([module()], settings or Settings(), title="KTP-el enrollment", extra_routers=[console_router])
