"""Hostile input is refused with a clear 4xx in the one error shape, and changes nothing."""

from __future__ import annotations

import gzip
import io
import json

import httpx
import pytest

from tests.support.api import recording


@pytest.fixture
async def client(app_and_tokens):
    app, tokens, _ = app_and_tokens
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {tokens['admin']}"}) as c:
        yield c


async def _nothing_recorded(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/enrollments")).json()["total"] == 0


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) >= {"error", "detail", "fields"}, body
    return body


async def test_an_oversized_body_is_refused_before_parsing(client):
    big = json.dumps({"pad": "x" * (3 * 1024 * 1024)})
    response = await client.post("/v1/enrollments", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and _error(response)["error"] == "too_large"

    async def chunks():
        for _ in range(40):
            yield b"x" * 100_000

    response = await client.post("/v1/enrollments", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    await _nothing_recorded(client)


async def test_an_oversized_photo_is_refused_naming_the_field(client):
    rec = recording(41)
    rec["biometrics"]["photo_jpeg"] = "A" * (300 * 1024)
    response = await client.post("/v1/enrollments", json=rec)
    assert response.status_code == 422
    assert any(f["field"] == "biometrics.photo_jpeg" for f in _error(response)["fields"])
    await _nothing_recorded(client)


async def test_deeply_nested_json_is_refused(client):
    deep = "[" * 100_000 + "]" * 100_000
    response = await client.post("/v1/enrollments", content=deep, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    _error(response)
    await _nothing_recorded(client)


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/xml"},
                                     {"Content-Type": "multipart/form-data; boundary=x"},
                                     {"Content-Type": "application/x-www-form-urlencoded"},
                                     {"Content-Type": "application/json", "Content-Encoding": "gzip"}])
async def test_a_body_that_is_not_plain_json_is_refused_as_such(client, headers):
    body = json.dumps(recording(42)).encode()
    body = gzip.compress(body) if "Content-Encoding" in headers else body
    response = await client.post("/v1/enrollments", content=body, headers=headers)
    assert response.status_code == 415 and _error(response)["error"] == "unsupported_media_type", response.text
    await _nothing_recorded(client)



async def test_invalid_utf8_is_refused_naming_where(client):
    body = json.dumps(recording(43)).encode().replace(b'"name": "', b'"name": "\xff\xfe', 1)
    response = await client.post("/v1/enrollments", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    (problem,) = _error(response)["fields"]
    # orjson's own words were "str is not valid UTF-8: surrogates not allowed" at character 0
    at = body.index(b"\xff")
    assert problem["field"] == "body" and f"at character {at}: not UTF-8 text (byte 0xff)" in problem["message_en"]
    await _nothing_recorded(client)


@pytest.mark.parametrize("valid", [True, False])
async def test_a_lone_surrogate_is_refused_as_malformed_json(client, valid):
    # Legal JSON syntax, but not Unicode text: refused at the door, in a valid recording or not.
    rec = recording(44)
    if not valid:
        rec["nik"] = "H"
    body = json.dumps(rec).replace('"street": "', '"street": "\\udb7d', 1)
    assert "\\udb7d" in body
    response = await client.post("/v1/enrollments", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "JSON decode error" in _error(response)["fields"][0]["message_en"]
    # Not the offset as if it were a field: the offset is in the message.
    assert _error(response)["fields"][0]["field"] == "body"
    message = _error(response)["fields"][0]["message_en"]
    assert f"at character {body.index(chr(92) + 'udb7d')}: no low surrogate" in message, message
    await _nothing_recorded(client)


async def test_a_huge_batch_is_refused_whole(client):
    item = recording(44)
    lines = "\n".join(json.dumps({**item, "station_recording_id": f"s-{i}"}) for i in range(1001))
    response = await client.post("/v1/enrollments/batch", content=gzip.compress(lines.encode()),
                                 headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
    assert response.status_code in (413, 422)
    _error(response)
    await _nothing_recorded(client)


async def test_a_malformed_event_goes_to_the_dead_letters_not_into_a_crash_loop(app_and_tokens):
    from sqlalchemy import insert

    from shared.messaging.embedded import messages_table

    app, _, _ = app_and_tokens
    platform = app.state.platform
    async with platform.sessions() as session, session.begin():
        await session.execute(insert(messages_table).values(
            queue="dedup.intake", event_id="bad-1", key=None, body="{not json", attempts=0,
            available_at=0.0, enqueued_at=0.0))

    async def dead() -> list | None:
        async with platform.sessions() as session:
            from sqlalchemy import select

            from shared.messaging.embedded import dead_letters_table
            rows = (await session.execute(select(dead_letters_table.c.event_id, dead_letters_table.c.attempts)
                                          .where(dead_letters_table.c.queue == "dedup.intake"))).all()
        return rows or None

    from tests.support.api import eventually
    rows = await eventually(dead, what="the malformed event dead-lettered")
    assert [r.event_id for r in rows] == ["bad-1"] and rows[0].attempts == 1


@pytest.mark.parametrize("where", ["path", "query", "body"])
async def test_a_nul_character_is_refused_wherever_it_comes(client, where):
    if where == "path":
        response = await client.get("/v1/certificates/470%2F0001%00")
    elif where == "query":
        response = await client.get("/v1/enrollments", params={"receipt": "AB\x00CD"})
    else:
        rec = recording(45)
        rec["name"] = "MARIA\u0000 FERNANDES"
        response = await client.post("/v1/enrollments", json=rec)
    assert response.status_code == 422 and _error(response)["error"] == "invalid_input"
    await _nothing_recorded(client)


async def test_an_uploaded_image_is_not_refused_for_its_nul_bytes(client):
    """The public page's upload of a certificate's photo, scan or PDF: binary, not JSON (every
    upload was refused with a JSON 422 here)."""
    from PIL import Image

    image = io.BytesIO()
    Image.new("L", (200, 200), 255).save(image, "PNG")
    assert b"\x00" in image.getvalue()
    response = await client.post("/console/verify", files={"file": ("scan.png", image.getvalue(), "image/png")})
    assert response.status_code == 200 and 'id="upload-error"' in response.text  # read: no QR code in it


ZERO = "00000000-0000-4000-8000-000000000000"
# Every route where an operator writes why, and the field: a reason of blanks only is no reason.
REASONS = [
    ("/v1/dedup/engine/pause", {}, "reason"),
    (f"/v1/dedup/cases/{ZERO}/decision", {"decision": "same_person"}, "note"),
    ("/v1/certificates/470%2F0001%2FDukcapil%2F2026/revoke", {}, "reason"),
    (f"/v1/print/jobs/{ZERO}/reprint", {}, "reason"),
    ("/v1/print/sites/53.71.04/redirect", {"to_site": "53.71"}, "reason"),
]


@pytest.mark.parametrize(("path", "body", "field"), REASONS, ids=["pause", "decision", "revoke", "reprint", "redirect"])
@pytest.mark.parametrize("blank", ["   ", " \t \n ", ""])
async def test_a_reason_of_blanks_only_is_refused_naming_the_field(client, path, body, field, blank):
    response = await client.post(path, json={**body, field: blank})
    assert response.status_code == 422, response.text  # a blank pause reason was taken and shown to residents
    assert [(f["field"], f["code"]) for f in _error(response)["fields"]] == [(field, "field.blank")]


async def test_a_reason_is_kept_without_its_surrounding_blanks(client):
    paused = await client.post("/v1/dedup/engine/pause", json={"reason": "  licence expired \n"})
    assert paused.status_code == 200 and paused.json()["reason"] == "licence expired"
    assert (await client.post("/v1/dedup/engine/resume")).status_code == 200
