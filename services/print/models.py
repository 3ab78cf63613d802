"""Tables of the print service (schema ``print``)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from shared.crypto import EncryptedJSON
from shared.db import UtcDateTime, make_base
from shared.messaging import messaging_tables

Base = make_base("print")
messaging = messaging_tables(Base.metadata, "print")


class PrintRecord(Base):
    """What the print service knows of a resident: the card's data (from enrollment.submitted)
    and the dedup outcome; a job is created once both are here."""

    __tablename__ = "print_records"

    enrollment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    card: Mapped[dict | None] = mapped_column(EncryptedJSON)
    pickup_site: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))  # unique | duplicate | replaced
    replaced_by: Mapped[uuid.UUID | None] = mapped_column()  # the newer recording of the person, if replaced
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class NodeRole(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class NodeStatus(StrEnum):
    LIVE = "LIVE"
    DRAINING = "DRAINING"
    LOST = "LOST"
    GONE = "GONE"  # deregistered


class PrintNode(Base):
    """A print agent (print server) that registered itself."""

    __tablename__ = "print_nodes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(80))
    site: Mapped[str] = mapped_column(String(20), index=True)
    role: Mapped[str] = mapped_column(String(10))
    capacity: Mapped[int] = mapped_column(Integer)
    printer_model: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    credential: Mapped[str] = mapped_column(String(160))
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_heartbeat: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    lease_expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    cards_printed: Mapped[int] = mapped_column(Integer, default=0)


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    CLAIMED = "CLAIMED"
    PRINTED = "PRINTED"
    ISSUED = "ISSUED"
    HELD = "HELD"  # cannot be printed as recorded; an operator must act
    CANCELLED = "CANCELLED"
    VOID = "VOID"  # printed, then voided by an operator's reprint (a new job replaces it)


class PrintJob(Base):
    __tablename__ = "print_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(index=True)
    site: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    wait_reason: Mapped[str | None] = mapped_column(String(200))
    node_id: Mapped[uuid.UUID | None] = mapped_column()
    claim_id: Mapped[uuid.UUID | None] = mapped_column()
    serial: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reprint_reason: Mapped[str | None] = mapped_column(String(200))
    reprint_of: Mapped[uuid.UUID | None] = mapped_column()  # the voided job this one reprints
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    printed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    issued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    issued_by: Mapped[str | None] = mapped_column(String(160))

    __table_args__ = (Index("ix_print_jobs_site_status_created", "site", "status", "created_at"),)


class SerialStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    RESERVED = "RESERVED"  # claimed for a job, being printed
    USED = "USED"          # a card that was handed to a job as PRINTED
    SPOILED = "SPOILED"    # a blank destroyed in printing, with a reason


class BlankCard(Base):
    """One blank card of accountable stock, by serial."""

    __tablename__ = "print_blank_cards"

    serial: Mapped[str] = mapped_column(String(20), primary_key=True)
    site: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    job_id: Mapped[uuid.UUID | None] = mapped_column()
    claim_id: Mapped[uuid.UUID | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_print_blank_cards_site_status", "site", "status", "serial"),)


class SiteRoute(Base):
    """Where a site's cards are printed when not at the site itself (a kecamatan without a print
    server, or one that is down): set by an operator, applied to waiting and future jobs."""

    __tablename__ = "print_site_routes"

    site: Mapped[str] = mapped_column(String(20), primary_key=True)
    print_site: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200))
    set_by: Mapped[str] = mapped_column(String(160))
    set_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class SiteStock(Base):
    """A site's stock settings and state: its low-stock threshold (None: the setting's default)
    and whether it is below it now (so that `print.stock_low` is raised once per crossing)."""

    __tablename__ = "print_site_stock"

    site: Mapped[str] = mapped_column(String(20), primary_key=True)
    low_threshold: Mapped[int | None] = mapped_column(Integer)
    low: Mapped[bool] = mapped_column(Boolean, default=False)
    low_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
