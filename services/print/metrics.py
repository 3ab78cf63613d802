"""Prometheus metrics of the print service: waiting jobs per site, for autoscalers (KEDA)."""

from __future__ import annotations

from prometheus_client import Gauge

from services.print import repository
from shared.runtime import ServiceContext

JOBS_WAITING = Gauge("ektp_print_jobs_waiting", "Print jobs QUEUED per site (refreshed in the background)", ["site"])


async def refresh_waiting(ctx: ServiceContext) -> None:
    """One refresh: every site seen so far keeps its series (0 when nothing waits)."""
    async with ctx.sessions() as session:
        waiting = await repository.waiting_by_site(session)
    seen: set[str] = ctx.state.setdefault("waiting_sites", set())
    seen.update(waiting)
    for site in seen:
        JOBS_WAITING.labels(site=site).set(waiting.get(site, 0))
