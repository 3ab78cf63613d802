"""The envelope's JSON: the fast writer gives what pydantic's serialiser gives, and falls back to it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest

from shared import crypto
from shared.messaging.envelope import Event, new_event


@pytest.mark.parametrize("data", [
    {"n": 1, "s": "ä\u00a0x", "list": [1.5, None, True], "nested": {"a": {"b": []}}},
    {"at": dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=dt.UTC), "at0": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
     "day": dt.date(2024, 2, 29), "id": uuid.UUID(int=7)},
    {"amount": Decimal("12.50")},  # orjson does not know Decimal: pydantic writes it
])
def test_to_json_is_pydantics_json(data):
    event = new_event("test.event", data, key="k")
    assert json.loads(event.to_json()) == json.loads(event.model_dump_json())
    assert Event.from_json(event.to_json()) == Event.from_json(event.model_dump_json())


def test_outgoing_carries_the_routing_fields_and_the_sealed_json(data_key):
    event = new_event("enrollment.submitted", {"x": 1, "name": "SITI"}, key="abc")
    out = event.outgoing()
    assert (out.event_id, out.type, out.key) == (event.event_id, "enrollment.submitted", "abc")
    assert out.sealed.startswith("enc1:") and "SITI" not in out.sealed
    assert Event.from_json(crypto.cipher().decrypt(out.sealed)) == event
