"""The station checks a recording's pickup site against the sites the dinas serves, learned from the
server at each push and kept in its SQLite store for the days the link is down: a pickup site outside
the dinas is refused at the counter, while the resident is there, with the server's own problem
(`pickup_site.not_served`), instead of at the push, when nobody can fix it any more.

The enrollment service runs as its own process on PostgreSQL + RabbitMQ, as in
tests/enrollment/test_station.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from shared.sites import dinas_sites
from tests.enrollment.test_station import SITE, enrollment_service, queue_counts, run  # noqa: F401 (fixture)
from tests.enrollment.test_station_push import (  # noqa: F401 (fixtures)
    enqueue_file,
    env,
    offline,
    push_cli,
    station_token,
    url,
)
from tests.support.api import recording
from tests.support.processes import free_port

BANDUNG = "32.73.01"  # a real kecamatan, of Kota Bandung: no print server of Kota Kupang serves it
NOT_CHECKED = "pickup sites not checked: no push has learned yet which sites the dinas serves"


def picked_up_in_bandung(seed: int) -> dict:
    return {**recording(seed, pickup_site=SITE), "pickup_site": BANDUNG}


def server_problem(queue: Path, srid: str) -> dict:
    """The server's pickup_site problem for the recording `srid` it refused."""
    with sqlite3.connect(queue) as db:
        (error,) = db.execute("SELECT error FROM recordings WHERE station_recording_id = ?", (srid,)).fetchone()
    [found] = [f for f in json.loads(error)["fields"] if f["field"] == "pickup_site"]
    return found


def test_the_station_learns_the_served_sites_at_push_and_refuses_another_pickup_site_at_the_counter(
        env, url, tmp_path):  # noqa: F811 (fixtures)
    queue = tmp_path / "station.db"
    kupang = list(dinas_sites("53.71"))

    # Never online: the counter cannot know the dinas's sites, queues as before, and says so.
    first = picked_up_in_bandung(6500)
    before = enqueue_file(offline(tmp_path), queue, first)
    assert before.returncode == 0, before.stderr
    assert "queued 1, already queued 0, refused 0" in before.stdout
    assert NOT_CHECKED in before.stderr
    assert run(offline(tmp_path), "station", "sites", "--queue", str(queue)).returncode == 1

    # Online: the push learns them (and the server refuses the recording queued before, too late).
    pushed = push_cli(env, queue, url, station_token(env), "--give-up-after", "60")
    assert pushed.returncode == 0, pushed.stderr
    assert f"pickup sites served, checked at enqueue from now on: {', '.join(kupang)}" in pushed.stderr
    assert json.loads(pushed.stdout)["refused_now"] == 1
    from_server = server_problem(queue, first["station_recording_id"])
    assert from_server["code"] == "pickup_site.not_served"
    known = run(offline(tmp_path), "station", "sites", "--queue", str(queue))
    assert known.returncode == 0, known.stderr
    assert json.loads(known.stdout)["sites"] == kupang
    assert json.loads(known.stdout)["learned_from"] == f"{url}/v1/enrollments/sites"

    # Offline again: the counter refuses a pickup site outside the dinas, as the server words it,
    # and queues one of the dinas, without the note.
    second, good = picked_up_in_bandung(6501), recording(6502, pickup_site=SITE)
    after = enqueue_file(offline(tmp_path), queue, second, good)
    assert after.returncode == 1
    assert "queued 1, already queued 0, refused 1" in after.stdout
    assert NOT_CHECKED not in after.stderr
    assert f"line 1 ({second['station_recording_id']}) refused:" in after.stderr
    assert (f"error   pickup_site: pickup_site.not_served — {from_server['message_en']} / "
            f"{from_server['message_id']}") in after.stderr
    assert queue_counts(queue) == {"pending": 1, "refused": 1}

    # A push that cannot reach the server keeps the list it has, and says which.
    down = push_cli(offline(tmp_path), queue, f"http://127.0.0.1:{free_port()}", "t", "--give-up-after", "1")
    assert down.returncode == 4
    assert "cannot connect (" in down.stderr
    assert "pickup sites served not learned, enqueue checks pickup sites with the list learned 20" in down.stderr
    assert json.loads(run(offline(tmp_path), "station", "sites", "--queue", str(queue)).stdout)["sites"] == kupang
    assert enqueue_file(offline(tmp_path), queue, picked_up_in_bandung(6503)).returncode == 1


def test_a_push_with_nothing_pending_learns_the_sites_too(env, url, tmp_path):  # noqa: F811 (fixtures)
    """A new station, before its first recording: `push` learns the sites without anything to send."""
    queue = tmp_path / "station.db"
    pushed = push_cli(env, queue, url, station_token(env))
    assert pushed.returncode == 0, pushed.stderr
    known = run(offline(tmp_path), "station", "sites", "--queue", str(queue))
    assert json.loads(known.stdout)["sites"] == list(dinas_sites("53.71"))
    refused = enqueue_file(offline(tmp_path), queue, picked_up_in_bandung(6510))
    assert refused.returncode == 1 and "pickup_site.not_served" in refused.stderr
