"""POST /v1/enrollments: a retry answers the first answer; a reused key with another body is a 409;
concurrent retries of one recording create it once (the insert finds the used key)."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt

import pytest
from sqlalchemy import event, text

from services.enrollment import batch, repository
from services.enrollment.schemas import RecordingIn
from shared.auth.principal import Principal, Role
from shared.db import create_engine, make_sessionmaker
from shared.errors import InvalidInput
from shared.sites import dinas_sites
from tests.enrollment.service_app import credentials, enrollment_api, total_at  # noqa: F401 (fixtures)
from tests.support.api import recording

SITE = "53.71.04"
KUPANG = dinas_sites("53.71")


async def test_a_retry_replays_the_first_answer(enrollment_api):
    rec = recording(3001, pickup_site=SITE)
    headers = {"Idempotency-Key": "retry-3001"}
    first = await enrollment_api.post("/v1/enrollments", json=rec, headers=headers)
    again = await enrollment_api.post("/v1/enrollments", json=rec, headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["receipt_number"] == first.json()["receipt_number"]
    assert again.json()["id"] == first.json()["id"]
    assert await total_at(enrollment_api, SITE) == 1


async def test_the_same_key_with_another_body_is_409_and_changes_nothing(enrollment_api):
    rec = recording(3002, pickup_site=SITE)
    first = await enrollment_api.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": "k-3002"})
    changed = copy.deepcopy(rec)
    changed["occupation"] = "PETANI"
    conflict = await enrollment_api.post("/v1/enrollments", json=changed, headers={"Idempotency-Key": "k-3002"})

    assert conflict.status_code == 409, conflict.text
    body = conflict.json()
    assert body["error"] == "idempotency_key_reused"
    assert body["receipt_number"] == first.json()["receipt_number"]
    assert await total_at(enrollment_api, SITE) == 1
    stored = (await enrollment_api.get(f"/v1/enrollments/{first.json()['id']}")).json()
    assert stored["record"]["occupation"] == rec["occupation"]


async def test_the_station_recording_id_is_the_key_when_no_header_is_sent(enrollment_api):
    rec = recording(3003, pickup_site=SITE)
    first = await enrollment_api.post("/v1/enrollments", json=rec)
    again = await enrollment_api.post("/v1/enrollments", json=rec)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["receipt_number"] == first.json()["receipt_number"]


async def test_a_blank_station_recording_id_is_refused_not_taken_as_a_key(enrollment_api):
    """It was stored as the key "": every later blank one, a retry included, then hit the unique
    index (500)."""
    answers = []
    for n in (3005, 3006, 3005):
        rec = recording(n, pickup_site=SITE)
        rec["station_recording_id"] = ""
        answers.append(await enrollment_api.post("/v1/enrollments", json=rec))

    assert [a.status_code for a in answers] == [422] * 3, [a.text for a in answers]
    assert [f["field"] for f in answers[0].json()["fields"]] == ["station_recording_id"]
    assert await total_at(enrollment_api, SITE) == 0
    rec = recording(3005, pickup_site=SITE)
    rec["station_recording_id"] = ""
    keyed = await enrollment_api.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": "k-3005"})
    assert keyed.status_code == 422  # a header does not make a blank id acceptable


async def test_concurrent_retries_create_one_enrollment(enrollment_api):
    rec = recording(3004, pickup_site=SITE)
    answers = await asyncio.gather(*(
        enrollment_api.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": "race-3004"}) for _ in range(12)
    ))

    assert sorted(a.status_code for a in answers) == [200] * 11 + [201], [a.text for a in answers]
    assert len({a.json()["receipt_number"] for a in answers}) == 1
    assert await total_at(enrollment_api, SITE) == 1



async def test_a_retry_that_todays_rules_would_refuse_still_replays(enrollment_api):
    # Accepted once; retried when the counter rules say otherwise (here: the check runs as of a day
    # before the resident could have a card). The retry answers the first answer; a new recording
    # checked the same way is refused.
    rec = recording(3005, pickup_site=SITE)
    first = await enrollment_api.post("/v1/enrollments", json=rec)
    assert first.status_code == 201, first.text

    ctx = enrollment_api.app.state.contexts["enrollment"]
    recording_in = RecordingIn.model_validate(rec)
    principal = Principal(id="station", name="station", role=Role.STATION, site=rec["recording"]["site"])
    too_early = recording_in.birth_date + dt.timedelta(days=365)
    async with ctx.sessions() as session:
        answer = await batch.submit_one(session, ctx.state["group_commit"], principal, recording_in,
                                        key=rec["station_recording_id"], today=too_early, sites=KUPANG)
        assert answer.status == 200 and answer.enrollment.receipt_number == first.json()["receipt_number"]

        other = RecordingIn.model_validate(recording(3006, pickup_site=SITE))
        with pytest.raises(InvalidInput):
            await batch.submit_one(session, ctx.state["group_commit"], principal, other,
                                   key=other.station_recording_id, today=too_early, sites=KUPANG)
    assert await total_at(enrollment_api, SITE) == 1


async def test_a_groups_keys_are_looked_up_through_the_unique_index_on_a_table_never_analysed(pg_url):
    """10,000 recordings of one kecamatan, no statistics yet (a new installation, autovacuum not
    run): the keys of a batch are found by probing the (site, key) index, not by reading every row
    of the site (which `(site, key) IN (...)` was planned as)."""
    engine = create_engine(pg_url, application_name="test")
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO enrollment.enrollments (id, receipt_number, nik, name, pickup_site, recording_site, station, "
            "operator, recorded_at, status, record, warnings, idempotency_key, request_hash, submitted_by, created_at, "
            "updated_at) SELECT gen_random_uuid(), 'R' || n, '5371040101900001', 'A', :site, :site, 'ST01', 'op', "
            "now(), 'RECEIVED', :record, '[]', 'key-' || n, 'h' || n, 'test', now(), now() "
            "FROM generate_series(1, 10000) AS n"),
            {"site": SITE, "record": '"' + "x" * 1200 + '"'})  # the width of a real row's encrypted record
    statements: list[tuple[str, object]] = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: statements.append((statement, params)))
    wanted = {(SITE, f"key-{n}") for n in range(1, 201, 2)} | {(SITE, "never-used"), ("53.71.05", "key-1")}
    try:
        async with make_sessionmaker(engine)() as session:
            found = await repository.by_idempotency_keys(session, wanted)
            assert set(found) == {(SITE, f"key-{n}") for n in range(1, 201, 2)}
            assert all(e.request_hash == "h" + key.removeprefix("key-") for (_, key), e in found.items())

            statement, params = statements[-1]
            conn = await session.connection()
            plan = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)).scalar_one()
            # and as the statement's generic plan, which a prepared statement comes to use
            await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            generic = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)).scalar_one()
    finally:
        await engine.dispose()
    for explained in (plan, generic):
        nodes, stack = [], [explained[0]["Plan"]]
        while stack:
            node = stack.pop()
            nodes.append(node)
            stack.extend(node.get("Plans", []))
        scans = [n for n in nodes if n.get("Relation Name") == "enrollments"]
        # one probe of the (recording_site, idempotency_key) index a key; no row read only to be dropped
        assert [n["Node Type"] for n in scans] == ["Index Scan"], explained
        assert "idempotency_key" in scans[0]["Index Cond"], explained
        assert sum(n.get("Rows Removed by Filter", 0) for n in nodes) == 0, explained
