from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import running_cluster
from tests.support.processes import Cluster


@pytest.fixture
def cluster(pg_url: str, amqp_url: str, token: str, tmp_path: Path) -> Iterator[Cluster]:
    """The four services on PostgreSQL + RabbitMQ with every event relayed twice (fault injection)."""
    with running_cluster(pg_url, amqp_url, token, tmp_path, EKTP_FAULT_PUBLISH_TWICE="1") as c:
        yield c
