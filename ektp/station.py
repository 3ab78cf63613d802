"""`ektp station`: a kecamatan's store-and-forward client.

Recordings are checked at the counter with the server's own validation code, kept in a local
SQLite queue while the link is down, and pushed when it is up: gzip'd NDJSON batches to
`POST /v1/enrollments/batch`, exponential backoff on any failure, resumable after a crash or a
power cut. A recording is marked sent only after the server answered for it; a re-sent one is
answered as a replay (its station_recording_id is its idempotency key), so nothing is recorded
twice.

    ektp station enqueue recordings.ndjson --queue var/station.db
    ektp station push --url https://dinas.example --token ektp_... --queue var/station.db
    ektp station status --queue var/station.db
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import ValidationError

from services.enrollment.schemas import RecordingIn
from services.enrollment.validation import check_recording, from_pydantic_errors
from services.enrollment.validation.messages import problem
from services.enrollment.validation.problems import Problem

PENDING, SENT, REFUSED = "pending", "sent", "refused"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    station_recording_id TEXT NOT NULL UNIQUE,
    site TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    http_status INTEGER,
    receipt_number TEXT,
    enrollment_id TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at TEXT NOT NULL,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_recordings_state ON recordings (state, seq);
"""


def open_queue(path: Path) -> sqlite3.Connection:
    """The local queue; WAL and synchronous=FULL so that a power cut keeps what was committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    return db


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


# ---- enqueue ---------------------------------------------------------------------------------

@dataclass
class Refusal:
    line: int
    station_recording_id: str | None
    problems: list[Problem]


def check_line(raw: str, today: dt.date) -> tuple[RecordingIn | None, list[Problem]]:
    """The recording and its problems, checked exactly as the server will check it."""
    try:
        recording = RecordingIn.model_validate_json(raw)
    except ValidationError as exc:
        return None, from_pydantic_errors(exc.errors(), strip=())
    problems = check_recording(recording, today=today)
    if not recording.station_recording_id:
        problems.append(problem("station_recording_id", "field.missing"))
    return recording, problems


def enqueue(db: sqlite3.Connection, lines: Iterable[str], *, today: dt.date) -> tuple[int, int, list[Refusal]]:
    """(queued, already queued, refused). A recording with errors is refused with every field problem."""
    queued = already = 0
    refused: list[Refusal] = []
    for number, raw in enumerate(lines, start=1):
        if number == 1:  # a file saved as "UTF-8 with BOM" (Windows Notepad, spreadsheet exports)
            raw = raw.removeprefix("\ufeff")
        if not raw.strip():
            continue
        recording, problems = check_line(raw, today)
        if recording is None or any(p.severity == "error" for p in problems):
            refused.append(Refusal(number, recording.station_recording_id if recording else None, problems))
            continue
        body = recording.model_dump_json(exclude_none=True)
        srid = recording.station_recording_id
        row = db.execute("SELECT body FROM recordings WHERE station_recording_id = ?", (srid,)).fetchone()
        if row is not None:
            if row[0] == body:
                already += 1
            else:
                refused.append(Refusal(number, srid, [problem("station_recording_id", "field.invalid",
                                       detail="already queued with a different recording")]))
            continue
        db.execute("INSERT INTO recordings (station_recording_id, site, body, enqueued_at) VALUES (?, ?, ?, ?)",
                   (srid, recording.recording.site, body, _now()))
        queued += 1
    return queued, already, refused


def counts(db: sqlite3.Connection) -> dict[str, int]:
    out = {PENDING: 0, SENT: 0, REFUSED: 0}
    for state, n in db.execute("SELECT state, count(*) FROM recordings GROUP BY state"):
        out[state] = n
    return out


# ---- push ------------------------------------------------------------------------------------

class Backoff:
    """Exponential backoff with jitter: base, 2×base, 4×base, ... up to `cap` seconds."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base, self.cap, self.sleep = base, cap, sleep
        self.failures = 0

    def wait(self) -> float:
        delay = min(self.cap, self.base * 2 ** self.failures) * random.uniform(0.5, 1.0)
        self.failures += 1
        self.sleep(delay)
        return delay

    def reset(self) -> None:
        self.failures = 0


class PushRefused(Exception):
    """The server refused the whole request for a reason a retry cannot fix (credential, role)."""


@dataclass
class PushResult:
    sent: int = 0
    replayed: int = 0
    refused: int = 0
    retries: int = 0


def _pending(db: sqlite3.Connection, limit: int) -> list[tuple[int, str, str]]:
    return db.execute("SELECT seq, station_recording_id, body FROM recordings WHERE state = 'pending' "
                      "ORDER BY seq LIMIT ?", (limit,)).fetchall()


def _record_answers(db: sqlite3.Connection, batch: list[tuple[int, str, str]], answer: dict, result: PushResult) -> None:
    """Marks each recording by the server's answer for it, in one local transaction."""
    items = answer["items"]
    if len(items) != len(batch):
        raise ValueError(f"server answered {len(items)} items for {len(batch)}")
    now = _now()
    db.execute("BEGIN IMMEDIATE")
    try:
        for (seq, srid, _), item in zip(batch, items, strict=True):
            if item.get("station_recording_id") not in (None, srid):
                raise ValueError(f"answer {item['index']} is for {item.get('station_recording_id')}, not {srid}")
            status = item["status"]
            if status in (200, 201):
                enrollment = item["enrollment"]
                db.execute("UPDATE recordings SET state = 'sent', http_status = ?, receipt_number = ?, "
                           "enrollment_id = ?, error = NULL, answered_at = ?, attempts = attempts + 1 WHERE seq = ?",
                           (status, enrollment["receipt_number"], enrollment["id"], now, seq))
                result.sent += status == 201
                result.replayed += status == 200
            elif status in (403, 404, 409, 422):
                db.execute("UPDATE recordings SET state = 'refused', http_status = ?, error = ?, answered_at = ?, "
                           "attempts = attempts + 1 WHERE seq = ?", (status, json.dumps(item.get("error")), now, seq))
                result.refused += 1
            # anything else (a 5xx for one item): stays pending, sent again in the next batch
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def push(db: sqlite3.Connection, *, url: str, token: str, batch_size: int = 100, timeout: float = 60.0,
         backoff: Backoff | None = None, deadline: float | None = None,
         progress: Callable[[PushResult, int], None] = lambda result, pending: None,
         client: httpx.Client | None = None) -> PushResult:
    """Pushes every pending recording; returns when none is left (or at `deadline`, a monotonic time)."""
    backoff = backoff or Backoff()
    result = PushResult()
    own = client is None
    http = client or httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})
    size = batch_size
    try:
        while True:
            batch = _pending(db, size)
            if not batch:
                return result
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{counts(db)[PENDING]} recording(s) still pending at the deadline")
            body = gzip.compress("\n".join(b for _, _, b in batch).encode() + b"\n", compresslevel=6)
            try:
                response = http.post("/v1/enrollments/batch", content=body, headers={
                    "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
            except httpx.HTTPError:
                result.retries += 1
                backoff.wait()
                continue
            if response.status_code in (401, 403):
                raise PushRefused(f"{response.status_code}: {response.text[:300]}")
            if response.status_code == 413 and size > 1:
                size = max(1, size // 2)  # too big for the server: smaller batches
                continue
            if response.status_code != 200:
                result.retries += 1
                backoff.wait()
                continue
            try:
                answer = response.json()
                _record_answers(db, batch, answer, result)
            except ValueError:
                result.retries += 1
                backoff.wait()
                continue
            backoff.reset()
            progress(result, counts(db)[PENDING])
    finally:
        if own:
            http.close()
