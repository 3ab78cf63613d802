"""Statuses only move forward, with one explicit exception: the step of a corrected 'same person'
decision (dedup.unique naming the corrected case) takes a DUPLICATE record to PRINT_READY."""

from __future__ import annotations

from services.enrollment.models import Status
from services.enrollment.timeline import moves_forward, step_of


def test_only_a_corrected_decision_takes_a_duplicate_to_print_ready():
    corrected = step_of("dedup.unique", {"enrollment_id": "e", "corrected_case_id": "c"})
    plain = step_of("dedup.unique", {"enrollment_id": "e", "replacement_of": None})
    assert corrected == ("DEDUP_CORRECTED", Status.PRINT_READY)
    assert plain == ("DEDUP_UNIQUE", Status.PRINT_READY)
    assert moves_forward(Status.DUPLICATE, Status.PRINT_READY, "DEDUP_CORRECTED")
    assert not moves_forward(Status.DUPLICATE, Status.PRINT_READY, "DEDUP_UNIQUE")  # a plain unique never did
    assert not moves_forward(Status.DUPLICATE, Status.PRINT_READY)
    # the correcting step moves nothing else back
    for current in (Status.SENT_FOR_PRINTING, Status.PRINTED, Status.ISSUED, Status.REPLACED):
        assert not moves_forward(current, Status.PRINT_READY, "DEDUP_CORRECTED")
