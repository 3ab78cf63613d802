"""Statuses only move forward, with explicit exceptions: the step of a corrected 'same person'
decision (dedup.unique naming the corrected case) takes a DUPLICATE record to PRINT_READY, and on a
same-NIK case (dedup.enroll_failure naming it) to ENROLL_FAILURE."""

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


def test_only_a_corrected_same_nik_decision_takes_a_duplicate_to_enroll_failure():
    corrected = step_of("dedup.enroll_failure", {"enrollment_id": "e", "corrected_case_id": "c"})
    plain = step_of("dedup.enroll_failure", {"enrollment_id": "e", "reason": "no_usable_iris"})
    assert corrected == ("DEDUP_CORRECTED_RERECORD", Status.ENROLL_FAILURE)
    assert plain == ("DEDUP_ENROLL_FAILURE", Status.ENROLL_FAILURE)
    assert moves_forward(Status.DUPLICATE, Status.ENROLL_FAILURE, "DEDUP_CORRECTED_RERECORD")
    # a same-NIK case decided "different persons" (plain dedup.enroll_failure) ends an adjudication
    assert moves_forward(Status.ADJUDICATION, Status.ENROLL_FAILURE, "DEDUP_ENROLL_FAILURE")
    assert not moves_forward(Status.DUPLICATE, Status.ENROLL_FAILURE, "DEDUP_ENROLL_FAILURE")
    for current in (Status.PRINT_READY, Status.SENT_FOR_PRINTING, Status.PRINTED, Status.ISSUED, Status.REPLACED):
        assert not moves_forward(current, Status.ENROLL_FAILURE, "DEDUP_CORRECTED_RERECORD")
