"""Why an interim certificate ended, in the fixed words the public is told, never an operator's
note. One place for the words: the certificate service answers a verifier with them and carries
them in its certificate.revoked event, and a resident's public timeline words a revocation step
from the code the step keeps when the page is read, so a change here reaches steps stored before it."""

from __future__ import annotations

# revocation code (services.certificate.models.RevokeCode) → "Indonesian / English"
PUBLIC_REASON: dict[str, str] = {
    "card_issued": "KTP-el sudah diserahkan kepada pemiliknya / the KTP-el card has been handed over",
    "duplicate": "data ganda / duplicate record",
    "enroll_failure": "perekaman harus diulang / must be re-recorded",
    "operator": "dicabut oleh Dinas / revoked by the dinas",
    "superseded": "diganti surat keterangan yang lebih baru / replaced by a newer certificate",
}
