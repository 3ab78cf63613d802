"""Request and response shapes of the dedup service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from shared.params import Reason


class EngineView(BaseModel):
    paused: bool
    reason: str | None
    automatic: bool
    changed_by: str | None
    changed_at: dt.datetime
    matcher: str
    gallery_size: int | None = Field(description="Persons in the gallery (known on the engine's leader)")
    target_fpir: float
    auto_threshold: float = Field(description="Fused evidence (-log10 of an impostor p-value, the scale of every "
                                  "score) at or above which a candidate is a duplicate without an adjudicator")
    grey_threshold: float = Field(description="Fused evidence from which, below auto_threshold, a recording goes to "
                                  "an adjudicator")


class PauseIn(BaseModel):
    reason: Reason = Field(max_length=400, examples=["lisensi penunggalan habis / licence expired"])


class SiteBacklog(BaseModel):
    site: str = Field(description="Recording site (where the resident was recorded)")
    waiting: int
    oldest_received_at: dt.datetime
    oldest_wait_seconds: float


class BacklogView(BaseModel):
    waiting: int
    oldest_received_at: dt.datetime | None
    oldest_wait_seconds: float | None
    per_site: dict[str, int] = Field(description="Waiting records per recording site")
    sites: list[SiteBacklog] = Field(default_factory=list, description="Per recording site, most waiting first")
    outcomes: dict[str, int] = Field(
        default_factory=dict,
        description="Records by state: waiting, adjudication (open cases), unique, duplicate, enroll_failure")
    paused: bool
    reason: str | None
    automatic: bool = False


class PositionView(BaseModel):
    enrollment_id: uuid.UUID
    status: str = Field(description="WAITING, ADJUDICATION or DECIDED")
    outcome: str | None
    reasons: list[str]
    position: int | None = Field(description="1 = decided next; None once it is no longer waiting")
    waiting: int = Field(description="All records waiting")
    received_at: dt.datetime
    decided_at: dt.datetime | None
    paused: bool
    reason: str | None = Field(description="Why de-duplication is paused, when it is")


class CandidateView(BaseModel):
    enrollment_id: str
    nik: str | None
    scores: dict[str, float | None]


class CaseView(BaseModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    nik: str
    site: str
    reason: str
    status: str
    decision: str | None
    note: str | None
    decided_by: str | None
    matched_enrollment_id: uuid.UUID | None = Field(default=None, description="A 'same person' decision: the "
                                                    "candidate the recording is the same person as")
    held_by: str | None = Field(default=None, description="The adjudicator who took the open case and is deciding it "
                                "(none once the hold ran out)")
    held_until: dt.datetime | None = Field(default=None, description="Until when; nobody else may take or decide it")
    opened_at: dt.datetime
    decided_at: dt.datetime | None
    corrected_by: str | None = Field(default=None, description="Who corrected a 'same person' decision to "
                                     "'different persons' (decision, decided_by and note stay the first decision's)")
    corrected_at: dt.datetime | None = None
    correction_reason: str | None = Field(default=None, description="Why the decision was corrected")
    candidates: list[CandidateView]


class RecordSide(BaseModel):
    """One side of a case: a recording, with its photo (base64 JPEG) and what was captured."""

    enrollment_id: uuid.UUID
    nik: str
    receipt_number: str
    recording_site: str
    pickup_site: str
    recorded_at: dt.datetime
    status: str
    outcome: str | None
    photo_jpeg: str | None
    fingers_captured: int
    irises_captured: int
    exceptions: list[str]


class CandidateSide(RecordSide):
    scores: dict[str, float | None] = Field(description="Evidence per modality (finger, iris, face) and fused")


class CaseDetail(CaseView):
    recording: RecordSide
    matches: list[CandidateSide] = Field(description="Each candidate beside the recording, best first")


class CasePage(BaseModel):
    items: list[CaseView]
    total: int
    limit: int
    offset: int


class DecisionIn(BaseModel):
    decision: Literal["same_person", "different_persons"]
    note: Reason = Field(max_length=1000)
    candidate: uuid.UUID | None = Field(
        default=None, description="same_person: the enrollment id of the candidate the recording is the same person "
        "as (its NIK becomes the duplicate's matched NIK). Needed when the case has candidates of several NIKs; "
        "else the first candidate")


class CorrectionIn(BaseModel):
    reason: Reason = Field(max_length=1000, examples=["sidik jari diperiksa ulang: orang yang berbeda / "
                                                      "fingerprints re-examined: different persons"])
