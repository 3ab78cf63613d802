"""The signed token in an interim certificate's QR code (format: docs/certificate-token.md).

A JWS compact serialisation (RFC 7515) signed with Ed25519 (`alg: EdDSA`, RFC 8037):

    base64url({"alg":"EdDSA","kid":"<16 hex>"}) . base64url(claims) . base64url(signature)

Claims are short: `n` certificate number, `k` masked NIK, `nm` name, `bd` birth date
(YYYY-MM-DD), `iss` issuing dinas code, `iat` / `exp` (seconds since the epoch). Any standard
JWS/JWT library can verify a token with the published JWKS; this module does it without one so
that every failure has a precise reason.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.keys import KeySet, SigningKey

WITA = dt.timezone(dt.timedelta(hours=8), "WITA")  # Kupang's time zone; no daylight saving
MAX_TOKEN_LENGTH = 4096
DEFAULT_LEEWAY = dt.timedelta(minutes=5)  # clock skew tolerated for `iat`

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_HEADER_KEYS = {"alg", "kid", "typ"}


class Reason(StrEnum):
    MALFORMED = "malformed"  # not a token of this format, or a claim missing / of the wrong type
    UNKNOWN_KEY = "unknown_key"  # signed by a key the verifier does not hold
    BAD_SIGNATURE = "bad_signature"  # the signature does not match: a field was changed
    EXPIRED = "expired"  # now >= exp
    NOT_YET_VALID = "not_yet_valid"  # iat is in the future (beyond the leeway)
    UNREADABLE = "unreadable"  # offline only: no QR code found in the image or PDF


class TokenError(Exception):
    """A token that must not be trusted. `reason` is machine-readable, `message` for people."""

    def __init__(self, reason: Reason | str, message: str, *, claims: CertificateClaims | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = Reason(reason)
        self.message = message
        # Set when the signature held and only the dates failed (expired, not yet valid): what the
        # dinas signed, so a verifier can be told whose certificate it is and when it ended.
        self.claims = claims

    @property
    def reason_code(self) -> str:
        return self.reason.value


@dataclass(frozen=True, slots=True)
class CertificateClaims:
    number: str  # n   "470/0001/Dukcapil/2026"
    masked_nik: str  # k   "5371********0001"
    name: str  # nm
    birth_date: dt.date  # bd
    issuer: str  # iss issuing dinas code, "53.71"
    issued_at: dt.datetime  # iat
    expires_at: dt.datetime  # exp

    @classmethod
    def for_certificate(
        cls,
        *,
        number: str,
        nik: str,
        name: str,
        birth_date: dt.date,
        issuer: str,
        issued_at: dt.datetime,
        valid_until: dt.date,
        tz: dt.tzinfo = WITA,
    ) -> CertificateClaims:
        """Claims for a certificate valid through the whole of `valid_until` (local time)."""
        end = dt.datetime.combine(valid_until + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return cls(number, mask_nik(nik), name, birth_date, issuer, issued_at, end)

    @property
    def valid_until(self) -> dt.date:
        """The "Berlaku sampai dengan" date printed on the paper: `exp` is the end of that day in WITA."""
        return (self.expires_at.astimezone(WITA) - dt.timedelta(seconds=1)).date()

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.number,
            "k": self.masked_nik,
            "nm": self.name,
            "bd": self.birth_date.isoformat(),
            "iss": self.issuer,
            "iat": _epoch(self.issued_at),
            "exp": _epoch(self.expires_at),
        }

    @classmethod
    def from_json(cls, data: Any) -> CertificateClaims:
        if not isinstance(data, dict):
            raise TokenError(Reason.MALFORMED, "claims are not a JSON object")
        try:
            return cls(
                number=_str(data, "n"),
                masked_nik=_str(data, "k"),
                name=_str(data, "nm"),
                birth_date=dt.date.fromisoformat(_str(data, "bd")),
                issuer=_str(data, "iss"),
                issued_at=_from_epoch(data, "iat"),
                expires_at=_from_epoch(data, "exp"),
            )
        except ValueError as exc:
            raise TokenError(Reason.MALFORMED, f"bad claim: {exc}") from None


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    claims: CertificateClaims
    kid: str
    token: str


def mask_nik(nik: str) -> str:
    """`5371044506900001` -> `5371********0001`: region and serial stay, the birth date goes."""
    if len(nik) != 16 or not nik.isdigit():
        raise ValueError("NIK must be 16 digits")
    return nik[:4] + "*" * 8 + nik[12:]


def sign_token(claims: CertificateClaims, key: SigningKey) -> str:
    header = _b64e(_json({"alg": "EdDSA", "kid": key.kid}))
    payload = _b64e(_json(claims.to_json()))
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64e(key.sign(signing_input.encode('ascii')))}"


def verify_token(
    token: str,
    public_keys: Mapping[str, Ed25519PublicKey] | KeySet,
    *,
    now: dt.datetime | None = None,
    leeway: dt.timedelta = DEFAULT_LEEWAY,
) -> VerifiedToken:
    """Check format, key, signature, then time. Raise `TokenError` with the first failure."""
    verified = verify_signature(token, public_keys)
    claims = verified.claims
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if now >= claims.expires_at:
        raise TokenError(Reason.EXPIRED, f"expired at {claims.expires_at.isoformat()}", claims=claims)
    if now + leeway < claims.issued_at:
        raise TokenError(Reason.NOT_YET_VALID, f"issued in the future ({claims.issued_at.isoformat()})", claims=claims)
    return verified


def verify_signature(token: str, public_keys: Mapping[str, Ed25519PublicKey] | KeySet) -> VerifiedToken:
    """Check format, key and signature only: the claims can be trusted, the dates are not judged
    (the online check tells expired from revoked itself)."""
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError(Reason.MALFORMED, f"token longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError(Reason.MALFORMED, "expected three dot-separated parts (JWS compact)")
    header_b64, payload_b64, signature_b64 = parts
    header = _decode_json(header_b64, "header")
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise TokenError(Reason.MALFORMED, 'header must be a JSON object with "alg": "EdDSA"')
    if set(header) - _HEADER_KEYS:  # e.g. "crit", "jku": refuse what we do not understand
        raise TokenError(Reason.MALFORMED, f"unsupported header fields {sorted(set(header) - _HEADER_KEYS)}")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise TokenError(Reason.MALFORMED, 'header has no "kid"')
    public_key = public_keys.get(kid)
    if public_key is None:
        raise TokenError(Reason.UNKNOWN_KEY, f"key {kid!r} is not among the trusted keys")
    signature = _b64d(signature_b64, "signature")
    try:
        public_key.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature:
        raise TokenError(Reason.BAD_SIGNATURE, "signature does not match the content") from None
    claims = CertificateClaims.from_json(_decode_json(payload_b64, "claims"))
    return VerifiedToken(claims=claims, kid=kid, token=token)


def looks_like_token(text: str) -> bool:
    parts = text.strip().split(".")
    return len(parts) == 3 and all(p and _B64URL.fullmatch(p) for p in parts)


# --- encoding helpers ---------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str, what: str) -> bytes:
    """Strict base64url: alphabet only, no padding, canonical (no spare bits set)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise TokenError(Reason.MALFORMED, f"{what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(Reason.MALFORMED, f"{what} is not base64url") from None
    if _b64e(data) != text:
        raise TokenError(Reason.MALFORMED, f"{what} is not canonical base64url")
    return data


def _decode_json(text: str, what: str) -> Any:
    try:
        return json.loads(_b64d(text, what))
    except (UnicodeDecodeError, ValueError):
        raise TokenError(Reason.MALFORMED, f"{what} is not JSON") from None


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name!r} must be a non-empty string")
    return value


def _from_epoch(data: dict[str, Any], name: str) -> dt.datetime:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name!r} must be an integer (seconds since the epoch)")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError):
        raise ValueError(f"{name!r} is out of range") from None


def _epoch(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("certificate times must be timezone-aware")
    return int(moment.timestamp())
