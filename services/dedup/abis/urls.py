"""Short-lived signed URLs through which an ABIS fetches one record's templates.

No personal data goes to the ABIS in a request: only the reference id and
``<base>/v1/dedup/biometrics/<reference_id>?exp=<unix seconds>&sig=<hex HMAC-SHA256>``, where the
MAC covers ``reference_id`` and ``exp``. The dedup service (any replica with the same key) serves
the templates behind it until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from shared.settings import Settings

PATH = "/v1/dedup/biometrics/{reference_id}"
_FALLBACK_KEY = hashlib.sha256(str(time.time_ns()).encode()).digest()  # one process only; set a secret


def url_key(settings: Settings) -> bytes:
    """The HMAC key: EKTP_ABIS_URL_SECRET, or derived from the bootstrap token (same on every replica)."""
    if settings.abis_url_secret:
        return settings.abis_url_secret.encode()
    if settings.bootstrap_token:
        return hmac.new(settings.bootstrap_token.encode(), b"ektp-abis-biometrics-url", hashlib.sha256).digest()
    return _FALLBACK_KEY


def signature(key: bytes, reference_id: str, exp: int) -> str:
    return hmac.new(key, f"{reference_id}\n{exp}".encode(), hashlib.sha256).hexdigest()


def sign(settings: Settings, reference_id: str, *, now: float | None = None) -> str:
    exp = int((now if now is not None else time.time()) + settings.abis_url_ttl_seconds)
    base = (settings.abis_biometrics_base_url or settings.public_base_url).rstrip("/")
    query = urlencode({"exp": exp, "sig": signature(url_key(settings), reference_id, exp)})
    return f"{base}{PATH.format(reference_id=reference_id)}?{query}"


def verify(settings: Settings, reference_id: str, exp: int, sig: str, *, now: float | None = None) -> str | None:
    """None when valid, else why not ("expired" or "bad_signature")."""
    expected = signature(url_key(settings), reference_id, exp).encode()
    if not hmac.compare_digest(expected, sig.encode("utf-8", "surrogateescape")):
        return "bad_signature"
    if exp < (now if now is not None else time.time()):
        return "expired"
    return None


def templates_only(biometrics: dict) -> dict:
    """What the ABIS may see: the templates and the exceptions; never the photo or signature."""
    keep = ("fingerprints", "irises", "face", "exceptions")
    out = {k: biometrics.get(k) for k in keep if biometrics.get(k) is not None}
    if isinstance(out.get("face"), dict):
        out["face"] = {k: v for k, v in out["face"].items() if k in ("format", "version", "template", "quality")}
    return out
