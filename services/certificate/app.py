"""The certificate service's app factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from services.certificate import api, consumers, service
from services.certificate.models import messaging
from shared import keys
from shared.app import build_app
from shared.messaging.transport import to_the_end
from shared.runtime import ServiceContext, ServiceModule
from shared.settings import Environment, Settings

log = logging.getLogger(__name__)


async def startup(ctx: ServiceContext) -> None:
    ctx.state["signing_key"], ctx.state["public_keys"] = keys.open_key_dir(
        ctx.settings.signing_key_dir, create=ctx.settings.env is not Environment.PRODUCTION)
    ctx.state["policy_wake"] = asyncio.Event()
    missing = service.missing_signatory(ctx.settings)
    if missing:
        # Printed in every certificate's signature block; in production the PDF is refused until set.
        log.warning("%s not set: certificates are %s", ", ".join(missing),
                    "refused as PDF" if ctx.settings.env is Environment.PRODUCTION else "printed with a placeholder")


def policies_enabled(settings: Settings) -> bool:
    return (settings.cert_auto_issue_when_paused or settings.cert_auto_renew
            or settings.cert_auto_issue_after_days is not None)


async def run_policies(ctx: ServiceContext) -> None:
    """Every EKTP_CERT_POLICY_INTERVAL_SECONDS (or at once when dedup pauses): apply the certificate
    policies in batches, one transaction per batch."""
    settings, wake = ctx.settings, ctx.state["policy_wake"]
    if not policies_enabled(settings):
        return

    async def one_pass() -> dict[str, int]:
        async with ctx.sessions() as session:
            made = await service.apply_policies(session, settings, ctx.state["signing_key"],
                                                now=service.clock(settings))
            await session.commit()
        return made

    while True:
        while True:
            made = await to_the_end(one_pass())
            if not made:
                break
            ctx.events_written()
            log.info("certificate policies issued %s", made)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=settings.cert_policy_interval_seconds)
        wake.clear()


def module() -> ServiceModule:
    return ServiceModule(name="certificate", router=api.router, tables=messaging, consumers=consumers.consumers,
                         startup=startup, tasks=[run_policies])


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app([module()], settings or Settings(), title="KTP-el certificate")
