"""A print agent whose printer fails: one that cannot print at all stays out of its pool; one that
fails while printing spoils that blank and stops, rather than take the site's blanks one after
another. A stopping agent whose print service does not answer stops at once. An agent the service
refuses (its credential, its site) stops with one line, not a traceback. Agents in-process against
the print service as its own process on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest

from services.print.agent.drivers import CardJob, RenderDriver
from services.print.agent.runner import AgentConfig, PrintAgent, PrinterFault, Refused
from shared.auth.principal import Role, create_credential, revoke_credential
from shared.db import create_engine, make_sessionmaker
from tests.print.pool import (  # noqa: F401 (print_cluster is a fixture)
    add_stock,
    client,
    jobs_total,
    nodes,
    print_cluster,
    publish_jobs,
    query,
)
from tests.support.api import eventually
from tests.support.processes import ektp

SITE = "53.71.02"


class FullDisk(RenderDriver):
    """Renders, then cannot write the card: the disk is full."""

    def _print(self, job: CardJob):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")


async def test_a_printer_that_fails_mid_card_spoils_one_blank_and_stops_its_agent(print_cluster, tmp_path):
    c = print_cluster
    async with client(c) as api:
        await add_stock(api, SITE, "7200000001", 10)
        await publish_jobs(c.amqp_url, SITE, 3)
        await eventually(lambda: _queued(api, 3), timeout=30, what="three jobs queued")
        agent = PrintAgent(AgentConfig(service_url=c.url("print"), token=c.token, site=SITE, name="ps-full-disk",
                                       capacity=1, claim_wait_seconds=2), FullDisk(tmp_path / "cards"))
        with pytest.raises(PrinterFault, match="No space left"):
            await asyncio.wait_for(agent.run(), timeout=60)

        assert await _queued(api, 3)  # the card goes back to the queue for the rest of the pool
        spoiled = await query(c.pg_url, "SELECT reason FROM print.print_blank_cards WHERE status = 'SPOILED'")
        assert [r["reason"] for r in spoiled] == ["printer_fault"]
        assert [n["status"] for n in await nodes(api)] == ["GONE"]


async def test_a_printer_that_cannot_print_at_all_keeps_its_agent_out_of_the_pool(print_cluster, tmp_path):
    c = print_cluster
    (tmp_path / "not-a-dir").write_text("a file where the cards should go")
    agent = PrintAgent(AgentConfig(service_url=c.url("print"), token=c.token, site=SITE, name="ps-no-volume"),
                       RenderDriver(tmp_path / "not-a-dir" / "cards"))
    with pytest.raises(OSError):
        await agent.run()
    async with client(c) as api:
        assert await nodes(api) == []


async def test_a_stopping_agent_stops_at_once_while_the_print_service_does_not_answer(tmp_path):
    closed = "http://127.0.0.1:9"  # nothing listens here
    agent = PrintAgent(AgentConfig(service_url=closed, token="t", site=SITE, retry_seconds=0.2),
                       RenderDriver(tmp_path / "cards"))
    running = asyncio.create_task(agent.run())
    await asyncio.sleep(1.0)  # registering, retrying
    assert not running.done()
    agent.stop()
    await asyncio.wait_for(running, timeout=5)
    assert agent.node_id is None


async def test_an_agent_the_print_service_refuses_stops_and_says_why(print_cluster, tmp_path):
    c = print_cluster
    _, other_site = await _credential(c.pg_url, Role.PRINT_OPERATOR, "53.71.01")
    revoked_id, revoked = await _credential(c.pg_url, Role.PRINT_OPERATOR, SITE)

    def agent(token: str, name: str) -> PrintAgent:
        return PrintAgent(AgentConfig(service_url=c.url("print"), token=token, site=SITE, name=name,
                                      retry_seconds=0.2, claim_wait_seconds=1), RenderDriver(tmp_path / name))

    with pytest.raises(Refused, match="answered 401"):
        await asyncio.wait_for(agent("not-a-credential", "ps-bad-token").run(), timeout=60)
    with pytest.raises(Refused, match="answered 403 wrong_site"):
        await asyncio.wait_for(agent(other_site, "ps-other-site").run(), timeout=60)

    # a credential revoked while its agent runs: the agent stops at its next claim
    running = agent(revoked, "ps-revoked")
    task = asyncio.create_task(running.run())
    await asyncio.wait_for(running.registered.wait(), timeout=60)
    await _in_session(c.pg_url, lambda session: revoke_credential(session, revoked_id))
    with pytest.raises(Refused, match="answered 401"):
        await asyncio.wait_for(task, timeout=60)

    # the command: exit 1 and one line saying why
    done = subprocess.run(ektp("print-agent", "--site", SITE, "--service-url", c.url("print"), "--name", "ps-cli",
                               "--output-dir", str(tmp_path / "cli"), "--token", other_site),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "print agent stopped: POST /v1/print/nodes answered 403 wrong_site" in done.stderr


async def _credential(pg_url: str, role: Role, site: str) -> tuple[uuid.UUID, str]:
    credential, token = await _in_session(
        pg_url, lambda session: create_credential(session, name=f"test {role.value} {site}", role=role, site=site))
    return credential.id, token


async def _in_session(pg_url: str, work):  # type: ignore[no-untyped-def]
    engine = create_engine(pg_url, application_name="test-credentials")
    try:
        async with make_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def _queued(api, count: int) -> bool:  # type: ignore[no-untyped-def]
    return await jobs_total(api, site=SITE, status="QUEUED") == count

