"""The print service's app factory."""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import FastAPI
from sqlalchemy import select

from services.print import api, consumers, metrics, service
from services.print.agent.runner import RETRY_MAX_SECONDS
from services.print.models import messaging
from shared import keys
from shared.app import build_app
from shared.messaging.transport import to_the_end
from shared.runtime import ServiceContext, ServiceModule
from shared.settings import Environment, Settings

log = logging.getLogger(__name__)


async def startup(ctx: ServiceContext) -> None:
    # Set when work may have appeared (jobs queued, stock received, a node lost): wakes long-polls.
    ctx.state["work_available"] = asyncio.Event()
    # Chip records are signed with the dinas's key, as certificates are.
    ctx.state["signing_key"], ctx.state["public_keys"] = keys.open_key_dir(
        ctx.settings.signing_key_dir, create=ctx.settings.env is not Environment.PRODUCTION)


async def reap_lost_nodes(ctx: ServiceContext) -> None:
    """Nodes whose lease expired are LOST; their jobs go back to the site's queue.

    A lease runs out only while the service could hear the node. For a lease and the agents'
    longest wait between two tries after the process starts, and after a pass that could not reach
    the database, no node is declared lost: while the service (or its database) was away no agent
    could renew its lease, and each tries again at most that long after it is back. Reaped at
    once, every print server printing through a restart of the service lost its cards: spoiled,
    printed again elsewhere, and the first ones, reported late, void."""
    grace = ctx.settings.print_lease_seconds + RETRY_MAX_SECONDS
    reap_after = time.monotonic() + grace

    async def one_pass() -> int:
        async with ctx.sessions() as session, session.begin():
            if time.monotonic() < reap_after:
                await session.execute(select(1))  # the database answers: the grace runs
                return 0
            return await service.reap_lost_nodes(session)

    while True:
        try:
            lost = await to_the_end(one_pass())
            if lost:
                log.warning("%d print node(s) lost; their jobs are queued again", lost)
                ctx.events_written()  # print.card_spoiled of the blanks they held
                ctx.state["work_available"].set()
        except asyncio.CancelledError:
            raise
        except Exception:
            reap_after = time.monotonic() + grace
            log.exception("reaping lost print nodes failed")
        await asyncio.sleep(max(ctx.settings.print_lease_seconds / 5, 0.5))


async def poke_waiting_agents(ctx: ServiceContext) -> None:
    """Jobs are queued by consumers: wake long-polls regularly so none waits past a second."""
    while True:
        ctx.state["work_available"].set()
        await asyncio.sleep(0.5)


async def refresh_queue_metrics(ctx: ServiceContext) -> None:
    """The gauge ektp_print_jobs_waiting{site} that autoscalers read from /metrics."""
    while True:
        try:
            await to_the_end(metrics.refresh_waiting(ctx))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("refreshing the print queue gauge failed")
        await asyncio.sleep(ctx.settings.print_queue_metrics_seconds)


def module() -> ServiceModule:
    return ServiceModule(name="print", router=api.router, tables=messaging, consumers=consumers.consumers,
                         startup=startup, tasks=[reap_lost_nodes, poke_waiting_agents, refresh_queue_metrics])


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app([module()], settings or Settings(), title="KTP-el print")
