"""The all-in-one: every service in one process, on one port, with the embedded database and
queue, plus a few print agents talking to it over loopback HTTP like any print server."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from console.routes import router as console_router
from services.certificate.app import module as certificate_module
from services.dedup.app import module as dedup_module
from services.enrollment.app import module as enrollment_module
from services.print.agent.drivers import make_driver
from services.print.agent.retention import Retention
from services.print.agent.runner import AgentConfig, PrintAgent
from services.print.app import module as print_module
from shared.app import build_app
from shared.migrate import upgrade
from shared.settings import Settings
from shared.sites import dinas_sites

log = logging.getLogger(__name__)

# Kota Kupang's five new print servers: three went to kecamatan, two back up the dinas. Another
# dinas (EKTP_DINAS_CODE) gets the same shape: its first three kecamatan, two dinas backups.
KUPANG_KECAMATAN_WITH_SERVER = ("53.71.01", "53.71.02", "53.71.04")


def kecamatan_with_server(dinas: str) -> tuple[str, ...]:
    return KUPANG_KECAMATAN_WITH_SERVER if dinas == "53.71" else dinas_sites(dinas)[1:4]


def printed_at_dinas(dinas: str) -> tuple[str, ...]:
    """Kecamatan without a print server of their own: their cards are printed at the dinas."""
    return tuple(s for s in dinas_sites(dinas)[1:] if s not in kecamatan_with_server(dinas))


def create_app(settings: Settings) -> FastAPI:
    modules = [enrollment_module(), dedup_module(), print_module(), certificate_module()]
    return build_app(modules, settings, title="KTP-el issuance platform (all-in-one)",
                     extra_routers=[console_router])


def _agent_ended(agent: PrintAgent, task: asyncio.Task[None]) -> None:
    """An agent that stops with an error (its printer failed) says so at once; the rest print on."""
    if not task.cancelled() and task.exception() is not None:
        log.error("print agent %s stopped: %s", agent.config.name, task.exception())


def agent_plan(count: int, dinas: str) -> list[tuple[str, str]]:
    """The first `count` agents: the city's five, then more dinas primaries."""
    five = [(site, "primary") for site in kecamatan_with_server(dinas)] + [(dinas, "backup")] * 2
    return five[:count] + [(dinas, "primary")] * max(0, count - len(five))


class StopSignals:
    """SIGINT and SIGTERM: the first asks for an orderly stop (`stop`), a later one for a stop at once
    (`force`). A signal within a second of the first is the same Ctrl-C delivered twice (scripts/run.sh
    forwards the one its terminal already sent to the whole process group), not a second one."""

    SAME_PRESS = 1.0

    def __init__(self) -> None:
        self.stop, self.force = asyncio.Event(), asyncio.Event()
        self._first: float | None = None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._signalled)

    def _signalled(self) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first = now
            self.stop.set()
        elif now - self._first >= self.SAME_PRESS:
            self.force.set()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: on SIGINT it would stop serving at once (and raise the
    signal again on the way out) while the print agents still claim and report through it. The
    all-in-one decides the order (`AllInOne.serve`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class AllInOne:
    settings: Settings
    host: str
    port: int
    print_agents: int
    driver: str = "render"
    seed_stock: int = 1000
    retention: Retention = field(default_factory=Retention)  # of the render agents' card files

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def serve(self) -> None:
        """Runs until SIGINT or SIGTERM, then stops in order: the print agents first (each finishes the
        cards it holds, reports them and leaves its pool), then the services. A second Ctrl-C while the
        agents finish stops them at once: they leave their pools, which gives their cards back."""
        signals = StopSignals()
        await asyncio.to_thread(upgrade, self.settings.database_url)
        if signals.stop.is_set():  # stopped during the migrations
            return
        server = _Server(uvicorn.Config(create_app(self.settings), host=self.host, port=self.port, log_config=None,
                                        access_log=False, lifespan="on", timeout_graceful_shutdown=30,
                                        proxy_headers=True, forwarded_allow_ips=self.settings.forwarded_allow_ips))
        server_task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if server_task.done() or signals.stop.is_set():
                    return  # failed to start (the error is logged), or stopped while starting
                await asyncio.sleep(0.05)
            await self._seed_stock()
            await self._route_sites_without_printer()
            if signals.stop.is_set():
                return
            agents = self._start_agents()
            agent_tasks = [asyncio.create_task(a.run()) for a in agents]
            for agent, task in zip(agents, agent_tasks, strict=True):
                task.add_done_callback(functools.partial(_agent_ended, agent))
            print(f"\nKTP-el all-in-one is running at {self.url}\n"
                  f"  API docs:        {self.url}/docs\n"
                  f"  resident status: {self.url}/v1/status/<receipt>\n"
                  f"  admin token:     {self.settings.bootstrap_token}\n"
                  f"  print agents:    {len(agents)} "
                  f"({', '.join(f'{s} {r}' for s, r in agent_plan(self.print_agents, self.settings.dinas_code))})\n"
                  f"  data:            {self.settings.data_dir.resolve()}\n"
                  "Press Ctrl-C to stop.\n", flush=True)
            await signals.stop.wait()
            await self._stop_agents(agents, agent_tasks, signals)
        finally:
            if server.started:
                print("stopping the services ...", flush=True)
            server.should_exit = True
            await server_task
            print("stopped.", flush=True)

    async def _stop_agents(self, agents: list[PrintAgent], tasks: list[asyncio.Task[None]],
                           signals: "StopSignals") -> None:
        """Drains the agents while the services still answer them; a second signal cancels what they print
        (each agent still leaves its pool, which gives its claimed cards back to the queue)."""
        print("stopping: the print agents finish the cards they hold (Ctrl-C again to stop at once) ...", flush=True)
        for agent in agents:
            agent.stop()
        drained = asyncio.gather(*tasks, return_exceptions=True)
        forced = asyncio.create_task(signals.force.wait())
        await asyncio.wait({drained, forced}, return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
        if not drained.done():
            print("stopping at once: the cards being printed go back to the print queue "
                  "(their blanks count as spoiled)", flush=True)
            for agent, task in zip(agents, tasks, strict=True):
                for job in list(agent.in_flight):
                    job.cancel()
                task.cancel()
        await drained  # an agent's error is logged when it ends (_agent_ended)
        print(f"print agents stopped ({sum(a.printed for a in agents)} card(s) printed)", flush=True)

    def _start_agents(self) -> list[PrintAgent]:
        agents = []
        plan = agent_plan(self.print_agents, self.settings.dinas_code)
        for i, (site, role) in enumerate(plan, start=1):
            output = Path(self.settings.data_dir) / "cards" / site
            driver = make_driver(self.driver, output_dir=output, retention=self.retention)
            config = AgentConfig(service_url=self.url, token=self.settings.bootstrap_token or "", site=site, role=role,
                                 capacity=1, name=f"allinone-{i}-{site}-{role}", printer_model=self.driver,
                                 state_dir=output)  # after a restart, each takes over its node of the last run
            agents.append(PrintAgent(config, driver))
        return agents

    async def _route_sites_without_printer(self) -> None:
        headers = {"Authorization": f"Bearer {self.settings.bootstrap_token}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers) as client:
            routed = {r["site"] for r in (await client.get("/v1/print/sites/routes")).json()}
            for site in printed_at_dinas(self.settings.dinas_code):
                if site not in routed:
                    response = await client.post(f"/v1/print/sites/{site}/redirect", json={
                        "to_site": self.settings.dinas_code,
                        "reason": "tidak ada server cetak di kecamatan / no print server at this kecamatan"})
                    response.raise_for_status()

    async def _seed_stock(self) -> None:
        """Blank cards for each site of the dinas, so that a demo prints (0 turns it off)."""
        if self.seed_stock <= 0:
            return
        headers = {"Authorization": f"Bearer {self.settings.bootstrap_token}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers) as client:
            stock = {s["site"]: s for s in (await client.get("/v1/print/stock")).json()}
            for n, site in enumerate(dinas_sites(self.settings.dinas_code), start=1):
                if site in stock:
                    continue
                first = f"{n:02d}{1:08d}"
                response = await client.post(f"/v1/print/sites/{site}/stock",
                                             json={"first_serial": first, "count": self.seed_stock})
                response.raise_for_status()
