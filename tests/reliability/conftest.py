from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import service_env
from tests.support.processes import Cluster


@pytest.fixture
def cluster(pg_url: str, amqp_url: str, token: str, tmp_path: Path) -> Iterator[Cluster]:
    """The four services on PostgreSQL + RabbitMQ with every event relayed twice (fault injection)."""
    env = service_env(database_url=pg_url, broker_url=amqp_url, token=token, data_dir=tmp_path,
                      EKTP_FAULT_PUBLISH_TWICE="1")
    c = Cluster(env=env, workdir=tmp_path, token=token)
    try:
        c.start()
        yield c
    finally:
        c.stop()
