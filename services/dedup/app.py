"""The dedup service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.dedup import api, consumers
from services.dedup.engine import run_engine
from services.dedup.matching import make_matcher
from services.dedup.models import messaging
from shared.app import build_app
from shared.runtime import ServiceContext, ServiceModule
from shared.settings import Settings


async def startup(ctx: ServiceContext) -> None:
    ctx.state["matcher"] = make_matcher(ctx.settings)
    ctx.state["engine_leader"] = False


async def shutdown(ctx: ServiceContext) -> None:
    await ctx.state["matcher"].close()


def module() -> ServiceModule:
    return ServiceModule(name="dedup", router=api.router, tables=messaging, consumers=consumers.consumers,
                         startup=startup, tasks=[run_engine], shutdown=shutdown)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app([module()], settings or Settings(), title="KTP-el dedup")
