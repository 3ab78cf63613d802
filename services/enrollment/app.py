"""The enrollment service's app factory."""

from __future__ import annotations

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


def module() -> ServiceModule:
    return ServiceModule(name="enrollment", router=api.router, tables=messaging, consumers=consumers.consumers,
                         startup=startup)


def create_app(settings: Settings | None = None) -> FastAPI:
    # The gateway routes / and /console here: the operator console and the public pages.
    return build_app([module()], settings or Settings(), title="KTP-el enrollment", extra_routers=[console_router])
