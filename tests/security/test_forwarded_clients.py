"""Behind the gateway (compose's nginx, the cluster's ingress) every resident's request comes from
the gateway's address. `ektp serve` believes the gateway's X-Forwarded-For when the gateway is one
of EKTP_FORWARDED_ALLOW_IPS, so the public status's rate limit counts each resident on their own;
from any other address the header is ignored (a caller cannot pick its own bucket). The enrollment
service as its own process on PostgreSQL and RabbitMQ; this test plays the gateway from loopback."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import running_cluster

LIMITED = {"EKTP_STATUS_RATE_PER_SECOND": "0.01", "EKTP_STATUS_RATE_BURST": "2"}


def statuses(url: str, resident: str, n: int) -> list[int]:
    headers = {"X-Forwarded-For": resident}
    return [httpx.get(f"{url}/v1/status/ABCD-EFGH-JKLM", headers=headers, timeout=30).status_code for _ in range(n)]


@pytest.mark.parametrize(("gateway", "own_buckets"), [("127.0.0.1", True), ("192.0.2.1", False)],
                         ids=["gateway trusted", "header from an unknown proxy"])
def test_residents_behind_the_gateway_are_limited_each_on_their_own(pg_url, amqp_url, token, tmp_path,
                                                                    gateway, own_buckets):
    with running_cluster(pg_url, amqp_url, token, tmp_path, ("enrollment",), EKTP_FORWARDED_ALLOW_IPS=gateway,
                         **LIMITED) as c:
        url = c.url("enrollment")
        assert statuses(url, "203.0.113.5", 3) == [404, 404, 429]  # unknown receipt twice, then over the burst
        other = statuses(url, "203.0.113.6", 1)
    assert other == ([404] if own_buckets else [429])
