"""Use cases of the certificate service. Functions flush; the caller commits."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.certificate import repository
from services.certificate.document import CertificateDocument, DinasIdentity, ResidentData, render_pdf
from services.certificate.models import CertStatus, Certificate, DedupEngine, Resident, RevokeCode, messaging
from shared.auth.audit import audit
from shared.certificate.reasons import PUBLIC_REASON
from shared.certificate.token import (
    DEFAULT_LEEWAY, WITA, CertificateClaims, Reason, TokenError, VerifiedToken, sign_token, verify_signature,
)
from shared.dates import english_date, indonesian_date
from shared.auth.principal import Principal, Role
from shared.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from shared.keys import KeySet, SigningKey, fingerprint
from shared.messaging import Event, new_event
from shared.messaging.outbox import add_event
from shared.settings import Environment, Settings
from shared.sites import place

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
    "print.card_cancelled": "REPLACED",  # a newer recording of the person replaced it: issue for that one
}
REVOKE_ON = {
    "print.card_issued": RevokeCode.CARD_ISSUED,
    "dedup.duplicate": RevokeCode.DUPLICATE,
    "dedup.enroll_failure": RevokeCode.ENROLL_FAILURE,
}
# What a verifier is told about a certificate that is no longer valid: a fixed text per code, never
# the operator's own note (it may hold personal details; it stays in GET /v1/certificates/{number}).
POLICY_BATCH = 100


def clock(settings: Settings) -> dt.datetime:
    """Now, shifted by EKTP_CERT_CLOCK_OFFSET_DAYS (drills and tests; refused in production)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.cert_clock_offset_days)


def local_date(moment: dt.datetime) -> dt.date:
    """The date in Kupang (WITA): the date printed on the certificate."""
    return moment.astimezone(WITA).date()


def valid_until_for(settings: Settings, today: dt.date) -> dt.date:
    if settings.cert_valid_days is not None:
        return today + dt.timedelta(days=settings.cert_valid_days)
    return add_months(today, settings.cert_valid_months)


def system_principal(settings: Settings, name: str) -> Principal:
    """Who the audit log names for what the service does by itself (policies, events)."""
    return Principal(id="system", name=name, role=Role.ADMIN, site=settings.dinas_code)



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
                         pickup_site=record.get("pickup_site"), recording_site=record["recording"]["site"],
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
        code = REVOKE_ON[event.type]
        # A card handed over ends the person's wait, whichever of their recordings a certificate
        # was issued for (one recorded again: dedup's replacement); a duplicate or a failed
        # recording ends only its own.
        certs = (await repository.valid_for_nik(session, resident.nik) if code is RevokeCode.CARD_ISSUED
                 else await repository.valid_for(session, resident.enrollment_id))
        for cert in certs:
            await _revoke(session, cert, code, PUBLIC_REASON[code], now=dt.datetime.now(dt.UTC))
            await audit(session, _event_principal(event), "certificate.revoke", "certificate", cert.number,
                        {"code": code.value, "event_id": str(event.event_id)})
    await session.flush()


def _event_principal(event: Event) -> Principal:
    return Principal(id="system", name=f"event:{event.type}", role=Role.ADMIN, site="-")


async def on_engine_event(session: AsyncSession, event: Event) -> None:
    """dedup.engine_paused / dedup.engine_resumed: remember the engine's state for the policies."""
    state = await repository.engine_state(session, for_update=True)
    if state is None:
        state = DedupEngine(id=1, paused=False, changed_at=event.occurred_at)
        session.add(state)
    elif state.changed_at > event.occurred_at:
        return  # an older announcement delivered late
    state.paused = event.type == "dedup.engine_paused"
    state.reason = (event.data.get("reason") or None) if state.paused else None
    state.changed_at = event.occurred_at
    await session.flush()


# ---- a site's own ----------------------------------------------------------------------------

def _require_site(principal: Principal, resident: Resident | None, what: str) -> None:
    """A site-bound credential acts for residents recorded or collecting their card at its site."""
    sites = (resident.record["recording"]["site"], resident.record["pickup_site"]) if resident is not None else ()
    if not principal.city_wide and not any(principal.may_act_for(s) for s in sites):
        raise Forbidden(f"{what} belongs to another site", code="wrong_site")


async def _require_site_of(session: AsyncSession, principal: Principal, cert: Certificate) -> None:
    if not principal.city_wide:
        _require_site(principal, await repository.resident(session, cert.enrollment_id), f"certificate {cert.number}")


# ---- issuing ---------------------------------------------------------------------------------

async def issue(session: AsyncSession, principal: Principal | None, settings: Settings, key: SigningKey,
                enrollment_id: uuid.UUID, *, now: dt.datetime, actor: str | None = None,
                action: str = "certificate.issue") -> Certificate:
    """A new certificate for a waiting resident; one still valid for the same NIK is superseded (lost
    paper, renewal, a second recording of the person).
    `principal` None: the service acts by itself (a policy named by `actor`)."""
    resident = await repository.resident(session, enrollment_id, for_update=True)
    if resident is None:
        raise NotFound(f"no recording {enrollment_id} known to the certificate service (yet)")
    if principal is not None:
        _require_site(principal, resident, f"recording {enrollment_id}")
    if resident.status == "REPLACED":
        raise Conflict(f"recording {enrollment_id} was replaced by a newer recording of the same NIK before its card "
                       "was printed: issue the certificate for the newer recording", code="recording_replaced")
    if resident.status not in ISSUABLE:
        raise Conflict(f"no certificate for a recording in status {resident.status}", code="not_issuable")
    today = local_date(now)
    number, seq = await repository.next_number(session, settings.cert_number_pattern, today.year)
    superseded = []
    # One valid certificate per person: also one issued for another recording of the same NIK
    # (recorded again) is superseded.
    for old in await repository.valid_for_nik(session, resident.nik):
        old.status = CertStatus.SUPERSEDED.value
        old.superseded_by = number
        old.revoked_at = now
        old.revoke_code = RevokeCode.SUPERSEDED.value
        old.revoke_reason = f"diganti / superseded by {number}"
        superseded.append(old.number)
        # its resident's timeline says it was replaced (its own recording's, which may be another)
        await _announce_revoked(session, old, RevokeCode.SUPERSEDED, superseded_by=number)
    await session.flush()  # before the insert: at most one VALID per resident (unique index)
    valid_until = valid_until_for(settings, today)
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
    who = principal or system_principal(settings, cert.issued_by)
    await audit(session, who, action, "certificate", number,
                {"enrollment_id": str(enrollment_id), "supersedes": superseded})
    await add_event(session, messaging, new_event("certificate.issued", {
        "number": number, "enrollment_id": str(enrollment_id), "valid_until": valid_until.isoformat(),
        "issued_by": cert.issued_by, "supersedes": superseded}, key=str(enrollment_id)))
    return cert


async def renew(session: AsyncSession, principal: Principal | None, settings: Settings, key: SigningKey,
                number: str, *, now: dt.datetime, actor: str | None = None) -> Certificate:
    """Expired (or about to) while the resident still waits: a new certificate, a new number; the old
    one is SUPERSEDED. A certificate of a replaced recording is renewed for the person's newer one."""
    cert = await repository.certificate(session, number, for_update=True)
    if cert is None:
        raise NotFound(f"certificate {number} not found")
    if principal is not None:
        await _require_site_of(session, principal, cert)
    if cert.status != CertStatus.VALID:
        raise Conflict(f"certificate {number} is {cert.status}; only the current certificate is renewed",
                       code="not_valid")
    opens = cert.valid_until - dt.timedelta(days=settings.cert_renew_before_days)
    if local_date(now) < opens:
        raise Conflict(f"Surat Keterangan {number} berlaku sampai dengan {indonesian_date(cert.valid_until)}; "
                       f"perpanjangan dibuka {indonesian_date(opens)} / certificate {number} is valid until "
                       f"{english_date(cert.valid_until)}; renewal opens on {english_date(opens)}", code="not_expiring")
    enrollment_id = cert.enrollment_id
    resident = await repository.resident(session, enrollment_id)
    if resident is not None and resident.status == "REPLACED":
        # Its recording was replaced by a newer one of the person: the renewal is for that one.
        newer = await repository.newest_waiting(session, resident.nik, ISSUABLE)
        enrollment_id = newer.enrollment_id if newer is not None else enrollment_id
    return await issue(session, principal, settings, key, enrollment_id, now=now, actor=actor,
                       action="certificate.renew")


async def _revoke(session: AsyncSession, cert: Certificate, code: RevokeCode, reason: str, *, now: dt.datetime) -> None:
    cert.status = CertStatus.REVOKED.value
    cert.revoked_at = now
    cert.revoke_code = code.value
    cert.revoke_reason = reason
    await _announce_revoked(session, cert, code)


async def _announce_revoked(session: AsyncSession, cert: Certificate, code: RevokeCode, **more: str) -> None:
    """certificate.revoked: the certificate ended (revoked, or superseded by the number `superseded_by`)."""
    await add_event(session, messaging, new_event("certificate.revoked", {
        "number": cert.number, "enrollment_id": str(cert.enrollment_id), "reason": PUBLIC_REASON[code],
        "code": code.value, **more}, key=str(cert.enrollment_id)))


async def revoke(session: AsyncSession, principal: Principal, number: str, reason: str) -> Certificate:
    cert = await repository.certificate(session, number, for_update=True)
    if cert is None:
        raise NotFound(f"certificate {number} not found")
    await _require_site_of(session, principal, cert)
    if cert.status != CertStatus.VALID:
        raise Conflict(f"certificate {number} is already {cert.status}", code="not_valid")
    await _revoke(session, cert, RevokeCode.OPERATOR, reason, now=dt.datetime.now(dt.UTC))
    await audit(session, principal, "certificate.revoke", "certificate", number, {"reason": reason})
    await session.flush()
    return cert


async def read(session: AsyncSession, principal: Principal, number: str, action: str = "certificate.read") -> Certificate:
    cert = await repository.certificate(session, number)
    if cert is None:
        raise NotFound(f"certificate {number} not found")
    await _require_site_of(session, principal, cert)
    await audit(session, principal, action, "certificate", number)
    return cert


# ---- policies --------------------------------------------------------------------------------

async def apply_policies(session: AsyncSession, settings: Settings, key: SigningKey, *, now: dt.datetime,
                         batch: int = POLICY_BATCH) -> dict[str, int]:
    """One batch of what the configured policies call for; returns certificates made per policy.

    - when_paused: while dedup is paused, every waiting resident who never had a certificate;
    - after_days: every resident still waiting N days after recording who never had one;
    - auto_renew: every resident still waiting whose certificate has expired.
    A resident whose certificate an operator revoked is left alone. Candidates are locked and checked
    again, and a unique index holds one VALID per resident, so processes may run this side by side.
    """
    made: dict[str, int] = {}

    async def issue_to(residents: Sequence[Resident], policy: str) -> None:
        for resident in residents:
            if await repository.has_certificate(session, resident.enrollment_id):
                continue  # another process issued one after our candidate query
            await issue(session, None, settings, key, resident.enrollment_id, now=now, actor=f"policy:{policy}")
            made[policy] = made.get(policy, 0) + 1

    if settings.cert_auto_issue_when_paused:
        engine = await repository.engine_state(session)
        if engine is not None and engine.paused:
            await issue_to(await repository.waiting_without_certificate(session, ISSUABLE, limit=batch), "when_paused")
    if settings.cert_auto_issue_after_days is not None:
        cutoff = now - dt.timedelta(days=settings.cert_auto_issue_after_days)
        await issue_to(await repository.waiting_without_certificate(session, ISSUABLE, limit=batch,
                                                                    recorded_before=cutoff), "after_days")
    if settings.cert_auto_renew:
        for cert in await repository.expired_while_waiting(session, ISSUABLE, today=local_date(now), limit=batch):
            await renew(session, None, settings, key, cert.number, now=now, actor="policy:auto_renew")
            made["auto_renew"] = made.get("auto_renew", 0) + 1
    return made


# ---- the console -----------------------------------------------------------------------------

async def search(session: AsyncSession, principal: Principal, *, now: dt.datetime, enrollment_id: uuid.UUID | None,
                 nik: str | None, status: CertStatus | None, site: str | None, limit: int,
                 offset: int) -> tuple[Sequence[Certificate], int]:
    site = principal.scope(site)
    rows, total = await repository.search(session, today=local_date(now), limit=limit, offset=offset,
                                          enrollment_id=enrollment_id, nik=nik, status=status, site=site)
    await audit(session, principal, "certificate.list", "certificate", "*", {
        "enrollment_id": str(enrollment_id) if enrollment_id else None, "nik": nik,
        "status": status.value if status else None, "site": site, "returned": [c.number for c in rows]})
    return rows, total


async def stats(session: AsyncSession, principal: Principal, *, now: dt.datetime, site: str | None) -> dict[str, Any]:
    site = principal.scope(site)
    by_status = await repository.stats(session, today=local_date(now), site=site)
    counts = {s.value.lower(): by_status.get(s.value, 0) for s in CertStatus}
    return {"site": site, "issued": sum(by_status.values()), **counts}


def effective_status(cert: Certificate, today: dt.date) -> CertStatus:
    if cert.status == CertStatus.VALID and cert.valid_until < today:
        return CertStatus.EXPIRED
    return CertStatus(cert.status)


def missing_signatory(settings: Settings) -> list[str]:
    """The settings that still hold no real signatory: the Kepala Dinas's name and NIP are printed in
    every certificate's signature block (the development default says "set EKTP_DINAS_HEAD_NAME";
    .env.example's say CHANGE_ME)."""
    default = type(settings).model_fields["dinas_head_name"].default
    missing = []
    if settings.dinas_head_name in ("", default) or "CHANGE_ME" in settings.dinas_head_name:
        missing.append("EKTP_DINAS_HEAD_NAME")
    if settings.dinas_head_nip.strip() in ("", "-") or "CHANGE_ME" in settings.dinas_head_nip:
        missing.append("EKTP_DINAS_HEAD_NIP")
    return missing


def document(settings: Settings, cert: Certificate, resident: Resident, public_keys: KeySet) -> bytes:
    missing = missing_signatory(settings) if settings.env is Environment.PRODUCTION else []
    if missing:
        # In production a paper without its signatory is no certificate: say what to set instead.
        names = ", ".join(missing)
        raise ServiceUnavailable(
            f"nama/NIP Kepala Dinas belum diatur ({names}): surat keterangan tidak dapat dicetak / the head of the "
            f"dinas who signs is not set ({names}): the certificate cannot be printed", code="signatory_not_set")
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
        # the region table's names ("Kelapa Lima"): the document prints them as the card does
        village=names.get("village", address["village_code"]), kecamatan=names.get("district", "-"),
        regency=names.get("regency", ""), province=names.get("province", ""),
        religion=record["religion"], marital_status=record["marital_status"], occupation=record["occupation"],
        citizenship=record.get("citizenship", "WNI"))
    return render_pdf(CertificateDocument(
        dinas=dinas, number=cert.number, resident=data, photo_jpeg=base64.b64decode(resident.photo_jpeg),
        issued_on=cert.issued_on, valid_until=cert.valid_until, token=cert.token,
        key_fingerprint=fingerprint(public_keys[cert.kid]),
        verify_url=f"{settings.public_base_url.rstrip('/')}/console/verify"))  # the page, not the JSON API


# ---- verification ----------------------------------------------------------------------------

async def verify_online(session: AsyncSession, token: str, public_keys: KeySet, *, now: dt.datetime) -> dict:
    """valid / expired / revoked / unknown / invalid, with only what a verifier needs: the signed
    claims they can compare with the person in front of them (name, masked NIK, birth date), the
    number and dates; never the full NIK, the address, the enrollment or who acted."""
    try:
        verified: VerifiedToken = verify_signature(token, public_keys)
    except TokenError as exc:
        return {"status": "invalid", "reason": exc.reason_code, "detail": exc.message}
    claims = verified.claims
    cert = await repository.certificate(session, claims.number)
    if cert is None or cert.token != verified.token:
        return {"status": "unknown", "number": claims.number,
                "detail": "tidak terdaftar di Dinas ini / not in this dinas's register"}
    issuer_id, issuer_en = place(claims.issuer)  # a verifier knows the dinas by name, not by its code
    shown = {"number": claims.number, "name": claims.name, "nik_masked": claims.masked_nik,
             "birth_date": claims.birth_date.isoformat(), "valid_until": cert.valid_until.isoformat(),
             "issuer": claims.issuer, "issuer_name_id": issuer_id, "issuer_name_en": issuer_en}
    if cert.status != CertStatus.VALID:
        code = RevokeCode(cert.revoke_code or RevokeCode.OPERATOR.value)
        return {"status": "revoked", "reason": code.value, "detail": PUBLIC_REASON[code],
                "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else None, **shown}
    if now >= claims.expires_at:
        return {"status": "expired", "reason": Reason.EXPIRED.value,
                "detail": f"berlaku sampai {cert.valid_until.isoformat()} / valid until {cert.valid_until.isoformat()}",
                **shown}
    if now + DEFAULT_LEEWAY < claims.issued_at:
        return {"status": "invalid", "reason": Reason.NOT_YET_VALID.value, "detail": "issued in the future"}
    return {"status": "valid", **shown}
