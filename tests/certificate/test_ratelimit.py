"""The token bucket behind the public routes' rate limit (shared/ratelimit.py), on a fake clock."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Depends, FastAPI

from shared.errors import install_error_handlers
from shared.ratelimit import TokenBucket, rate_limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_the_rate_per_client():
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("10.0.0.1") == pytest.approx(0.5)  # one token every 0.5 s
    assert bucket.take("10.0.0.2") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert bucket.take("10.0.0.1") == 0.0
    assert bucket.take("10.0.0.1") > 0
    clock.now += 60  # refills up to the burst, not beyond
    assert [bucket.take("10.0.0.1") for _ in range(4)].count(0.0) == 3


def test_forgets_the_least_recent_clients_beyond_its_size():
    bucket = TokenBucket(rate=1.0, burst=1, clock=Clock(), max_keys=2)
    for client in ("a", "b", "c"):
        assert bucket.take(client) == 0.0
    assert bucket.take("c") > 0  # remembered
    assert bucket.take("a") == 0.0  # forgotten, so it starts full again


def test_refuses_a_rate_that_cannot_work():
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


async def test_the_dependency_answers_429_in_the_error_shape():
    class Settings:
        rate = (0.01, 2)

    class Platform:
        settings = Settings()

    app = FastAPI()
    install_error_handlers(app)
    app.state.platform = Platform()

    @app.get("/public", dependencies=[Depends(rate_limit("public", lambda s: s.rate))])
    async def public() -> dict:
        return {"ok": True}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
        answers = [await client.get("/public") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    body = answers[2].json()
    assert body["error"] == "rate_limited" and body["fields"] == [] and "too many requests" in body["detail"]
    assert int(answers[2].headers["Retry-After"]) >= 1
