"""Biometric templates, photos and the events carrying them are encrypted at rest: read the
database as an attacker with a copy of it would, and find none of them."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from shared.db import asyncpg_dsn
from tests.support.api import auth, eventually, recording, wait_status


@pytest.mark.slow
async def test_biometrics_and_photos_are_not_readable_in_the_database(cluster, token, pg_url):
    rec = recording(31)
    async with httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=auth(token), timeout=30) as client:
        answer = await client.post("/v1/enrollments", json=rec)
        assert answer.status_code == 201, answer.text
        await wait_status(client, answer.json()["receipt_number"], "SENT_FOR_PRINTING", timeout=60)

    secrets = [rec["biometrics"]["photo_jpeg"][:200], rec["biometrics"]["fingerprints"][0]["template"][:200],
               rec["biometrics"]["irises"][0]["code"][:200]]
    conn = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        async def stored() -> dict[str, list[str]] | None:
            found = {
                "dedup.dedup_requests.biometrics": [r[0] for r in await conn.fetch("SELECT biometrics FROM dedup.dedup_requests")],
                "print.print_records.card": [r[0] for r in await conn.fetch("SELECT card FROM print.print_records")],
                "certificate.certificate_residents.photo_jpeg":
                    [r[0] for r in await conn.fetch("SELECT photo_jpeg FROM certificate.certificate_residents")],
                "enrollment.enrollment_outbox.body": [r[0] for r in await conn.fetch("SELECT body FROM enrollment.enrollment_outbox")],
            }
            return found if all(found.values()) else None

        found = await eventually(stored, what="rows in every table that holds biometrics or photos")
    finally:
        await conn.close()
    for column, values in found.items():
        for value in values:
            assert value.startswith("enc1:"), f"{column} is stored in clear"
            assert not any(s in value for s in secrets), f"{column} holds biometrics or a photo in clear"
