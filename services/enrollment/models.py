"""Tables of the enrollment service (schema ``enrollment``)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from shared.db import UtcDateTime, make_base
from shared.messaging import messaging_tables
from shared.messaging.tables import BigId

Base = make_base("enrollment")
messaging = messaging_tables(Base.metadata, "enrollment")


class Status(StrEnum):
    """Status of an enrollment; `siak` gives the name operators know from SIAK."""

    RECEIVED = "RECEIVED"
    ENROLL_FAILURE = "ENROLL_FAILURE"
    ADJUDICATION = "ADJUDICATION"
    DUPLICATE = "DUPLICATE"
    PRINT_READY = "PRINT_READY"
    SENT_FOR_PRINTING = "SENT_FOR_PRINTING"
    PRINTED = "PRINTED"
    ISSUED = "ISSUED"
    REPLACED = "REPLACED"  # a newer recording of the person replaced it before its card was printed

    @property
    def siak(self) -> str:
        return SIAK_NAMES[self]


SIAK_NAMES = {
    Status.RECEIVED: "SENT_FOR_ENROLLMENT",
    Status.ENROLL_FAILURE: "ENROLL_FAILURE_AT_CENTRAL",
    Status.ADJUDICATION: "ADJUDICATE_RECORD",
    Status.DUPLICATE: "DUPLICATE_RECORD",
    Status.PRINT_READY: "PRINT_READY_RECORD",
    Status.SENT_FOR_PRINTING: "SENT_FOR_CARD_PRINTING",
    Status.PRINTED: "CARD_PRINTED",
    Status.ISSUED: "CARD_ISSUED",
    Status.REPLACED: "REPLACED_RECORD",  # SIAK's naming; SIAK itself knows only the statuses above
}


class Enrollment(Base):
    __tablename__ = "enrollments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    receipt_number: Mapped[str] = mapped_column(String(16), unique=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(80))
    pickup_site: Mapped[str] = mapped_column(String(20), index=True)
    recording_site: Mapped[str] = mapped_column(String(20))
    station: Mapped[str] = mapped_column(String(40))
    operator: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(24), index=True)
    status_reason: Mapped[str | None] = mapped_column(String(400))
    # The demographic part of the recording, as accepted (personal data: shown only to operators).
    record: Mapped[dict] = mapped_column(JSON)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(80))
    previous_enrollment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollment.enrollments.id"), index=True)
    # Why it links to a previous record: "recapture" (after ENROLL_FAILURE) or "replacement" (after printing).
    correction: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        # A retry with the same key from the same site returns the first answer.
        UniqueConstraint("recording_site", "idempotency_key"),
        Index("ix_enrollments_status_created", "status", "created_at"),
    )


class TimelineEntry(Base):
    __tablename__ = "enrollment_timeline"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollment.enrollments.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    step: Mapped[str] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(24))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class DedupEngineState(Base):
    """A single row: the dedup engine as the enrollment service last heard of it (from its events),
    so that the public status can say why a recording waits."""

    __tablename__ = "enrollment_dedup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(400))
    since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
