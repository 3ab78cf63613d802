"""The event envelope every message carries."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from pydantic import BaseModel, Field, ValidationError

from shared import crypto
from shared.logs import correlation_id

EXCHANGE = "ektp.events"
DEAD_LETTER_EXCHANGE = "ektp.dlx"
# Content-Encoding of a broker message whose body is the envelope's JSON sealed with the
# installation's data key (crypto.DataCipher.seal: AES-256-GCM, nonce ‖ ciphertext ‖ tag).
SEALED = "ektp-sealed-v1"
# Content-Encoding of a broker message that carries several sealed envelopes of one event type:
# the relay bundles consecutive events of one type, as RabbitMQ's cost is mostly per message (and
# per queue a message goes to), not per byte. Each envelope is framed as a 4-byte big-endian
# length and the sealed bytes; consumers handle and dead-letter each event on its own.
SEALED_BUNDLE = "ektp-sealed-bundle-v1"


class PoisonMessage(Exception):
    """A message that can never be handled (malformed, unknown type or version): dead-letter it now."""


class Event(BaseModel):
    event_id: uuid.UUID
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    version: int = Field(ge=1)
    occurred_at: dt.datetime
    correlation_id: str | None = None
    key: str | None = Field(default=None, description="Ordering key: events with one key are handled in order")
    data: dict[str, Any]

    def to_json(self) -> bytes:
        """The envelope as JSON. orjson, when `data` holds only what it knows (JSON values, UUIDs,
        dates; it writes UTC as `Z`, as pydantic does): several times faster on the 15-20 KB events
        that carry a recording's biometrics. Pydantic's serialiser for anything else."""
        try:
            return orjson.dumps({
                "event_id": self.event_id, "type": self.type, "version": self.version, "occurred_at": self.occurred_at,
                "correlation_id": self.correlation_id, "key": self.key, "data": self.data,
            }, option=orjson.OPT_UTC_Z)
        except TypeError:
            return self.model_dump_json().encode()

    def outgoing(self) -> Outgoing:
        """The event sealed as the outbox stores it (the data key must be configured)."""
        return Outgoing(self.event_id, self.type, self.key, crypto.cipher().encrypt(self.to_json()))

    @classmethod
    def from_json(cls, body: bytes | str) -> "Event":
        try:
            return cls.model_validate_json(body)
        except (ValidationError, ValueError, json.JSONDecodeError) as exc:
            raise PoisonMessage(f"malformed event: {exc}") from exc

    @classmethod
    def from_sealed(cls, body: bytes, encoding: str | None) -> "Event":
        """The event of a broker message: sealed with this installation's data key, else poison
        (unsealed, altered, or sealed with another key: nobody without the key can make one)."""
        if encoding != SEALED:
            raise PoisonMessage(f"message not sealed (content-encoding {encoding!r}, not {SEALED})")
        try:
            plain = crypto.cipher().open(body)
        except (InvalidTag, ValueError):
            raise PoisonMessage("sealed message does not open with this installation's data key") from None
        return cls.from_json(plain)


def pack_bundle(parts: list[bytes]) -> bytes:
    """The body of a bundle message: each sealed envelope with its length before it."""
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def unpack_bundle(body: bytes) -> list[bytes]:
    """The sealed envelopes of a bundle message, or PoisonMessage if its framing is broken."""
    parts, pos = [], 0
    while pos < len(body):
        end = pos + 4 + int.from_bytes(body[pos:pos + 4], "big")
        if pos + 4 > len(body) or end > len(body):
            raise PoisonMessage(f"bundle framing broken at byte {pos} of {len(body)}")
        parts.append(body[pos + 4:end])
        pos = end
    if not parts:
        raise PoisonMessage("empty bundle")
    return parts


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event as a transport sends it: the fields it routes and labels the message by, and the
    envelope's JSON sealed with the data key, in the stored form (`enc1:` + base64, as the outbox
    row holds it). The outbox relay makes these from stored rows without opening them: events stay
    encrypted on the broker and in the embedded queue, and the relay decrypts nothing."""

    event_id: uuid.UUID
    type: str
    key: str | None
    sealed: str


def new_event(type: str, data: dict[str, Any], *, key: str | None = None, version: int = 1) -> Event:
    return Event(
        event_id=uuid.uuid4(),
        type=type,
        version=version,
        occurred_at=dt.datetime.now(dt.UTC),
        correlation_id=correlation_id.get(),
        key=key,
        data=data,
    )
