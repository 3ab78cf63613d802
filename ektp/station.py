"""`ektp station`: a kecamatan's store-and-forward client.

Recordings are checked at the counter with the server's own validation code, kept in a local
SQLite queue while the link is down, and pushed when it is up: gzip'd NDJSON batches to
`POST /v1/enrollments/batch`, exponential backoff on any failure, resumable after a crash or a
power cut. A recording is marked sent only after the server answered for it; a re-sent one is
answered as a replay (its station_recording_id is its idempotency key), so nothing is recorded
twice. Each push first asks the server which pickup sites its dinas serves
(`GET /v1/enrollments/sites`, answered as a batch is: a refused credential stops the push, a failure
is retried) and keeps the list in the queue's database, so that the counter refuses a pickup site
outside the dinas while the resident is still there, offline too.

    ektp station enqueue recordings.ndjson --queue var/station.db
    ektp station push --url https://dinas.example --token ektp_... --queue var/station.db
    ektp station status --queue var/station.db
    ektp station refused --queue var/station.db          # which the server refused, and why
    ektp station requeue --all --queue var/station.db    # send them again once the cause is fixed
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import sqlite3
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from pydantic import ValidationError

from services.enrollment.schemas import RecordingIn
from services.enrollment.validation import check_recording, check_served, every_problem
from services.enrollment.validation.messages import problem
from services.enrollment.validation.problems import Problem
from shared import regions
from shared.errors import problems_from_pydantic

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
-- The pickup sites the server last said its dinas serves (one row; none until a push reached it).
CREATE TABLE IF NOT EXISTS served_sites (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sites TEXT NOT NULL,
    learned_from TEXT NOT NULL,
    learned_at TEXT NOT NULL
);
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


# ---- the pickup sites the dinas serves -------------------------------------------------------

SITES_PATH = "/v1/enrollments/sites"


@dataclass(frozen=True)
class ServedSites:
    """The sites the server last said its dinas serves (the dinas's code, then its kecamatan's), from
    which URL and when."""

    sites: tuple[str, ...]
    learned_from: str
    learned_at: str


def served_sites(db: sqlite3.Connection) -> ServedSites | None:
    """The last list learned from the server; None if no push ever reached it."""
    row = db.execute("SELECT sites, learned_from, learned_at FROM served_sites WHERE id = 1").fetchone()
    return None if row is None else ServedSites(tuple(json.loads(row[0])), row[1], row[2])


def remember_sites(db: sqlite3.Connection, sites: Sequence[str], learned_from: str) -> bool:
    """Keeps `sites` as the last known list; True if it is not the list kept before."""
    before = served_sites(db)
    db.execute("INSERT INTO served_sites (id, sites, learned_from, learned_at) VALUES (1, ?, ?, ?) "
               "ON CONFLICT (id) DO UPDATE SET sites = excluded.sites, learned_from = excluded.learned_from, "
               "learned_at = excluded.learned_at", (json.dumps(list(sites)), learned_from, _now()))
    return before is None or before.sites != tuple(sites)


def sites_of(answer: Any) -> tuple[str, ...]:
    """The sites of the server's answer to GET /v1/enrollments/sites; BadAnswer if it is not one."""
    sites = answer.get("sites") if isinstance(answer, dict) else None
    if (not isinstance(sites, list) or not sites or not all(isinstance(s, str) and regions.site(s) for s in sites)
            or answer.get("dinas") != sites[0]):
        raise BadAnswer("not the dinas and its sites")
    return tuple(sites)


def learn_sites(db: sqlite3.Connection, http: httpx.Client, *, timeout: Any = httpx.USE_CLIENT_DEFAULT) -> str:
    """Asks the server which pickup sites its dinas serves and keeps them; returns a note for the
    operator: the list if it is new, else "". Raises as for a batch's answer: PushRefused (401/403, the
    credential), NotTheApi (404/405, a redirect, TLS refused), and for what a retry may fix httpx.HTTPError (the
    link) or BadAnswer (any other status, an answer that is not the sites)."""
    response = http.get(SITES_PATH, timeout=timeout)
    _stop_if_final(response)
    if response.status_code != 200:
        raise BadAnswer(f"GET {response.request.url} answered {_error_of(response)}")
    try:
        sites = sites_of(response.json())
    except ValueError as exc:  # BadAnswer, or a body that is not JSON
        raise BadAnswer(f"bad answer: {str(exc) or 'not JSON'}") from None
    changed = remember_sites(db, sites, str(response.request.url))
    return f"pickup sites served, checked at enqueue from now on: {', '.join(sites)}" if changed else ""


def sites_kept(db: sqlite3.Connection) -> str:
    """What enqueue checks pickup sites with while a push has not learned them."""
    known = served_sites(db)
    return (f"enqueue checks pickup sites with the list learned {known.learned_at}" if known else
            "enqueue cannot check pickup sites until a push learns them")


# ---- enqueue ---------------------------------------------------------------------------------

@dataclass
class Refusal:
    line: int
    station_recording_id: str | None
    problems: list[Problem]


class NotUtf8(ValueError):
    """The input is not UTF-8 text (a UTF-16 or Latin-1 export): refused as a whole, naming the line."""

    def __init__(self, line: int, raw: bytes, exc: UnicodeDecodeError) -> None:
        utf16 = line == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        super().__init__(f"line {line} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} "
                         f"of the line){'; the file is UTF-16' if utf16 else ''}: save the file as UTF-8")
        self.line = line


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """Each line of `stream` decoded as UTF-8; NotUtf8 at the first line that is not."""
    for number, raw in enumerate(stream, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotUtf8(number, raw, exc) from None


def check_utf8(stream: BinaryIO) -> None:
    """Reads the whole input once, so that a file that is not UTF-8 is refused before anything is
    queued rather than half-way through (and then rewinds it)."""
    for _ in read_lines(stream):
        pass
    stream.seek(0)


def check_line(raw: str, today: dt.date, sites: Sequence[str] | None = None
               ) -> tuple[RecordingIn | None, list[Problem]]:
    """The recording and its problems, checked exactly as the server will check it; its pickup site
    against `sites`, the sites the dinas serves, if they are known."""
    # Not service.parse_recording (server code: database, outbox; decoded JSON): here a JSON error says where it is.
    try:
        recording = RecordingIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            return None, problems_from_pydantic(errors, strip=())
        return None, every_problem(errors, json.loads(raw), today)  # a wrong field hides no other problem
    problems = check_recording(recording, today=today)
    if sites:
        problems += check_served(recording, sites)
    if not recording.station_recording_id:
        problems.append(problem("station_recording_id", "field.missing"))
    return recording, problems


@dataclass
class Enqueued:
    queued: int = 0  # new recordings, and corrections of refused ones (also in `replaced`)
    already: int = 0  # the same recording already in the queue
    replaced: list[str] = field(default_factory=list)  # ids the server had refused, now queued corrected
    refused: list[Refusal] = field(default_factory=list)
    sites: ServedSites | None = None  # the list pickup sites were checked against; None: not checked


def enqueue(db: sqlite3.Connection, lines: Iterable[str], *, today: dt.date) -> Enqueued:
    """Queues the good recordings; a recording with errors is refused with every field problem.

    A station_recording_id already queued with another recording: if the server refused it (it
    stored nothing under the id), the new one is its correction and replaces it, pending again;
    if it is pending or was accepted, the new one is refused (the server may hold the first).

    A pickup site is checked against the sites the dinas serves as the last push learned them
    (`pickup_site.not_served`, as the server says it); before any push learned them, it is not."""
    out = Enqueued(sites=served_sites(db))
    sites = out.sites.sites if out.sites else None
    for number, raw in enumerate(lines, start=1):
        # Parsed without its line ending, so that a JSON error's position is on this line, not the next.
        raw = raw.rstrip("\r\n")
        if number == 1:  # a file saved as "UTF-8 with BOM" (Windows Notepad, spreadsheet exports)
            raw = raw.removeprefix("\ufeff")
        if not raw.strip():
            continue
        recording, problems = check_line(raw, today, sites)
        if recording is None or any(p.severity == "error" for p in problems):
            out.refused.append(Refusal(number, recording.station_recording_id if recording else None, problems))
            continue
        body = recording.model_dump_json(exclude_none=True)
        srid = recording.station_recording_id
        row = db.execute("SELECT body, state FROM recordings WHERE station_recording_id = ?", (srid,)).fetchone()
        if row is None:
            db.execute("INSERT INTO recordings (station_recording_id, site, body, enqueued_at) VALUES (?, ?, ?, ?)",
                       (srid, recording.recording.site, body, _now()))
            out.queued += 1
        elif row[0] == body:
            out.already += 1
        elif row[1] == REFUSED and _replace_refused(db, srid, recording.recording.site, body, row[0]):
            out.replaced.append(srid)
            out.queued += 1
        else:
            out.refused.append(Refusal(number, srid, [problem("station_recording_id", "field.invalid",
                                                              detail=_taken(db, srid))]))
    return out


def _replace_refused(db: sqlite3.Connection, srid: str, site: str, body: str, refused_body: str) -> bool:
    """The refused recording `srid` replaced by its correction, pending again; False if it is no longer
    the refused one (requeued and pushed meanwhile)."""
    replaced = db.execute(
        "UPDATE recordings SET body = ?, site = ?, state = 'pending', http_status = NULL, error = NULL, "
        "receipt_number = NULL, enrollment_id = NULL, answered_at = NULL, enqueued_at = ? "
        "WHERE station_recording_id = ? AND state = 'refused' AND body = ?", (body, site, _now(), srid, refused_body))
    return replaced.rowcount == 1


def _taken(db: sqlite3.Connection, srid: str) -> str:
    """Why a different recording may not take the id `srid`."""
    state, receipt = db.execute("SELECT state, receipt_number FROM recordings WHERE station_recording_id = ?",
                                (srid,)).fetchone()
    if state == SENT:
        return (f"already accepted by the server with a different recording (receipt {receipt}): "
                "a correction is a new recording with previous_enrollment_id")
    return ("already queued with a different recording, not answered by the server yet: push it first; "
            "if the server refuses it, enqueue the corrected one again")


def counts(db: sqlite3.Connection) -> dict[str, int]:
    out = {PENDING: 0, SENT: 0, REFUSED: 0}
    for state, n in db.execute("SELECT state, count(*) FROM recordings GROUP BY state"):
        out[state] = n
    return out


# ---- refused recordings ----------------------------------------------------------------------

def describe_error(status: int | None, error: Any) -> str:
    """`403 wrong_site: credential of site … may not act for site …`, from the one error shape."""
    if not isinstance(error, dict):
        return f"{status}" + (f": {error}" if error else "")
    text = f"{status} {error.get('error') or 'error'}"
    return text + (f": {error['detail']}" if error.get("detail") else "")


@dataclass
class RefusedRecording:
    station_recording_id: str
    http_status: int | None
    error: Any  # the server's error body for this recording

    def describe(self) -> str:
        """One line: the recording, the server's status, error code and detail, then each field problem."""
        parts = [f"{self.station_recording_id}  {describe_error(self.http_status, self.error)}"]
        fields = self.error.get("fields") if isinstance(self.error, dict) else None
        for p in fields or []:
            if isinstance(p, dict):
                parts.append(f"{p.get('field')}: {p.get('code')} — {p.get('message_en')} / {p.get('message_id')}")
        return "; ".join(parts)


def refused_recordings(db: sqlite3.Connection) -> list[RefusedRecording]:
    """The recordings the server refused, in queue order, with the error it gave for each."""
    rows = db.execute("SELECT station_recording_id, http_status, error FROM recordings WHERE state = 'refused' "
                      "ORDER BY seq").fetchall()
    return [RefusedRecording(srid, status, _json_or_text(error)) for srid, status, error in rows]


def _json_or_text(stored: str | None) -> Any:
    try:
        return json.loads(stored) if stored else None
    except ValueError:
        return stored


def requeue(db: sqlite3.Connection, ids: Iterable[str] | None) -> tuple[list[str], dict[str, str]]:
    """Puts refused recordings (`ids`, or all of them if None) back to pending, for the operator who fixed
    the cause (a wrong credential, a missing previous enrollment). Returns (requeued, {id: why not})."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if ids is None:
            ids = [srid for (srid,) in db.execute("SELECT station_recording_id FROM recordings "
                                                  "WHERE state = 'refused' ORDER BY seq")]
        done: list[str] = []
        skipped: dict[str, str] = {}
        for srid in ids:
            row = db.execute("SELECT state FROM recordings WHERE station_recording_id = ?", (srid,)).fetchone()
            if row is None or row[0] != REFUSED:
                skipped[srid] = "not in this queue" if row is None else f"not refused ({row[0]})"
                continue
            db.execute("UPDATE recordings SET state = 'pending', http_status = NULL, error = NULL, answered_at = NULL "
                       "WHERE station_recording_id = ?", (srid,))
            done.append(srid)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return done, skipped


# ---- push ------------------------------------------------------------------------------------

class Backoff:
    """Exponential backoff with jitter: base, 2×base, 4×base, ... up to `cap` seconds."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base, self.cap, self.sleep = base, cap, sleep
        self.failures = 0

    def next_delay(self) -> float:
        """The next wait, counted as a failure; the caller sleeps (and may shorten it to a deadline)."""
        delay = min(self.cap, self.base * 2 ** self.failures) * random.uniform(0.5, 1.0)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class BatchSize:
    """Recordings per request. A link that cuts every long request (a proxy's byte limit) never carries a
    whole batch, so after 2 failures of the POST itself in a row the batch is halved (down to 1); after
    4 successful batches in a row it is doubled again, up to the configured size. A refused connect is
    not counted: that link is down, a smaller batch would not help."""

    HALVE_AFTER, GROW_AFTER = 2, 4

    def __init__(self, configured: int) -> None:
        self.ceiling = self.size = max(1, configured)
        self.cut = self.good = 0

    def post_failed(self) -> bool:
        """Counts a POST cut short or timed out; True if the batch was halved."""
        self.cut, self.good = self.cut + 1, 0
        if self.cut < self.HALVE_AFTER or self.size == 1:
            return False
        self.size, self.cut = max(1, self.size // 2), 0
        return True

    def answered(self) -> None:
        """The link carried a request and its answer."""
        self.cut = 0

    def succeeded(self) -> bool:
        """Counts a batch recorded; True if the batch was doubled."""
        self.good += 1
        if self.good < self.GROW_AFTER or self.size >= self.ceiling:
            return False
        self.size, self.good = min(self.ceiling, self.size * 2), 0
        return True

    def too_large(self) -> bool:
        """The server's own limit (413): never grow past half of this size again. False if already 1."""
        if self.size == 1:
            return False
        self.ceiling = self.size = max(1, self.size // 2)
        return True


class PushRefused(Exception):
    """The server refused this station's credential (401/403, for the request or for its recordings): a
    retry cannot fix it, and the recordings are not at fault, so they stay pending."""


class NotTheApi(Exception):
    """What answers at the URL is not the ektp enrollment API (404/405, a redirect, a TLS handshake that
    fails on TLS itself): a wrong --url, not a link that is down, so retrying forever would only hide it."""


class BadAnswer(ValueError):
    """A 200 that is not a batch answer for this batch (no items, too few, ...): retried like a cut link."""


@dataclass
class PushResult:
    sent: int = 0
    replayed: int = 0
    refused: int = 0
    retries: int = 0


# progress(result, pending, note): note is "" after a batch was recorded, else what happened (a retry).
ProgressFn = Callable[[PushResult, int, str], None]

# The POST failed on the way (cut mid-request or mid-answer, no answer in time), as opposed to a connect
# that was refused or timed out: only these say that the batch may be too big for the link.
_CUT_SHORT = (httpx.ReadError, httpx.WriteError, httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError)
_CAUSES = {httpx.ConnectError: "cannot connect", httpx.ConnectTimeout: "cannot connect",
           httpx.ReadTimeout: "no answer", httpx.WriteTimeout: "could not send", httpx.ReadError: "connection cut",
           httpx.WriteError: "connection cut", httpx.RemoteProtocolError: "connection cut"}


def check_url(url: str) -> str:
    """The base URL without a trailing slash; ValueError for one without http(s):// or a host, which
    would otherwise fail every request and be retried like a link that is down."""
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise ValueError(f"{url!r} is not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} must start with http:// or https:// (e.g. https://dinas.example)")
    if not parsed.host:
        raise ValueError(f"{url!r} names no host")
    return str(parsed).rstrip("/")


def _cause(exc: httpx.HTTPError) -> str:
    """A short cause for the operator: `cannot connect ([Errno 111] Connection refused)`."""
    kind = next((text for cls, text in _CAUSES.items() if isinstance(exc, cls)), type(exc).__name__)
    return f"{kind} ({exc})" if str(exc) else kind


# A TLS error under a failed connect that a retry cannot fix (the server speaks no TLS at the port, its
# certificate is not trusted), as opposed to a handshake cut short by the link (EOF, a reset).
_TLS_CUT_SHORT = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


def _stop_if_tls_refused(exc: httpx.HTTPError) -> None:
    """Raises NotTheApi for a request that failed on TLS itself: a wrong --url (https:// to a plain HTTP
    port) or a server misconfigured, which a retry would only repeat, forever without --give-up-after."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if cause is None or isinstance(cause, _TLS_CUT_SHORT):
        return
    if isinstance(cause, ssl.SSLCertVerificationError):
        hint = "the server's certificate is not trusted for this host"
    elif cause.reason == "WRONG_VERSION_NUMBER":
        hint = "the server speaks plain HTTP at this port (http:// ?)"
    else:
        hint = "the server's TLS does not agree with this station's"
    raise NotTheApi(f"{exc.request.method} {exc.request.url} failed on TLS ({exc}): {hint}")


def _error_of(response: httpx.Response) -> str:
    try:
        return describe_error(response.status_code, response.json())
    except ValueError:
        return describe_error(response.status_code, response.text[:200].strip() or response.reason_phrase)


def _stop_if_final(response: httpx.Response) -> None:
    """Raises for answers a retry cannot change: the credential refused, or no ektp API at this URL."""
    status, asked = response.status_code, f"{response.request.method} {response.request.url}"
    if status in (401, 403):
        raise PushRefused(_error_of(response))
    if status in (404, 405):
        raise NotTheApi(f"{asked} answered {status} {response.reason_phrase}: the URL does "
                        "not lead to the ektp enrollment API (give the service's or the gateway's root URL)")
    if 300 <= status < 400:
        raise NotTheApi(f"{asked} answered {status} {response.reason_phrase}, redirected to "
                        f"{response.headers.get('location', '?')}: give that URL")


def _pending(db: sqlite3.Connection, limit: int) -> list[tuple[int, str, str]]:
    return db.execute("SELECT seq, station_recording_id, body FROM recordings WHERE state = 'pending' "
                      "ORDER BY seq LIMIT ?", (limit,)).fetchall()


def _items(answer: Any, count: int) -> list[dict]:
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadAnswer("the answer has no list of items")
    if len(items) != count:
        raise BadAnswer(f"server answered {len(items)} items for {count}")
    return items


def _record_answers(db: sqlite3.Connection, batch: list[tuple[int, str, str]], answer: Any,
                    result: PushResult) -> list[tuple[str, int, Any]]:
    """Marks each recording by the server's answer for it, in one local transaction. Returns the items
    refused for the credential (401/403: (station_recording_id, status, error)), left pending."""
    items = _items(answer, len(batch))
    now = _now()
    tally = PushResult()
    denied: list[tuple[str, int, Any]] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for (seq, srid, _), item in zip(batch, items, strict=True):
            if item.get("station_recording_id") not in (None, srid):
                raise BadAnswer(f"answer {item.get('index')} is for {item.get('station_recording_id')}, not {srid}")
            status = item.get("status")
            if status in (200, 201):
                enrollment = item.get("enrollment")
                if not isinstance(enrollment, dict) or not {"receipt_number", "id"} <= enrollment.keys():
                    raise BadAnswer(f"answer {item.get('index')} ({status}) has no enrollment")
                db.execute("UPDATE recordings SET state = 'sent', http_status = ?, receipt_number = ?, "
                           "enrollment_id = ?, error = NULL, answered_at = ?, attempts = attempts + 1 WHERE seq = ?",
                           (status, enrollment["receipt_number"], enrollment["id"], now, seq))
                tally.sent += status == 201
                tally.replayed += status == 200
            elif status in (401, 403):  # about the credential, not the recording: stays pending
                denied.append((srid, status, item.get("error")))
            elif status in (404, 409, 422):
                db.execute("UPDATE recordings SET state = 'refused', http_status = ?, error = ?, answered_at = ?, "
                           "attempts = attempts + 1 WHERE seq = ?", (status, json.dumps(item.get("error")), now, seq))
                tally.refused += 1
            # anything else (a 5xx for one item): stays pending, sent again in the next batch
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    result.sent, result.replayed = result.sent + tally.sent, result.replayed + tally.replayed
    result.refused += tally.refused
    return denied


def _denied(denied: list[tuple[str, int, Any]]) -> PushRefused:
    srid, status, error = denied[0]
    more = f" (and {len(denied) - 1} other recording(s))" if len(denied) > 1 else ""
    return PushRefused(f"{describe_error(status, error)} — for recording {srid}{more}")


class _Pusher:
    """One push: the batches, the retries (each reported through `progress`), and the deadline."""

    def __init__(self, db: sqlite3.Connection, http: httpx.Client, *, batch_size: int, timeout: float,
                 backoff: Backoff, deadline: float | None, progress: ProgressFn) -> None:
        self.db, self.http, self.timeout, self.backoff = db, http, timeout, backoff
        self.deadline, self.progress = deadline, progress
        self.size = BatchSize(batch_size)
        self.result = PushResult()
        self.last_failure = ""
        self.sites_learned = False

    def run(self) -> PushResult:
        self._learn_sites()
        while batch := _pending(self.db, self.size.size):
            self._check_deadline()
            self._send(batch)
        return self.result

    def _learn_sites(self) -> None:
        """The pickup sites served, first: a refused credential or a wrong URL stops the push before any
        batch, even with nothing pending; a link that fails or an odd answer is retried like a batch."""
        while True:
            self._check_deadline()
            try:
                note = learn_sites(self.db, self.http, timeout=self._request_timeout())
            except httpx.HTTPError as exc:
                _stop_if_tls_refused(exc)
                self._retry(_cause(exc))
            except BadAnswer as exc:
                self._retry(str(exc))
            else:
                self.sites_learned = True
                self.backoff.reset()
                if note:
                    self.progress(self.result, self._pending_count(), note)
                return

    def _send(self, batch: list[tuple[int, str, str]]) -> None:
        response = self._post(batch)
        if response is None:
            return
        _stop_if_final(response)
        if response.status_code == 413 and self.size.too_large():
            self.progress(self.result, self._pending_count(),
                          f"the server found {len(batch)} recordings too large: batches of {self.size.size}")
        elif response.status_code != 200:
            self._retry(_error_of(response))
        else:
            self._record(batch, response)

    def _post(self, batch: list[tuple[int, str, str]]) -> httpx.Response | None:
        """The server's answer, or None after a failed POST (reported, waited for)."""
        body = gzip.compress("\n".join(b for _, _, b in batch).encode() + b"\n", compresslevel=6)
        try:
            response = self.http.post("/v1/enrollments/batch", content=body, timeout=self._request_timeout(),
                                      headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
        except httpx.HTTPError as exc:
            _stop_if_tls_refused(exc)
            cause = _cause(exc)
            if isinstance(exc, _CUT_SHORT) and self.size.post_failed():
                cause += f"; batches of {self.size.size} from now on"
            self._retry(cause)
            return None
        self.size.answered()
        return response

    def _record(self, batch: list[tuple[int, str, str]], response: httpx.Response) -> None:
        try:
            denied = _record_answers(self.db, batch, response.json(), self.result)
        except ValueError as exc:  # not JSON, or not a batch answer
            self._retry(f"bad answer: {exc}")
            return
        if denied:
            raise _denied(denied)
        self.backoff.reset()
        grown = self.size.succeeded()
        self.progress(self.result, self._pending_count(), f"batches of {self.size.size} from now on" if grown else "")

    def _retry(self, cause: str) -> None:
        """Reports the failure and waits before the next try, never past the deadline."""
        self.result.retries += 1
        self.last_failure = cause
        delay = self.backoff.next_delay()
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - time.monotonic()))
        self.progress(self.result, self._pending_count(), f"retry {self.backoff.failures} in {delay:.1f} s: {cause}")
        self.backoff.sleep(delay)

    def _request_timeout(self) -> Any:
        """The client's timeout, shortened so that a request that hangs does not outlast the deadline."""
        if self.deadline is None:
            return httpx.USE_CLIENT_DEFAULT
        return max(0.1, min(self.timeout, self.deadline - time.monotonic()))

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            last = f"; last failure: {self.last_failure}" if self.last_failure else ""
            sites = "" if self.sites_learned else f"; pickup sites served not learned, {sites_kept(self.db)}"
            raise TimeoutError(f"{self._pending_count()} recording(s) still pending at the deadline{last}{sites}")

    def _pending_count(self) -> int:
        return counts(self.db)[PENDING]


def push(db: sqlite3.Connection, *, url: str, token: str, batch_size: int = 100, timeout: float = 60.0,
         backoff: Backoff | None = None, deadline: float | None = None,
         progress: ProgressFn = lambda result, pending, note: None,
         client: httpx.Client | None = None) -> PushResult:
    """Pushes every pending recording; returns when none is left, raises TimeoutError at `deadline` (a
    monotonic time), PushRefused if the credential is refused, NotTheApi if the URL is wrong (or TLS
    fails on TLS itself), ValueError for a URL that is not http(s)."""
    http = client or httpx.Client(base_url=check_url(url), timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})
    try:
        return _Pusher(db, http, batch_size=batch_size, timeout=timeout, backoff=backoff or Backoff(),
                       deadline=deadline, progress=progress).run()
    finally:
        if client is None:
            http.close()
