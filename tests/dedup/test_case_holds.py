"""Several adjudicators at one desk: a case one of them takes is theirs until they decide it or
their hold runs out; the others are shown who holds it, get other cases from "take the next
case", and a second decision is refused naming who decided and when. The dedup service
in-process on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from services.dedup import service
from services.dedup.app import create_app
from services.dedup.matcher import Candidate, Decision
from services.dedup.models import Case, DedupRequest, RequestStatus
from shared.auth.models import AuditEntry
from shared.settings import Settings
from tests.enrollment.service_app import Credentials

ADJUDICATORS = ("Ani", "Budi", "Citra")


def _request(nik: str, site: str, status: str) -> DedupRequest:
    now = dt.datetime.now(dt.UTC)
    return DedupRequest(enrollment_id=uuid.uuid4(), receipt_number=nik[-12:], nik=nik, pickup_site=site,
                        recording_site=site, recorded_at=now, received_at=now, status=status,
                        biometrics={"fingerprints": [], "irises": [], "exceptions": [], "photo_jpeg": None})


async def open_cases(sessions, count: int, *, site: str = "53.71.04",  # type: ignore[no-untyped-def]
                     candidates: int = 1) -> list[str]:
    """`count` grey-zone cases, oldest first, each a recording and `candidates` enrolled persons
    (of their own NIKs), made by the service's own decision step (as the engine makes them)."""
    ids = []
    for i in range(count):
        async with sessions() as session:
            enrolled = []
            for k in range(candidates):
                row = _request(f"5371041{k + 1}019{i:05d}", site, RequestStatus.DECIDED.value)
                row.outcome, row.in_gallery = "unique", True
                enrolled.append(row)
            probe = _request(f"53710419019{i:05d}", site, RequestStatus.WAITING.value)
            session.add_all([*enrolled, probe])
            await session.flush()
            decision = Decision("adjudication", [Candidate(str(e.enrollment_id), 0.3, 0.2, 11.5 - k, 9.5 - k / 10)
                                                 for k, e in enumerate(enrolled)], ("score_in_grey_zone",))
            await service.apply_decision(session, probe, decision, auto_threshold=10.0)
            await session.commit()
            case_id = (await session.execute(select(Case.id).where(Case.enrollment_id == probe.enrollment_id))
                       ).scalar_one()
            ids.append(str(case_id))
    return ids


@pytest.fixture
async def desk(pg_url: str, amqp_url: str, token: str, tmp_path: Path) -> AsyncIterator[dict]:
    """The dedup service, paused (nothing else decides), and one client per adjudicator."""
    settings = Settings(database_url=pg_url, broker_url=amqp_url, env="test", bootstrap_token=token,
                        data_dir=tmp_path, log_json=False)
    app = create_app(settings)
    made = Credentials(pg_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        clients = {}
        for name in ADJUDICATORS:
            async with made.sessions() as session:
                from shared.auth.principal import Role, create_credential

                credential, secret = await create_credential(session, name=f"Adjudicator {name}",
                                                             role=Role.ADJUDICATOR, site="53.71")
                await session.commit()
            clients[name] = httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60,
                                              headers={"Authorization": f"Bearer {secret}"})
            clients[name].actor = f"Adjudicator {name} ({credential.id})"  # type: ignore[attr-defined]
        try:
            paused = await clients["Ani"].post("/v1/dedup/engine/pause", json={"reason": "adjudication test"})
            assert paused.status_code == 200, paused.text
            yield {"clients": clients, "sessions": made.sessions}
        finally:
            for client in clients.values():
                await client.aclose()
            await made.engine.dispose()


async def test_two_adjudicators_taking_the_next_case_at_once_get_different_cases(desk):
    ani, budi, citra = (desk["clients"][n] for n in ADJUDICATORS)
    cases = await open_cases(desk["sessions"], 4)

    # Both press "take the next case" at the same moment: the two oldest cases, one each.
    answers = await asyncio.gather(ani.post("/v1/dedup/cases/next"), budi.post("/v1/dedup/cases/next"))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    taken = [a.json() for a in answers]
    assert {c["id"] for c in taken} == set(cases[:2])
    assert [c["held_by"] for c in taken] == [ani.actor, budi.actor]
    assert all(c["recording"] and c["matches"] for c in taken)  # the case itself, to compare at once
    # asking again before deciding gives each their own case back, not a new one
    again = await asyncio.gather(ani.post("/v1/dedup/cases/next"), budi.post("/v1/dedup/cases/next"))
    assert [a.json()["id"] for a in again] == [c["id"] for c in taken]

    # The list shows the others who holds what.
    listed = {c["id"]: c for c in (await citra.get("/v1/dedup/cases")).json()["items"]}
    assert {cid: listed[cid]["held_by"] for cid in cases} == {
        taken[0]["id"]: ani.actor, taken[1]["id"]: budi.actor, cases[2]: None, cases[3]: None}

    # Citra takes the next: the oldest one nobody holds.
    assert (await citra.post("/v1/dedup/cases/next")).json()["id"] == cases[2]

    # Deciding gives a case up; the next one then comes to whoever asks.
    decided = await budi.post(f"/v1/dedup/cases/{taken[1]['id']}/decision",
                              json={"decision": "different_persons", "note": "sidik jari berbeda"})
    assert decided.status_code == 200 and decided.json()["held_by"] is None
    assert (await budi.post("/v1/dedup/cases/next")).json()["id"] == cases[3]
    assert (await citra.post("/v1/dedup/cases/next")).json()["id"] == cases[2]  # hers still
    assert (await ani.post("/v1/dedup/cases/next")).json()["id"] == taken[0]["id"]
    nothing = await citra.post("/v1/dedup/cases/next", params={"reason": "same_nik"})
    assert nothing.status_code == 204 and nothing.content == b""


async def test_a_case_held_or_decided_by_one_adjudicator_is_refused_to_another_naming_them(desk):
    ani, budi, citra = (desk["clients"][n] for n in ADJUDICATORS)
    first, second = await open_cases(desk["sessions"], 2)

    held = await ani.post(f"/v1/dedup/cases/{first}/take")
    assert held.status_code == 200 and held.json()["held_by"] == ani.actor
    # Budi opened the same case from the list: he sees who is on it, may look, may not take or decide it.
    seen = (await budi.get(f"/v1/dedup/cases/{first}")).json()
    assert seen["held_by"] == ani.actor and seen["held_until"]
    for refused in (await budi.post(f"/v1/dedup/cases/{first}/take"),
                    await budi.post(f"/v1/dedup/cases/{first}/decision",
                                    json={"decision": "different_persons", "note": "iris berbeda"}),
                    await budi.post(f"/v1/dedup/cases/{first}/release")):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "case_held"
        assert "Adjudicator Ani" in refused.json()["detail"] and "until" in refused.json()["detail"]

    # Ani decides; Budi's late decision is refused naming her and when she decided.
    decided = await ani.post(f"/v1/dedup/cases/{first}/decision",
                             json={"decision": "same_person", "note": "wajah dan tanda lahir sama"})
    assert decided.status_code == 200, decided.text
    late = await budi.post(f"/v1/dedup/cases/{first}/decision",
                           json={"decision": "different_persons", "note": "iris berbeda"})
    assert late.status_code == 409 and late.json()["error"] == "case_decided"
    assert "same_person" in late.json()["detail"] and "Adjudicator Ani" in late.json()["detail"]
    assert decided.json()["decided_at"][:10] in late.json()["detail"]

    # Two decisions at the same moment on a case nobody took: one is kept, the other refused.
    answers = await asyncio.gather(
        budi.post(f"/v1/dedup/cases/{second}/decision", json={"decision": "same_person", "note": "sama"}),
        citra.post(f"/v1/dedup/cases/{second}/decision", json={"decision": "different_persons", "note": "beda"}))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    kept = next(a for a in answers if a.status_code == 200).json()
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["error"] == "case_decided" and kept["decided_by"].split(" (")[0] in refused["detail"]


async def test_a_hold_runs_out_or_is_given_back_and_every_take_is_audited(desk):
    ani, budi, _ = (desk["clients"][n] for n in ADJUDICATORS)
    (case_id,) = await open_cases(desk["sessions"], 1)
    assert (await ani.post(f"/v1/dedup/cases/{case_id}/take")).status_code == 200
    assert (await budi.post("/v1/dedup/cases/next")).status_code == 204

    # Ani went home without deciding: once her hold ran out the case is free again.
    async with desk["sessions"]() as session:
        await session.execute(update(Case).where(Case.id == uuid.UUID(case_id))
                              .values(held_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        await session.commit()
    assert (await budi.get(f"/v1/dedup/cases/{case_id}")).json()["held_by"] is None
    taken = await budi.post("/v1/dedup/cases/next")
    assert taken.status_code == 200 and taken.json()["held_by"] == budi.actor

    # Budi gives it back undecided; Ani takes it again.
    released = await budi.post(f"/v1/dedup/cases/{case_id}/release")
    assert released.status_code == 200 and released.json()["held_by"] is None
    assert (await ani.post(f"/v1/dedup/cases/{case_id}/take")).json()["held_by"] == ani.actor

    async with desk["sessions"]() as session:
        entries = (await session.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.detail)
                                         .where(AuditEntry.subject_id == case_id).order_by(AuditEntry.id))).all()
    takes = [(action, actor.split(" (")[0]) for action, actor, _ in entries if action != "dedup.case.read"]
    assert takes == [("dedup.case.take", "Adjudicator Ani"), ("dedup.case.take", "Adjudicator Budi"),
                     ("dedup.case.release", "Adjudicator Budi"), ("dedup.case.take", "Adjudicator Ani")]
    # a take shows the case's records: the audit names them
    assert all(len(detail["enrollment_ids"]) == 2 for action, _, detail in entries if action == "dedup.case.take")


async def test_same_person_names_the_candidate_the_adjudicator_chose(desk):
    """A grey-zone case with candidates of several NIKs: 'same person' says as which of them; the
    first candidate's NIK was recorded whoever the adjudicator meant."""
    ani = desk["clients"]["Ani"]
    (case_id,) = await open_cases(desk["sessions"], 1, candidates=3)
    case = (await ani.get(f"/v1/dedup/cases/{case_id}")).json()
    first, second, _ = case["candidates"]
    assert len({c["nik"] for c in case["candidates"]}) == 3

    decide = f"/v1/dedup/cases/{case_id}/decision"
    unnamed = await ani.post(decide, json={"decision": "same_person", "note": "wajah sama"})
    assert unnamed.status_code == 422, unnamed.text
    assert [(f["field"], f["code"]) for f in unnamed.json()["fields"]] == [("candidate", "field.missing")]
    stranger = await ani.post(decide, json={"decision": "same_person", "note": "wajah sama",
                                            "candidate": str(uuid.uuid4())})
    assert stranger.status_code == 422 and stranger.json()["fields"][0]["code"] == "field.invalid"
    different = await ani.post(decide, json={"decision": "different_persons", "note": "beda",
                                             "candidate": second["enrollment_id"]})
    assert different.status_code == 422 and different.json()["fields"][0]["field"] == "candidate"
    assert (await ani.get(f"/v1/dedup/cases/{case_id}")).json()["status"] == "OPEN"  # nothing was decided

    decided = await ani.post(decide, json={"decision": "same_person", "note": "sidik jari kandidat 2 sama",
                                           "candidate": second["enrollment_id"]})
    assert decided.status_code == 200, decided.text
    assert decided.json()["matched_enrollment_id"] == second["enrollment_id"]
    async with desk["sessions"]() as session:
        probe = (await session.execute(select(DedupRequest).where(
            DedupRequest.enrollment_id == uuid.UUID(case["enrollment_id"])))).scalar_one()
    assert (probe.outcome, probe.matched_nik) == ("duplicate", second["nik"]) != ("duplicate", first["nik"])


async def test_cases_are_found_by_the_day_they_were_opened(desk):
    ani = desk["clients"]["Ani"]
    ids = await open_cases(desk["sessions"], 3)
    days = [dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 4)]
    async with desk["sessions"]() as session:
        for case_id, day in zip(ids, days):  # late in the day, UTC: the day's last minute still counts
            await session.execute(update(Case).where(Case.id == uuid.UUID(case_id)).values(
                opened_at=dt.datetime.combine(day, dt.time(23, 59), dt.UTC)))
        await session.commit()

    async def found(**params: str) -> list[str]:
        answer = await ani.get("/v1/dedup/cases", params=params)
        assert answer.status_code == 200, answer.text
        return [c["id"] for c in answer.json()["items"]]

    assert await found(opened_from="2026-11-03") == ids[1:]
    assert await found(opened_to="2026-11-03") == ids[:2]
    assert await found(opened_from="2026-11-03", opened_to="2026-11-03") == [ids[1]]
    backwards = await ani.get("/v1/dedup/cases", params={"opened_from": "2026-11-04", "opened_to": "2026-11-02"})
    assert backwards.status_code == 422
    assert [(f["field"], f["code"]) for f in backwards.json()["fields"]] == [("query.opened_to", "field.out_of_range")]
