"""Tables of the certificate service (schema ``certificate``)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from shared.crypto import EncryptedText
from shared.db import UtcDateTime, make_base
from shared.messaging import messaging_tables

Base = make_base("certificate")
messaging = messaging_tables(Base.metadata, "certificate")


class Resident(Base):
    """A recorded resident as this service knows them: card data, photo, enrollment status."""

    __tablename__ = "certificate_residents"

    enrollment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    record: Mapped[dict] = mapped_column(JSON)
    photo_jpeg: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(String(24))
    pickup_site: Mapped[str | None] = mapped_column(String(16), index=True)
    recording_site: Mapped[str | None] = mapped_column(String(16), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class CertStatus(StrEnum):
    VALID = "VALID"
    REVOKED = "REVOKED"
    SUPERSEDED = "SUPERSEDED"
    EXPIRED = "EXPIRED"  # derived (VALID past its valid-until date), never stored


class RevokeCode(StrEnum):
    """Why a certificate stopped being valid; a verifier sees the code and a fixed text, never an operator's note."""

    CARD_ISSUED = "card_issued"
    DUPLICATE = "duplicate"
    ENROLL_FAILURE = "enroll_failure"
    OPERATOR = "operator"
    SUPERSEDED = "superseded"


class Certificate(Base):
    __tablename__ = "certificates"

    number: Mapped[str] = mapped_column(String(60), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(index=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    token: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(32))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    issued_by: Mapped[str] = mapped_column(String(160))
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(400))
    revoke_code: Mapped[str | None] = mapped_column(String(24))
    superseded_by: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (
        Index("ix_certificates_enrollment_status", "enrollment_id", "status"),
        # never two valid certificates for one resident, whichever process issues them
        Index("uq_certificates_one_valid", "enrollment_id", unique=True,
              postgresql_where=text("status = 'VALID'"), sqlite_where=text("status = 'VALID'")),
    )


class Sequence(Base):
    """The last certificate number used in a year."""

    __tablename__ = "certificate_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class DedupEngine(Base):
    """The dedup engine's state as last announced (dedup.engine_paused / dedup.engine_resumed); one row."""

    __tablename__ = "certificate_dedup_engine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(400))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
