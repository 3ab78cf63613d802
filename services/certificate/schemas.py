"""Request and response shapes of the certificate service."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from shared.params import Reason


class IssueIn(BaseModel):
    enrollment_id: uuid.UUID


class RevokeIn(BaseModel):
    reason: Reason = Field(max_length=400)


class CertificateView(BaseModel):
    number: str
    enrollment_id: uuid.UUID
    nik: str
    status: str
    issued_on: dt.date
    valid_until: dt.date
    issued_by: str
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str | None
    revoke_code: str | None
    superseded_by: str | None
    kid: str
    token: str
    pdf_url: str


class VerifyView(BaseModel):
    """What a verifier (bank, school, polling station) sees: no full NIK, no address."""

    status: str = Field(description="valid | expired | revoked | unknown | invalid")
    reason: str | None = Field(default=None, description="revoked: card_issued | duplicate | enroll_failure | operator | "
                               "superseded; invalid: malformed | unknown_key | bad_signature | not_yet_valid; expired")
    detail: str | None = Field(default=None, description="The reason in words (Indonesian / English)")
    number: str | None = None
    name: str | None = None
    nik_masked: str | None = None
    birth_date: str | None = None
    valid_until: str | None = None
    issuer: str | None = None
    issuer_name_id: str | None = Field(default=None, description='The issuer: "Dinas Dukcapil Kota Kupang (53.71)"')
    issuer_name_en: str | None = Field(default=None, description='In English: "Kota Kupang civil registry (53.71)"')
    revoked_at: str | None = None


class CertificatePage(BaseModel):
    items: list[CertificateView]
    total: int
    limit: int
    offset: int


class CertificateStats(BaseModel):
    """Counts for the console. `issued` is every certificate ever made; each is in exactly one of
    valid / expired / revoked / superseded (expired: still VALID in the register, past its date)."""

    site: str | None
    issued: int
    valid: int
    expired: int
    revoked: int
    superseded: int
