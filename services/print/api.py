"""HTTP routes of the print service: nodes (print agents), jobs, stock, hand-over."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.print import repository, service
from services.print.card.payload import job_payload
from services.print.models import JobStatus, NodeStatus
from services.print.schemas import (
    ClaimedJob, ClaimIn, ClaimOut, JobPage, JobView, NodeIn, NodePage, NodeRegistered, NodeView, QueueView, RedirectIn,
    RedirectOut, ReprintIn, ReprintOut, ResultIn, ResultOut, RouteView, StockIn, StockView, ThresholdIn, TransferIn,
    TransferOut,
)
from shared.auth.principal import Principal, Role
from shared.card.values import printed
from shared.deps import ReadSessionDep, SessionDep, require, service_context
from shared.params import Offset, SiteQuery, SitePath
from shared.runtime import ServiceContext
from shared.routing import ApiRoute

router = APIRouter(prefix="/v1/print", tags=["print"], route_class=ApiRoute)

Context = Annotated[ServiceContext, Depends(service_context("print"))]
Agent = Annotated[Principal, Depends(require(Role.PRINT_AGENT, Role.PRINT_OPERATOR))]
Operator = Annotated[Principal, Depends(require(Role.PRINT_OPERATOR, Role.DINAS_OPERATOR, Role.KECAMATAN_OPERATOR))]
PrintOperator = Annotated[Principal, Depends(require(Role.PRINT_OPERATOR))]
# Only the dinas decides where a site's cards are printed.
Dinas = Annotated[Principal, Depends(require(Role.DINAS_OPERATOR))]
# Anyone of the print side may read a site's queue (an autoscaler uses an agent or operator credential).
QueueReader = Annotated[Principal, Depends(require(Role.PRINT_AGENT, Role.PRINT_OPERATOR, Role.DINAS_OPERATOR,
                                                   Role.KECAMATAN_OPERATOR))]


def _node_view(node, in_flight: int = 0) -> NodeView:  # type: ignore[no-untyped-def]
    hours = max((time.time() - node.registered_at.timestamp()) / 3600, 1 / 60)
    return NodeView.model_validate(node, from_attributes=True).model_copy(
        update={"in_flight": in_flight, "cards_per_hour": round(node.cards_printed / hours, 1)})


@router.post("/nodes", status_code=201, response_model=NodeRegistered, summary="A print agent registers itself")
async def register(body: NodeIn, session: SessionDep, ctx: Context, principal: Agent) -> NodeRegistered:
    lease = ctx.settings.print_lease_seconds
    registered = await service.register_node(session, principal, body, lease, sites=ctx.sites)
    await session.commit()
    if registered.released:
        ctx.events_written()  # print.card_spoiled of the blanks its previous process held
        ctx.state["work_available"].set()
    return NodeRegistered(**_node_view(registered.node).model_dump(), lease_seconds=lease, heartbeat_seconds=lease / 3,
                          replaced=registered.replaced.id if registered.replaced else None,
                          released_jobs=registered.released)


@router.post("/nodes/{node_id}/heartbeat", response_model=NodeView, summary="Renew the node's lease")
async def heartbeat(node_id: uuid.UUID, session: SessionDep, ctx: Context, principal: Agent) -> NodeView:
    node = await service.heartbeat(session, principal, node_id, ctx.settings.print_lease_seconds)
    await session.commit()
    return _node_view(node)


@router.post("/nodes/{node_id}/claim", response_model=ClaimOut, summary="Take jobs (long-poll)")
async def claim(node_id: uuid.UUID, body: ClaimIn, session: SessionDep, ctx: Context, principal: Agent) -> ClaimOut:
    deadline = time.monotonic() + body.wait_seconds
    wake: asyncio.Event = ctx.state["work_available"]
    while True:
        claims, status = await service.claim(session, principal, node_id, max_jobs=body.max_jobs,
                                             lease_seconds=ctx.settings.print_lease_seconds,
                                             low_threshold=ctx.settings.print_low_stock_threshold,
                                             holding=body.holding)
        await session.commit()  # never wait while holding a transaction
        if claims:
            ctx.events_written()  # print.stock_low, when this claim crossed the threshold
        if claims or status != NodeStatus.LIVE or time.monotonic() >= deadline:
            break
        wake.clear()
        try:
            await asyncio.wait_for(wake.wait(), timeout=min(1.0, max(deadline - time.monotonic(), 0.01)))
        except TimeoutError:
            pass
    today = dt.date.today()
    jobs = [
        ClaimedJob(job_id=c.job.id, claim_id=c.job.claim_id, serial=c.job.serial, enrollment_id=c.job.enrollment_id,
                   card=job_payload(c.card, serial=c.job.serial, issue_place=printed(ctx.settings.dinas_city),
                                    issue_date=today, key=ctx.state["signing_key"]))
        for c in claims
    ]
    return ClaimOut(jobs=jobs, node_status=status)


@router.post("/jobs/{job_id}/result", response_model=ResultOut, summary="An agent reports printed or spoiled")
async def result(job_id: uuid.UUID, body: ResultIn, session: SessionDep, ctx: Context, principal: Agent) -> ResultOut:
    job, report = await service.report(session, principal, job_id, claim_id=body.claim_id, outcome=body.outcome,
                                       reason=body.reason, detail=body.detail)
    await session.commit()
    ctx.events_written()
    if report == "spoiled":
        ctx.state["work_available"].set()
    return ResultOut(job_id=job.id, status=job.status, report=report)


@router.post("/nodes/{node_id}/drain", response_model=NodeView, summary="Stop giving the node new jobs")
async def drain(node_id: uuid.UUID, session: SessionDep, principal: Agent) -> NodeView:
    node = await service.drain_node(session, principal, node_id)
    await session.commit()
    return _node_view(node)


@router.delete("/nodes/{node_id}", response_model=NodeView, summary="A print agent leaves the pool")
async def deregister(node_id: uuid.UUID, session: SessionDep, ctx: Context, principal: Agent) -> NodeView:
    node = await service.deregister_node(session, principal, node_id)
    await session.commit()
    ctx.events_written()  # print.card_spoiled of a blank it still held
    ctx.state["work_available"].set()
    return _node_view(node)


@router.get("/nodes", response_model=NodePage, summary="Print nodes: live, draining, lost")
async def list_nodes(
    session: ReadSessionDep, principal: Operator, site: SiteQuery = None, status: NodeStatus | None = None,
    role: Annotated[str | None, Query(pattern="^(primary|backup)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100, offset: Offset = 0,
) -> NodePage:
    site = principal.scope(site)
    rows, total = await repository.nodes(session, site=site, status=status, role=role, limit=limit, offset=offset)
    loads = await repository.in_flight(session, [n.id for n in rows])
    return NodePage(items=[_node_view(n, loads.get(n.id, 0)) for n in rows], total=total, limit=limit, offset=offset)


@router.get("/jobs", response_model=JobPage, summary="Print jobs by site and status")
async def list_jobs(
    session: ReadSessionDep, principal: Operator, site: SiteQuery = None, status: JobStatus | None = None,
    enrollment_id: uuid.UUID | None = None, node_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> JobPage:
    site = principal.scope(site)
    rows, total = await repository.jobs(session, site=site, status=status, enrollment_id=enrollment_id,
                                        node_id=node_id, limit=limit, offset=offset)
    return JobPage(items=[JobView.model_validate(r, from_attributes=True) for r in rows], total=total, limit=limit,
                   offset=offset)


@router.post("/jobs/{job_id}/issue", response_model=JobView, summary="The resident collected the card")
async def issue(job_id: uuid.UUID, session: SessionDep, ctx: Context, principal: Operator) -> JobView:
    job = await service.hand_over(session, principal, job_id)
    await session.commit()
    ctx.events_written()
    return JobView.model_validate(job, from_attributes=True)


@router.post("/jobs/{job_id}/reprint", response_model=ReprintOut, status_code=201,
             summary="Void a printed card and queue a new job for the same enrollment")
async def reprint(job_id: uuid.UUID, body: ReprintIn, session: SessionDep, ctx: Context,
                  principal: PrintOperator) -> ReprintOut:
    void, new = await service.reprint(session, principal, job_id, body.reason)
    await session.commit()
    ctx.events_written()
    ctx.state["work_available"].set()
    return ReprintOut(void=JobView.model_validate(void, from_attributes=True),
                      new_job=JobView.model_validate(new, from_attributes=True))


@router.post("/sites/{site}/stock", response_model=StockView, status_code=201, summary="Receive blank cards")
async def receive_stock(site: SitePath, body: StockIn, session: SessionDep, ctx: Context,
                        principal: Operator) -> StockView:
    await service.receive_stock(session, principal, site, body, ctx.settings.print_low_stock_threshold, sites=ctx.sites)
    await session.commit()
    ctx.state["work_available"].set()
    return (await service.stock_views(session, site, ctx.settings.print_low_stock_threshold))[0]


@router.post("/sites/{site}/stock/transfer", response_model=TransferOut, summary="Move AVAILABLE blanks to another site")
async def transfer_stock(site: SitePath, body: TransferIn, session: SessionDep, ctx: Context,
                         principal: Operator) -> TransferOut:
    moved, left = await service.transfer_stock(session, principal, site, body, ctx.settings.print_low_stock_threshold,
                                               sites=ctx.sites)
    await session.commit()
    ctx.events_written()
    ctx.state["work_available"].set()
    default = ctx.settings.print_low_stock_threshold
    views = [*(await service.stock_views(session, site, default)),
             *(await service.stock_views(session, body.to_site, default))]
    return TransferOut(from_site=site, to_site=body.to_site, moved=moved, not_moved=left, stock=views)


@router.put("/sites/{site}/stock/threshold", response_model=StockView, summary="A site's own low-stock threshold")
async def set_threshold(site: SitePath, body: ThresholdIn, session: SessionDep, ctx: Context,
                        principal: Operator) -> StockView:
    await service.set_low_threshold(session, principal, site, body.threshold, ctx.settings.print_low_stock_threshold,
                                    sites=ctx.sites)
    await session.commit()
    ctx.events_written()
    return (await service.stock_views(session, site, ctx.settings.print_low_stock_threshold))[0]


@router.get("/stock", response_model=list[StockView], summary="Blank-card stock per site")
async def stock(session: ReadSessionDep, ctx: Context, principal: Operator, site: SiteQuery = None) -> list[StockView]:
    sites = service.stock_scope(principal, site, ctx.sites)
    default = ctx.settings.print_low_stock_threshold
    if sites is not None and len(sites) == 1:
        return await service.stock_views(session, sites[0], default)
    return await service.stock_views(session, None, default, among=sites)


@router.get("/sites/{site}/queue", response_model=QueueView,
            summary="Jobs waiting at a site and why (for autoscalers, e.g. KEDA metrics-api)")
async def queue(site: SitePath, session: ReadSessionDep, principal: QueueReader) -> QueueView:
    status = await service.queue_status(session, principal, site)
    return QueueView(site=status.site, waiting=status.waiting, reason=status.reason)


@router.post("/sites/{site}/redirect", response_model=RedirectOut, summary="Print a site's cards at another site")
async def redirect(site: SitePath, body: RedirectIn, session: SessionDep, ctx: Context,
                   principal: Dinas) -> RedirectOut:
    moved = await service.redirect_site(session, principal, site, body.to_site, body.reason, sites=ctx.sites)
    await session.commit()
    ctx.state["work_available"].set()
    return RedirectOut(site=site, print_site=body.to_site, moved_jobs=moved)


@router.delete("/sites/{site}/redirect", response_model=RedirectOut, summary="Print a site's cards at the site again")
async def clear_redirect(site: SitePath, session: SessionDep, ctx: Context, principal: Dinas) -> RedirectOut:
    moved = await service.clear_redirect(session, principal, site)
    await session.commit()
    ctx.state["work_available"].set()
    return RedirectOut(site=site, print_site=site, moved_jobs=moved)


@router.get("/sites/routes", response_model=list[RouteView], summary="Sites whose cards are printed elsewhere")
async def routes(session: ReadSessionDep, _: Operator) -> list[RouteView]:
    return [RouteView.model_validate(r, from_attributes=True) for r in await repository.routes(session)]
