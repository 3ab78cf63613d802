"""Tables of the dedup service (schema ``dedup``)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from shared.crypto import EncryptedJSON
from shared.db import UtcDateTime, make_base
from shared.messaging import messaging_tables
from shared.messaging.tables import BigId

Base = make_base("dedup")
messaging = messaging_tables(Base.metadata, "dedup")


class RequestStatus(StrEnum):
    WAITING = "WAITING"          # in the backlog
    ADJUDICATION = "ADJUDICATION"  # waits for a human
    DECIDED = "DECIDED"


class Outcome(StrEnum):
    UNIQUE = "unique"
    DUPLICATE = "duplicate"
    ADJUDICATION = "adjudication"
    ENROLL_FAILURE = "enroll_failure"


class DedupRequest(Base):
    """One recording to de-duplicate; `seq` is the backlog's order (oldest first)."""

    __tablename__ = "dedup_requests"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    receipt_number: Mapped[str] = mapped_column(String(16))
    nik: Mapped[str] = mapped_column(String(16), index=True)
    pickup_site: Mapped[str] = mapped_column(String(20))
    recording_site: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.WAITING.value)
    outcome: Mapped[str | None] = mapped_column(String(20))
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    biometrics: Mapped[dict] = mapped_column(EncryptedJSON)
    in_gallery: Mapped[bool] = mapped_column(Boolean, default=False)
    matched_nik: Mapped[str | None] = mapped_column(String(16))
    replaces_enrollment_id: Mapped[uuid.UUID | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_dedup_requests_status_seq", "status", "seq"),
        Index("ix_dedup_requests_gallery", "in_gallery"),
    )


class EngineState(Base):
    """A single row: whether the engine is paused, why and by whom."""

    __tablename__ = "dedup_engine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(400))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str | None] = mapped_column(String(160))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    DECIDED = "DECIDED"


class Case(Base):
    """An adjudication case: a recording and its candidate matches, decided by a human."""

    __tablename__ = "dedup_cases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    nik: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(String(80))
    candidates: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN.value, index=True)
    decision: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(1000))
    decided_by: Mapped[str | None] = mapped_column(String(160))
    matched_enrollment_id: Mapped[uuid.UUID | None] = mapped_column()  # same person as this candidate
    held_by: Mapped[str | None] = mapped_column(String(160))  # the adjudicator deciding it, until held_until
    held_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # A "same person" decision corrected to "different persons" (decision, decided_by, decided_at
    # and note stay those of the first decision; matched_enrollment_id the candidate it named).
    corrected_by: Mapped[str | None] = mapped_column(String(160))
    corrected_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    correction_reason: Mapped[str | None] = mapped_column(String(1000))


class GalleryLog(Base):
    """Every change of the gallery, in order; the engine's in-memory gallery tails it."""

    __tablename__ = "dedup_gallery_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column()
    action: Mapped[str] = mapped_column(String(8))  # enter | leave
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
