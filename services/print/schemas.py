"""Request and response shapes of the print service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from shared.params import Reason


class NodeIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=["oebobo-ps1"])
    site: str = Field(pattern=r"^\d{2}\.\d{2}(\.\d{2})?$", examples=["53.71.04"])
    role: Literal["primary", "backup"] = "primary"
    capacity: int = Field(default=1, ge=1, le=32, description="Cards in flight at once")
    printer_model: str = Field(default="unknown", max_length=80)
    version: str = Field(default="unknown", max_length=40)
    replaces: uuid.UUID | None = Field(
        default=None,
        description="The node this print server registered as before it restarted (same name, same site), "
        "whose process has ended: if still LIVE or DRAINING it is made LOST at once and its claims go back to "
        "the queue (their blanks spoiled, reason node_restarted), instead of after its lease. Unknown: ignored")


class NodeView(BaseModel):
    id: uuid.UUID
    name: str
    site: str
    role: str
    capacity: int
    printer_model: str
    version: str
    status: str
    registered_at: dt.datetime
    last_heartbeat: dt.datetime
    lease_expires_at: dt.datetime
    cards_printed: int
    in_flight: int = 0
    cards_per_hour: float = 0.0


class NodeRegistered(NodeView):
    lease_seconds: float
    heartbeat_seconds: float
    replaced: uuid.UUID | None = Field(default=None, description="The node `replaces` named, if it was still live")
    released_jobs: int = Field(default=0, description="Its claimed jobs put back in the queue")


class NodePage(BaseModel):
    items: list[NodeView]
    total: int
    limit: int
    offset: int


class ClaimIn(BaseModel):
    max_jobs: int = Field(default=1, ge=1, le=32)
    wait_seconds: float = Field(default=20.0, ge=0, le=30, description="Long-poll: wait this long for work")
    holding: list[uuid.UUID] | None = Field(
        default=None, max_length=64,
        description="Claim ids the agent is printing or reporting. A job the node holds under any other claim "
        "is one whose answer the agent never got: it is handed out again (same claim and blank). Omitted (an "
        "agent that does not say): none is")


class ClaimedJob(BaseModel):
    job_id: uuid.UUID
    claim_id: uuid.UUID
    serial: str
    enrollment_id: uuid.UUID
    card: dict = Field(description="Printable fields, photo and index-finger templates")


class ClaimOut(BaseModel):
    jobs: list[ClaimedJob]
    node_status: str


class ResultIn(BaseModel):
    claim_id: uuid.UUID
    outcome: Literal["printed", "spoiled", "unprintable"] = Field(
        description="printed; spoiled (the blank is used up: give a reason); unprintable (the data cannot go on "
        "a card: nothing was printed, the blank returns to stock and the job is held for an operator)")
    reason: Literal["misprint", "chip_failure", "jam", "printer_fault"] | None = None
    detail: str | None = Field(default=None, max_length=300)


class ResultOut(BaseModel):
    job_id: uuid.UUID
    status: str
    report: Literal["printed", "spoiled", "unprintable", "void"]


class JobView(BaseModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    site: str
    status: str
    wait_reason: str | None
    node_id: uuid.UUID | None
    serial: str | None
    attempts: int
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    printed_at: dt.datetime | None
    issued_at: dt.datetime | None
    reprint_of: uuid.UUID | None = None
    reprint_reason: str | None = None


class JobPage(BaseModel):
    items: list[JobView]
    total: int
    limit: int
    offset: int


class StockIn(BaseModel):
    first_serial: str = Field(pattern=r"^\d{6,16}$", examples=["0000100001"])
    count: int = Field(ge=1, le=100_000)


class StockView(BaseModel):
    site: str
    available: int
    reserved: int
    used: int
    spoiled: int
    threshold: int = Field(default=0, description="Low-stock threshold of the site (its own, or the default)")
    low: bool = Field(default=False, description="Available blanks are at or below the threshold")


class TransferIn(BaseModel):
    first_serial: str = Field(pattern=r"^\d{6,16}$", examples=["0000100001"])
    count: int = Field(ge=1, le=100_000)
    to_site: str = Field(pattern=r"^\d{2}\.\d{2}(\.\d{2})?$", examples=["53.71.04"])


class TransferOut(BaseModel):
    from_site: str
    to_site: str
    moved: int
    not_moved: int = Field(description="Serials of the range that stayed: not AVAILABLE at the source site")
    stock: list[StockView]


class ThresholdIn(BaseModel):
    threshold: int | None = Field(ge=0, le=1_000_000, description="null: use the default (EKTP_PRINT_LOW_STOCK_THRESHOLD)")


class ReprintIn(BaseModel):
    reason: Reason = Field(max_length=200, examples=["photo smudged at quality check"])


class ReprintOut(BaseModel):
    void: JobView
    new_job: JobView


class QueueView(BaseModel):
    site: str
    waiting: int = Field(description="Jobs QUEUED at the site (what an autoscaler scales print agents on)")
    reason: str | None = Field(description="Why they wait: no stock, no live print server, or all printers busy")


class RedirectIn(BaseModel):
    to_site: str = Field(pattern=r"^\d{2}\.\d{2}(\.\d{2})?$", examples=["53.71"])
    reason: Reason = Field(max_length=200, examples=["no print server at this kecamatan"])


class RouteView(BaseModel):
    site: str
    print_site: str
    reason: str
    set_by: str
    set_at: dt.datetime


class RedirectOut(BaseModel):
    site: str
    print_site: str
    moved_jobs: int
