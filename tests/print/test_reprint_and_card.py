"""Reprint by a print operator (the old card void, a new job, one PRINTED card per job), and a card
rendered through the real pipeline whose chip record verifies with the dinas's published keys."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json

import httpx
import pytest
from PIL import Image, ImageChops

from services.print.card import render_card
from services.print.card.chip import verify_chip_record
from services.print.card.payload import card_data
from shared.auth.principal import Role, create_credential
from shared.db import create_engine, make_sessionmaker
from shared.keys import keys_from_jwks
from tests.conftest import in_thread
from tests.print.pool import (  # noqa: F401 (print_cluster is a fixture)
    add_stock, check_accounting, event_parts, client, print_cluster, publish_jobs, query,
)
from tests.support.api import auth, eventually, recording, wait_status

pytestmark = pytest.mark.slow


def make_credential(pg_url: str, role: Role, site: str) -> str:
    async def create() -> str:
        engine = create_engine(pg_url, application_name="test-credentials")
        try:
            async with make_sessionmaker(engine)() as session:
                _, token = await create_credential(session, name=f"test {role.value}", role=role, site=site)
                await session.commit()
                return token
        finally:
            await engine.dispose()

    return in_thread(asyncio.run, create())


async def test_reprint_voids_the_card_and_queues_a_new_job(print_cluster):
    c = print_cluster
    site = "53.71.04"
    operator = make_credential(c.pg_url, Role.PRINT_OPERATOR, site)
    kecamatan = make_credential(c.pg_url, Role.KECAMATAN_OPERATOR, site)
    async with client(c) as api:
        await add_stock(api, site, "4300000001", 5)
        c.start_agent(site, extra=("--sim-seconds", "0.05"))
        [enrollment_id] = await publish_jobs(c.amqp_url, site, 1)

        async def printed() -> dict | None:
            items = (await api.get("/v1/print/jobs", params={"enrollment_id": enrollment_id})).json()["items"]
            return items[0] if items and items[0]["status"] == "PRINTED" else None

        first = await eventually(printed, timeout=90, what="first card printed")
        url = f"/v1/print/jobs/{first['id']}/reprint"
        refused = await api.post(url, json={"reason": "photo smudged"}, headers=auth(kecamatan))
        assert refused.status_code == 403 and refused.json()["error"]
        response = await api.post(url, json={"reason": "photo smudged at quality check"}, headers=auth(operator))
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["void"]["status"] == "VOID" and body["new_job"]["status"] == "QUEUED"
        assert body["new_job"]["reprint_of"] == first["id"] and body["new_job"]["enrollment_id"] == enrollment_id
        again = await api.post(url, json={"reason": "twice"}, headers=auth(operator))
        assert again.status_code == 409

        async def reprinted() -> list | None:
            items = (await api.get("/v1/print/jobs", params={"enrollment_id": enrollment_id})).json()["items"]
            return items if {j["status"] for j in items} == {"VOID", "PRINTED"} else None

        items = await eventually(reprinted, timeout=90, what="the new job printed")
        serials = [j["serial"] for j in items]
        assert len(set(serials)) == 2
    assert await check_accounting(c.pg_url) == {"USED": 2, "AVAILABLE": 3}
    [old] = await query(c.pg_url, "SELECT status, reason FROM print.print_blank_cards WHERE serial = $1", first["serial"])
    assert old["status"] == "USED" and "void" in old["reason"] and "photo smudged" in old["reason"]
    audited = await query(c.pg_url, "SELECT role, detail FROM auth.audit_log WHERE action = 'print.card.reprint'")
    assert len(audited) == 1 and audited[0]["role"] == "print_operator"
    assert json.loads(audited[0]["detail"])["void_serial"] == first["serial"]


async def test_a_card_printed_at_the_dinas_for_a_redirected_kecamatan_is_handed_over_there(print_cluster):
    """Oebobo's queue redirected to the dinas (its print server down): the card is printed at the
    dinas, and Oebobo's operators still find it and hand it over (the job list was empty for them
    and the hand-over a 403, the job being the dinas's)."""
    c = print_cluster
    kecamatan, dinas = "53.71.04", "53.71"
    operator = make_credential(c.pg_url, Role.KECAMATAN_OPERATOR, kecamatan)
    async with client(c) as api:
        moved = await api.post(f"/v1/print/sites/{kecamatan}/redirect",
                               json={"to_site": dinas, "reason": "server mati"})
        assert moved.status_code == 200, moved.text
        await add_stock(api, dinas, "4500000001", 3)
        c.start_agent(dinas, extra=("--sim-seconds", "0.05"))
        [enrollment_id] = await publish_jobs(c.amqp_url, kecamatan, 1)

        async def printed() -> dict | None:
            items = (await api.get("/v1/print/jobs", params={"enrollment_id": enrollment_id})).json()["items"]
            return items[0] if items and items[0]["status"] == "PRINTED" else None

        job = await eventually(printed, timeout=90, what="card printed at the dinas")
        assert job["site"] == dinas

    async with httpx.AsyncClient(base_url=c.url("print"), headers=auth(operator), timeout=30) as oebobo:
        found = (await oebobo.get("/v1/print/jobs", params={"enrollment_id": enrollment_id})).json()
        assert [j["id"] for j in found["items"]] == [job["id"]]
        assert (await oebobo.get("/v1/print/jobs", params={"site": dinas})).status_code == 403
        handed = await oebobo.post(f"/v1/print/jobs/{job['id']}/issue")
        assert handed.status_code == 200 and handed.json()["status"] == "ISSUED", handed.text


async def test_a_card_printed_by_a_render_agent_carries_a_chip_record_the_published_keys_verify(cluster, token):
    site = "53.71.04"
    cluster.start_agent(site, driver="render")
    h = auth(token)
    async with httpx.AsyncClient(base_url=cluster.url("print"), headers=h, timeout=30) as printing, \
            httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=h, timeout=30) as enrollment, \
            httpx.AsyncClient(base_url=cluster.url("certificate"), timeout=30) as certificate:
        await add_stock(printing, site, "4400000001", 3)
        rec = recording(21, pickup_site=site)
        answer = await enrollment.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": rec["station_recording_id"]})
        assert answer.status_code == 201, answer.text
        try:
            await wait_status(enrollment, answer.json()["receipt_number"], "PRINTED", timeout=120)
        except AssertionError:
            print(cluster.logs())
            raise
        [job] = (await printing.get("/v1/print/jobs", params={"enrollment_id": answer.json()["id"]})).json()["items"]
        keys = keys_from_jwks((await certificate.get("/v1/certificates/keys")).json())

    out = cluster.workdir / "cards" / site
    chip = (out / f"{job['serial']}.chip").read_bytes()
    payload = verify_chip_record(chip, keys)  # signed with the dinas key the certificate service publishes
    assert payload["serial"] == job["serial"]
    assert payload["card"]["nik"] == rec["nik"] and payload["card"]["name"] == rec["name"].upper()
    index = {f["position"]: f["template"] for f in rec["biometrics"]["fingerprints"]}
    assert payload["fingerprints"] == {"right_index": index["RIGHT_INDEX"], "left_index": index["LEFT_INDEX"]}

    # The renderer's own layout, for the same data, is what the agent printed, pixel for pixel.
    record, biometrics = event_parts(rec)
    data = card_data({"record": record, **biometrics}, serial=job["serial"], issue_place=payload["card"]["issue_place"],
                     issue_date=dt.date.fromisoformat(payload["card"]["issue_date"]))
    card = render_card(data, chip_record=chip)
    for side, png in (("front", card.front_png), ("back", card.back_png)):
        printed = Image.open(out / f"{job['serial']}-{side}.png").convert("RGB")
        assert ImageChops.difference(printed, Image.open(io.BytesIO(png)).convert("RGB")).getbbox() is None, side
    fields = {f.key: f.value for f in card.fields}
    assert fields["nik"] == rec["nik"] and fields["name"] == rec["name"].upper()
    assert fields["serial"] == job["serial"]
    assert fields["district"] == payload["card"]["district"] and fields["village"] == payload["card"]["village"]
    assert base64.b64decode(biometrics["photo_jpeg"])  # the photo the chip's digest binds
