"""`ektp station` pushes through a link that drops: nothing lost, nothing recorded twice.

The enrollment service runs as its own process on PostgreSQL + RabbitMQ; the station talks to it
through a proxy on loopback that cuts connections mid-request and mid-answer, and the first
push is killed (kill -9, a power cut) half-way and started again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.enrollment.service_app import services_only
from tests.support.api import auth, eventually, recording
from tests.support.flaky_proxy import FlakyProxy
from tests.support.processes import Proc, ektp

SITE = "53.71.04"
COUNT = 300


@pytest.fixture
def enrollment_service(pg_url, amqp_url, token, tmp_path):
    c = services_only(pg_url, amqp_url, token, tmp_path, "enrollment")
    yield c
    c.stop()


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(ektp(*args), env=env, capture_output=True, text=True, timeout=300)


def queue_counts(queue: Path) -> dict[str, int]:
    with sqlite3.connect(queue) as db:
        return dict(db.execute("SELECT state, count(*) FROM recordings GROUP BY state").fetchall())


async def all_receipts(client: httpx.AsyncClient) -> list[str]:
    receipts, offset = [], 0
    while True:
        page = (await client.get("/v1/enrollments", params={"site": SITE, "limit": 200, "offset": offset})).json()
        receipts += [e["receipt_number"] for e in page["items"]]
        offset += 200
        if offset >= page["total"]:
            return receipts


@pytest.mark.slow
async def test_station_pushes_through_a_dropping_link_without_loss_or_doubles(enrollment_service, token, tmp_path):
    env = {**enrollment_service.env, "EKTP_LOG_LEVEL": "WARNING"}
    created = run(env, "credentials", "create", "--name", "Oebobo station 1", "--role", "station", "--site", SITE)
    assert created.returncode == 0, created.stderr
    station_token = json.loads(created.stdout)["token"]

    source = tmp_path / "recordings.ndjson"
    good = [recording(5000 + i, pickup_site=SITE) for i in range(COUNT)]
    bad = {**recording(4999, pickup_site=SITE), "nik": "5371040000000000", "blood_type": "Z"}
    source.write_text("\n".join(json.dumps(r) for r in [*good[:150], bad, *good[150:]]) + "\n")
    queue = tmp_path / "station.db"

    enqueued = run(env, "station", "enqueue", str(source), "--queue", str(queue))
    # The bad recording is refused at the counter, each bad field named; the others are queued.
    assert enqueued.returncode == 1
    assert "queued 300, already queued 0, refused 1" in enqueued.stdout
    assert "line 151" in enqueued.stderr and "blood_type" in enqueued.stderr and "nik" in enqueued.stderr
    # Enqueuing the same file again queues nothing twice.
    assert "queued 0, already queued 300" in run(env, "station", "enqueue", str(source), "--queue", str(queue)).stdout

    push_args = ("station", "push", "--queue", str(queue), "--token", station_token, "--batch-size", "20",
                 "--max-backoff", "1", "--give-up-after", "240")
    with FlakyProxy(enrollment_service.ports["enrollment"], cut_probability=0.5, max_bytes=300_000, seed=3) as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        first = Proc("push-1", ektp(*push_args, "--url", url), env, tmp_path / "push-1.log").start()
        try:
            await eventually(lambda: _async(queue_counts(queue).get("sent", 0) >= 60), timeout=180,
                             what="a first part pushed")
        finally:
            first.kill()  # a power cut half-way
        assert 0 < queue_counts(queue).get("pending", 0) < COUNT
        second = subprocess.run(ektp(*push_args, "--url", url), env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-3000:] + first.log()[-2000:]
        assert proxy.cuts >= 5, "the proxy never cut a connection: the test proved nothing"

    assert json.loads(run(env, "station", "status", "--queue", str(queue)).stdout) == {
        "pending": 0, "sent": COUNT, "refused": 0}
    async with httpx.AsyncClient(base_url=enrollment_service.url("enrollment"), headers=auth(token), timeout=60) as client:
        receipts = await all_receipts(client)
    with sqlite3.connect(queue) as db:
        local = {r for (r,) in db.execute("SELECT receipt_number FROM recordings WHERE state = 'sent'")}
    assert len(receipts) == COUNT and len(set(receipts)) == COUNT
    assert set(receipts) == local
    print(f"proxy: {proxy.connections} connections, {proxy.cuts} cut; second push: {second.stdout.splitlines()[-1]}")


async def _async(value):  # type: ignore[no-untyped-def]
    return value


def test_enqueue_reads_a_file_saved_with_a_byte_order_mark(tmp_path):
    # "UTF-8 with BOM", as Windows Notepad and spreadsheet exports save it: the mark is not part of
    # the first recording, which is queued like the others.
    source = tmp_path / "recordings.ndjson"
    source.write_text("".join(json.dumps(recording(7000 + i, pickup_site=SITE)) + "\n" for i in range(2)),
                      encoding="utf-8-sig")
    assert source.read_bytes().startswith(b"\xef\xbb\xbf")
    queue = tmp_path / "station.db"

    enqueued = run({**os.environ, "EKTP_DATA_DIR": str(tmp_path)}, "station", "enqueue", str(source),
                   "--queue", str(queue))

    assert enqueued.returncode == 0, enqueued.stderr
    assert "queued 2, already queued 0, refused 0" in enqueued.stdout
    assert queue_counts(queue) == {"pending": 2}


def enqueue_file(tmp_path: Path, data: bytes | None) -> tuple[subprocess.CompletedProcess, Path]:
    """`ektp station enqueue` of a file holding `data` (None: no file at all)."""
    source, queue = tmp_path / "recordings.ndjson", tmp_path / "station.db"
    if data is not None:
        source.write_bytes(data)
    return run({**os.environ, "EKTP_DATA_DIR": str(tmp_path)}, "station", "enqueue", str(source),
               "--queue", str(queue)), queue


@pytest.mark.parametrize(("encoding", "line", "byte"), [("utf-16", 1, "0xff"), ("latin-1", 2, "0xc9")])
def test_enqueue_refuses_a_file_that_is_not_utf8_before_queuing_anything(tmp_path, encoding, line, byte):
    # A spreadsheet export in UTF-16, or a Latin-1 file with an accented name on line 2: one clear
    # line naming the line and the encoding the file must have; no traceback, and the first
    # recording is not queued half-way through the file.
    text = json.dumps(recording(7100, pickup_site=SITE)) + "\n" + json.dumps(
        {**recording(7101, pickup_site=SITE), "name": "JOSÉ DA COSTA"}, ensure_ascii=False) + "\n"

    enqueued, queue = enqueue_file(tmp_path, text.encode(encoding))

    assert enqueued.returncode == 2, enqueued.stderr
    assert "Traceback" not in enqueued.stderr and len(enqueued.stderr.strip().splitlines()) == 1, enqueued.stderr
    assert f"line {line} is not UTF-8 text (byte {byte}" in enqueued.stderr
    assert "save the file as UTF-8" in enqueued.stderr and "nothing queued" in enqueued.stderr
    assert not queue.exists() or queue_counts(queue) == {}


def test_enqueue_of_a_missing_file_says_so_in_one_line(tmp_path):
    enqueued, queue = enqueue_file(tmp_path, None)

    assert enqueued.returncode == 2
    assert enqueued.stderr.strip() == f"cannot read {tmp_path / 'recordings.ndjson'}: No such file or directory"
    assert not queue.exists()


def test_a_json_error_is_reported_on_its_own_line(tmp_path):
    # Line 1 cut short (a copy that stopped half-way): the error's position is on line 1 of the
    # recording, not "line 2 column 0" (the line used to be parsed with its line ending).
    whole = json.dumps(recording(7200, pickup_site=SITE))
    enqueued, queue = enqueue_file(tmp_path, (whole[:200] + "\r\n" + whole.replace("7200", "7201") + "\n").encode())

    assert enqueued.returncode == 1
    assert "line 1 (no station_recording_id) refused" in enqueued.stderr
    assert "line 1 column 200" in enqueued.stderr and "line 2 column" not in enqueued.stderr, enqueued.stderr


def test_the_counter_check_at_the_station_lists_every_problem_at_once():
    """As the server does: an unknown religion does not hide the name with a digit."""
    import datetime as dt

    from ektp.station import check_line

    rec = recording(3)
    rec.update(religion="islam", name="MARIA 2")
    parsed, problems = check_line(json.dumps(rec), dt.date(2026, 11, 28))
    assert parsed is None
    assert {(p.field, p.code) for p in problems} == {("religion", "field.enum"), ("name", "name.digits")}
