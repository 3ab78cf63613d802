"""A print agent: one process per print server.

It registers with the print service (site, role, capacity, printer model, version), renews its
lease by heartbeat, and claims jobs of its site up to its capacity (long-poll), prints each with
its driver and reports the result. On SIGTERM (or `stop`) it drains: claims nothing more,
finishes what it holds, deregisters. If it dies, its lease expires and the service gives its
jobs to the rest of the pool. A printer that cannot print keeps it out of its pool (`check`); one
that faults while printing spoils that blank (`printer_fault`) and stops the agent (PrinterFault),
so a broken printer does not take the site's blanks one after another.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.print.agent.drivers import CardJob, ChipFields, Printed, PrinterDriver
from services.print.agent.identity import NodeIdentity
from services.print.card.payload import card_data

log = logging.getLogger(__name__)

VERSION = "0.1.0"
# The longest an agent waits between two tries of a call the service did not answer (`_call`); the
# print service's restart grace counts on it (services/print/app.py, reap_lost_nodes).
RETRY_MAX_SECONDS = 15.0


class PrinterFault(RuntimeError):
    """The printer failed while printing: the agent stopped (restart it once the printer is fixed)."""


class Stopped(Exception):
    """The agent is stopping and the print service does not answer: the call is given up."""


class Refused(RuntimeError):
    """The print service refused this agent (its credential, its site or what it sent): it cannot
    join its pool, nor stay in it; retrying would not change the answer."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            body = response.json()
            reason = f"{body['error']}: {body['detail']}"
        except (ValueError, KeyError, TypeError):
            reason = response.text[:200]
        super().__init__(f"{response.request.method} {response.request.url.path} answered "
                         f"{response.status_code} {reason}")


@dataclass
class AgentConfig:
    service_url: str
    token: str
    site: str
    role: str = "primary"
    capacity: int = 1
    name: str = field(default_factory=lambda: f"{socket.gethostname()}")
    printer_model: str = "render"
    claim_wait_seconds: float = 10.0
    retry_seconds: float = 1.0
    # Where it keeps the id of the node it is (`identity.py`), so that after a restart it takes its
    # previous node over at once; None: it does not (its previous node is left to the lease).
    state_dir: Path | None = None


class PrintAgent:
    def __init__(self, config: AgentConfig, driver: PrinterDriver) -> None:
        self.config = config
        self.driver = driver
        self.node_id: str | None = None
        self.heartbeat_seconds = 5.0
        self.in_flight: set[asyncio.Task[None]] = set()
        # Claim ids of the cards printing or being reported: said with every claim, so the service
        # hands again a claim whose answer never reached this agent (it would wait for ever).
        self.holding: set[str] = set()
        self.printed = 0
        self.spoiled = 0
        self._stopping = asyncio.Event()
        self.registered = asyncio.Event()
        self.fault: BaseException | None = None
        self.identity: NodeIdentity | None = None

    def stop(self) -> None:
        """Drain: take no new job, finish the ones held, deregister."""
        self._stopping.set()

    # ---- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> None:
        await self.driver.check()
        self.identity = NodeIdentity.open(self.config.state_dir, self.config.name) if self.config.state_dir else None
        try:
            await self._run()
        finally:
            if self.identity is not None:
                self.identity.close()
        if self.fault is not None:
            raise PrinterFault(f"printer fault: {self.fault!r}") from self.fault

    async def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.config.token}"}
        timeout = httpx.Timeout(self.config.claim_wait_seconds + 15, connect=5)
        async with httpx.AsyncClient(base_url=self.config.service_url, headers=headers, timeout=timeout) as client:
            self.client = client
            try:
                await self._register()
            except Stopped:
                log.info("stopped before the print service answered; not registered")
                return
            heartbeat = asyncio.create_task(self._heartbeat_loop())
            try:
                await self._claim_loop()
                if self.in_flight:
                    log.info("draining: %d card(s) in flight", len(self.in_flight))
                    await asyncio.gather(*self.in_flight, return_exceptions=True)
            finally:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
                await self._deregister()

    async def _call(self, method: str, url: str, *, until_stopped: bool = False,
                    **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        """Retries until the service answers (a weak link must not lose a report). A call made
        `until_stopped` (registering, claiming) is given up once the agent stops (Stopped)."""
        delay = self.config.retry_seconds
        while True:
            try:
                response = await self.client.request(method, url, **kwargs)
                if response.status_code < 500:
                    return response
                log.warning("%s %s answered %s; retrying", method, url, response.status_code)
            except httpx.TransportError as exc:
                log.warning("%s %s failed (%s); retrying", method, url, exc.__class__.__name__)
            if until_stopped:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                if self._stopping.is_set():
                    raise Stopped(f"{method} {url}")
            else:
                await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _register(self) -> None:
        body = {"name": self.config.name, "site": self.config.site, "role": self.config.role,
                "capacity": self.config.capacity, "printer_model": self.config.printer_model, "version": VERSION}
        if self.identity is not None and self.identity.previous is not None:
            body["replaces"] = str(self.identity.previous)  # the node of this print server's previous process
        response = await self._call("POST", "/v1/print/nodes", json=body, until_stopped=True)
        if response.is_client_error:
            raise Refused(response)
        node = response.json()
        self.node_id = node["id"]
        self.heartbeat_seconds = node["heartbeat_seconds"]
        if self.identity is not None:
            self.identity.remember(node["id"])
        self.registered.set()
        log.info("registered as node %s at site %s (%s, capacity %d)", self.node_id, self.config.site,
                 self.config.role, self.config.capacity)
        if node.get("replaced"):
            log.warning("took over node %s of this print server's previous process: its %d claimed card(s) "
                        "went back to the queue (their blanks spoiled, reason node_restarted)",
                        node["replaced"], node.get("released_jobs", 0))

    async def _deregister(self) -> None:
        if self.node_id is None:
            return
        try:
            await self.client.delete(f"/v1/print/nodes/{self.node_id}")
            log.info("node %s deregistered", self.node_id)
        except httpx.HTTPError as exc:
            log.warning("could not deregister (%s); the lease will expire", exc.__class__.__name__)

    async def _announce_drain(self) -> None:
        try:
            await self.client.post(f"/v1/print/nodes/{self.node_id}/drain", timeout=5)
        except httpx.HTTPError as exc:
            log.warning("could not tell the service this node drains (%s); finishing the open claim",
                        exc.__class__.__name__)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            response = await self._call("POST", f"/v1/print/nodes/{self.node_id}/heartbeat")
            if response.status_code == 409:
                log.error("the print service declared this node lost; re-registering")
                await self._register()
            elif response.is_success and response.json()["status"] == "DRAINING":
                log.info("the print service asked this node to drain")
                self.stop()

    # ---- work --------------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            free = self.config.capacity - len(self.in_flight)
            if free <= 0:
                await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            stop_wait = asyncio.create_task(self._stopping.wait())
            claim = asyncio.create_task(self._call(
                "POST", f"/v1/print/nodes/{self.node_id}/claim",
                json={"max_jobs": free, "wait_seconds": self.config.claim_wait_seconds,
                      "holding": sorted(self.holding)}, until_stopped=True))
            done, _ = await asyncio.wait({stop_wait, claim}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            try:
                if claim not in done:
                    # Draining: tell the service, so the long-poll already sent answers at once; it
                    # may still hand us jobs: take and finish them.
                    await self._announce_drain()
                    response = await claim
                else:
                    response = claim.result()
            except Stopped:
                log.warning("stopping while the print service does not answer the claim")
                break
            if response.status_code == 409 or response.status_code == 404:
                await self._register()
                continue
            if response.is_client_error:
                raise Refused(response)  # e.g. its credential revoked while it ran
            body = response.json()
            for job in body["jobs"]:
                if job["claim_id"] in self.holding:
                    continue  # already printing it (an answer of a request retried after it was cut)
                self.holding.add(job["claim_id"])
                task = asyncio.create_task(self._print(job))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
            if body["node_status"] == "DRAINING":
                self.stop()

    async def _print(self, job: dict) -> None:
        try:
            await self._print_and_report(job)
        finally:
            self.holding.discard(job["claim_id"])

    async def _print_and_report(self, job: dict) -> None:
        card = job["card"]
        data = card_data(card, serial=job["serial"], issue_place=card["issue_place"],
                         issue_date=dt.date.fromisoformat(card["issue_date"]))
        card_job = CardJob(job_id=job["job_id"], serial=job["serial"], card=data,
                           chip=ChipFields(card.get("right_index"), card.get("left_index")),
                           chip_record=base64.b64decode(card["chip_record"]) if card.get("chip_record") else None)
        try:
            outcome = await self.driver.print_card(card_job)
        except ValueError as exc:
            # Data the card cannot hold: nothing was printed, the blank goes back to stock and the
            # job is held for an operator.
            log.error("job %s cannot be printed: %s", job["job_id"], exc)
            body = {"claim_id": job["claim_id"], "outcome": "unprintable", "detail": str(exc)[:300]}
        except Exception as exc:  # noqa: BLE001 (whatever the device or disk raised)
            # The printer failed mid-card: the blank may be used up, so it is spoiled, and the agent
            # stops rather than spoil the site's blanks one after another.
            log.error("printer fault on job %s (%r): this print server stops", job["job_id"], exc)
            body = {"claim_id": job["claim_id"], "outcome": "spoiled", "reason": "printer_fault",
                    "detail": repr(exc)[:300]}
            self.fault = self.fault or exc
            self.stop()
        else:
            if isinstance(outcome, Printed):
                body = {"claim_id": job["claim_id"], "outcome": "printed"}
            else:
                body = {"claim_id": job["claim_id"], "outcome": "spoiled", "reason": outcome.reason}
        response = await self._call("POST", f"/v1/print/jobs/{job['job_id']}/result", json=body)
        if response.is_success:
            report = response.json()["report"]
            if report == "printed":
                self.printed += 1
            elif report == "spoiled":
                self.spoiled += 1
            else:
                log.error("card %s of job %s is VOID (its claim was taken back): destroy it", job["serial"], job["job_id"])
        else:
            log.error("result of job %s refused: %s %s", job["job_id"], response.status_code, response.text)
