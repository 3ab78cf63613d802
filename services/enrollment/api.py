"""HTTP routes of the enrollment service: thin, they call `service`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from services.enrollment import batch, service
from services.enrollment.models import Status
from services.enrollment.schemas import (
    BatchAnswer, EnrollmentAccepted, EnrollmentDetail, EnrollmentPage, EnrollmentStats, PublicStatus, RecordingIn,
    ServedSites,
)
from services.enrollment.views import (
    accepted_view, batch_view, detail_view, paused_view, public_status_view, summary_view,
)
from shared.auth.principal import Principal, Role
from shared.deps import PrincipalDep, ReadSessionDep, SessionDep, require, service_context
from shared.ratelimit import rate_limit
from shared.params import Offset, SiteQuery
from shared.runtime import ServiceContext
from shared.routing import ApiRoute, refine_invalid_body

router = APIRouter(prefix="/v1", tags=["enrollment"], route_class=ApiRoute)

Context = Annotated[ServiceContext, Depends(service_context("enrollment"))]
Submitter = Annotated[Principal, Depends(require(Role.STATION, Role.KECAMATAN_OPERATOR, Role.DINAS_OPERATOR))]
Reader = Annotated[Principal, Depends(require(Role.KECAMATAN_OPERATOR, Role.DINAS_OPERATOR, Role.ADJUDICATOR,
                                              Role.PRINT_OPERATOR))]


def _every_problem(exc: RequestValidationError) -> Exception:
    """A refused recording's structural errors, and what the counter's rules find in the rest."""
    return service.refused_structure(exc.errors(), exc.body, dt.datetime.now(dt.UTC).date(), strip=("body",))


_REPLAYED = {200: {"model": EnrollmentAccepted, "description": "A retry: the first answer again (same receipt)",
                   "headers": {"Idempotent-Replayed": {"description": "true", "schema": {"type": "string"}}}}}


@router.post("/enrollments", status_code=201, response_model=EnrollmentAccepted, responses=_REPLAYED,
             summary="Submit one recording (idempotent with Idempotency-Key)")
@refine_invalid_body(_every_problem)
async def submit_enrollment(
    recording: RecordingIn,
    session: SessionDep,
    ctx: Context,
    principal: Submitter,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=120)] = None,
) -> EnrollmentAccepted:
    today = dt.datetime.now(dt.UTC).date()
    answer = await batch.submit_one(session, ctx.state["group_commit"], principal, recording,
                                    key=idempotency_key or recording.station_recording_id, today=today,
                                    sites=ctx.sites)
    if answer.status == 200:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return accepted_view(answer.enrollment)


_BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "array", "maxItems": batch.MAX_ITEMS,
                                        "items": {"$ref": "#/components/schemas/RecordingIn"}}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "one RecordingIn a line"}},
    },
}


@router.post("/enrollments/batch", response_model=BatchAnswer, openapi_extra={"requestBody": _BATCH_BODY},
             summary="Submit up to 1,000 recordings (JSON array or NDJSON, gzip accepted); one answer per item")
async def submit_batch(
    request: Request,
    session: SessionDep,
    ctx: Context,
    principal: Submitter,
    content_type: Annotated[str | None, Header()] = None,
    content_encoding: Annotated[str | None, Header()] = None,
    content_length: Annotated[int | None, Header()] = None,
) -> BatchAnswer:
    kind, gzipped = batch.body_format(content_type, content_encoding)
    body = await batch.read_body(request.stream(), gzipped=gzipped, content_length=content_length)
    await session.rollback()  # no connection held while waiting for a slot
    async with ctx.state["batch_slots"]:
        items = batch.split_items(body, kind)
        answers = await batch.submit_batch(session, principal, items, today=dt.datetime.now(dt.UTC).date(),
                                           sites=ctx.sites)
        if any(a.status == 201 for a in answers):
            ctx.events_written()
        return batch_view(answers)


@router.get("/enrollments/stats", response_model=EnrollmentStats, summary="Counts by status and by site (console)")
async def enrollment_stats(session: ReadSessionDep, principal: Reader, site: SiteQuery = None) -> EnrollmentStats:
    counts = await service.stats(session, principal, site)
    return EnrollmentStats(**{**counts, "dedup_paused": paused_view(counts["dedup_paused"])})


@router.get("/enrollments/sites", response_model=ServedSites,
            summary="The pickup sites this dinas serves (any credential; a station checks pickup_site with them)")
async def served_sites(ctx: Context, _: PrincipalDep) -> ServedSites:
    return ServedSites(dinas=ctx.sites[0], sites=list(ctx.sites))


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentDetail, summary="One enrollment (audited)")
async def get_enrollment(enrollment_id: uuid.UUID, session: SessionDep, principal: Reader) -> EnrollmentDetail:
    enrollment, entries, next_ids = await service.read_enrollment(session, principal, enrollment_id)
    await session.commit()  # the audit entry
    return detail_view(enrollment, entries, next_ids)


@router.get("/enrollments", response_model=EnrollmentPage, summary="Search enrollments")
async def search_enrollments(
    session: SessionDep,
    principal: Reader,
    nik: Annotated[str | None, Query(pattern=r"^\d{16}$")] = None,
    receipt: str | None = None,
    status: Status | None = None,  # an unknown status is a 422 naming the known ones
    site: SiteQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> EnrollmentPage:
    rows, total = await service.search_enrollments(session, principal, nik=nik, receipt=receipt, status=status,
                                                   site=site, limit=limit, offset=offset)
    await session.commit()  # the audit entry
    return EnrollmentPage(items=[summary_view(r) for r in rows], total=total, limit=limit, offset=offset)


StatusLimit = Depends(rate_limit("status", lambda s: (s.status_rate_per_second, s.status_rate_burst)))


@router.get("/status/{receipt_number}", response_model=PublicStatus, dependencies=[StatusLimit],
            summary="Public status of a receipt (masked; rate-limited per client)")
async def public_status(receipt_number: Annotated[str, Path(max_length=20)], session: ReadSessionDep) -> PublicStatus:
    return public_status_view(await service.public_status(session, receipt_number))
