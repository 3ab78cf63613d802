"""ORM rows → response shapes, with masking for the public."""

from __future__ import annotations

from collections.abc import Sequence

from services.enrollment.models import Enrollment, Status, TimelineEntry
from services.enrollment.schemas import (
    EnrollmentAccepted, EnrollmentDetail, EnrollmentSummary, PublicStatus, TimelineStep,
)
from services.enrollment.timeline import STATUS_TEXT, STEP_TEXT


def mask_name(name: str) -> str:
    """"MARIA GORETTI FERNANDES" → "M**** G****** F*******"."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def step_view(entry: TimelineEntry) -> TimelineStep:
    text_id, text_en = STEP_TEXT.get(entry.step, (entry.step, entry.step))
    return TimelineStep(at=entry.at, step=entry.step, status=entry.status, text_id=text_id, text_en=text_en,
                        detail=entry.detail or {})


def accepted_view(e: Enrollment) -> EnrollmentAccepted:
    return EnrollmentAccepted(id=e.id, receipt_number=e.receipt_number, status=e.status,
                              siak_status=Status(e.status).siak, warnings=e.warnings or [],
                              status_url=f"/v1/status/{e.receipt_number}")


def summary_view(e: Enrollment) -> EnrollmentSummary:
    return EnrollmentSummary(id=e.id, receipt_number=e.receipt_number, nik=e.nik, name=e.name, status=e.status,
                             siak_status=Status(e.status).siak, pickup_site=e.pickup_site,
                             recording_site=e.recording_site, created_at=e.created_at)


def detail_view(e: Enrollment, entries: Sequence[TimelineEntry]) -> EnrollmentDetail:
    return EnrollmentDetail(**summary_view(e).model_dump(), status_reason=e.status_reason, record=e.record,
                            warnings=e.warnings or [], previous_enrollment_id=e.previous_enrollment_id,
                            timeline=[step_view(t) for t in entries])


def public_status_view(e: Enrollment, entries: Sequence[TimelineEntry], position: int | None) -> PublicStatus:
    status = Status(e.status)
    status_id, status_en = STATUS_TEXT[status]
    public_steps = []
    for entry in entries:
        view = step_view(entry)
        # The public sees where and when, never who recorded it or serial numbers.
        view.detail = {k: v for k, v in view.detail.items() if k in ("site", "reason", "valid_until")}
        public_steps.append(view)
    return PublicStatus(receipt_number=e.receipt_number, name_masked=mask_name(e.name), status=status.value,
                        status_id=status_id, status_en=status_en, pickup_site=e.pickup_site,
                        waiting_position=position, timeline=public_steps)
