"""HTTP routes of the certificate service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from services.certificate import repository, service
from services.certificate.models import Certificate
from services.certificate.schemas import CertificateView, IssueIn, RevokeIn, VerifyView
from shared.auth.principal import Principal, Role
from shared.deps import SessionDep, require, service_context
from shared.errors import NotFound
from shared.keys import jwks
from shared.runtime import ServiceContext

router = APIRouter(prefix="/v1", tags=["certificate"])

Context = Annotated[ServiceContext, Depends(service_context("certificate"))]
Operator = Annotated[Principal, Depends(require(Role.DINAS_OPERATOR, Role.KECAMATAN_OPERATOR))]
# Certificate numbers contain slashes ("470/0001/Dukcapil/2026").
Number = Annotated[str, Path(max_length=60)]


def _view(cert: Certificate) -> CertificateView:
    fields = {name: getattr(cert, name) for name in CertificateView.model_fields if name != "pdf_url"}
    return CertificateView(**fields, pdf_url=f"/v1/certificates/{cert.number}/pdf")


@router.get("/certificates/keys", summary="Public keys (JWKS) for offline verification")
async def keys(ctx: Context) -> dict:
    return jwks(ctx.state["public_keys"])


@router.post("/certificates", status_code=201, response_model=CertificateView, summary="Issue an interim certificate")
async def issue(body: IssueIn, session: SessionDep, ctx: Context, principal: Operator) -> CertificateView:
    cert = await service.issue(session, principal, ctx.settings, ctx.state["signing_key"], body.enrollment_id,
                               today=dt.date.today())
    await session.commit()
    ctx.events_written()
    return _view(cert)


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
    return _view(cert)


@router.get("/certificates/{number:path}", response_model=CertificateView, summary="One certificate (audited)")
async def get_certificate(number: Number, session: SessionDep, principal: Operator) -> CertificateView:
    cert = await service.read(session, principal, number)
    await session.commit()
    return _view(cert)


@router.get("/verify/{token}", response_model=VerifyView, summary="Public: is this certificate valid?")
async def verify(token: Annotated[str, Path(max_length=2000)], session: SessionDep, ctx: Context) -> VerifyView:
    result = await service.verify_online(session, token, ctx.state["public_keys"], now=dt.datetime.now(dt.UTC))
    return VerifyView(**result)
