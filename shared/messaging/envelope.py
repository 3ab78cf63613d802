"""The event envelope every message carries."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from shared.logs import correlation_id

EXCHANGE = "ektp.events"
DEAD_LETTER_EXCHANGE = "ektp.dlx"


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
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> "Event":
        try:
            return cls.model_validate_json(body)
        except (ValidationError, ValueError, json.JSONDecodeError) as exc:
            raise PoisonMessage(f"malformed event: {exc}") from exc


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
