"""The steps of a resident's timeline and how each event moves the status.

One table: event type → (timeline step, new status or None). Texts in Indonesian and English
are what the public status page shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.enrollment.models import Status
from shared.certificate.reasons import PUBLIC_REASON
from shared.dates import english_date, indonesian_date
from shared.sites import place

# step code → (Indonesian, English)
STEP_TEXT: dict[str, tuple[str, str]] = {
    "RECORDED": ("Perekaman selesai", "Recorded"),
    "SENT_TO_DEDUP": ("Dikirim untuk penunggalan (pusat)", "Sent for de-duplication (ministry)"),
    "DEDUP_UNIQUE": ("Data tunggal, siap cetak", "Unique record, ready to print"),
    "DEDUP_DUPLICATE": ("Data ganda: NIK sudah terdaftar", "Duplicate record: already holds a NIK"),
    "DEDUP_ENROLL_FAILURE": ("Biometrik tidak terbaca, harap rekam ulang", "Biometrics unusable; please re-record"),
    "ADJUDICATION_OPENED": ("Menunggu verifikasi petugas pusat", "Waiting for a ministry adjudicator"),
    # An adjudicator's "same person" decision corrected to "different persons" (dedup.unique with
    # corrected_case_id): the DUPLICATE before it no longer holds.
    "DEDUP_CORRECTED": ("Keputusan data ganda dikoreksi petugas pusat: data tunggal, siap cetak",
                        "Duplicate decision corrected by a ministry adjudicator: unique record, ready to print"),
    # The same correction on a same-NIK case (dedup.enroll_failure with corrected_case_id): the
    # NIK is another person's; the record must be re-recorded after the NIK check (NIK_HELD_TEXT).
    "DEDUP_CORRECTED_RERECORD": ("Keputusan data ganda dikoreksi petugas pusat: NIK terdaftar atas orang lain, "
                                 "harus rekam ulang",
                                 "Duplicate decision corrected by a ministry adjudicator: the NIK is registered to "
                                 "another person; must be re-recorded"),
    "PRINT_QUEUED": ("Dalam antrean cetak", "Queued for printing"),
    "CARD_PRINTED": ("KTP-el sudah dicetak, siap diambil", "Card printed, ready for pickup"),
    "CARD_SPOILED": ("Kartu rusak saat dicetak, dicetak ulang", "Card spoiled in printing; reprinting"),
    "PRINT_HELD": ("KTP-el belum dapat dicetak: datanya tidak muat di kartu; perlu perbaikan data",
                   "The card cannot be printed: its data does not fit on the card; the data must be corrected"),
    "CARD_ISSUED": ("KTP-el sudah diserahkan", "Card handed over"),
    "CERTIFICATE_ISSUED": ("Surat Keterangan pengganti KTP-el diterbitkan", "Interim certificate issued"),
    "CERTIFICATE_REVOKED": ("Surat Keterangan dicabut", "Interim certificate revoked"),
    # certificate.revoked with the code superseded: the dinas issued a new one in its place
    "CERTIFICATE_SUPERSEDED": ("Surat Keterangan diganti dengan Surat Keterangan baru",
                               "Interim certificate replaced by a new one"),
    "REPLACED": ("Diganti dengan rekaman baru (kartu pengganti)", "Replaced by a new recording (replacement card)"),
    # No card of this record will be handed over: not printed (cancelled while it waited), or printed
    # and void (a correction after printing): the new recording's card replaces it.
    "PRINT_CANCELLED": ("Kartu dari rekaman ini tidak akan diserahkan: diganti kartu dari rekaman baru",
                        "No card of this recording will be handed over: the new recording's card replaces it"),
    # Not stored: added to the public view while the recording waits.
    "WAITING_FOR_DEDUP": ("Menunggu penunggalan", "Waiting for de-duplication"),
}

# The public timeline says where a step happened (a place, not a site code) and until when a
# certificate holds: step → (Indonesian, English) with {place}, the site of the step's event.
PLACE_TEXT: dict[str, tuple[str, str]] = {
    "RECORDED": ("Perekaman selesai di {place}", "Recorded at {place}"),
    "PRINT_QUEUED": ("Dalam antrean cetak di {place}", "Queued for printing at {place}"),
    "CARD_SPOILED": ("Kartu rusak saat dicetak di {place}, dicetak ulang",
                     "Card spoiled in printing at {place}; reprinting"),
    "CARD_ISSUED": ("KTP-el sudah diserahkan di {place}", "Card handed over at {place}"),
}
# A held card (the print server found its data does not fit on it) waits for a correction of the
# recording, for which the resident comes to the pickup site.
HELD_TEXT = ("KTP-el belum dapat dicetak: datanya tidak muat di kartu. Datang ke {pickup} untuk perbaikan data",
             "The card cannot be printed: its data does not fit on the card. Come to {pickup} to have it corrected")
HELD_STATUS_TEXT = ("Tertahan: perlu perbaikan data", "On hold: the data must be corrected")
# Biometrics dedup could not use: the resident is recorded again (a re-capture linked to this
# record), for which they come to the pickup site, their kecamatan's office.
RERECORD_TEXT = ("Biometrik tidak terbaca. Datang ke {pickup} untuk rekam ulang; bawa tanda terima ini",
                 "Biometrics unusable. Come to {pickup} to be recorded again; bring this receipt")
# A same-NIK case decided "different persons" (dedup's reason NIK_HELD_REASON): the NIK is another
# person's, so this recording is not printed under it; the dinas checks the NIK against the family
# card, and the resident is recorded again (a re-capture that may carry the corrected NIK).
NIK_HELD_REASON = "nik_held_by_another_person"
NIK_HELD_TEXT = ("NIK ini sudah terdaftar atas orang lain: bawa Kartu Keluarga (KK) ke Dinas untuk pemeriksaan NIK, "
                 "lalu rekam ulang",
                 "This NIK is registered to another person: bring your family card (KK) to the dinas to have the "
                 "NIK checked, then record again")


def nik_held(reason: object) -> bool:
    """Whether a dedup refusal's reason ("a, b, c", as its event and the record keep it) says the
    NIK is held by another person."""
    return isinstance(reason, str) and NIK_HELD_REASON in reason.split(", ")


# A card printed at its pickup site waits there; one printed elsewhere (the dinas's backup) is
# collected at the pickup site, which the resident must be told.
PRINTED_TEXT = ("KTP-el sudah dicetak, siap diambil di {place}", "Card printed, ready for pickup at {place}")
PRINTED_ELSEWHERE_TEXT = ("KTP-el sudah dicetak di {place}; diambil di {pickup}",
                          "Card printed at {place}; to be collected at {pickup}")
CERTIFICATE_TEXT = ("Surat Keterangan pengganti KTP-el diterbitkan, berlaku sampai dengan {date}",
                    "Interim certificate issued, valid until {date}")
# One issued in place of an earlier one (the event's `supersedes`): the timeline says it is the new one.
NEW_CERTIFICATE_TEXT = ("Surat Keterangan baru diterbitkan menggantikan yang lama, berlaku sampai dengan {date}",
                        "New interim certificate issued in place of the earlier one, valid until {date}")
REVOKED_TEXT = ("Surat Keterangan dicabut: {reason}", "Interim certificate revoked: {reason}")


def public_texts(step: str, detail: Mapping[str, Any], pickup_site: str) -> tuple[str, str]:
    """A step's words for the resident: where (the place's name), until when a certificate holds
    and whether it replaced an earlier one, why it was revoked (the certificate service's fixed
    "Indonesian / English" text, never an operator's note); the step's plain text when its event
    said none of it. `detail` is the step's whole detail: the words never carry its numbers."""
    text_id, text_en = STEP_TEXT.get(step, (step, step))
    site = detail.get("site")
    if step == "CARD_PRINTED" and site:
        (place_id, place_en), (pickup_id, pickup_en) = place(site), place(pickup_site)
        if site == pickup_site:
            return PRINTED_TEXT[0].format(place=place_id), PRINTED_TEXT[1].format(place=place_en)
        return (PRINTED_ELSEWHERE_TEXT[0].format(place=place_id, pickup=pickup_id),
                PRINTED_ELSEWHERE_TEXT[1].format(place=place_en, pickup=pickup_en))
    if step in ("DEDUP_ENROLL_FAILURE", "DEDUP_CORRECTED_RERECORD") and nik_held(detail.get("reason")):
        return NIK_HELD_TEXT
    if step in ("PRINT_HELD", "DEDUP_ENROLL_FAILURE"):
        pickup_id, pickup_en = place(pickup_site)
        text = HELD_TEXT if step == "PRINT_HELD" else RERECORD_TEXT
        return text[0].format(pickup=pickup_id), text[1].format(pickup=pickup_en)
    if step in PLACE_TEXT and site:
        place_id, place_en = place(site)
        return PLACE_TEXT[step][0].format(place=place_id), PLACE_TEXT[step][1].format(place=place_en)
    if step == "CERTIFICATE_ISSUED" and detail.get("valid_until"):
        try:
            until = dt.date.fromisoformat(detail["valid_until"])
        except (TypeError, ValueError):
            return text_id, text_en
        text = NEW_CERTIFICATE_TEXT if detail.get("supersedes") else CERTIFICATE_TEXT
        return text[0].format(date=indonesian_date(until)), text[1].format(date=english_date(until))
    if step == "CERTIFICATE_REVOKED" and (reason := revoked_reason(detail)):
        reason_id, _, reason_en = reason.partition(" / ")
        return REVOKED_TEXT[0].format(reason=reason_id), REVOKED_TEXT[1].format(reason=reason_en or reason_id)
    return text_id, text_en


def revoked_reason(detail: Mapping[str, Any]) -> str | None:
    """Why a revoked certificate ended, "Indonesian / English": today's words for the code the step
    keeps (shared.certificate.reasons), not the words its event carried when it was stored; those
    only for a step without a known code."""
    code, stored = detail.get("code"), detail.get("reason")
    if isinstance(code, str) and code in PUBLIC_REASON:
        return PUBLIC_REASON[code]
    return stored if isinstance(stored, str) else None


# Shown while a recording waits and de-duplication is paused; {reason} is the operator's reason.
PAUSED_TEXT = (
    "Penunggalan (pusat) sedang dihentikan sementara; rekaman Anda aman dan tetap dalam antrean. Alasan: {reason}",
    "De-duplication (ministry) is paused; your recording is safe and keeps its place in the queue. Reason: {reason}",
)

STATUS_TEXT: dict[Status, tuple[str, str]] = {
    Status.RECEIVED: ("Menunggu penunggalan", "Waiting for de-duplication"),
    Status.ENROLL_FAILURE: ("Harus rekam ulang", "Must be re-recorded"),
    Status.ADJUDICATION: ("Menunggu verifikasi", "Waiting for adjudication"),
    Status.DUPLICATE: ("Data ganda", "Duplicate record"),
    Status.PRINT_READY: ("Siap cetak", "Ready to print"),
    Status.SENT_FOR_PRINTING: ("Dalam antrean cetak", "Queued for printing"),
    Status.PRINTED: ("Sudah dicetak, siap diambil", "Printed, ready for pickup"),
    Status.ISSUED: ("Sudah diserahkan", "Handed over"),
    Status.REPLACED: ("Diganti rekaman baru", "Replaced by a newer recording"),
}

# The public status of a record whose card is being replaced (a REPLACED step): the card
# it names is no longer the one to collect; the new receipt (in the step's detail) tells where the
# new one is.
REPLACED_TEXT = (
    "Diganti kartu pengganti: ikuti nomor tanda terima {receipt}",
    "Replaced by a replacement card: follow receipt {receipt}",
)

# event type → (step, status it moves to, or None to only add a timeline entry)
EVENT_STEPS: dict[str, tuple[str, Status | None]] = {
    "dedup.unique": ("DEDUP_UNIQUE", Status.PRINT_READY),
    "dedup.duplicate": ("DEDUP_DUPLICATE", Status.DUPLICATE),
    "dedup.enroll_failure": ("DEDUP_ENROLL_FAILURE", Status.ENROLL_FAILURE),
    "dedup.adjudication_opened": ("ADJUDICATION_OPENED", Status.ADJUDICATION),
    "print.job_queued": ("PRINT_QUEUED", Status.SENT_FOR_PRINTING),
    "print.card_printed": ("CARD_PRINTED", Status.PRINTED),
    "print.card_spoiled": ("CARD_SPOILED", None),
    "print.job_held": ("PRINT_HELD", None),  # the status stays SENT_FOR_PRINTING; the page says it is held
    "print.card_issued": ("CARD_ISSUED", Status.ISSUED),
    "print.card_cancelled": ("PRINT_CANCELLED", Status.REPLACED),
    "certificate.issued": ("CERTIFICATE_ISSUED", None),
    "certificate.revoked": ("CERTIFICATE_REVOKED", None),
}

# Statuses only move forward; a decided record does not fall back to an earlier step.
_RANK = {
    Status.RECEIVED: 0,
    Status.ENROLL_FAILURE: 1,
    Status.ADJUDICATION: 1,
    Status.DUPLICATE: 2,
    Status.PRINT_READY: 2,
    Status.SENT_FOR_PRINTING: 3,
    Status.PRINTED: 4,
    Status.ISSUED: 5,
    Status.REPLACED: 5,  # instead of a card: its print job was cancelled before printing
}


# The moves back from a decided status, each made by its step only: an adjudicator's "same person"
# decision corrected to "different persons" turns a DUPLICATE into a unique record (a grey-zone
# case) or into one to re-record after the NIK check (a same-NIK case).
CORRECTING_MOVES: dict[str, tuple[Status, Status]] = {
    "DEDUP_CORRECTED": (Status.DUPLICATE, Status.PRINT_READY),
    "DEDUP_CORRECTED_RERECORD": (Status.DUPLICATE, Status.ENROLL_FAILURE),
}
# ... and the event of each: a dedup outcome that names the case it corrects (corrected_case_id).
CORRECTING_STEPS: dict[str, str] = {
    "dedup.unique": "DEDUP_CORRECTED",
    "dedup.enroll_failure": "DEDUP_CORRECTED_RERECORD",
}


def step_of(event_type: str, data: Mapping[str, Any]) -> tuple[str, Status | None] | None:
    """The timeline step of an event and the status it moves to; None: no step for a resident."""
    if event_type == "certificate.revoked" and data.get("code") == "superseded":
        return "CERTIFICATE_SUPERSEDED", None  # not revoked for a reason: a new one took its place
    if data.get("corrected_case_id") and (step := CORRECTING_STEPS.get(event_type)):
        return step, CORRECTING_MOVES[step][1]
    return EVENT_STEPS.get(event_type)


def moves_forward(current: Status, new: Status, step: str | None = None) -> bool:
    """Whether `step` moves a record from `current` to `new`: statuses only move forward, except
    the moves of CORRECTING_MOVES, each made by its own step only."""
    if CORRECTING_MOVES.get(step or "") == (current, new):
        return True
    if current in (Status.DUPLICATE, Status.ISSUED, Status.REPLACED):
        return False
    # an adjudicator's decision: same person, different persons (unique), or different persons
    # holding one NIK (the newer recording is re-recorded after the NIK check)
    decided = (Status.DUPLICATE, Status.PRINT_READY, Status.ENROLL_FAILURE)
    return _RANK[new] > _RANK[current] or (current is Status.ADJUDICATION and new in decided)
