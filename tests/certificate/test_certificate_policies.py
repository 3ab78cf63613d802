"""The certificate policies against a real database (PostgreSQL, and SQLite as in the all-in-one):
idempotent, one valid certificate per resident even with several processes applying them at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from ektp.synth.recordings import make_recording
from services.certificate import service
from services.certificate.models import Certificate
from shared.db import create_engine, make_sessionmaker
from shared.errors import Conflict
from shared.keys import SigningKey
from shared.messaging import new_event
from shared.migrate import upgrade
from shared.settings import Settings

from tests.conftest import in_thread


def submitted(seed: int):  # an enrollment.submitted event as the enrollment service writes it
    rec, _ = make_recording(random.Random(seed), np.random.default_rng(seed), today=dt.date.today())
    return new_event("enrollment.submitted", {
        "enrollment_id": str(uuid.uuid4()), "record": {k: v for k, v in rec.items() if k != "biometrics"},
        "biometrics": {"photo_jpeg": rec["biometrics"]["photo_jpeg"]}})


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    url = f"sqlite+aiosqlite:///{tmp_path / 'ektp.db'}"
    in_thread(upgrade, url)
    return url


async def test_paused_policy_issues_once_per_resident_with_processes_side_by_side(database_url):
    settings = Settings(database_url=database_url, cert_auto_issue_when_paused=True)
    key = SigningKey.generate()
    engine = create_engine(database_url, application_name="test-policies")
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            for seed in range(700, 712):
                await service.on_enrollment_submitted(session, submitted(seed))
            await session.commit()

        async def apply() -> int:
            async with sessions() as session:
                made = await service.apply_policies(session, settings, key, now=dt.datetime.now(dt.UTC), batch=5)
                await session.commit()
                return sum(made.values())

        assert await apply() == 0  # dedup is running: nothing to do

        async with sessions() as session:
            await service.on_engine_event(session, new_event("dedup.engine_paused", {"reason": "licence"}))
            await session.commit()

        async def worker() -> int:
            total = 0
            while made := await apply():
                total += made
            return total

        counts = await asyncio.gather(*(worker() for _ in range(3)))  # three "processes"
        assert sum(counts) == 12
        assert await apply() == 0  # idempotent
        async with sessions() as session:
            per_resident = (await session.execute(
                select(Certificate.enrollment_id, func.count()).group_by(Certificate.enrollment_id))).all()
            issued_by = set((await session.execute(select(Certificate.issued_by))).scalars())
        assert len(per_resident) == 12 and {n for _, n in per_resident} == {1}
        assert issued_by == {"policy:when_paused"}

        # Resumed: a new recording waits for dedup without a certificate.
        async with sessions() as session:
            await service.on_engine_event(session, new_event("dedup.engine_resumed", {}))
            await service.on_enrollment_submitted(session, submitted(799))
            await session.commit()
        assert await apply() == 0
    finally:
        await engine.dispose()


async def test_one_valid_certificate_per_person_across_their_recordings(database_url):
    """A person recorded twice (dedup: a replacement): a certificate for each recording left two
    valid, and handing over the new card left the old recording's certificate valid."""
    settings = Settings(database_url=database_url)
    key = SigningKey.generate()
    engine = create_engine(database_url, application_name="test-one-per-person")
    sessions = make_sessionmaker(engine)
    first, again = submitted(720), submitted(720)  # the same person, two recordings
    old_id, new_id = first.data["enrollment_id"], again.data["enrollment_id"]
    now = dt.datetime.now(dt.UTC)

    async def statuses() -> dict[str, str]:
        async with sessions() as session:
            return dict((await session.execute(select(Certificate.number, Certificate.status))).all())

    try:
        async with sessions() as session:
            await service.on_enrollment_submitted(session, first)
            await service.on_enrollment_submitted(session, again)
            old = await service.issue(session, None, settings, key, uuid.UUID(old_id), now=now, actor="test")
            new = await service.issue(session, None, settings, key, uuid.UUID(new_id), now=now, actor="test")
            await session.commit()
        assert await statuses() == {old.number: "SUPERSEDED", new.number: "VALID"}

        async with sessions() as session:  # the old recording's paper issued again, then the new card handed over
            again_old = await service.issue(session, None, settings, key, uuid.UUID(old_id), now=now, actor="test")
            await service.on_status_event(session, new_event("print.card_issued", {"enrollment_id": new_id}))
            await session.commit()
        found = await statuses()
        assert found[new.number] == "SUPERSEDED" and found[again_old.number] == "REVOKED"
        assert "VALID" not in found.values()
    finally:
        await engine.dispose()


async def test_a_replaced_recording_gets_no_certificate_and_its_renewal_goes_to_the_newer_one(database_url):
    """The first card was cancelled for a newer recording of the person (print.card_cancelled): no
    certificate is issued for the replaced recording, and renewing the one it had is for the newer."""
    settings = Settings(database_url=database_url)
    key = SigningKey.generate()
    engine = create_engine(database_url, application_name="test-replaced")
    sessions = make_sessionmaker(engine)
    first, again = submitted(730), submitted(730)
    old_id, new_id = first.data["enrollment_id"], again.data["enrollment_id"]
    now = dt.datetime.now(dt.UTC)
    try:
        async with sessions() as session:
            await service.on_enrollment_submitted(session, first)
            await service.on_enrollment_submitted(session, again)
            old = await service.issue(session, None, settings, key, uuid.UUID(old_id), now=now, actor="test")
            await service.on_status_event(session, new_event("print.card_cancelled", {
                "enrollment_id": old_id, "reason": "replaced", "replaced_by": new_id}))
            await session.commit()

        async with sessions() as session:
            with pytest.raises(Conflict) as refused:
                await service.issue(session, None, settings, key, uuid.UUID(old_id), now=now, actor="test")
            assert refused.value.code == "recording_replaced"

        async with sessions() as session:  # the auto-renew policy finds it once expired
            auto = Settings(database_url=database_url, cert_auto_renew=True)
            expired = dt.datetime.combine(old.valid_until + dt.timedelta(days=1), dt.time(12), tzinfo=service.WITA)
            assert await service.apply_policies(session, auto, key, now=expired, batch=5) == {"auto_renew": 1}
            [renewed] = [c for c in (await session.execute(select(Certificate))).scalars() if c.number != old.number]
            await session.commit()
        assert renewed.enrollment_id == uuid.UUID(new_id)
        async with sessions() as session:
            found = dict((await session.execute(select(Certificate.number, Certificate.status))).all())
        assert found == {old.number: "SUPERSEDED", renewed.number: "VALID"}
    finally:
        await engine.dispose()
