"""Fixtures shared by the integration and end-to-end tests: real PostgreSQL, real RabbitMQ,
services as separate processes."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import infra
from tests.support.processes import SERVICES, Cluster, Proc, ektp, free_port, wait_http

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# One data key for the test session: in this process's environment (so every Settings() made by
# a test has it), given to every service process, and used by tests that read the databases.
DATA_KEY = base64.b64encode(os.urandom(32)).decode()
os.environ["EKTP_DATA_KEY"] = DATA_KEY


@pytest.fixture(autouse=True, scope="session")
def data_key() -> str:
    from shared import crypto

    crypto.configure(DATA_KEY)
    return DATA_KEY


def in_thread(fn, *args):  # type: ignore[no-untyped-def]
    """Run blocking or asyncio.run-based set-up off the test's event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database."""
    from shared.migrate import upgrade

    name, url = in_thread(asyncio.run, infra.create_database())
    try:
        in_thread(upgrade, url)
        yield url
    finally:
        in_thread(asyncio.run, infra.drop_database(name))


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """A fresh RabbitMQ virtual host."""
    name, url = infra.create_vhost()
    try:
        yield url
    finally:
        infra.delete_vhost(name)


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(32)


def service_env(*, database_url: str, broker_url: str | None, token: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    env.update({
        "EKTP_ENV": "test",
        "EKTP_DATABASE_URL": database_url,
        "EKTP_BOOTSTRAP_TOKEN": token,
        "EKTP_DATA_KEY": DATA_KEY,
        "EKTP_DATA_DIR": str(data_dir),
        "EKTP_LOG_LEVEL": "INFO",
        "EKTP_PRINT_LEASE_SECONDS": "4",
        **extra,
    })
    if broker_url:
        env["EKTP_BROKER_URL"] = broker_url
    return env


@contextmanager
def running_cluster(pg_url: str, amqp_url: str, token: str, tmp_path: Path, services: Iterable[str] = SERVICES,
                    **env_extra: str) -> Iterator[Cluster]:
    """`services` as separate uvicorn processes on PostgreSQL + RabbitMQ, stopped on exit."""
    env = service_env(database_url=pg_url, broker_url=amqp_url, token=token, data_dir=tmp_path, **env_extra)
    c = Cluster(env=env, workdir=tmp_path, token=token)
    try:
        for service in services:
            c.start_service(service)
        yield c
    finally:
        c.stop()


@pytest.fixture
def cluster(pg_url: str, amqp_url: str, token: str, tmp_path: Path) -> Iterator[Cluster]:
    """The four services as separate uvicorn processes on PostgreSQL + RabbitMQ."""
    with running_cluster(pg_url, amqp_url, token, tmp_path) as c:
        yield c


@pytest.fixture
def print_cluster_lease() -> str | None:
    """EKTP_PRINT_LEASE_SECONDS of `print_cluster` (tests/print/pool.py, which the print and the
    reliability tests use; None: the default); a test sets it with
    `@pytest.mark.parametrize("print_cluster_lease", ["120"])`."""
    return None


@pytest.fixture
def allinone_env() -> dict[str, str]:
    """Settings of the `allinone` fixture's process beyond its own; a test sets some with
    `@pytest.mark.parametrize("allinone_env", [{"EKTP_...": "..."}])`."""
    return {}


@pytest.fixture
def allinone(token: str, tmp_path: Path, allinone_env: dict[str, str]) -> Iterator[tuple[str, Proc]]:
    """`ektp up` as a user runs it: one process, embedded database and queue, five print agents."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    env.update({"EKTP_BOOTSTRAP_TOKEN": token, "EKTP_PRINT_LEASE_SECONDS": "4", "EKTP_DATA_KEY": DATA_KEY,
                **allinone_env})
    proc = Proc("ektp-up", ektp("up", "--port", str(port), "--data-dir", str(tmp_path / "var"),
                                "--print-agents", "5"), env, tmp_path / "up.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", proc=proc, timeout=90)
        yield url, proc
    finally:
        proc.stop(timeout=30)
