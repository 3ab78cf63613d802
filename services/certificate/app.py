"""The certificate service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.certificate import api, consumers
from services.certificate.models import messaging
from shared import keys
from shared.app import build_app
from shared.runtime import ServiceContext, ServiceModule
from shared.settings import Environment, Settings


async def startup(ctx: ServiceContext) -> None:
    ctx.state["signing_key"], ctx.state["public_keys"] = keys.open_key_dir(
        ctx.settings.signing_key_dir, create=ctx.settings.env is not Environment.PRODUCTION)


def module() -> ServiceModule:
    return ServiceModule(name="certificate", router=api.router, tables=messaging, consumers=consumers.consumers,
                         startup=startup)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app([module()], settings or Settings(), title="KTP-el certificate")
