"""How fast the dedup engine drains a city's backlog (the licence-expiry scenario, after resume).

Inserts COUNT synthetic recordings (ground truth: uniques, duplicates under another NIK, poor
captures, missing fingers) straight into dedup's backlog table in a scratch PostgreSQL database,
optionally pre-fills the in-memory gallery with GALLERY enrolled persons, then runs the engine's
own `decide_one` (one transaction per record: lock the oldest, identify, record the outcome and its
event, follow the gallery log) until the backlog is empty. Prints records/s, the outcome counts
and how many decisions agree with the ground truth.

    .venv/bin/python bench/dedup_backlog.py --count 20000 --gallery 100000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
import uuid
from collections import Counter
from types import SimpleNamespace

import asyncpg
import numpy as np
from sqlalchemy import func, insert, select

from ektp.synth.biometrics import random_capture_arrays
from ektp.synth.population import make_population
from services.dedup.engine import decide_one
from services.dedup.matcher import TemplateBatch
from services.dedup.matching import BuiltinMatcher, MatcherConfig
from services.dedup.models import DedupRequest
from shared.db import create_engine, make_sessionmaker
from shared.migrate import upgrade

ADMIN_DSN = os.environ.get("EKTP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
SITES = ("53.71.01", "53.71.02", "53.71.03", "53.71.04", "53.71.05", "53.71.06")


async def fill_backlog(sessions, args) -> tuple[dict[str, str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """Returns (enrollment id -> record key, record key -> enrollment id)."""
    population = make_population(args.count, seed=args.seed, duplicate_rate=args.duplicate_rate,
                                 recapture_rate=0.0, poor_rate=args.poor_rate, missing_finger_rate=0.02)
    now = dt.datetime.now(dt.UTC)
    keys, ids, rows = {}, {}, []
    t0 = time.perf_counter()
    for i, record in enumerate(population):
        eid = uuid.uuid4()
        keys[str(eid)], ids[record.record_key] = record.record_key, str(eid)
        site = SITES[i % len(SITES)]
        rows.append({"enrollment_id": eid, "receipt_number": f"B{i:015d}"[:16], "nik": f"{5371000000000000 + i}",
                     "pickup_site": site, "recording_site": site, "recorded_at": now, "received_at": now,
                     "status": "WAITING", "reasons": [], "candidates": [], "biometrics": record.biometrics,
                     "in_gallery": False})
        if len(rows) == 1000:
            async with sessions() as session, session.begin():
                await session.execute(insert(DedupRequest.__table__), rows)
            rows = []
    if rows:
        async with sessions() as session, session.begin():
            await session.execute(insert(DedupRequest.__table__), rows)
    print(f"backlog: {args.count:,} recordings inserted in {time.perf_counter() - t0:.1f}s "
          f"(truth: {dict(Counter(t.kind for t in population.truth.values()))})")
    return keys, ids, population.truth  # type: ignore[return-value]


async def main(args: argparse.Namespace) -> None:
    name = f"ektp_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    engine = None
    try:
        await asyncio.to_thread(upgrade, url, ["auth", "dedup"])
        engine = create_engine(url, application_name="bench-dedup-backlog")
        sessions = make_sessionmaker(engine)
        keys, ids, truth = await fill_backlog(sessions, args)

        matcher = BuiltinMatcher(MatcherConfig(target_fpir=args.target_fpir))
        await matcher.load(sessions)
        if args.gallery:
            t0 = time.perf_counter()
            rng = np.random.default_rng([args.seed, 9])
            matcher.gallery.reserve(args.gallery + args.count)
            for start in range(0, args.gallery, 20_000):
                n = min(20_000, args.gallery - start)
                matcher.gallery.add_batch([str(uuid.uuid4()) for _ in range(n)],
                                          TemplateBatch.from_arrays(**random_capture_arrays(n, rng)))
            print(f"gallery: {len(matcher.gallery):,} enrolled persons loaded in {time.perf_counter() - t0:.1f}s")
        ctx = SimpleNamespace(sessions=sessions, events_written=lambda: None)

        decided, t0 = 0, time.perf_counter()
        while await decide_one(ctx, matcher):  # type: ignore[arg-type]
            decided += 1
            if decided % 2000 == 0:
                el = time.perf_counter() - t0
                print(f"  {decided:>7,} decided  {decided / el:7.1f} records/s")
        elapsed = time.perf_counter() - t0

        async with sessions() as session:
            outcomes = dict((await session.execute(
                select(DedupRequest.outcome, func.count()).group_by(DedupRequest.outcome))).all())
            rows = (await session.execute(select(DedupRequest.enrollment_id, DedupRequest.outcome,
                                                 DedupRequest.candidates))).all()
        right = 0
        for eid, outcome, candidates in rows:
            t = truth[keys[str(eid)]]
            ok = outcome == t.expected_outcome
            if ok and t.matches:
                ok = bool(candidates) and candidates[0]["enrollment_id"] == ids[t.matches]
            right += ok
        print(f"\ndrained {decided:,} recordings in {elapsed:.1f}s: {decided / elapsed:.1f} records/s "
              f"(gallery at the end {len(matcher.gallery):,})")
        print(f"outcomes: {outcomes}")
        print(f"agree with ground truth: {right:,} of {len(rows):,}")
    finally:
        if engine is not None:
            await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="recordings in the backlog")
    parser.add_argument("--gallery", type=int, default=0, help="persons already enrolled (in memory only)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--duplicate-rate", type=float, default=0.05)
    parser.add_argument("--poor-rate", type=float, default=0.02)
    parser.add_argument("--target-fpir", type=float, default=40.0)
    asyncio.run(main(parser.parse_args()))
