"""The record written to the card's chip, signed by the issuer (Ed25519).

A record is canonical JSON (UTF-8, sorted keys, no spaces)::

    {"alg": "Ed25519", "kid": <key id>, "payload": {...}, "sig": <base64url>, "v": 1}

`sig` signs the canonical JSON of the same object without `sig`. The payload holds the card's
data fields (uppercased as printed, dates ISO 8601), the serial, the two index-finger templates
(base64 as given, or null for a recorded exception) and SHA-256 digests of the printed photo and
signature (the images themselves are on the card face; the digests bind them to the record).
A verifier rejects anything that is not byte-for-byte canonical, so a record has one encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .data import VALID_UNTIL, CardData

RECORD_VERSION = 1
ALG = "Ed25519"
_TEXT_FIELDS = (
    "province", "regency", "nik", "name", "birth_place", "sex", "blood_type", "street", "rt",
    "rw", "village", "district", "religion", "marital_status", "occupation", "citizenship",
    "issue_place",
)  # fmt: skip


class ChipRecordError(ValueError):
    """The record is malformed, signed by an unknown key, or was altered."""


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chip_payload(data: CardData, right_index: str | None, left_index: str | None) -> dict[str, Any]:
    card = {k: " ".join(str(getattr(data, k)).split()).upper() for k in _TEXT_FIELDS}
    card |= {
        "birth_date": data.birth_date.isoformat(),
        "issue_date": data.issue_date.isoformat(),
        "valid_until": VALID_UNTIL,
    }
    return {
        "serial": data.serial,
        "card": card,
        "fingerprints": {
            "right_index": _template("right_index", right_index),
            "left_index": _template("left_index", left_index),
        },
        "photo_sha256": hashlib.sha256(data.photo_jpeg).hexdigest(),
        "signature_sha256": (
            hashlib.sha256(data.signature_image).hexdigest() if data.signature_image else None
        ),
    }


def build_chip_record(
    data: CardData,
    right_index: str | None,
    left_index: str | None,
    key: Ed25519PrivateKey,
    key_id: str,
) -> bytes:
    unsigned = {"v": RECORD_VERSION, "alg": ALG, "kid": key_id, "payload": chip_payload(data, right_index, left_index)}
    sig = key.sign(canonical_json(unsigned))
    return canonical_json(unsigned | {"sig": _b64url(sig)})


def verify_chip_record(blob: bytes, public_keys: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The payload of a record signed by one of `public_keys` (by key id); ChipRecordError if not."""
    try:
        record = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ChipRecordError(f"not a chip record: {e}") from None
    if not isinstance(record, dict) or set(record) != {"v", "alg", "kid", "payload", "sig"}:
        raise ChipRecordError("not a chip record: unexpected structure")
    if record["v"] != RECORD_VERSION or record["alg"] != ALG:
        raise ChipRecordError(f"unsupported record version/algorithm: {record['v']!r}/{record['alg']!r}")
    if canonical_json(record) != blob:
        raise ChipRecordError("record is not canonical (altered after signing)")
    key = public_keys.get(record["kid"]) if isinstance(record["kid"], str) else None
    if key is None:
        raise ChipRecordError(f"unknown issuer key {record['kid']!r}")
    sig = record.pop("sig")
    try:
        key.verify(_unb64url(sig), canonical_json(record))
    except (InvalidSignature, ValueError, TypeError):
        raise ChipRecordError("bad signature: the record was altered or signed by another key") from None
    payload: dict[str, Any] = record["payload"]
    return payload


def _template(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name}: not a base64 template") from None
    return value


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64url(s: Any) -> bytes:
    if not isinstance(s, str):
        raise ValueError("signature is not a string")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
