"""HTTP routes of the certificate service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.certificate import repository, service
from services.certificate.models import CertStatus, Certificate
from services.certificate.schemas import (
    CertificatePage, CertificateStats, CertificateView, IssueIn, RevokeIn, VerifyView,
)
from shared.auth.principal import Principal, Role
from shared.deps import ReadSessionDep, SessionDep, require, service_context
from shared.errors import NotFound
from shared.keys import jwks
from shared.ratelimit import rate_limit
from shared.params import Offset, SiteQuery
from shared.runtime import ServiceContext
from shared.routing import ApiRoute

router = APIRouter(prefix="/v1", tags=["certificate"], route_class=ApiRoute)

Context = Annotated[ServiceContext, Depends(service_context("certificate"))]
Operator = Annotated[Principal, Depends(require(Role.DINAS_OPERATOR, Role.KECAMATAN_OPERATOR))]
# Certificate numbers contain slashes ("470/0001/Dukcapil/2026").
Number = Annotated[str, Path(max_length=60)]
VerifyLimit = Depends(rate_limit("verify", lambda s: (s.verify_rate_per_second, s.verify_rate_burst)))


def _view(cert: Certificate, today: dt.date) -> CertificateView:
    fields = {name: getattr(cert, name) for name in CertificateView.model_fields if name not in ("pdf_url", "status")}
    return CertificateView(**fields, status=service.effective_status(cert, today).value,
                           pdf_url=f"/v1/certificates/{cert.number}/pdf")


@router.get("/certificates/keys", summary="Public keys (JWKS) for offline verification")
async def keys(ctx: Context) -> dict:
    return jwks(ctx.state["public_keys"])


@router.post("/certificates", status_code=201, response_model=CertificateView, summary="Issue an interim certificate")
async def issue(body: IssueIn, session: SessionDep, ctx: Context, principal: Operator) -> CertificateView:
    now = service.clock(ctx.settings)
    cert = await service.issue(session, principal, ctx.settings, ctx.state["signing_key"], body.enrollment_id, now=now)
    await session.commit()
    ctx.events_written()
    return _view(cert, service.local_date(now))


@router.get("/certificates", response_model=CertificatePage, summary="Search certificates (audited)")
async def search(
    session: SessionDep, ctx: Context, principal: Operator,
    enrollment_id: uuid.UUID | None = None,
    nik: Annotated[str | None, Query(pattern=r"^\d{16}$")] = None,
    status: Annotated[CertStatus | None, Query(description="VALID (not expired), EXPIRED, REVOKED, SUPERSEDED")] = None,
    site: SiteQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> CertificatePage:
    now = service.clock(ctx.settings)
    rows, total = await service.search(session, principal, now=now, enrollment_id=enrollment_id, nik=nik,
                                       status=status, site=site, limit=limit, offset=offset)
    await session.commit()  # the audit entry
    today = service.local_date(now)
    return CertificatePage(items=[_view(c, today) for c in rows], total=total, limit=limit, offset=offset)


@router.get("/certificates/stats", response_model=CertificateStats, summary="Counts for the console")
async def stats(session: ReadSessionDep, ctx: Context, principal: Operator,
                site: SiteQuery = None) -> CertificateStats:
    return CertificateStats(**await service.stats(session, principal, now=service.clock(ctx.settings), site=site))


@router.get("/certificates/{number:path}/pdf", summary="The certificate as an A4 PDF",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
async def pdf(number: Number, session: SessionDep, ctx: Context, principal: Operator) -> Response:
    cert = await service.read(session, principal, number, action="certificate.pdf")
    resident = await repository.resident(session, cert.enrollment_id)
    if resident is None:
        raise NotFound(f"resident of {number} not found")
    await session.commit()
    body = service.document(ctx.settings, cert, resident, ctx.state["public_keys"])
    filename = "suket-" + number.replace("/", "-") + ".pdf"
    return Response(body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


@router.post("/certificates/{number:path}/revoke", response_model=CertificateView, summary="Revoke with a reason")
async def revoke(number: Number, body: RevokeIn, session: SessionDep, ctx: Context, principal: Operator) -> CertificateView:
    cert = await service.revoke(session, principal, number, body.reason)
    await session.commit()
    ctx.events_written()
    return _view(cert, service.local_date(service.clock(ctx.settings)))


@router.post("/certificates/{number:path}/renew", status_code=201, response_model=CertificateView,
             summary="Renew an expired (or expiring) certificate: a new number; the old one is superseded")
async def renew(number: Number, session: SessionDep, ctx: Context, principal: Operator) -> CertificateView:
    now = service.clock(ctx.settings)
    cert = await service.renew(session, principal, ctx.settings, ctx.state["signing_key"], number, now=now)
    await session.commit()
    ctx.events_written()
    return _view(cert, service.local_date(now))


@router.get("/certificates/{number:path}", response_model=CertificateView, summary="One certificate (audited)")
async def get_certificate(number: Number, session: SessionDep, ctx: Context, principal: Operator) -> CertificateView:
    cert = await service.read(session, principal, number)
    await session.commit()
    return _view(cert, service.local_date(service.clock(ctx.settings)))


@router.get("/verify/{token}", response_model=VerifyView, response_model_exclude_none=True, dependencies=[VerifyLimit],
            summary="Public: is this certificate valid? (rate-limited per client)",
            responses={429: {"description": "Too many requests from this client (Retry-After)"}})
async def verify(token: Annotated[str, Path(max_length=4096)], session: ReadSessionDep, ctx: Context) -> VerifyView:
    result = await service.verify_online(session, token, ctx.state["public_keys"], now=service.clock(ctx.settings))
    return VerifyView(**result)
