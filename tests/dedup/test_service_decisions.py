"""Decisions on synthetic ground truth through the running services (PostgreSQL + RabbitMQ):
unique, a duplicate under another NIK, a re-recording of the same NIK (a replacement card), a poor
capture, the grey zone; and adjudication of grey-zone cases through the whole pipeline."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from shared.db import asyncpg_dsn
from tests.dedup.support import (
    PRINT_READY_OR_LATER, Recorder, dedup_position, grey_zone_face, post, publish_submitted, resident_of,
    wait_status_in,
)
from tests.support.api import auth

pytestmark = pytest.mark.slow


async def query_matched_nik(pg_url: str, enrollment_id: str) -> str | None:
    conn = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        return await conn.fetchval("SELECT matched_nik FROM dedup.dedup_requests WHERE enrollment_id = $1::uuid",
                                   enrollment_id)
    finally:
        await conn.close()


async def test_decisions_follow_ground_truth_and_adjudication_decides(cluster, token, pg_url, amqp_url):
    h = auth(token)
    enrollment = httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=h, timeout=30)
    dedup = httpx.AsyncClient(base_url=cluster.url("dedup"), headers=h, timeout=30)
    r = Recorder(seed=401)
    try:
        # A unique person, then the same person under another NIK, then poor capture, then two strangers
        # who look alike two enrolled persons (grey zone).
        rec_a, person_a = r.record()
        a = await post(enrollment, rec_a)
        await wait_status_in(enrollment, a["receipt_number"], PRINT_READY_OR_LATER, timeout=90)
        rec_b, person_b = r.record()
        b = await post(enrollment, rec_b)
        await wait_status_in(enrollment, b["receipt_number"], PRINT_READY_OR_LATER, timeout=90)

        dup_rec, _ = r.record(person=person_a)
        assert dup_rec["nik"] != rec_a["nik"]
        dup = await post(enrollment, dup_rec)
        poor_rec, _ = r.record(poor=True)  # the counter refuses it now; dedup must too
        assert (await enrollment.post("/v1/enrollments", json=poor_rec)).status_code == 422
        poor_id = await publish_submitted(amqp_url, poor_rec)
        grey1_rec = grey_zone_face(r.record()[0], rec_a)
        grey1 = await post(enrollment, grey1_rec)
        grey2_rec = grey_zone_face(r.record()[0], rec_b)
        grey2 = await post(enrollment, grey2_rec)

        await wait_status_in(enrollment, dup["receipt_number"], "DUPLICATE", timeout=90)
        seen = await dedup_position(dedup, dup["id"])
        assert seen["outcome"] == "duplicate" and "score_above_auto_threshold" in seen["reasons"]
        seen = await dedup_position(dedup, poor_id)
        assert seen["outcome"] == "enroll_failure" and "no_usable_iris" in seen["reasons"]
        for g in (grey1, grey2):
            await wait_status_in(enrollment, g["receipt_number"], "ADJUDICATION", timeout=90)

        # The same NIK recorded again, same person: a replacement card, not a duplicate.
        again_rec, _ = r.record(person=person_a, resident=resident_of(rec_a))
        assert again_rec["nik"] == rec_a["nik"]
        again = await post(enrollment, again_rec)
        await wait_status_in(enrollment, again["receipt_number"], PRINT_READY_OR_LATER, timeout=90)
        seen = await dedup_position(dedup, again["id"])
        assert seen["outcome"] == "unique" and seen["reasons"] == ["same_nik_same_person_replacement"]

        # The same NIK recorded with another person's biometrics: a case that shows the record
        # holding the NIK first, and a 'same person' decision names that NIK.
        taken_rec, _ = r.record(resident=resident_of(rec_b))
        assert taken_rec["nik"] == rec_b["nik"]
        taken = await post(enrollment, taken_rec)
        await wait_status_in(enrollment, taken["receipt_number"], "ADJUDICATION", timeout=90)
        [taken_case] = (await dedup.get("/v1/dedup/cases", params={"reason": "same_nik"})).json()["items"]
        assert taken_case["candidates"][0]["enrollment_id"] == b["id"]
        assert taken_case["candidates"][0]["nik"] == rec_b["nik"]
        decided = await dedup.post(f"/v1/dedup/cases/{taken_case['id']}/decision",
                                   json={"decision": "same_person", "note": "NIK ini milik orang yang sama"})
        assert decided.status_code == 200
        await wait_status_in(enrollment, taken["receipt_number"], "DUPLICATE", timeout=90)
        matched = await query_matched_nik(pg_url, taken["id"])
        assert matched == rec_b["nik"]

        # Cases: filter by reason and site, paginate.
        page = (await dedup.get("/v1/dedup/cases", params={"reason": "grey_zone", "limit": 1})).json()
        assert page["total"] == 2 and len(page["items"]) == 1
        second = (await dedup.get("/v1/dedup/cases", params={"reason": "grey_zone", "limit": 1, "offset": 1})).json()
        assert {page["items"][0]["enrollment_id"], second["items"][0]["enrollment_id"]} == {grey1["id"], grey2["id"]}
        by_site = (await dedup.get("/v1/dedup/cases", params={"site": grey1_rec["pickup_site"]})).json()
        assert grey1["id"] in {c["enrollment_id"] for c in by_site["items"]}
        assert all(c["site"] == grey1_rec["pickup_site"] for c in by_site["items"])
        assert (await dedup.get("/v1/dedup/cases", params={"reason": "same_nik"})).json()["total"] == 0

        cases = {c["enrollment_id"]: c for c in page["items"] + second["items"]}
        # A case shows the recording and its candidate side by side: photos and per-modality scores.
        detail = (await dedup.get(f"/v1/dedup/cases/{cases[grey1['id']]['id']}")).json()
        assert detail["recording"]["enrollment_id"] == grey1["id"]
        assert detail["recording"]["photo_jpeg"] == grey1_rec["biometrics"]["photo_jpeg"]
        match = detail["matches"][0]
        assert match["enrollment_id"] == a["id"] and match["nik"] == rec_a["nik"]
        assert match["photo_jpeg"] == rec_a["biometrics"]["photo_jpeg"]
        assert set(match["scores"]) == {"finger", "iris", "face", "fused"}
        assert match["scores"]["face"] > match["scores"]["finger"]

        # Different persons → unique → PRINT_READY; same person → DUPLICATE of the candidate's NIK.
        decided = await dedup.post(f"/v1/dedup/cases/{cases[grey1['id']]['id']}/decision",
                                   json={"decision": "different_persons", "note": "wajah mirip, sidik jari beda"})
        assert decided.status_code == 200 and decided.json()["decided_by"]
        decided = await dedup.post(f"/v1/dedup/cases/{cases[grey2['id']]['id']}/decision",
                                   json={"decision": "same_person", "note": "orang yang sama"})
        assert decided.status_code == 200
        again_decided = await dedup.post(f"/v1/dedup/cases/{cases[grey2['id']]['id']}/decision",
                                         json={"decision": "different_persons", "note": "berubah pikiran"})
        assert again_decided.status_code == 409
        await wait_status_in(enrollment, grey1["receipt_number"], PRINT_READY_OR_LATER, timeout=90)
        await wait_status_in(enrollment, grey2["receipt_number"], "DUPLICATE", timeout=90)
        assert (await dedup_position(dedup, grey2["id"]))["outcome"] == "duplicate"

        # Nothing waits; every outcome is counted.
        backlog = (await dedup.get("/v1/dedup/backlog")).json()
        assert backlog["waiting"] == 0
        assert backlog["outcomes"] == {"unique": 4, "duplicate": 3, "enroll_failure": 1}

        conn = await asyncpg.connect(asyncpg_dsn(pg_url))
        try:
            reads = await conn.fetch("SELECT action, subject_id, actor FROM auth.audit_log "
                                     "WHERE action LIKE 'dedup.case%' ORDER BY id")
        finally:
            await conn.close()
        actions = [row["action"] for row in reads]
        assert "dedup.case.read" in actions and actions.count("dedup.case.decide") == 3
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        await asyncio.gather(enrollment.aclose(), dedup.aclose())


def test_a_case_about_a_nik_in_the_gallery_shows_its_holder_first():
    """Biometrics that disagree give the holder no score, so the matcher's candidates were three
    unrelated people and a 'same person' decision named the first one's NIK."""
    import uuid

    from services.dedup.models import DedupRequest
    from services.dedup.service import _holder_first

    holder = DedupRequest(enrollment_id=uuid.uuid4(), nik="5371044506900001")
    others = [{"enrollment_id": str(uuid.uuid4()), "nik": f"53710401019000{i:02d}", "scores": {"fused": 1.2 - i / 10}}
              for i in range(3)]
    shown = _holder_first(others, holder)
    assert [c["enrollment_id"] for c in shown] == [str(holder.enrollment_id), *(c["enrollment_id"] for c in others)]
    assert shown[0]["nik"] == holder.nik and set(shown[0]["scores"].values()) == {None}
    ranked = {"enrollment_id": str(holder.enrollment_id), "nik": holder.nik, "scores": {"fused": 0.4}}
    assert _holder_first([*others, ranked], holder) == [ranked, *others]
