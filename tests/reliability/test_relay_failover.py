"""Two processes of the enrollment service, as two replicas: one holds the outbox relay's lock
and publishes, the other stands by. The holder is killed (kill -9) while recordings flow into
both, twice: the other takes over and publishes what both wrote (what the holder had published
without marking it sent goes again), and every recording is handled once downstream. The
in-process takeover is tests/messaging/test_relay_lead.py; tests/reliability/test_faults.py runs
one process per service."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.db import asyncpg_dsn
from tests.conftest import running_cluster
from tests.support.api import auth, eventually, recording, submit_recording
from tests.support.processes import Cluster, Proc, ektp, free_port, wait_http

pytestmark = pytest.mark.slow


def local_ports(proc: Proc) -> set[int]:
    """The local TCP ports of a process's sockets (Linux /proc)."""
    pid = proc.popen.pid
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def relay_holder(pg_url: str, service: str, procs: list[Proc], *, timeout: float = 30) -> Proc:
    """The process whose connection holds `service`'s relay lock (waited for: on a loaded machine
    a relay may be between two tries of the lock, or its process still opening the connection)."""
    deadline = time.monotonic() + timeout
    while True:
        conn = await asyncpg.connect(asyncpg_dsn(pg_url))
        try:
            port = await conn.fetchval(
                "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1",
                f"ektp-lock-outbox-{service}")
        finally:
            await conn.close()
        holders = [p for p in procs if p.alive and port is not None and port in local_ports(p)]
        if len(holders) == 1 or time.monotonic() > deadline:
            [holder] = holders
            return holder
        await asyncio.sleep(0.5)


@pytest.fixture
def services(pg_url: str, amqp_url: str, token: str, tmp_path: Path) -> Iterator[Cluster]:
    """The four services, each relaying every event once (no fault injected)."""
    with running_cluster(pg_url, amqp_url, token, tmp_path) as c:
        yield c


async def test_the_relay_holder_killed_while_publishing_its_standby_takes_over_and_nothing_is_doubled(
        services: Cluster, pg_url: str):
    c = services
    second_port = free_port()

    def start_second(service: str) -> Proc:
        proc = Proc("enrollment-2", ektp("serve", service, "--port", str(second_port)), c.env,
                    c.workdir / "enrollment-2.log").start()
        wait_http(f"http://127.0.0.1:{second_port}/readyz", proc=proc)
        return proc

    second = f"http://127.0.0.1:{second_port}"
    replicas = {c.url("enrollment"): c.procs["enrollment"], second: start_second("enrollment")}
    accepted: dict[str, str] = {}

    clients = [httpx.AsyncClient(base_url=url, headers=auth(c.token), timeout=30) for url in replicas]

    async def post(i: int) -> None:
        """A recording to one replica or the other, as a gateway spreads them; again with the same
        key (to the other replica) while one is down."""
        r = await submit_recording(clients[i % 2:] + clients[:i % 2], recording(4100 + i), pause=0.3)
        assert r is not None and r.status_code in (200, 201), f"recording {i}: {r and r.text}"
        accepted[r.json()["id"]] = str(r.url)

    async def load(first: int, count: int) -> None:
        tasks = []
        for i in range(first, first + count):
            tasks.append(asyncio.create_task(post(i)))
            await asyncio.sleep(0.15)
        await asyncio.gather(*tasks)

    async def sent_for_printing(ids: list[str]) -> bool:
        conn = await asyncpg.connect(asyncpg_dsn(pg_url))
        try:
            done = await conn.fetchval("SELECT count(*) FROM enrollment.enrollments WHERE id = ANY($1::uuid[]) "
                                       "AND status = 'SENT_FOR_PRINTING'", ids)
        finally:
            await conn.close()
        return done == len(ids)

    try:
        for round_ in range(2):
            flowing = asyncio.create_task(load(30 * round_, 30))
            await asyncio.sleep(2)  # events being written and published
            holder = await relay_holder(pg_url, "enrollment", list(replicas.values()))
            holder.kill()
            before = set(accepted)
            await flowing
            # Only the standby is up: what it took after the kill reaches dedup, print and back.
            after = [e for e in accepted if e not in before]
            assert after, "no recording was taken after the kill"
            await eventually(lambda: sent_for_printing(after), timeout=90, interval=0.5,
                             what="recordings taken by the standby processed")
            url = next(u for u, p in replicas.items() if p is holder)  # back, as its pod would be
            replicas[url] = await asyncio.to_thread(start_second if url == second else c.start_service, "enrollment")
        await eventually(lambda: sent_for_printing(list(accepted)), timeout=90, interval=0.5,
                         what="every recording processed")
    except BaseException:
        print(c.logs(), replicas[second].log()[-3000:])
        raise
    finally:
        replicas[second].stop(timeout=15)
        for client in clients:
            await client.aclose()

    assert len(accepted) == 60
    conn = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        # One request in dedup, one job in print, one resident in certificate per recording.
        assert await conn.fetchval("SELECT count(*) FROM dedup.dedup_requests") == 60
        assert await conn.fetchval("SELECT count(DISTINCT enrollment_id) FROM print.print_jobs") == 60
        assert await conn.fetchval("SELECT count(*) FROM print.print_jobs") == 60
        assert await conn.fetchval("SELECT count(*) FROM certificate.certificate_residents") == 60
        # Each resident's timeline tells each step once.
        steps = await conn.fetch("SELECT step, count(*) AS n, count(DISTINCT enrollment_id) AS residents "
                                 "FROM enrollment.enrollment_timeline GROUP BY step")
        assert {r["step"]: (r["n"], r["residents"]) for r in steps} == {
            step: (60, 60) for step in ("RECORDED", "SENT_TO_DEDUP", "DEDUP_UNIQUE", "PRINT_QUEUED")}
        assert await conn.fetchval("SELECT count(*) FROM enrollment.enrollment_outbox WHERE sent_at IS NULL") == 0
    finally:
        await conn.close()
