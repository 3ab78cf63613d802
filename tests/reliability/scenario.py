"""The reliability run: real services as separate processes on PostgreSQL + RabbitMQ, a load
generator posting recordings, print agents printing, and faults injected one after another.
At the end an audit compares every recording the clients were told was accepted with the final
state of the system, and prints what it found.

Used by tests/reliability/test_faults.py: a shortened run in CI, the full run with
EKTP_RELIABILITY_FULL=1 (`make reliability`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import asyncpg
import httpx

from shared.db import asyncpg_dsn
from tests.support.api import auth, recording, submit_recording
from tests.support.processes import SERVICES, Cluster

KECAMATAN_PRINTERS = ("53.71.01", "53.71.02", "53.71.04")
DINAS = "53.71"
REDIRECTED = ("53.71.03", "53.71.05", "53.71.06")
ALL_SITES = (DINAS, *KECAMATAN_PRINTERS, *REDIRECTED)
FINAL = {"PRINTED", "ISSUED", "DUPLICATE", "ENROLL_FAILURE", "ADJUDICATION"}


@dataclass
class Fault:
    name: str
    recovered_seconds: float | None = None
    note: str = ""


@dataclass
class Report:
    accepted: int = 0
    refused: int = 0
    lost: int = 0
    doubled_enrollments: int = 0
    doubled_cards: int = 0
    not_final: int = 0
    statuses: Counter = field(default_factory=Counter)
    jobs_printed: int = 0
    blanks_used: int = 0
    serials_reused: int = 0
    certificates_valid_after_issue: int = 0
    certificates_issued: int = 0
    cards_handed_over: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"accepted recordings     {self.accepted}",
            f"refused (told so)       {self.refused}",
            f"lost                    {self.lost}   (must be 0)",
            f"doubled enrollments     {self.doubled_enrollments}   (must be 0)",
            f"doubled cards           {self.doubled_cards}   (must be 0)",
            f"not in a final state    {self.not_final}",
            f"final states            {dict(sorted(self.statuses.items()))}",
            f"jobs printed / blanks used   {self.jobs_printed} / {self.blanks_used}",
            f"serials used twice      {self.serials_reused}   (must be 0)",
            f"certificates issued     {self.certificates_issued}; valid after hand-over: "
            f"{self.certificates_valid_after_issue} (must be 0) of {self.cards_handed_over} handed over",
            f"dead letters            {self.dead_letters}",
            "faults (time to recover):",
        ]
        out += [f"  {f.name:<36} {'' if f.recovered_seconds is None else f'{f.recovered_seconds:6.1f} s'}  {f.note}"
                for f in self.faults]
        out.append(f"run took {self.seconds:.0f} s")
        return out

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.doubled_enrollments == 0 and self.doubled_cards == 0 and self.not_final == 0
                and self.serials_reused == 0 and self.jobs_printed == self.blanks_used
                and self.certificates_valid_after_issue == 0)


@dataclass
class Scenario:
    cluster: Cluster
    pg_url: str
    amqp_url: str
    recordings: int = 120
    rate_per_second: float = 8.0
    restart_broker: bool = False
    restart_database: bool = False
    pause_whole_run: bool = False  # dedup paused from the first fault until the load has ended
    seed: int = 1000
    report: Report = field(default_factory=Report)
    accepted: dict[str, str] = field(default_factory=dict)  # enrollment id -> receipt
    personal: set[str] = field(default_factory=set)  # NIKs and names posted: must never reach a log

    @property
    def token(self) -> str:
        return self.cluster.token

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.cluster.url(service), headers=auth(self.token), timeout=30)

    # ---- set-up ------------------------------------------------------------------------------
    async def prepare(self) -> None:
        async with self.client("print") as printing:
            for n, site in enumerate(ALL_SITES, start=1):
                r = await printing.post(f"/v1/print/sites/{site}/stock", json={"first_serial": f"{n:02d}00000001", "count": 2000})
                r.raise_for_status()
            for site in REDIRECTED:
                r = await printing.post(f"/v1/print/sites/{site}/redirect",
                                        json={"to_site": DINAS, "reason": "no print server at this kecamatan"})
                r.raise_for_status()
        for site in KECAMATAN_PRINTERS:
            self.cluster.start_agent(site, capacity=2, extra=("--sim-seconds", "0.3"))
        self.cluster.start_agent(DINAS, capacity=2, extra=("--sim-seconds", "0.3"))
        self.cluster.start_agent(DINAS, role="backup", capacity=1, extra=("--sim-seconds", "0.3"))

    # ---- load --------------------------------------------------------------------------------
    async def load(self) -> None:
        """Posts recordings at a steady rate; a recording counts as accepted only when the
        service answered 200/201 (retries use the same Idempotency-Key, as a station would)."""
        async with self.client("enrollment") as enrollment:
            semaphore = asyncio.Semaphore(4)

            async def post(i: int) -> None:
                rec = recording(self.seed + i)
                self.personal.update((rec["nik"], rec["name"], rec["kk_number"]))
                async with semaphore:
                    r = await submit_recording([enrollment], rec)
                if r is not None and r.status_code in (200, 201):
                    body = r.json()
                    self.accepted[body["id"]] = body["receipt_number"]
                else:
                    self.report.refused += 1

            tasks = []
            for i in range(self.recordings):
                tasks.append(asyncio.create_task(post(i)))
                await asyncio.sleep(1 / self.rate_per_second)
            await asyncio.gather(*tasks)

    # ---- faults ------------------------------------------------------------------------------
    async def restart_service(self, name: str) -> None:
        proc = self.cluster.procs[name]
        proc.kill()
        start = time.monotonic()
        await asyncio.to_thread(self.cluster.start_service, name)
        self.report.faults.append(Fault(f"kill -9 {name}", time.monotonic() - start))

    async def kill_agent_mid_print(self) -> None:
        victim = next(a for a in self.cluster.agents if a.alive and "53.71.04" in a.name)
        victim.kill()
        start = time.monotonic()
        self.cluster.start_agent("53.71.04", capacity=2, extra=("--sim-seconds", "0.3"))

        async def taken_over() -> bool:
            async with self.client("print") as printing:
                nodes = (await printing.get("/v1/print/nodes", params={"site": "53.71.04", "limit": 200})).json()["items"]
            return any(n["status"] == "LOST" for n in nodes)

        await self._until(taken_over, 60)
        self.report.faults.append(Fault("kill -9 print agent 53.71.04", time.monotonic() - start,
                                        "its lease expired; jobs back in the queue"))

    async def pause_dedup(self) -> float:
        async with self.client("dedup") as dedup:
            (await dedup.post("/v1/dedup/engine/pause", json={"reason": "lisensi habis (uji keandalan)"})).raise_for_status()
        return time.monotonic()

    async def resume_dedup(self, paused_at: float) -> None:
        async with self.client("dedup") as dedup:
            waiting = (await dedup.get("/v1/dedup/backlog")).json()["waiting"]
            start = time.monotonic()
            (await dedup.post("/v1/dedup/engine/resume")).raise_for_status()

            async def drained() -> bool:
                return (await dedup.get("/v1/dedup/backlog")).json()["waiting"] == 0

            await self._until(drained, 600)
        self.report.faults.append(Fault(f"dedup paused {start - paused_at:.0f} s", time.monotonic() - start,
                                        f"backlog {waiting} drained after resume"))

    async def poison(self) -> None:
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange("ektp.events")
            await exchange.publish(aio_pika.Message(b"{not json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                    message_id="poison-1"), routing_key="enrollment.submitted")
        self.report.faults.append(Fault("poison message", None, "malformed enrollment.submitted published"))

    async def restart_rabbitmq(self) -> None:
        start = time.monotonic()
        await asyncio.to_thread(subprocess.run, ["rabbitmqctl", "stop_app"], check=True, capture_output=True)
        await asyncio.sleep(2)
        await asyncio.to_thread(subprocess.run, ["rabbitmqctl", "start_app"], check=True, capture_output=True)
        await self._until(self._all_ready, 120)
        self.report.faults.append(Fault("restart RabbitMQ", time.monotonic() - start))

    async def restart_postgresql(self) -> None:
        version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
        start = time.monotonic()
        await asyncio.to_thread(subprocess.run, ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                                                 "restart"], check=True, capture_output=True)
        await self._until(self._all_ready, 120)
        self.report.faults.append(Fault("restart PostgreSQL", time.monotonic() - start))

    async def _all_ready(self) -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            for service in SERVICES:
                try:
                    if (await client.get(f"{self.cluster.url(service)}/readyz")).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
        return True

    @staticmethod
    async def _until(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await check():
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{check.__name__} not reached in {timeout}s")

    async def faults(self) -> float:
        await asyncio.sleep(1)
        paused_at = await self.pause_dedup()  # while recordings arrive: the backlog grows
        if not self.pause_whole_run:
            await asyncio.sleep(4)
            await self.resume_dedup(paused_at)
        for name in SERVICES:
            await self.restart_service(name)
            await asyncio.sleep(1)
        await self.kill_agent_mid_print()
        await self.poison()
        if self.restart_broker:
            await self.restart_rabbitmq()
        if self.restart_database:
            await self.restart_postgresql()
        return paused_at

    # ---- the end: certificates, hand-over, audit ---------------------------------------------
    async def settle(self, timeout: float = 240) -> None:
        """Waits until every accepted recording is in a final state (the audit reports any that is not)."""

        async def all_final() -> bool:
            statuses = await self._statuses()
            return all(statuses.get(e) in FINAL for e in self.accepted)

        try:
            await self._until(all_final, timeout)
        except TimeoutError:
            pass

    async def certificates_and_hand_over(self, count: int = 10) -> None:
        ids = list(self.accepted)[:count]
        async with self.client("certificate") as certificate, self.client("print") as printing:
            for enrollment_id in ids:
                r = await certificate.post("/v1/certificates", json={"enrollment_id": enrollment_id})
                if r.status_code == 201:
                    self.report.certificates_issued += 1
            for enrollment_id in ids:
                jobs = (await printing.get("/v1/print/jobs", params={"enrollment_id": enrollment_id})).json()["items"]
                printed = [j for j in jobs if j["status"] == "PRINTED"]
                if printed and (await printing.post(f"/v1/print/jobs/{printed[0]['id']}/issue")).status_code == 200:
                    self.report.cards_handed_over += 1
        await asyncio.sleep(3)  # revocations travel as events

    async def _statuses(self) -> dict[str, str]:
        conn = await asyncpg.connect(asyncpg_dsn(self.pg_url))
        try:
            rows = await conn.fetch("SELECT id::text, status FROM enrollment.enrollments")
        finally:
            await conn.close()
        return {r["id"]: r["status"] for r in rows}

    async def audit(self) -> None:
        r = self.report
        r.accepted = len(self.accepted)
        conn = await asyncpg.connect(asyncpg_dsn(self.pg_url))
        try:
            statuses = {row["id"]: row["status"] for row in
                        await conn.fetch("SELECT id::text, status FROM enrollment.enrollments")}
            r.lost = sum(1 for e in self.accepted if e not in statuses)
            r.not_final = sum(1 for e in self.accepted if e in statuses and statuses[e] not in FINAL)
            r.statuses = Counter(statuses[e] for e in self.accepted if e in statuses)
            r.doubled_enrollments = await conn.fetchval(
                "SELECT count(*) FROM (SELECT recording_site, idempotency_key FROM enrollment.enrollments "
                "GROUP BY 1, 2 HAVING count(*) > 1) d")
            r.doubled_cards = await conn.fetchval(
                "SELECT count(*) FROM (SELECT enrollment_id FROM print.print_jobs WHERE status IN ('PRINTED','ISSUED') "
                "GROUP BY 1 HAVING count(*) > 1) d")
            r.jobs_printed = await conn.fetchval("SELECT count(*) FROM print.print_jobs WHERE status IN ('PRINTED','ISSUED')")
            r.blanks_used = await conn.fetchval("SELECT count(*) FROM print.print_blank_cards WHERE status = 'USED'")
            r.serials_reused = await conn.fetchval(
                "SELECT count(*) FROM (SELECT serial FROM print.print_jobs WHERE serial IS NOT NULL "
                "GROUP BY 1 HAVING count(*) > 1) d")
            r.certificates_valid_after_issue = await conn.fetchval(
                "SELECT count(*) FROM certificate.certificates c JOIN print.print_jobs j "
                "ON j.enrollment_id = c.enrollment_id WHERE j.status = 'ISSUED' AND c.status = 'VALID'")
        finally:
            await conn.close()
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel()
            for queue in ("enrollment.timeline", "dedup.intake", "print.records", "certificate.records"):
                q = await channel.declare_queue(f"{queue}.dlq", passive=True)
                r.dead_letters[queue] = q.declaration_result.message_count

    async def run(self) -> Report:
        start = time.monotonic()
        await self.prepare()
        load = asyncio.create_task(self.load())
        paused_at = await self.faults()
        await load
        if self.pause_whole_run:
            await self.resume_dedup(paused_at)
        await self.settle()
        await self.certificates_and_hand_over()
        await self.audit()
        self.report.seconds = time.monotonic() - start
        return self.report


def save(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(report.lines()) + "\n")
    (path.with_suffix(".json")).write_text(json.dumps({**report.__dict__, "statuses": dict(report.statuses),
                                                       "faults": [f.__dict__ for f in report.faults]}, indent=2))
