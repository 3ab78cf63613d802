"""Encryption at rest of biometric templates, photos and the events that carry them.

AES-256-GCM (cryptography) with one data key per installation, from `EKTP_DATA_KEY` (base64 of
32 bytes, from a secret). Outside production a key is made once in `<data-dir>/data.key` (mode
0600) when none is set. Columns typed `EncryptedJSON` / `EncryptedText` are encrypted when
written and decrypted when read; what is stored is `enc1:` + base64(nonce ‖ ciphertext). Rows
written before encryption was turned on (plain text) are still read.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path
from typing import Any

import orjson
import pybase64
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

PREFIX = "enc1:"
_cipher: "DataCipher | None" = None


class DataCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "DataCipher(<key hidden>)"

    def seal(self, plain: bytes) -> bytes:
        """nonce (12 bytes) ‖ ciphertext ‖ tag: what a message on the broker carries."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plain, None)

    def open(self, sealed: bytes) -> bytes:
        """The plain bytes of `seal`'s output; cryptography's InvalidTag if altered or sealed with another key."""
        return self._aead.decrypt(sealed[:12], sealed[12:], None)

    def encrypt(self, plain: bytes) -> str:
        """The stored form: `enc1:` + base64 of `seal`."""
        return stored_form(self.seal(plain))

    def decrypt(self, stored: str) -> bytes:
        return self.open(sealed_of(stored))


def sealed_of(stored: str) -> bytes:
    """The sealed bytes of a stored `enc1:` value, without decrypting it."""
    return pybase64.b64decode(stored[len(PREFIX):], validate=True)


def stored_form(sealed: bytes) -> str:
    """The stored `enc1:` value of sealed bytes, without decrypting them."""
    return PREFIX + pybase64.b64encode(sealed).decode("ascii")


def parse_key(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("EKTP_DATA_KEY must be base64 of 32 random bytes") from None


def configure(key_b64: str | None, *, key_file: Path | None = None) -> None:
    """Sets the process's data key: from the setting, else (development) from or into `key_file`."""
    global _cipher
    if key_b64:
        _cipher = DataCipher(parse_key(key_b64))
        return
    if key_file is None:
        raise RuntimeError("no data key: set EKTP_DATA_KEY (base64 of 32 random bytes)")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: processes starting together agree on one key.
        tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        try:
            os.link(tmp, key_file)
            log.warning("generated a data key in %s (development; set EKTP_DATA_KEY in production)", key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    _cipher = DataCipher(parse_key(key_file.read_text().strip()))


def cipher() -> DataCipher:
    if _cipher is None:
        raise RuntimeError("the data key is not configured (shared.crypto.configure)")
    return _cipher


class EncryptedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else cipher().encrypt(value.encode())

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value
        return cipher().decrypt(value).decode()


class EncryptedJSON(TypeDecorator[Any]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else cipher().encrypt(orjson.dumps(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return value  # a JSON column not yet migrated
        return orjson.loads(cipher().decrypt(value) if value.startswith(PREFIX) else value)
