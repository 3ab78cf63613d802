"""Receipt numbers: short, printable, hard to guess.

Ten symbols of Crockford's base32 (no I, L, O, U), about 50 random bits, printed as
``XXXX-XXXX-XX``. Lookups normalise case and the look-alike letters a resident may type.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOKALIKE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def new_receipt() -> str:
    bits = secrets.randbits(50)  # ten symbols of five bits
    raw = "".join(ALPHABET[(bits >> shift) & 31] for shift in range(0, 50, 5))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise(receipt: str) -> str | None:
    raw = receipt.upper().replace("-", "").replace(" ", "").translate(_LOOKALIKE)
    if len(raw) != 10 or any(ch not in ALPHABET for ch in raw):
        return None
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
