"""Ed25519 signing keys of the dinas (interim certificates, card chip records): key files, rotation, JWKS.

A key directory holds, per key, `<kid>.key` (PKCS8 PEM, mode 0600) and `<kid>.pub`
(SubjectPublicKeyInfo PEM), plus an optional one-line `active` file naming the kid that signs.
The key id (kid) is the first 16 hex characters of SHA-256 over the 32-byte raw public key, so
anyone holding a public key can recompute it.

Rotation: `generate_key(dir)` makes the new key the active one; the old `.pub` (and `.key`) stay,
so `load_public_keys(dir)` still returns the old key and certificates signed with it keep
verifying until they expire. To publish a key before it signs, use `generate_key(dir,
activate=False)`, publish the JWKS, then `activate_key(dir, kid)`.

Private key material never appears in a repr, a log line or an exception message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

ACTIVE_FILE = "active"
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"


class KeyFileError(Exception):
    """A key directory or JWKS document that cannot be used (message names the file, not the key)."""


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public_bytes(public_key)).hexdigest()[:16]


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """Full SHA-256 of the raw public key, upper-case hex in groups of 4, for printing."""
    digest = hashlib.sha256(raw_public_bytes(public_key)).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


class SigningKey:
    """An Ed25519 private key with its kid. The repr shows the kid only."""

    __slots__ = ("_private", "kid")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.kid = key_id(private_key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # no pickling: it would copy the private key around
        raise TypeError("SigningKey cannot be pickled")


class KeySet(Mapping[str, Ed25519PublicKey]):
    """Public keys by kid: what a verifier trusts."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey] | None = None) -> None:
        self._keys = dict(keys or {})

    @classmethod
    def of(cls, *public_keys: Ed25519PublicKey) -> KeySet:
        return cls({key_id(k): k for k in public_keys})

    def __getitem__(self, kid: str) -> Ed25519PublicKey:
        return self._keys[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet({sorted(self._keys)})"


# --- key files --------------------------------------------------------------------------------


def generate_key(directory: str | Path, *, activate: bool = True) -> str:
    """Create a new key pair in `directory`; return its kid. The private key file is mode 0600."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    signing = SigningKey.generate()
    private_pem = signing._private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(directory / f"{signing.kid}{PRIVATE_SUFFIX}", private_pem, 0o600)
    _write_new(directory / f"{signing.kid}{PUBLIC_SUFFIX}", _public_pem(signing.public_key), 0o644)
    if activate:
        activate_key(directory, signing.kid)
    log.info("certificate signing key generated", extra={"kid": signing.kid, "active": activate})
    return signing.kid


def activate_key(directory: str | Path, kid: str) -> None:
    """Make `kid` the key `load_signing_key` returns."""
    directory = Path(directory)
    if not (directory / f"{kid}{PRIVATE_SUFFIX}").is_file():
        raise KeyFileError(f"no private key {kid}{PRIVATE_SUFFIX} in {directory}")
    tmp = directory / f".{ACTIVE_FILE}.tmp"
    tmp.write_text(kid + "\n")
    os.replace(tmp, directory / ACTIVE_FILE)


def load_signing_key(directory: str | Path) -> SigningKey:
    """The key named in `active`, or else the newest `.key` file."""
    directory = Path(directory)
    active = directory / ACTIVE_FILE
    if active.is_file():
        kid = active.read_text().strip()
        path = directory / f"{kid}{PRIVATE_SUFFIX}"
        if not path.is_file():
            raise KeyFileError(f"{active} names {kid!r} but {path.name} is missing")
    else:
        candidates = sorted(
            directory.glob(f"*{PRIVATE_SUFFIX}"), key=lambda p: (p.stat().st_mtime_ns, p.name)
        )
        if not candidates:
            raise KeyFileError(f"no private key (*{PRIVATE_SUFFIX}) in {directory}")
        path = candidates[-1]
    return _read_private(path)


def load_public_keys(directory: str | Path) -> KeySet:
    """Every `.pub` in `directory` (old keys included), checked against its file name."""
    directory = Path(directory)
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted(directory.glob(f"*{PUBLIC_SUFFIX}")):
        try:
            public = serialization.load_pem_public_key(path.read_bytes())
        except ValueError as exc:
            raise KeyFileError(f"{path} is not a PEM public key") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise KeyFileError(f"{path} is not an Ed25519 public key")
        kid = key_id(public)
        if path.stem != kid:
            raise KeyFileError(f"{path.name} holds key {kid}, not {path.stem}")
        keys[kid] = public
    return KeySet(keys)


def _read_private(path: Path) -> SigningKey:
    mode = path.stat().st_mode & 0o777
    # Readable by its group is how a Kubernetes secret reaches a non-root process (mode 0440, owned by
    # root, the pod's fsGroup); anyone else reading it, or the group writing it, is a leak.
    if os.name == "posix" and mode & 0o027:
        log.warning("private key file readable by others", extra={"path": str(path), "mode": oct(mode)})
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        # `from None`: the parser's message is not ours to pass on next to key material
        raise KeyFileError(f"{path} is not an unencrypted PKCS8 PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key")
    signing = SigningKey(private)
    if path.stem != signing.kid:
        raise KeyFileError(f"{path.name} holds key {signing.kid}, not {path.stem}")
    return signing


def _public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have removed bits we want (0644 for .pub)
        os.write(fd, data)
    finally:
        os.close(fd)


# --- JWKS (RFC 7517 / RFC 8037) ---------------------------------------------------------------


def jwks(public_keys: Mapping[str, Ed25519PublicKey] | KeySet) -> dict[str, list[dict[str, str]]]:
    """The JSON document published at `GET /v1/certificates/keys`."""
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "kid": kid,
                "use": "sig",
                "alg": "EdDSA",
                "x": _b64e(raw_public_bytes(public)),
            }
            for kid, public in sorted(public_keys.items())
        ]
    }


def keys_from_jwks(document: str | bytes | Mapping[str, Any]) -> KeySet:
    """Parse a JWKS (text or parsed JSON); every kid must match its key."""
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise KeyFileError("JWKS is not valid JSON") from exc
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise KeyFileError('JWKS must be an object with a "keys" list')
    keys: dict[str, Ed25519PublicKey] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue  # other key types are not ours to use; skip like any JWKS consumer
        try:
            raw = base64.urlsafe_b64decode(str(entry["x"]) + "==")
            public = Ed25519PublicKey.from_public_bytes(raw)
        except (KeyError, ValueError) as exc:
            raise KeyFileError(f'JWKS key #{i}: "x" is not a 32-byte base64url Ed25519 key') from exc
        kid = key_id(public)
        if entry.get("kid", kid) != kid:
            raise KeyFileError(f"JWKS key #{i}: kid {entry.get('kid')!r} does not match its key ({kid})")
        keys[kid] = public
    return KeySet(keys)


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def open_key_dir(directory: str | Path, *, create: bool) -> tuple[SigningKey, KeySet]:
    """The active signing key and every public key of a directory; with `create`, a first key is
    generated when the directory holds none (development and the all-in-one only)."""
    directory = Path(directory)
    if not (directory.is_dir() and any(directory.glob(f"*{PRIVATE_SUFFIX}"))):
        if not create:
            raise KeyFileError(f"no signing key in {directory}: run `ektp certificate-keys generate --dir {directory}`")
        kid = generate_key(directory)
        log.warning("generated signing key %s in %s (development)", kid, directory)
    return load_signing_key(directory), load_public_keys(directory)
