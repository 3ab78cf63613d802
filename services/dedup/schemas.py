"""Request and response shapes of the dedup service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field


class EngineView(BaseModel):
    paused: bool
    reason: str | None
    automatic: bool
    changed_by: str | None
    changed_at: dt.datetime
    matcher: str
    gallery_size: int | None = Field(description="Persons in the gallery (known on the engine's leader)")
    target_fpir: float


class PauseIn(BaseModel):
    reason: str = Field(min_length=3, max_length=400, examples=["lisensi penunggalan habis / licence expired"])


class BacklogView(BaseModel):
    waiting: int
    oldest_received_at: dt.datetime | None
    oldest_wait_seconds: float | None
    per_site: dict[str, int]
    paused: bool
    reason: str | None


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
    opened_at: dt.datetime
    decided_at: dt.datetime | None
    candidates: list[CandidateView]


class CasePage(BaseModel):
    items: list[CaseView]
    total: int
    limit: int
    offset: int


class DecisionIn(BaseModel):
    decision: Literal["same_person", "different_persons"]
    note: str = Field(min_length=3, max_length=1000)
