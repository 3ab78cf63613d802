"""`ektp station push` when something is wrong other than a dropping link: a credential of another
kecamatan, a wrong --url, a server answering nonsense, a link that cannot carry a whole batch; and
what the operator sees (retries, refused recordings, the summary) and can do (requeue).

The enrollment service runs as its own process on PostgreSQL + RabbitMQ, as in
tests/enrollment/test_station.py. Where a test needs something that is *not* the ektp API at the
URL (a web server answering 405, a redirect, a 200 without items), a small HTTP server on loopback
plays it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from ektp.station import Backoff, open_queue, push
from shared.sites import dinas_sites
from tests.enrollment.test_station import SITE, enrollment_service, queue_counts, run  # noqa: F401 (fixture)
from tests.support.api import auth, recording
from tests.support.flaky_proxy import FlakyProxy
from tests.support.processes import free_port

KOTA_RAJA = "53.71.05"  # another kecamatan of Kota Kupang


def station_credential(env: dict[str, str], site: str = SITE) -> dict:
    created = run(env, "credentials", "create", "--name", f"station of {site}", "--role", "station", "--site", site)
    assert created.returncode == 0, created.stderr
    return json.loads(created.stdout)


def station_token(env: dict[str, str], site: str = SITE) -> str:
    return station_credential(env, site)["token"]


def enqueue_file(env: dict[str, str], queue: Path, *recordings: dict) -> subprocess.CompletedProcess:
    source = queue.with_name(f"recordings-{uuid.uuid4().hex[:8]}.ndjson")
    source.write_text("".join(json.dumps(r) + "\n" for r in recordings))
    return run(env, "station", "enqueue", str(source), "--queue", str(queue))


def enqueue(env: dict[str, str], queue: Path, *recordings: dict) -> None:
    enqueued = enqueue_file(env, queue, *recordings)
    assert enqueued.returncode == 0, enqueued.stderr


def push_cli(env: dict[str, str], queue: Path, url: str, token: str, *args: str):  # type: ignore[no-untyped-def]
    return run(env, "station", "push", "--queue", str(queue), "--url", url, "--token", token, "--max-backoff", "0.5",
               *args)


def station_ids(queue: Path) -> list[str]:
    with sqlite3.connect(queue) as db:
        return [srid for (srid,) in db.execute("SELECT station_recording_id FROM recordings ORDER BY seq")]


@pytest.fixture
def env(enrollment_service) -> dict[str, str]:  # noqa: F811 (the fixture imported above)
    return {**enrollment_service.env, "EKTP_LOG_LEVEL": "WARNING"}


@pytest.fixture
def url(enrollment_service) -> str:  # noqa: F811
    return enrollment_service.url("enrollment")


@contextmanager
def answering(status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              sites: list[str] | None = None, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """A web server on loopback that is not the ektp API: every request gets the same answer, but for
    the GET of the served sites when `sites` is given (then answered as the API does); over TLS with
    `tls` (a certificate and its key). Yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if sites is not None:
                self.answer(200, json.dumps({"dinas": sites[0], "sites": sites}).encode(), {})
            else:
                self.answer(status, body, headers or {})

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.answer(status, body, headers or {})

        def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:  # (certificate, key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def offline(tmp_path: Path) -> dict[str, str]:
    """The environment of a station with no server at hand."""
    return {**os.environ, "EKTP_DATA_DIR": str(tmp_path)}


def offline_queue(tmp_path: Path, count: int = 1) -> Path:
    """A queue of `count` good recordings, made without any server (the counter works offline)."""
    queue = tmp_path / "station.db"
    enqueue(offline(tmp_path), queue, *[recording(8000 + i, pickup_site=SITE) for i in range(count)])
    return queue


# ---- the credential --------------------------------------------------------------------------

def test_a_credential_of_another_kecamatan_stops_the_push_and_leaves_the_recordings_pending(env, url, tmp_path):
    # The server answers the request 200 and each recording 403 wrong_site: that is about the
    # credential, not the recordings. They must stay pending, so that the right credential sends them.
    queue = tmp_path / "station.db"
    enqueue(env, queue, *[recording(6000 + i, pickup_site=SITE) for i in range(3)])
    first = station_ids(queue)[0]

    wrong = push_cli(env, queue, url, station_token(env, KOTA_RAJA), "--give-up-after", "30")

    assert wrong.returncode == 3, wrong.stderr
    assert f"403 wrong_site: credential of site {KOTA_RAJA} may not act for site {SITE}" in wrong.stderr
    assert f"for recording {first} (and 2 other recording(s))" in wrong.stderr
    assert "stay pending" in wrong.stderr
    assert queue_counts(queue) == {"pending": 3}

    right = push_cli(env, queue, url, station_token(env), "--give-up-after", "30")
    assert right.returncode == 0, right.stderr
    assert queue_counts(queue) == {"sent": 3}


def test_a_revoked_credential_fails_the_push_in_one_line_even_with_nothing_pending(env, url, tmp_path):
    # A cron job pushes every few minutes, most often with nothing pending: a credential revoked (or
    # mistyped) must fail it then too, not pass as "all pushed" until recordings pile up. The server
    # refuses the first request, the GET of the served sites: the push stops there, nothing is sent.
    queue = tmp_path / "station.db"
    credential = station_credential(env)
    assert run(env, "credentials", "revoke", credential["id"]).returncode == 0

    idle = push_cli(env, queue, url, credential["token"], "--give-up-after", "30")

    assert idle.returncode == 3, idle.stderr
    refused = [line for line in idle.stderr.splitlines() if "credential" in line]
    assert len(refused) == 1 and refused[0].startswith("the server refused this station's credential: 401 "), \
        idle.stderr
    assert idle.stderr.splitlines()[-1] == refused[0]  # the last line, under the progress bar's
    assert "retry" not in idle.stderr and "pickup sites" not in idle.stderr
    assert idle.stdout == ""

    enqueue(offline(tmp_path), queue, recording(6050, pickup_site=SITE))
    pending = push_cli(env, queue, url, credential["token"], "--give-up-after", "30")

    assert pending.returncode == 3, pending.stderr
    assert [line for line in pending.stderr.splitlines() if "credential" in line] == refused
    with sqlite3.connect(queue) as db:
        assert db.execute("SELECT state, attempts, http_status FROM recordings").fetchall() == [("pending", 0, None)]


# ---- the served sites: asked first, retried like a batch ------------------------------------

def test_an_answer_for_the_sites_lost_on_the_way_is_retried_like_a_batch(env, enrollment_service, tmp_path):  # noqa: F811
    # Nothing pending: the push is only the GET of the served sites. The proxy cuts its answer on
    # the way, once: retried (a line on stderr, counted), then learned.
    queue = tmp_path / "station.db"

    with FlakyProxy(enrollment_service.ports["enrollment"], cut_probability=0.0, cut_answer_with=b'"dinas"') as proxy:
        pushed = push_cli(env, queue, f"http://127.0.0.1:{proxy.port}", station_token(env), "--give-up-after", "30")

    assert pushed.returncode == 0, pushed.stderr
    assert "retry 1 in " in pushed.stderr and "s: connection cut" in pushed.stderr
    assert json.loads(pushed.stdout)["retries"] == 1
    known = run(offline(tmp_path), "station", "sites", "--queue", str(queue))
    assert known.returncode == 0, known.stderr
    assert json.loads(known.stdout)["sites"] == list(dinas_sites("53.71"))


def test_a_server_error_for_the_sites_is_retried_until_the_deadline_not_passed_over(tmp_path):
    # A 503 (maintenance) with nothing pending was "all pushed", exit 0: now retried like a batch's
    # 503, and --give-up-after ends it with exit 4, saying what enqueue checks with meanwhile.
    queue = tmp_path / "station.db"

    with answering(503, b'{"error": "maintenance", "detail": "back at 06:00"}') as down:
        pushed = push_cli(offline(tmp_path), queue, down, "t", "--give-up-after", "2")

    assert pushed.returncode == 4, pushed.stderr
    assert pushed.stderr.splitlines()[-1].startswith("gave up after 2.0 s: "), pushed.stderr  # the last line
    assert "retry 1 in " in pushed.stderr
    assert f"GET {down}/v1/enrollments/sites answered 503 maintenance: back at 06:00" in pushed.stderr
    assert ("0 recording(s) still pending at the deadline; last failure: GET " in pushed.stderr
            and "; pickup sites served not learned, enqueue cannot check pickup sites until a push learns them"
            in pushed.stderr)
    assert pushed.stdout == ""


# ---- refused recordings: list, requeue -------------------------------------------------------

def test_refused_recordings_are_listed_with_their_reason_and_can_be_requeued(env, url, tmp_path):
    queue = tmp_path / "station.db"
    missing = uuid.uuid4()
    # A correction of an enrollment the server does not have: refused 404 with a field problem.
    correction = {**recording(6100, pickup_site=SITE), "previous_enrollment_id": str(missing)}
    enqueue(env, queue, correction, recording(6101, pickup_site=SITE), recording(6102, pickup_site=SITE))
    bad, wrong_1, wrong_2 = station_ids(queue)
    # A queue as an earlier version left it: it marked recordings refused for good when a credential
    # of another kecamatan was used (the same columns it wrote, with the server's wrong_site error).
    wrong_site = {"error": "wrong_site", "detail": f"credential of site {KOTA_RAJA} may not act for site {SITE}",
                  "fields": []}
    with sqlite3.connect(queue) as db:
        db.execute("UPDATE recordings SET state = 'refused', http_status = 403, error = ?, attempts = 1 "
                   "WHERE station_recording_id IN (?, ?)", (json.dumps(wrong_site), wrong_1, wrong_2))
    token = station_token(env)
    assert push_cli(env, queue, url, token).returncode == 0
    assert queue_counts(queue) == {"refused": 3}

    listed = run(env, "station", "refused", "--queue", str(queue))

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"{bad}  404 previous_enrollment_not_found: previous enrollment {missing} not found; "
                               "previous_enrollment_id: previous_enrollment.not_found — "), lines[0]
    assert lines[1:] == [f"{wrong_1}  403 wrong_site: {wrong_site['detail']}",
                         f"{wrong_2}  403 wrong_site: {wrong_site['detail']}",
                         "3 refused recording(s)"]

    # The operator fixed the credential: the two go back to pending and are sent; the correction
    # stays refused. Naming nothing, or something not refused, is said.
    assert run(env, "station", "requeue", "--queue", str(queue)).returncode == 2
    requeued = run(env, "station", "requeue", wrong_1, wrong_2, "no-such-recording", "--queue", str(queue))
    assert requeued.returncode == 1
    assert "requeued 2 recording(s)" in requeued.stdout
    assert "no-such-recording: not in this queue, not requeued" in requeued.stderr
    assert queue_counts(queue) == {"pending": 2, "refused": 1}

    again = push_cli(env, queue, url, token)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] == 2
    assert queue_counts(queue) == {"sent": 2, "refused": 1}
    last = run(env, "station", "refused", "--queue", str(queue))
    assert last.stdout.splitlines()[-1:] == ["1 refused recording(s)"], last.stderr


def test_a_recording_the_server_refused_is_replaced_by_its_correction_under_the_same_id(env, url, token, tmp_path):
    # A refused recording left nothing at the server, so its correction keeps its station_recording_id
    # (the idempotency key): enqueued again, it replaces the refused one and is created at the next push.
    queue = tmp_path / "station.db"
    correction = recording(6300, pickup_site=SITE)
    wrong_link = {**correction, "previous_enrollment_id": str(uuid.uuid4())}  # refused 404
    blood = recording(6301, pickup_site=SITE)
    enqueue(env, queue, wrong_link, blood)
    # The server refuses the second 422: queued by a station whose counter still took a blood type the
    # server's rules refuse (an older version; the counter of this one would refuse it too).
    with sqlite3.connect(queue) as db:
        (body,) = db.execute("SELECT body FROM recordings WHERE station_recording_id = ?",
                             (blood["station_recording_id"],)).fetchone()
        db.execute("UPDATE recordings SET body = ? WHERE station_recording_id = ?",
                   (json.dumps({**json.loads(body), "blood_type": "Z"}), blood["station_recording_id"]))
    station = station_token(env)
    first = push_cli(env, queue, url, station)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["refused_now"] == 2
    listed = run(env, "station", "refused", "--queue", str(queue)).stdout
    assert "404 previous_enrollment_not_found" in listed and "422 invalid_input" in listed and "blood_type" in listed

    fixed = enqueue_file(env, queue, correction, blood)

    assert fixed.returncode == 0, fixed.stderr
    assert "queued 2, already queued 0, refused 0" in fixed.stdout
    for srid in (correction["station_recording_id"], blood["station_recording_id"]):
        assert f"{srid}: replaces the recording the server refused" in fixed.stderr
    assert queue_counts(queue) == {"pending": 2}
    second = push_cli(env, queue, url, station)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == {"created": 2, "replayed": 0, "refused_now": 0, "retries": 0,
                                         "queue": {"pending": 0, "sent": 2, "refused": 0}}
    # The server holds each once, as corrected.
    with sqlite3.connect(queue) as db:
        sent = {srid: (receipt, enrollment_id) for srid, receipt, enrollment_id in db.execute(
            "SELECT station_recording_id, receipt_number, enrollment_id FROM recordings")}
    held = httpx.get(f"{url}/v1/enrollments", params={"site": SITE}, headers=auth(token), timeout=30).json()
    assert sorted(e["receipt_number"] for e in held["items"]) == sorted(receipt for receipt, _ in sent.values())
    for corrected in (correction, blood):
        one = httpx.get(f"{url}/v1/enrollments/{sent[corrected['station_recording_id']][1]}", headers=auth(token),
                        timeout=30).json()
        assert (one["record"].get("blood_type"), one["previous_enrollment_id"]) == (corrected["blood_type"], None)

    # A recording that was accepted, or is pending (the server may hold it), is never overwritten.
    other_blood = {**correction, "blood_type": "AB" if correction["blood_type"] != "AB" else "O"}
    pending = recording(6302, pickup_site=SITE)
    enqueue(env, queue, pending)
    changed = enqueue_file(env, queue, other_blood, {**pending, "blood_type": "AB" if pending["blood_type"] != "AB"
                                                                else "O"})
    assert changed.returncode == 1
    assert "queued 0, already queued 0, refused 2" in changed.stdout
    assert f"already accepted by the server with a different recording (receipt " \
           f"{sent[correction['station_recording_id']][0]})" in changed.stderr
    assert "already queued with a different recording, not answered by the server yet" in changed.stderr
    assert queue_counts(queue) == {"pending": 1, "sent": 2}
    with sqlite3.connect(queue) as db:
        (kept,) = db.execute("SELECT body FROM recordings WHERE station_recording_id = ?",
                             (correction["station_recording_id"],)).fetchone()
    assert json.loads(kept)["blood_type"] == correction["blood_type"]


# ---- what push prints ------------------------------------------------------------------------

def test_the_summary_tells_refused_now_from_the_queue_and_is_alone_on_stdout(env, url, tmp_path):
    queue = tmp_path / "station.db"
    token = station_token(env)
    correction = {**recording(6200, pickup_site=SITE), "previous_enrollment_id": str(uuid.uuid4())}
    enqueue(env, queue, correction, recording(6201, pickup_site=SITE))

    first = push_cli(env, queue, url, token)
    enqueue(env, queue, recording(6202, pickup_site=SITE))
    second = push_cli(env, queue, url, token)

    # stdout is the JSON summary only (progress goes to stderr): a script can parse it.
    assert json.loads(first.stdout) == {"created": 1, "replayed": 0, "refused_now": 1, "retries": 0,
                                        "queue": {"pending": 0, "sent": 1, "refused": 1}}
    # The second push refused nothing; the queue still holds the one refused before.
    assert json.loads(second.stdout) == {"created": 1, "replayed": 0, "refused_now": 0, "retries": 0,
                                         "queue": {"pending": 0, "sent": 2, "refused": 1}}
    assert "pushing" in second.stderr


def test_each_retry_is_reported_on_stderr(tmp_path):
    # The link is down (nothing listens): each retry says when and why, instead of "pushing 0/1".
    queue = offline_queue(tmp_path)

    pushed = push_cli(offline(tmp_path), queue, f"http://127.0.0.1:{free_port()}", "t",
                      "--give-up-after", "2")

    assert pushed.returncode == 4
    assert "retry 1 in " in pushed.stderr and "retry 2 in " in pushed.stderr
    assert "s: cannot connect (" in pushed.stderr
    assert "1 recording(s) still pending at the deadline; last failure: cannot connect" in pushed.stderr
    assert pushed.stdout == ""  # no summary, and no progress bar mixed into stdout


def test_push_does_not_wait_past_its_deadline(tmp_path):
    # --give-up-after 8 once ended at 11.8 s: the backoff slept past the deadline.
    queue = offline_queue(tmp_path)
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        push(open_queue(queue), url=f"http://127.0.0.1:{free_port()}", token="t", backoff=Backoff(base=5, cap=5),
             deadline=started + 1.0)

    assert time.monotonic() - started < 2.2  # it used to sleep 2.5 to 5 s first


# ---- a wrong --url ---------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", ["127.0.0.1:8000", "localhost:8000/api", "ftp://127.0.0.1:8000", "http://"])
def test_a_url_that_is_not_http_is_a_usage_error(tmp_path, wrong):
    queue = offline_queue(tmp_path)

    pushed = push_cli(offline(tmp_path), queue, wrong, "t", "--give-up-after", "3")

    assert pushed.returncode == 2
    assert pushed.stderr.startswith(f"--url: {wrong!r} ")
    assert queue_counts(queue) == {"pending": 1}


def test_a_path_where_the_api_is_not_stops_the_push(env, url, tmp_path):
    # http://host/api: the server answers 404 to the push's first request. Not a link that is down: stop.
    queue = tmp_path / "station.db"
    enqueue(env, queue, recording(6300, pickup_site=SITE))

    pushed = push_cli(env, queue, f"{url}/api", station_token(env), "--give-up-after", "5")

    assert pushed.returncode == 5, pushed.stderr
    assert f"wrong --url: GET {url}/api/v1/enrollments/sites answered 404 Not Found" in pushed.stderr
    assert "does not lead to the ektp enrollment API" in pushed.stderr
    assert "retry" not in pushed.stderr
    assert queue_counts(queue) == {"pending": 1}


@pytest.mark.parametrize(("status", "headers", "says"), [
    (405, {}, "answered 405 Method Not Allowed: the URL does not lead to the ektp enrollment API"),
    (301, {"Location": "https://dinas.example/v1/enrollments/batch"},
     "answered 301 Moved Permanently, redirected to https://dinas.example/v1/enrollments/batch"),
])
def test_a_web_server_that_is_not_the_api_stops_the_push(tmp_path, status, headers, says):
    queue = offline_queue(tmp_path)

    with answering(status, b"", headers) as other:
        pushed = push_cli(offline(tmp_path), queue, other, "t", "--give-up-after", "3")

    assert pushed.returncode == 5, pushed.stderr
    # the last line of stderr, where a cron mail or a terminal ends: it was the progress bar's "pushing 0/1"
    assert says in pushed.stderr.splitlines()[-1], pushed.stderr
    assert queue_counts(queue) == {"pending": 1}


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no one signed, and its key."""
    certificate, key = tmp_path / "server.pem", tmp_path / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    return certificate, key


@pytest.mark.parametrize(("tls", "says"), [
    # https:// to a plain HTTP server: each attempt failed with [SSL: WRONG_VERSION_NUMBER] and was
    # retried like a link that is down, until --give-up-after (exit 4), or forever without it.
    (False, "failed on TLS ([SSL: WRONG_VERSION_NUMBER] wrong version number"),
    (True, "failed on TLS ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
])
def test_a_tls_handshake_that_fails_on_tls_stops_the_push(tmp_path, tls, says):
    queue = offline_queue(tmp_path)

    with answering(200, sites=list(dinas_sites("53.71")), tls=self_signed(tmp_path) if tls else None) as other:
        https = other.replace("http://", "https://")
        started = time.monotonic()
        pushed = push_cli(offline(tmp_path), queue, https, "t", "--give-up-after", "20")

    assert pushed.returncode == 5, pushed.stderr
    assert time.monotonic() - started < 10
    last = pushed.stderr.splitlines()[-1]
    assert last.startswith(f"wrong --url: GET {https}/v1/enrollments/sites {says}"), pushed.stderr
    assert ("plain HTTP at this port (http:// ?)" if not tls else "certificate is not trusted") in last
    assert "retry" not in pushed.stderr
    assert queue_counts(queue) == {"pending": 1}


# ---- a server answering nonsense -------------------------------------------------------------

def test_a_200_without_items_is_retried_not_a_crash(tmp_path):
    queue = offline_queue(tmp_path)

    with answering(200, b'{"detail": "maintenance"}', sites=list(dinas_sites("53.71"))) as odd:
        pushed = push_cli(offline(tmp_path), queue, odd, "t", "--give-up-after", "2")

    assert pushed.returncode == 4, pushed.stderr
    assert "Traceback" not in pushed.stderr and "KeyError" not in pushed.stderr
    assert "bad answer: the answer has no list of items" in pushed.stderr
    assert queue_counts(queue) == {"pending": 1}


# ---- a link that cannot carry a whole batch --------------------------------------------------

def test_a_link_that_cuts_every_long_request_gets_smaller_batches_through(env, enrollment_service, tmp_path):  # noqa: F811
    # A proxy cuts each connection after 300 KB; a default batch of 100 is about 1 MB gzip'd, so
    # it never gets through whole: the station halves the batch until one does.
    queue = tmp_path / "station.db"
    enqueue(env, queue, *[recording(6400 + i, pickup_site=SITE) for i in range(60)])

    with FlakyProxy(enrollment_service.ports["enrollment"], cut_probability=1.0, min_bytes=300_000,
                    max_bytes=300_000) as proxy:
        pushed = push_cli(env, queue, f"http://127.0.0.1:{proxy.port}", station_token(env), "--give-up-after", "60")

    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert "batches of 50 from now on" in pushed.stderr
    assert queue_counts(queue) == {"sent": 60}
    assert json.loads(pushed.stdout)["created"] + json.loads(pushed.stdout)["replayed"] == 60
