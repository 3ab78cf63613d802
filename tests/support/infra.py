"""The real servers the integration tests use: a fresh PostgreSQL database and a fresh RabbitMQ
virtual host per test session, so runs never see each other's data or queues."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import asyncpg

PG_ADMIN_DSN = os.environ.get("EKTP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_BASE = os.environ.get("EKTP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")


def _sqlalchemy_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def create_database() -> tuple[str, str]:
    """A new empty database; returns (name, SQLAlchemy URL)."""
    name = f"ektp_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, _sqlalchemy_url(PG_ADMIN_DSN, name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, *args], check=True, capture_output=True, timeout=60)


def create_vhost() -> tuple[str, str]:
    """A new RabbitMQ virtual host for guest; returns (name, AMQP URL)."""
    name = f"ektp-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return name, f"{AMQP_BASE}/{name}"


def delete_vhost(name: str) -> None:
    _rabbitmqctl("delete_vhost", name)
