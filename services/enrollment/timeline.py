"""The steps of a resident's timeline and how each event moves the status.

One table: event type → (timeline step, new status or None). Texts in Indonesian and English
are what the public status page shows.
"""

from __future__ import annotations

from services.enrollment.models import Status

# step code → (Indonesian, English)
STEP_TEXT: dict[str, tuple[str, str]] = {
    "RECORDED": ("Perekaman selesai", "Recorded"),
    "SENT_TO_DEDUP": ("Dikirim untuk penunggalan (pusat)", "Sent for de-duplication (ministry)"),
    "DEDUP_UNIQUE": ("Data tunggal, siap cetak", "Unique record, ready to print"),
    "DEDUP_DUPLICATE": ("Data ganda: NIK sudah terdaftar", "Duplicate record: already holds a NIK"),
    "DEDUP_ENROLL_FAILURE": ("Biometrik tidak terbaca, harap rekam ulang", "Biometrics unusable; please re-record"),
    "ADJUDICATION_OPENED": ("Menunggu verifikasi petugas pusat", "Waiting for a ministry adjudicator"),
    "PRINT_QUEUED": ("Dalam antrean cetak", "Queued for printing"),
    "CARD_PRINTED": ("KTP-el sudah dicetak, siap diambil", "Card printed, ready for pickup"),
    "CARD_SPOILED": ("Kartu rusak saat dicetak, dicetak ulang", "Card spoiled in printing; reprinting"),
    "CARD_ISSUED": ("KTP-el sudah diserahkan", "Card handed over"),
    "CERTIFICATE_ISSUED": ("Surat Keterangan pengganti KTP-el diterbitkan", "Interim certificate issued"),
    "CERTIFICATE_REVOKED": ("Surat Keterangan dicabut", "Interim certificate revoked"),
    "REPLACED": ("Diganti dengan rekaman baru (kartu pengganti)", "Replaced by a new recording (replacement card)"),
    # No card of this record will be handed over: not printed (cancelled while it waited), or printed
    # and void (a correction after printing): the new recording's card replaces it.
    "PRINT_CANCELLED": ("Kartu dari rekaman ini tidak akan diserahkan: diganti kartu dari rekaman baru",
                        "No card of this recording will be handed over: the new recording's card replaces it"),
    # Not stored: added to the public view while the recording waits.
    "WAITING_FOR_DEDUP": ("Menunggu penunggalan", "Waiting for de-duplication"),
}

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


def moves_forward(current: Status, new: Status) -> bool:
    if current in (Status.DUPLICATE, Status.ISSUED, Status.REPLACED):
        return False
    return _RANK[new] > _RANK[current] or (current is Status.ADJUDICATION and new in (Status.DUPLICATE, Status.PRINT_READY))
