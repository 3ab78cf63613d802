"""`ektp demo`: synthetic residents of Kota Kupang through a running system's HTTP API.

Calls only enrollment endpoints (POST /v1/enrollments, GET /v1/status/{receipt}), so it works
against `ektp up`, a gateway, or the enrollment service alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ektp.synth.recordings import make_recording

# ADJUDICATION is final for the demo: the record waits for an adjudicator (the console's page).
FINAL = {"PRINTED", "ISSUED", "DUPLICATE", "ENROLL_FAILURE", "ADJUDICATION"}
NOT_RESIDENT = ("station_recording_id", "recording", "biometrics")


@dataclass
class Tracked:
    receipt: str
    expected: str
    status: str = "RECEIVED"
    done_at: float | None = None


@dataclass
class DemoResult:
    posted: int
    tracked: list[Tracked] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Tracked]:
        return [t for t in self.tracked if t.status != t.expected]


async def run_demo(url: str, token: str, *, enrollments: int, duplicates: int = 0, cases: int = 0,
                   timeout: float = 300.0, seed: int | None = None, concurrency: int = 8,
                   console: Console | None = None) -> DemoResult:
    """`duplicates`: of the residents, that many recorded again under a second NIK (DUPLICATE);
    `cases`: of the others, that many whose NIK and data another person is recorded with, which
    dedup gives an adjudicator to decide (ADJUDICATION, `same_nik_different_biometrics`)."""
    if duplicates + cases > enrollments:
        raise ValueError(f"duplicates + cases: at most the {enrollments} enrollments")
    console = console or Console()
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    today = dt.date.today()
    taken: set[str] = set()
    recordings: list[tuple[dict, str]] = []
    persons = []
    for _ in range(enrollments):
        recording, person = make_recording(rng, nprng, today=today, taken_niks=taken)
        recordings.append((recording, "PRINTED"))
        persons.append(person)
    for person in persons[:duplicates]:
        # The same person recorded again under a second NIK: dedup must find it.
        recording, _ = make_recording(rng, nprng, today=today, person=person, taken_niks=taken)
        recordings.append((recording, "DUPLICATE"))
    for original, _ in recordings[duplicates:duplicates + cases]:
        # Another person recorded with this resident's NIK and data: a case for an adjudicator.
        resident = {k: v for k, v in original.items() if k not in NOT_RESIDENT}
        recording, _ = make_recording(rng, nprng, today=today, resident=resident)
        recordings.append((recording, "ADJUDICATION"))

    result = DemoResult(posted=len(recordings))
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as progress:
            posting = progress.add_task("recorded", total=len(recordings))
            finishing = progress.add_task("final state", total=len(recordings))
            semaphore = asyncio.Semaphore(concurrency)

            async def post(recording: dict, expected: str) -> None:
                async with semaphore:
                    response = await client.post("/v1/enrollments", json=recording,
                                                 headers={"Idempotency-Key": recording["station_recording_id"]})
                if response.status_code not in (200, 201):
                    raise RuntimeError(f"recording refused: {response.status_code} {response.text[:500]}")
                result.tracked.append(Tracked(receipt=response.json()["receipt_number"], expected=expected))
                progress.advance(posting)

            # Originals first, so that a duplicate always finds its person in the gallery.
            await asyncio.gather(*(post(r, e) for r, e in recordings[:enrollments]))
            await asyncio.gather(*(post(r, e) for r, e in recordings[enrollments:]))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pending = [t for t in result.tracked if t.status not in FINAL]
                if not pending:
                    break
                for t in pending:
                    async with semaphore:
                        response = await client.get(f"/v1/status/{t.receipt}")
                    if response.status_code == 429:  # the public route is rate-limited: back off
                        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                        continue
                    if response.status_code == 200:
                        t.status = response.json()["status"]
                        if t.status in FINAL:
                            t.done_at = time.monotonic() - start
                            progress.advance(finishing)
                await asyncio.sleep(0.5)
    result.seconds = time.monotonic() - start
    table = Table(title=f"{result.posted} recordings in {result.seconds:.1f} s")
    table.add_column("status")
    table.add_column("count", justify="right")
    table.add_column("expected", justify="right")
    got = Counter(t.status for t in result.tracked)
    want = Counter(t.expected for t in result.tracked)
    for status in sorted(set(got) | set(want)):
        table.add_row(status, str(got.get(status, 0)), str(want.get(status, 0)))
    console.print(table)
    done = [t.done_at for t in result.tracked if t.done_at is not None]
    if done:
        console.print(f"time to final state: median {sorted(done)[len(done) // 2]:.1f} s, max {max(done):.1f} s")
    return result
