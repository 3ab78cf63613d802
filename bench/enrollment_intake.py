"""Benchmark of enrollment intake: accepted recordings per second, and latency, on PostgreSQL + RabbitMQ.

Starts `ektp serve enrollment` as a subprocess on a fresh database and RabbitMQ virtual host,
then, each phase bounded in time:

1. single: C concurrent clients POST /v1/enrollments (~15 KB synthetic recordings, each with a
   new station_recording_id), with a station credential (the real per-request check);
2. batch: C concurrent clients POST /v1/enrollments/batch (B recordings each, NDJSON); then
   gzip: the same, gzip'd as `ektp station` sends them (the bodies compressed before the phase,
   so that compressing does not take the service's CPU);
3. raw: the same rows (enrollment, two timeline steps, outbox event) inserted with asyncpg at the
   same concurrency, one transaction per recording, then one per B recordings: the ceiling. The
   outbox body is stored sealed (AES-GCM, base64), as the service stores it: in clear, PostgreSQL
   spends twice the CPU trying to compress it (TOAST), and raw would be slower than it need be.
   Raw runs before the service's phases and again after them (this machine's speed drifts by a
   quarter within minutes): the share of raw is of the mean of the two.

    .venv/bin/python bench/enrollment_intake.py [--seconds 20] [--clients 64] [--batch 100] [--workers 2]
                                                [--phases single,batch,gzip,raw]

The load generator is aiohttp (`pip install -e .[bench]`): it shares the two cores with the service.
`per_second` is the steady rate: recordings accepted in the last three quarters of each phase's
window (a batch takes seconds, so the first quarter is ramp-up); `per_second_whole_phase` counts
everything, the tail after the window included. The ratio to raw uses steady rates.
`outbox_unsent_at_end` shows whether the service also published what it accepted (its relay
keeping up), as a sustained rate requires.
`*_cpu_ms_per_recording` is the CPU spent per accepted recording over the phase, its tail included,
by the service's processes (workers and their relay threads), by PostgreSQL, by RabbitMQ and by
this load generator: rates on a shared 2-core machine move with everything else on it; these
figures move less, and show where the time goes.

Goal (issue 3): >= 1,000 single/s and >= 5,000/s in batches, at >= 50% of the raw insert rate.
It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.crypto import DataCipher  # noqa: E402
from tests.support import infra  # noqa: E402
from tests.support.api import recording  # noqa: E402
from tests.support.processes import Proc, ektp, free_port, wait_http  # noqa: E402

SITE = "53.71.04"
KEY = "@@KEY@@"


def templates(n: int) -> list[bytes]:
    """Serialised recordings with a placeholder for the station_recording_id (cheap to vary)."""
    out = []
    for i in range(n):
        rec = recording(90_000 + i, pickup_site=SITE)
        rec["station_recording_id"] = KEY
        out.append(json.dumps(rec).encode())
    return out


def with_key(template: bytes) -> bytes:
    return template.replace(KEY.encode(), uuid.uuid4().hex.encode(), 1)


@dataclass
class Phase:
    """What one phase saw. Clients start requests for `window` seconds, then finish what they began."""

    window: float
    start: float = field(default_factory=time.perf_counter)
    done: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, recordings accepted)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def record(self, t0: float, accepted: int) -> None:
        now = time.perf_counter()
        self.latencies.append(now - t0)
        self.done.append((now - self.start, accepted))

    def steady_rate(self) -> float:
        """Recordings/s accepted in the last three quarters of the window: not the ramp-up (nothing
        has come back yet), not the tail after it (clients finishing their last requests)."""
        warm = self.window / 4
        return sum(n for t, n in self.done if warm <= t <= self.window) / (self.window - warm)


def cpu_seconds(service_pid: int) -> dict[str, float]:
    """User + system CPU seconds so far (Linux /proc) of the service (a process and its children),
    of PostgreSQL's and RabbitMQ's processes, and of this load generator: what each costs per
    recording, which moves less than a rate with what else the machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    total = dict.fromkeys(("service", "postgres", "rabbitmq", "load_generator"), 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                head, _, rest = f.read().rpartition(")")
        except OSError:
            continue
        fields, command = rest.split(), head.partition("(")[2]
        group = ("service" if service_pid in (int(entry), int(fields[1]))  # fields[1]: the parent's pid
                 else "load_generator" if int(entry) == os.getpid()
                 else "postgres" if command == "postgres"
                 else "rabbitmq" if command.startswith("beam") else None)
        if group is not None:
            total[group] += (int(fields[11]) + int(fields[12])) / tick
    return total


async def outbox_unsent(dsn: str) -> int:
    """Events the service accepted but has not yet published: its relay keeping up or not."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM enrollment.enrollment_outbox WHERE sent_at IS NULL")
    finally:
        await conn.close()


async def settle(dsn: str, vacuum: bool = False) -> None:
    """Between phases, uncounted: what a phase wrote is flushed to disk now (CHECKPOINT), not during
    the next phase, and after the raw phases' many rows the tables are vacuumed, not by autovacuum
    during the next phase (which doubled PostgreSQL's CPU per single POST)."""
    conn = await asyncpg.connect(dsn)
    try:
        if vacuum:
            await conn.execute("VACUUM (ANALYZE) enrollment.enrollments, enrollment.enrollment_timeline, "
                               "enrollment.enrollment_outbox")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def commits(dsn: str) -> int:
    """Transactions committed in the service's database so far (PostgreSQL's statistics, which
    lag up to a second): per recording, how well commits and relay passes are shared."""
    await asyncio.sleep(1.0)
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    finally:
        await conn.close()


def summary(name: str, phase: Phase, **extra: float) -> dict:
    lat = sorted(phase.latencies)
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: float("nan"))
    accepted = sum(n for _, n in phase.done)
    elapsed = max((t for t, _ in phase.done), default=phase.window)
    row = {"phase": name, "per_second": round(phase.steady_rate()), "accepted": accepted,
           "per_second_whole_phase": round(accepted / elapsed), "seconds": round(elapsed, 1),
           "p50_ms": round(pct(0.50), 1), "p99_ms": round(pct(0.99), 1), "errors": phase.errors, **extra}
    print(json.dumps(row), flush=True)
    return row


async def drive(url: str, token: str, *, clients: int, seconds: float, body: callable, path: str,
                per_request: int, headers: dict[str, str]) -> Phase:
    """C clients, each posting one request after another until time is up. aiohttp, not httpx:
    the load generator shares the two cores with the service, and aiohttp costs it far less CPU."""
    phase = Phase(seconds)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url=url, connector=connector, timeout=aiohttp.ClientTimeout(total=120),
                                     headers={"Authorization": f"Bearer {token}", **headers}) as client:
        phase.start = time.perf_counter()
        stop = phase.start + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                async with client.post(path, data=body()) as response:
                    text = await response.read()
                if response.status == 201:
                    phase.record(t0, 1)
                elif response.status == 200 and per_request > 1:
                    phase.record(t0, json.loads(text)["created"])
                else:
                    phase.errors += 1
                    if phase.errors < 3:
                        print(f"  {response.status}: {text[:300]!r}", file=sys.stderr)

        await asyncio.gather(*(worker() for _ in range(clients)))
        return phase


@dataclass
class RawRow:
    nik: str
    name: str
    record: str  # the enrollment row's JSON
    key: str
    body: str  # the outbox event's JSON, sealed


def raw_row(template: bytes, cipher: DataCipher) -> RawRow:
    """One recording's values, parsed and serialised once, as a plain client would; the event
    sealed as the service stores it (the same size: 12-byte nonce, 16-byte tag, base64)."""
    rec = json.loads(with_key(template))
    bio = rec.pop("biometrics")
    key = rec.pop("station_recording_id")
    return RawRow(rec["nik"], rec["name"], json.dumps(rec), key,
                  cipher.encrypt(json.dumps({"record": rec, "biometrics": bio, "key": key}).encode()))


async def raw_inserts(pool: asyncpg.Pool, tmpl: list[bytes], *, clients: int, seconds: float, per_tx: int) -> Phase:
    """The same four rows per recording as the service writes, straight with asyncpg. The outbox
    row is written as sent: the service, still running, is not to publish it (its relay would take
    CPU from this phase)."""
    now = dt.datetime.now(dt.UTC)
    cipher = DataCipher(os.urandom(32))
    phase = Phase(seconds)
    stop = phase.start + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            rows = [raw_row(random.choice(tmpl), cipher) for _ in range(per_tx)]
            t0 = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                ids = [uuid.uuid4() for _ in rows]
                await conn.executemany(
                    "INSERT INTO enrollment.enrollments (id, receipt_number, nik, name, pickup_site, recording_site, "
                    "station, operator, recorded_at, status, record, warnings, idempotency_key, request_hash, "
                    "submitted_by, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5,'ST01','op',$6,'RECEIVED',$7,"
                    "'[]',$8,$9,'bench',$6,$6)",
                    [(i, uuid.uuid4().hex[:12], r.nik, r.name, SITE, now, r.record, r.key, "0" * 64)
                     for i, r in zip(ids, rows)])
                await conn.executemany(
                    "INSERT INTO enrollment.enrollment_timeline (enrollment_id, at, step, status, detail) "
                    "VALUES ($1, $2, $3, $4, '{}')",
                    [(i, now, step, None) for i in ids for step in ("RECORDED", "SENT_TO_DEDUP")])
                await conn.executemany(
                    "INSERT INTO enrollment.enrollment_outbox (event_id, type, key, body, sent_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    [(uuid.uuid4(), "bench.raw", str(i), r.body, now) for i, r in zip(ids, rows)])
            phase.record(t0, per_tx)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return phase


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase (the window requests start in)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of the service")
    parser.add_argument("--batch", type=int, default=100, help="recordings per batch request")
    parser.add_argument("--templates", type=int, default=50)
    parser.add_argument("--phases", default="single,batch,gzip,raw",
                        help="which phases to run, comma-separated (comparing two builds: fewer, more often)")
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    if not phases <= {"single", "batch", "gzip", "raw"}:
        parser.error("--phases: single, batch, gzip, raw")

    db_name, db_url = await infra.create_database()
    vhost, amqp_url = infra.create_vhost()
    workdir = Path(tempfile.mkdtemp(prefix="ektp-bench-"))
    proc = None
    try:
        from shared.db import asyncpg_dsn
        from shared.migrate import upgrade

        await asyncio.to_thread(upgrade, db_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
        env.update({"EKTP_ENV": "test", "EKTP_DATABASE_URL": db_url, "EKTP_BROKER_URL": amqp_url,
                    "EKTP_DATA_DIR": str(workdir), "EKTP_LOG_LEVEL": "WARNING"})
        created = subprocess.run(ektp("credentials", "create", "--name", "bench station", "--role", "station",
                                      "--site", SITE), env=env, capture_output=True, text=True, check=True)
        token = json.loads(created.stdout)["token"]
        port = free_port()
        proc = Proc("enrollment", ektp("serve", "enrollment", "--port", str(port), "--workers", str(args.workers)), env,
                    workdir / "enrollment.log").start()
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/readyz", proc=proc)
        print(f"# {os.cpu_count()} cores, {args.clients} clients, {args.seconds:.0f} s a phase, "
              f"load average {os.getloadavg()[0]:.1f}; generating {args.templates} recordings", flush=True)
        tmpl = templates(args.templates)
        print(f"# recording size {statistics.mean(len(t) for t in tmpl) / 1024:.1f} KB", flush=True)

        # warm up (imports, pools, region table)
        await drive(url, token, clients=4, seconds=2, body=lambda: with_key(random.choice(tmpl)),
                    path="/v1/enrollments", per_request=1, headers={"Content-Type": "application/json"})

        dsn = asyncpg_dsn(db_url)
        pid = proc.popen.pid

        def cpu_ms_per_recording(before: dict[str, float], phase: Phase) -> dict[str, float]:
            n = max(sum(n for _, n in phase.done), 1)
            return {f"{group}_cpu_ms_per_recording": round((seconds - before[group]) * 1000 / n, 2)
                    for group, seconds in cpu_seconds(pid).items()}

        async def commits_per_recording(before: int, phase: Phase) -> float:
            return round((await commits(dsn) - before) / max(sum(n for _, n in phase.done), 1), 2)

        rows: dict[str, dict] = {}

        async def service_phase(name: str, label: str, body: Callable[[], bytes], path: str, per_request: int,
                                headers: dict[str, str]) -> None:
            cpu, xacts = cpu_seconds(pid), await commits(dsn)
            phase = await drive(url, token, clients=args.clients, seconds=args.seconds, body=body, path=path,
                                per_request=per_request, headers=headers)
            rows[name] = summary(label, phase, outbox_unsent_at_end=await outbox_unsent(dsn),
                                 **cpu_ms_per_recording(cpu, phase),
                                 db_commits_per_recording=await commits_per_recording(xacts, phase))
            await settle(dsn)

        def batch_body() -> bytes:
            return b"\n".join(with_key(random.choice(tmpl)) for _ in range(args.batch))

        async def service_phases() -> None:
            if "single" in phases:
                await service_phase("single", "single POST /v1/enrollments", lambda: with_key(random.choice(tmpl)),
                                    "/v1/enrollments", 1, {"Content-Type": "application/json"})
            if "batch" in phases:
                await service_phase("batch", f"batch POST /v1/enrollments/batch x{args.batch}", batch_body,
                                    "/v1/enrollments/batch", args.batch, {"Content-Type": "application/x-ndjson"})
            if "gzip" in phases:
                # Bodies for up to 2,500 recordings a second, compressed as the station does (level 6)
                # now, on every core (zlib lets go of the GIL); more, if needed, while the phase runs.
                count = int(args.seconds * 2500 / args.batch) + args.clients
                print(f"# compressing {count} batch bodies", flush=True)
                with ThreadPoolExecutor(os.cpu_count()) as compressors:
                    ready = list(compressors.map(lambda body: gzip.compress(body, compresslevel=6),
                                                 [batch_body() + b"\n" for _ in range(count)]))

                def gzipped_bodies() -> Iterator[bytes]:
                    yield from ready
                    print("# out of compressed bodies: compressing during the phase", flush=True)
                    while True:
                        yield gzip.compress(batch_body() + b"\n", compresslevel=6)

                bodies = gzipped_bodies()
                await service_phase("gzip", f"batch POST /v1/enrollments/batch x{args.batch}, gzip",
                                    lambda: next(bodies), "/v1/enrollments/batch", args.batch,
                                    {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})

        async def raw_phases(pool: asyncpg.Pool, when: str) -> dict[str, dict]:
            """Both raw phases; PostgreSQL's CPU is counted on the pool's connections' processes."""
            out = {}
            for name, per_tx in (("single", 1), ("batch", args.batch)):
                cpu = cpu_seconds(pid)
                phase = await raw_inserts(pool, tmpl, clients=args.clients, seconds=args.seconds, per_tx=per_tx)
                out[name] = summary(f"raw asyncpg insert, {per_tx} per transaction ({when})", phase,
                                    **cpu_ms_per_recording(cpu, phase))
                await settle(dsn, vacuum=name == "batch")
            return out

        # The raw phases run before the service's and again after them: this machine's speed drifts
        # by a quarter within minutes (other work on its host), and a share of one raw figure
        # measured minutes away from the service's moved with it. The share is of their mean.
        pool = None
        raws: list[dict[str, dict]] = []
        if "raw" in phases:
            pool = await asyncpg.create_pool(dsn, min_size=min(args.clients, 40), max_size=min(args.clients, 40))
            raws.append(await raw_phases(pool, "before"))
        try:
            await service_phases()
            if pool is not None:
                raws.append(await raw_phases(pool, "after"))
        finally:
            if pool is not None:  # closed after the last figures
                await pool.close()
        ratios = []
        for name in ("single", "batch", "gzip"):
            if name in rows and raws:
                kind = "single" if name == "single" else "batch"
                raw = statistics.mean(r[kind]["per_second"] for r in raws)
                ratios.append(f"{name}: {rows[name]['per_second'] / max(raw, 1):.0%} of raw ({raw:.0f}/s)")
        if ratios:
            print("# " + "; ".join(ratios), flush=True)
    finally:
        if proc is not None:
            proc.stop(timeout=30)
        infra.delete_vhost(vhost)
        await infra.drop_database(db_name)


if __name__ == "__main__":
    asyncio.run(main())
