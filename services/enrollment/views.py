"""ORM rows → response shapes, with masking for the public."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from services.enrollment.batch import ItemAnswer
from services.enrollment.models import DedupEngineState, Enrollment, Status, TimelineEntry
from services.enrollment.schemas import (
    BatchAnswer, BatchItemAnswer, DedupPaused, EnrollmentAccepted, EnrollmentDetail, EnrollmentSummary,
    PublicStatus, TimelineStep,
)
from services.enrollment.service import PublicStatusData
from services.enrollment.timeline import (
    HELD_STATUS_TEXT, PAUSED_TEXT, REPLACED_TEXT, STATUS_TEXT, STEP_TEXT, public_texts, revoked_reason,
)
from shared.sites import place


def mask_name(name: str) -> str:
    """"MARIA GORETTI FERNANDES" → "M**** G****** F*******"."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def step_view(entry: TimelineEntry) -> TimelineStep:
    text_id, text_en = STEP_TEXT.get(entry.step, (entry.step, entry.step))
    return TimelineStep(at=entry.at, step=entry.step, status=entry.status, text_id=text_id, text_en=text_en,
                        detail=entry.detail or {})


def accepted_view(e: Enrollment | dict[str, Any]) -> EnrollmentAccepted:
    """The answer to an accepted recording, from the row (or the dict a batch inserted)."""
    row = e if isinstance(e, dict) else {"id": e.id, "receipt_number": e.receipt_number, "status": e.status,
                                         "warnings": e.warnings}
    return EnrollmentAccepted(id=row["id"], receipt_number=row["receipt_number"], status=row["status"],
                              siak_status=Status(row["status"]).siak, warnings=row["warnings"] or [],
                              status_url=f"/v1/status/{row['receipt_number']}")


def batch_view(answers: Sequence[ItemAnswer]) -> BatchAnswer:
    items = []
    for a in answers:
        accepted = accepted_view(a.enrollment) if a.enrollment is not None else None
        items.append(BatchItemAnswer(index=a.index, status=a.status, station_recording_id=a.station_recording_id,
                                     receipt_number=accepted.receipt_number if accepted else None,
                                     enrollment=accepted, error=a.error))
    return BatchAnswer(created=sum(a.status == 201 for a in answers), replayed=sum(a.status == 200 for a in answers),
                       refused=sum(a.status >= 400 for a in answers), items=items)


def paused_view(state: DedupEngineState | None) -> DedupPaused | None:
    if state is None or not state.paused:
        return None
    reason = state.reason or "-"
    return DedupPaused(reason=state.reason, since=state.since, text_id=PAUSED_TEXT[0].format(reason=reason),
                       text_en=PAUSED_TEXT[1].format(reason=reason))


def summary_view(e: Enrollment) -> EnrollmentSummary:
    return EnrollmentSummary(id=e.id, receipt_number=e.receipt_number, nik=e.nik, name=e.name, status=e.status,
                             siak_status=Status(e.status).siak, pickup_site=e.pickup_site,
                             recording_site=e.recording_site, created_at=e.created_at)


def detail_view(e: Enrollment, entries: Sequence[TimelineEntry], next_ids: Sequence[uuid.UUID]) -> EnrollmentDetail:
    return EnrollmentDetail(**summary_view(e).model_dump(), status_reason=e.status_reason, record=e.record,
                            warnings=e.warnings or [], previous_enrollment_id=e.previous_enrollment_id,
                            correction=e.correction, next_enrollment_ids=list(next_ids),
                            timeline=[step_view(t) for t in entries])


def public_status_view(data: PublicStatusData) -> PublicStatus:
    e, entries, position = data.enrollment, data.entries, data.position
    paused = paused_view(data.dedup)
    status = Status(e.status)
    status_id, status_en = STATUS_TEXT[status]
    public_steps = []
    for entry in entries:
        view = step_view(entry)
        # In words: a place's name, a date as printed, why a certificate ended, whether it is a new one
        view.text_id, view.text_en = public_texts(view.step, view.detail, e.pickup_site)
        if view.step == "CERTIFICATE_REVOKED" and (reason := revoked_reason(view.detail)):
            view.detail = {**view.detail, "reason": reason}  # the words of the text, today's
        # The public sees where and when, never who recorded it, serial or certificate numbers.
        view.detail = {k: v for k, v in view.detail.items()
                       if k in ("site", "reason", "valid_until", "replacement_receipt")}
        public_steps.append(view)
    # Held by the print server (the data does not fit on the card) and not queued again since: the
    # status says so, not "queued for printing".
    last_print = next((step.step for step in reversed(public_steps)
                       if step.step in ("PRINT_QUEUED", "PRINT_HELD", "CARD_PRINTED")), None)
    if status is Status.SENT_FOR_PRINTING and last_print == "PRINT_HELD":
        status_id, status_en = HELD_STATUS_TEXT
    replaced = next((step for step in reversed(public_steps) if step.step == "REPLACED"), None)
    if replaced is not None:
        receipt = replaced.detail.get("replacement_receipt", "")
        status_id, status_en = (text.format(receipt=receipt) for text in REPLACED_TEXT)
    if position is not None:
        # While it waits: where it stands in the backlog, and why nothing moves if dedup is paused.
        text_id, text_en = STEP_TEXT["WAITING_FOR_DEDUP"]
        detail: dict[str, Any] = {"position": position}
        if paused is not None:
            text_id, text_en = paused.text_id, paused.text_en
            detail["reason"] = paused.reason
        public_steps.append(TimelineStep(at=dt.datetime.now(dt.UTC), step="WAITING_FOR_DEDUP", status=status.value,
                                         text_id=f"{text_id} (antrean ke-{position})",
                                         text_en=f"{text_en} (position {position} in the queue)", detail=detail))
    pickup_id, pickup_en = place(e.pickup_site)
    return PublicStatus(receipt_number=e.receipt_number, name_masked=mask_name(e.name), status=status.value,
                        status_id=status_id, status_en=status_en, pickup_site=e.pickup_site,
                        pickup_place_id=pickup_id, pickup_place_en=pickup_en,
                        waiting_position=position, dedup_paused=paused, timeline=public_steps)
