"""Writing recordings: `POST /v1/enrollments/batch` (up to 1,000 in one request, one answer per
item) and the write path of the single `POST /v1/enrollments`, which shares it (group commit).

The batch body is a JSON array or NDJSON (``application/x-ndjson``), optionally gzip'd
(``Content-Encoding: gzip``). Each item's idempotency key is its ``station_recording_id``
(required here), so a station may re-send a whole batch after a cut link: what was created
answers 200 (replayed), what was not is created now. Items are independent: a refused item
(422, 403, 409, 404) does not stop the others. Accepted items are written in a few statements.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from isal import isal_zlib
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment import repository, service
from services.enrollment.models import Enrollment
from services.enrollment.schemas import RecordingIn
from services.enrollment.validation.messages import problem
from shared.auth.principal import Principal
from shared.errors import Conflict, DomainError, InvalidInput, error_body
from shared.limits import content_coding, media_type

if TYPE_CHECKING:
    from services.enrollment.group_commit import GroupCommit

MAX_ITEMS = 1000
# A realistic recording is ~15-20 KB; 1,000 of them fit with room to spare. Bigger: split the batch.
MAX_BODY_BYTES = 48 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
CONTENT_TYPES = {"application/json": "json", "application/x-ndjson": "ndjson", "application/ndjson": "ndjson"}


def payload_too_large(detail: str, code: str = "too_large") -> DomainError:
    return DomainError(detail, code=code, status_code=413)


def body_format(content_type: str | None, content_encoding: str | None) -> tuple[str, bool]:
    """(json|ndjson, gzipped) from the headers, or 415."""
    media = media_type(content_type)
    if media not in CONTENT_TYPES:
        raise DomainError(
            f"Content-Type {media or '(none)'} not accepted: send application/json (an array) or "
            "application/x-ndjson (one recording a line)", code="unsupported_media_type", status_code=415)
    encoding = content_coding(content_encoding)
    if encoding not in ("identity", "gzip"):
        raise DomainError(f"Content-Encoding {encoding} not accepted: send gzip or none",
                          code="unsupported_media_type", status_code=415)
    return CONTENT_TYPES[media], encoding == "gzip"


def _too_large() -> DomainError:
    return payload_too_large(f"batch body over {MAX_BODY_BYTES // (1024 * 1024)} MiB (uncompressed): "
                           "send fewer recordings per batch")


def _gzip_member() -> Any:
    return isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)


async def read_body(chunks: AsyncIterator[bytes], *, gzipped: bool, content_length: int | None) -> bytearray:
    """The (decompressed) body, refusing with 413 as soon as it is known to be too big, gzip bombs too.
    Not copied into `bytes`: parsed as it is.

    A gzip body may be several members one after another (RFC 1952, 2.2; what ``cat a.gz b.gz``
    or a client compressing as it goes sends): every member is read, not only the first (which
    dropped the rest unsaid). Anything after a member that is not a whole member is refused
    (422 invalid_gzip)."""
    if content_length is not None and content_length > MAX_BODY_BYTES:
        raise _too_large()
    inflater = _gzip_member() if gzipped else None  # the member being read; None between members
    out = bytearray()
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > MAX_BODY_BYTES:
            raise _too_large()
        if not gzipped:
            out += chunk
            continue
        while chunk:
            inflater = inflater or _gzip_member()
            try:
                out += inflater.decompress(chunk, MAX_BODY_BYTES + 1 - len(out))
            except isal_zlib.error:
                raise InvalidInput("body is not valid gzip", code="invalid_gzip") from None
            if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
                raise _too_large()
            if not inflater.eof:
                break
            chunk, inflater = inflater.unused_data, None
    if inflater is not None:
        out += inflater.flush()
        if not inflater.eof:
            raise InvalidInput("gzip body is truncated, or ends in bytes that are not gzip", code="invalid_gzip")
    return out


def split_items(body: bytes | bytearray, kind: str) -> list[Any]:
    """The raw items: parsed JSON values, or, for an NDJSON line that is not JSON, the line (a 422 item).
    A UTF-8 byte-order mark at the start (a file saved "UTF-8 with BOM") is not part of the JSON."""
    if body.startswith(BOM):
        body = body[len(BOM):]
    if kind == "json":
        try:
            items = orjson.loads(body)
        except ValueError as exc:
            raise InvalidInput(f"body is not JSON: {exc}", code="invalid_json") from None
        if not isinstance(items, list):
            raise InvalidInput("a batch is a JSON array of recordings (or NDJSON)", code="invalid_json")
    else:
        items = []
        for line in _lines(body):
            try:
                items.append(orjson.loads(line))
            except ValueError:
                if bytes(line).strip():  # a blank line is skipped
                    items.append(_BadLine(bytes(line[:80]).decode(errors="replace")))
    if len(items) > MAX_ITEMS:
        raise payload_too_large(f"{len(items)} recordings in one batch; at most {MAX_ITEMS}", code="too_many_items")
    if not items:
        raise InvalidInput("empty batch", code="empty_batch")
    return items


def _lines(body: bytes | bytearray) -> Iterator[memoryview]:
    """The lines of an NDJSON body (``\\n``-separated; a ``\\r`` before it is JSON whitespace), as
    views, not copies: `bytes.splitlines` walks the body byte by byte and copies every line (29 us
    a 17 KB recording); `find` is memchr (1 us)."""
    view = memoryview(body)
    start = 0
    while start < len(body):
        end = body.find(b"\n", start)
        end = len(body) if end < 0 else end
        yield view[start:end]
        start = end + 1


@dataclass
class _BadLine:
    start: str


@dataclass
class ItemAnswer:
    index: int
    status: int
    station_recording_id: str | None = None
    enrollment: Enrollment | dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    exc: DomainError | None = None  # what `error` was made from (the single POST raises it)


@dataclass
class Ready:
    """A recording that passed the counter checks, ready to be written."""

    index: int
    principal: Principal
    recording: RecordingIn
    data: dict[str, Any]  # service.as_json(recording)
    key: str | None  # the idempotency key; None: no replay protection (single POST without one)
    digest: str
    warnings: list = field(default_factory=list)


def hashed(index: int, recording: RecordingIn, principal: Principal, key: str | None) -> Ready:
    """The site check of one recording (DomainError if refused), and its hash: enough to find a replay."""
    principal.require_site(recording.recording.site)
    data = service.as_json(recording)
    return Ready(index, principal, recording, data, key, service.request_hash(data))


def _refused(index: int, srid: str | None, exc: DomainError) -> ItemAnswer:
    return ItemAnswer(index, exc.status_code, srid, error=error_body(exc.code, exc.detail, exc.fields, **exc.extra),
                      exc=exc)


def _replay(r: Ready, earlier: Enrollment) -> ItemAnswer:
    """The answer to a key already used: the first answer (the same recording), or a 409."""
    if earlier.request_hash == r.digest:
        return ItemAnswer(r.index, 200, r.key, earlier)
    return _refused(r.index, r.key, service.key_conflict(r.key, earlier))


def _parse(index: int, raw: Any, principal: Principal, today: dt.date) -> Ready | ItemAnswer:
    """One item, validated, site-checked and hashed (its counter checks still to come), or its refusal."""
    srid = raw.get("station_recording_id") if isinstance(raw, dict) else None
    srid = srid if isinstance(srid, str) else None
    if isinstance(raw, _BadLine):
        return _refused(index, None, InvalidInput(f"line is not JSON: {raw.start!r}", code="invalid_json"))
    try:
        recording = service.parse_recording(raw, today)
    except InvalidInput as exc:
        return _refused(index, srid, exc)
    if not recording.station_recording_id:
        return _refused(index, None, InvalidInput(service.REFUSED, fields=[
            problem("station_recording_id", "field.missing")]))
    try:
        return hashed(index, recording, principal, recording.station_recording_id)
    except DomainError as exc:
        return _refused(index, recording.station_recording_id, exc)


def _checked(r: Ready, today: dt.date, sites: Sequence[str]) -> Ready | ItemAnswer:
    try:
        r.warnings = service.counter_check(r.recording, today, sites)
    except DomainError as exc:
        return _refused(r.index, r.key, exc)
    return r


async def submit_one(session: AsyncSession, writer: "GroupCommit", principal: Principal, recording: RecordingIn, *,
                     key: str | None, today: dt.date, sites: Sequence[str]) -> ItemAnswer:
    """`POST /v1/enrollments`: checks here, written by the group commit; DomainError if refused."""
    ready = hashed(0, recording, principal, key)
    try:
        ready.warnings = service.counter_check(recording, today, sites)
    except InvalidInput:
        # A retry of a recording accepted under yesterday's rules (the age rule moves with the date).
        replay = await service.find_replay(session, recording, key, ready.digest)
        if replay is None:
            raise
        return ItemAnswer(0, 200, key, replay)
    # Give the request's connection back while waiting: the group's transaction needs one.
    await session.rollback()
    answer = await writer.write(ready)
    if answer.exc is not None:
        raise answer.exc
    return answer


async def submit_batch(session: AsyncSession, principal: Principal, items: list[Any], *,
                       today: dt.date, sites: Sequence[str]) -> list[ItemAnswer]:
    """One answer per item, in order. Commits.

    A re-sent batch (its first answer lost on a cut link) is answered from what the first one
    created: a recording already accepted under its key replays its first answer without being
    checked again, so neither a change of the rules or of the region table since, nor the date
    (the age rule), turns a recording the server holds into a refusal at the station; and a
    re-send costs a lookup, not the checks."""
    answers: dict[int, ItemAnswer] = {}
    parsed: list[Ready] = []
    for index, raw in enumerate(items):
        item = _parse(index, raw, principal, today)
        if isinstance(item, ItemAnswer):
            answers[index] = item
        else:
            parsed.append(item)
        # Parsing and checking 1,000 recordings take the CPU for a second: let the other requests
        # of this process run between items (here and below).
        await asyncio.sleep(0)
    existing = await repository.by_idempotency_keys(session, {(r.recording.recording.site, r.key) for r in parsed})
    # Detached, the rows answered with stay readable; no connection is held during the checks.
    session.expunge_all()
    await session.rollback()
    ready: list[Ready] = []
    for r in parsed:
        earlier = existing.get((r.recording.recording.site, r.key))
        checked = _replay(r, earlier) if earlier is not None else _checked(r, today, sites)
        if isinstance(checked, ItemAnswer):
            answers[r.index] = checked
        else:
            ready.append(checked)
        await asyncio.sleep(0)
    answers.update(await commit(session, ready))
    return [answers[i] for i in range(len(items))]


async def commit(session: AsyncSession, ready: list[Ready]) -> dict[int, ItemAnswer]:
    """Writes ready recordings in one transaction and commits. A lost race (a concurrent request
    created one of the keys first: IntegrityError) is retried; those keys then answer as replays."""
    for attempt in range(3):
        try:
            answers = await write(session, ready)
            await session.commit()
            return answers
        except IntegrityError:
            await session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def write(session: AsyncSession, ready: list[Ready]) -> dict[int, ItemAnswer]:
    """An answer per ready recording (by index): created, replayed (its key was used for the same
    recording), or refused. Accepted ones are written in three statements. Flushes only."""
    answers: dict[int, ItemAnswer] = {}
    existing = await repository.by_idempotency_keys(
        session, {(r.recording.recording.site, r.key) for r in ready if r.key})
    first_in_batch: dict[tuple[str, str], Ready] = {}
    to_create: list[Ready] = []
    repeats: list[tuple[Ready, Ready]] = []
    for r in ready:
        slot = (r.recording.recording.site, r.key)
        earlier = existing.get(slot) if r.key else None
        if earlier is not None:
            answers[r.index] = _replay(r, earlier)
        elif r.key and slot in first_in_batch:
            repeats.append((r, first_in_batch[slot]))
        else:
            if r.key:
                first_in_batch[slot] = r
            to_create.append(r)

    now = dt.datetime.now(dt.UTC)
    created: dict[int, service.NewRecord] = {}
    for r in to_create:
        try:
            correction = await service.correction_of(session, r.recording)
        except DomainError as exc:
            answers[r.index] = _refused(r.index, r.key, exc)
            continue
        # A microsecond apart, so that the backlog keeps the batch's order.
        created[r.index] = service.new_record(r.principal, r.recording, r.data, key=r.key, digest=r.digest,
                                              warnings=r.warnings, correction=correction,
                                              now=now + dt.timedelta(microseconds=len(created)))
        answers[r.index] = ItemAnswer(r.index, 201, r.key, created[r.index].row)
    await service.insert_new(session, list(created.values()))

    for r, first in repeats:  # the same key twice in one batch: a replay of the first, or a conflict
        before = answers[first.index]
        if before.status not in (200, 201):
            answers[r.index] = ItemAnswer(r.index, before.status, r.key, error=before.error, exc=before.exc)
        elif first.digest == r.digest:
            answers[r.index] = ItemAnswer(r.index, 200, r.key, before.enrollment)
        else:
            answers[r.index] = _refused(r.index, r.key, Conflict(
                f"idempotency key {r.key!r} came twice at once with different recordings",
                code="idempotency_key_reused"))
    return answers
