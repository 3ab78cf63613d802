"""Use cases of the certificate service. Functions flush; the caller commits."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.certificate import repository
from services.certificate.document import CertificateDocument, DinasIdentity, ResidentData, render_pdf
from services.certificate.models import CertStatus, Certificate, Resident, messaging
from services.certificate.token import CertificateClaims, TokenError, VerifiedToken, sign_token, verify_token
from shared.auth.audit import audit
from shared.auth.principal import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.keys import KeySet, SigningKey, fingerprint
from shared.messaging import Event, new_event
from shared.messaging.outbox import add_event
from shared.settings import Settings

# A certificate may be issued while the resident waits; not once dedup refused the recording.
ISSUABLE = frozenset({"RECEIVED", "ADJUDICATION", "PRINT_READY", "SENT_FOR_PRINTING", "PRINTED"})
STATUS_BY_EVENT = {
    "dedup.unique": "PRINT_READY",
    "dedup.duplicate": "DUPLICATE",
    "dedup.enroll_failure": "ENROLL_FAILURE",
    "dedup.adjudication_opened": "ADJUDICATION",
    "print.job_queued": "SENT_FOR_PRINTING",
    "print.card_printed": "PRINTED",
    "print.card_issued": "ISSUED",
}
REVOKE_ON = {
    "print.card_issued": "KTP-el sudah diserahkan / card issued",
    "dedup.duplicate": "data ganda / duplicate record",
    "dedup.enroll_failure": "rekam ulang / must be re-recorded",
}


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# ---- from events -----------------------------------------------------------------------------

async def on_enrollment_submitted(session: AsyncSession, event: Event) -> None:
    enrollment_id = uuid.UUID(event.data["enrollment_id"])
    if await repository.resident(session, enrollment_id) is not None:
        return
    record = event.data["record"]
    session.add(Resident(enrollment_id=enrollment_id, nik=record["nik"], record=record,
                         photo_jpeg=event.data["biometrics"]["photo_jpeg"], status="RECEIVED",
                         recorded_at=dt.datetime.fromisoformat(record["recording"]["recorded_at"])))
    await session.flush()


async def on_status_event(session: AsyncSession, event: Event) -> None:
    enrollment_id = event.data.get("enrollment_id")
    if not enrollment_id:
        return
    resident = await repository.resident(session, uuid.UUID(enrollment_id), for_update=True)
    if resident is None:
        raise NotFound(f"{event.type} for unknown resident {enrollment_id}")  # retried: the record event comes first
    if event.type in STATUS_BY_EVENT:
        resident.status = STATUS_BY_EVENT[event.type]
    if event.type in REVOKE_ON:
        for cert in await repository.valid_for(session, resident.enrollment_id):
            await _revoke(session, cert, REVOKE_ON[event.type])
    await session.flush()


# ---- issuing ---------------------------------------------------------------------------------

async def issue(session: AsyncSession, principal: Principal | None, settings: Settings, key: SigningKey,
                enrollment_id: uuid.UUID, *, today: dt.date, actor: str | None = None) -> Certificate:
    resident = await repository.resident(session, enrollment_id, for_update=True)
    if resident is None:
        raise NotFound(f"no recording {enrollment_id} known to the certificate service (yet)")
    sites = (resident.record["recording"]["site"], resident.record["pickup_site"])
    if principal is not None and not any(principal.may_act_for(s) for s in sites):
        raise Forbidden(f"recording {enrollment_id} belongs to another site", code="wrong_site")
    if resident.status not in ISSUABLE:
        raise Conflict(f"no certificate for a recording in status {resident.status}", code="not_issuable")
    number, seq = await repository.next_number(session, settings.cert_number_pattern, today.year)
    for old in await repository.valid_for(session, enrollment_id):
        old.status = CertStatus.SUPERSEDED.value
        old.superseded_by = number
        old.revoked_at = dt.datetime.now(dt.UTC)
        old.revoke_reason = f"diganti / superseded by {number}"
    now = dt.datetime.now(dt.UTC)
    valid_until = add_months(today, settings.cert_valid_months)
    record = resident.record
    claims = CertificateClaims.for_certificate(
        number=number, nik=resident.nik, name=record["name"].upper(), birth_date=dt.date.fromisoformat(record["birth_date"]),
        issuer=settings.dinas_code, issued_at=now, valid_until=valid_until)
    cert = Certificate(number=number, year=today.year, seq=seq, enrollment_id=enrollment_id, nik=resident.nik,
                       token=sign_token(claims, key), kid=key.kid, issued_on=today, valid_until=valid_until,
                       status=CertStatus.VALID.value, issued_by=actor or (principal.actor if principal else "policy"),
                       issued_at=now)
    session.add(cert)
    await session.flush()
    if principal is not None:
        await audit(session, principal, "certificate.issue", "certificate", number, {"enrollment_id": str(enrollment_id)})
    await add_event(session, messaging, new_event("certificate.issued", {
        "number": number, "enrollment_id": str(enrollment_id), "valid_until": valid_until.isoformat()},
        key=str(enrollment_id)))
    return cert


async def _revoke(session: AsyncSession, cert: Certificate, reason: str) -> None:
    cert.status = CertStatus.REVOKED.value
    cert.revoked_at = dt.datetime.now(dt.UTC)
    cert.revoke_reason = reason
    await add_event(session, messaging, new_event("certificate.revoked", {
        "number": cert.number, "enrollment_id": str(cert.enrollment_id), "reason": reason},
        key=str(cert.enrollment_id)))


async def revoke(session: AsyncSession, principal: Principal, number: str, reason: str) -> Certificate:
    cert = await repository.certificate(session, number, for_update=True)
    if cert is None:
        raise NotFound(f"certificate {number} not found")
    if cert.status != CertStatus.VALID:
        raise Conflict(f"certificate {number} is already {cert.status}", code="not_valid")
    await _revoke(session, cert, reason)
    await audit(session, principal, "certificate.revoke", "certificate", number, {"reason": reason})
    await session.flush()
    return cert


async def read(session: AsyncSession, principal: Principal, number: str, action: str = "certificate.read") -> Certificate:
    cert = await repository.certificate(session, number)
    if cert is None:
        raise NotFound(f"certificate {number} not found")
    await audit(session, principal, action, "certificate", number)
    return cert


def document(settings: Settings, cert: Certificate, resident: Resident, public_keys: KeySet) -> bytes:
    record = resident.record
    address = record["address"]
    names = record.get("place_names") or {}
    dinas = DinasIdentity(head_name=settings.dinas_head_name, head_nip=settings.dinas_head_nip,
                          head_rank=settings.dinas_head_rank, region_name=settings.dinas_region_name,
                          address=settings.dinas_address, city=settings.dinas_city, code=settings.dinas_code)
    data = ResidentData(
        nik=resident.nik, name=record["name"], birth_place=record["birth_place"],
        birth_date=dt.date.fromisoformat(record["birth_date"]), sex=record["sex"], blood_type=record["blood_type"],
        street=address["street"], rt=address["rt"], rw=address["rw"],
        village=names.get("village", address["village_code"]), kecamatan=names.get("district", "-"),
        religion=record["religion"], marital_status=record["marital_status"], occupation=record["occupation"],
        citizenship=record.get("citizenship", "WNI"))
    return render_pdf(CertificateDocument(
        dinas=dinas, number=cert.number, resident=data, photo_jpeg=base64.b64decode(resident.photo_jpeg),
        issued_on=cert.issued_on, valid_until=cert.valid_until, token=cert.token,
        key_fingerprint=fingerprint(public_keys[cert.kid]),
        verify_url=f"{settings.public_base_url.rstrip('/')}/verifikasi"))


# ---- verification ----------------------------------------------------------------------------

async def verify_online(session: AsyncSession, token: str, public_keys: KeySet, *, now: dt.datetime) -> dict:
    """valid / expired / revoked / unknown, with only what a verifier needs."""
    try:
        verified: VerifiedToken = verify_token(token, public_keys, now=now)
    except TokenError as exc:
        if exc.reason_code == "expired":
            return {"status": "expired", "reason": exc.message}
        return {"status": "invalid", "reason": exc.reason_code, "detail": exc.message}
    claims = verified.claims
    cert = await repository.certificate(session, claims.number)
    shown = {"number": claims.number, "name": claims.name, "nik_masked": claims.masked_nik,
             "birth_date": claims.birth_date.isoformat(), "valid_until": (claims.expires_at - dt.timedelta(seconds=1)).date().isoformat(),
             "issuer": claims.issuer}
    if cert is None or cert.token != token:
        return {"status": "unknown", **shown}
    if cert.status != CertStatus.VALID:
        return {"status": "revoked", "reason": cert.revoke_reason, "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else None, **shown}
    return {"status": "valid", **shown}


async def list_for(session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID) -> Sequence[Certificate]:
    rows = (await session.execute(select(Certificate).where(Certificate.enrollment_id == enrollment_id)
                                  .order_by(Certificate.issued_at))).scalars().all()
    await audit(session, principal, "certificate.list", "enrollment", str(enrollment_id))
    return rows
