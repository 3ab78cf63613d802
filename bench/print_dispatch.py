"""Print dispatch overhead: cards/s through the print service with N sim agents at 0 s per card,
beside a raw RabbitMQ consume rate measured in the same run; time from agent start to its first
job; time from an agent's death (kill -9) to its jobs being printed elsewhere.

    .venv/bin/python bench/print_dispatch.py [--agents 20] [--cards 1000] [--lease 4]

Needs the test servers (PostgreSQL on 127.0.0.1:5432, RabbitMQ with guest/guest, as for
scripts/test.sh): makes a fresh database and virtual host, runs the print service as its own
process (uvicorn), the agents in this process over HTTP (SimDriver, 0 s per card), and the agent
that is killed as its own process (`ektp print-agent`).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import aio_pika  # noqa: E402

from services.print.agent.drivers import CardJob, PrintOutcome, SimDriver  # noqa: E402
from services.print.agent.runner import AgentConfig, PrintAgent  # noqa: E402
from shared.migrate import upgrade  # noqa: E402
from tests.conftest import service_env  # noqa: E402
from tests.print.pool import add_stock, client, jobs_total, publish_jobs, query, wait_jobs  # noqa: E402
from tests.support import infra  # noqa: E402
from tests.support.processes import Cluster  # noqa: E402

SITE, OTHER = "53.71", "53.71.04"


class TimedSim(SimDriver):
    """SimDriver that notes when it got its first card."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.first: float | None = None

    async def print_card(self, job: CardJob) -> PrintOutcome:
        if self.first is None:
            self.first = time.perf_counter()
        return await super().print_card(job)


async def raw_rabbitmq(url: str, count: int, body_size: int) -> float:
    """Messages/s: publish `count` persistent messages to a quorum queue, then consume and ack."""
    connection = await aio_pika.connect_robust(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue("bench.raw", durable=True, arguments={"x-queue-type": "quorum"})
        body = b"x" * body_size
        await asyncio.gather(*(channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key="bench.raw")
            for _ in range(count)))
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=32)
        q = await consumer.get_queue("bench.raw")
        got = 0
        start = time.perf_counter()
        async with q.iterator() as it:
            async for message in it:
                await message.ack()
                got += 1
                if got == count:
                    break
        return count / (time.perf_counter() - start)
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> None:
    token = secrets.token_urlsafe(32)
    name, pg_url = await infra.create_database()
    vhost, amqp_url = infra.create_vhost()
    workdir = Path(tempfile.mkdtemp(prefix="ektp-bench-"))
    cluster: Cluster | None = None
    try:
        await asyncio.to_thread(upgrade, pg_url)
        env = service_env(database_url=pg_url, broker_url=amqp_url, token=token, data_dir=workdir,
                          EKTP_PRINT_LEASE_SECONDS=str(args.lease), EKTP_LOG_LEVEL="WARNING")
        cluster = Cluster(env=env, workdir=workdir, token=token)
        await asyncio.to_thread(cluster.start_service, "print")
        async with client(cluster) as api:
            await publish_jobs(amqp_url, SITE, args.cards)
            await wait_jobs(api, args.cards, timeout=600, site=SITE)
            await add_stock(api, SITE, "7000000001", args.cards)

            drivers = [TimedSim() for _ in range(args.agents)]
            agents = [PrintAgent(AgentConfig(service_url=cluster.url("print"), token=token, site=SITE, name=f"bench-{i}",
                                             printer_model="sim", claim_wait_seconds=5), d)
                      for i, d in enumerate(drivers)]
            start = time.perf_counter()
            tasks = [asyncio.create_task(a.run()) for a in agents]
            while sum(a.printed for a in agents) < args.cards:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            firsts = [d.first - start for d in drivers if d.first is not None]
            for a in agents:
                a.stop()
            await asyncio.gather(*tasks)
            dispatch_rate = args.cards / elapsed

            raw_rate = await raw_rabbitmq(amqp_url, args.cards, body_size=2048)

            # Takeover: an agent process holds 2 jobs mid-print, is killed -9; a live agent prints them.
            await add_stock(api, OTHER, "7100000001", 10)
            doomed = cluster.start_agent(OTHER, capacity=2, extra=("--sim-seconds", "600"))
            await publish_jobs(amqp_url, OTHER, 2)
            while await jobs_total(api, site=OTHER, status="CLAIMED") < 2:
                await asyncio.sleep(0.1)
            survivor = PrintAgent(AgentConfig(service_url=cluster.url("print"), token=token, site=OTHER,
                                              name="survivor", capacity=2, claim_wait_seconds=5), SimDriver(0.0))
            survivor_task = asyncio.create_task(survivor.run())
            await survivor.registered.wait()
            killed = time.perf_counter()
            doomed.kill()
            while await jobs_total(api, site=OTHER, status="PRINTED") < 2:
                await asyncio.sleep(0.05)
            takeover = time.perf_counter() - killed
            survivor.stop()
            await survivor_task
            spoiled = await query(pg_url, "SELECT count(*) AS n FROM print.print_blank_cards WHERE status = 'SPOILED'")

        print(f"print dispatch: {args.agents} sim agents at 0 s/card, {args.cards} cards, PostgreSQL + RabbitMQ, "
              f"lease {args.lease} s")
        print(f"  through the print service   {dispatch_rate:8.1f} cards/s   ({1000 / dispatch_rate:.2f} ms per card, "
              f"{elapsed:.1f} s)")
        print(f"  raw RabbitMQ (quorum queue) {raw_rate:8.1f} msgs/s    (consume + ack, 2 KiB persistent, same count)")
        print(f"  agent start → first job     median {statistics.median(firsts):.2f} s, max {max(firsts):.2f} s "
              f"({len(firsts)} agents; includes registration)")
        print(f"  kill -9 → jobs printed elsewhere {takeover:.2f} s (lease {args.lease} s; "
              f"{spoiled[0]['n']} blanks spoiled 'agent lost')")
    finally:
        if cluster is not None:
            cluster.stop()
        await infra.drop_database(name)
        infra.delete_vhost(vhost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--lease", type=float, default=4.0, help="EKTP_PRINT_LEASE_SECONDS of the print service")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
