"""Small HTTP helpers for tests that drive the system as its users do."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import numpy as np

from ektp.synth.recordings import make_recording


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_(client: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    """A client of the same app as `client` (an in-process one too) that calls with `token`."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url, headers=auth(token), timeout=60)


def recording(seed: int, *, pickup_site: str | None = None, **kwargs: Any) -> dict:
    """A valid synthetic recording; `pickup_site` picks a resident of that kecamatan."""
    rng, nprng = random.Random(seed), np.random.default_rng(seed)
    for _ in range(500):
        rec, _ = make_recording(rng, nprng, today=dt.date.today(), **kwargs)
        if pickup_site is None or rec["pickup_site"] == pickup_site:
            return rec
    raise AssertionError(f"no resident of {pickup_site} generated")


async def submit_recording(clients: Sequence[httpx.AsyncClient], rec: dict, *, tries: int = 120,
                           pause: float = 0.5) -> httpx.Response | None:
    """Posts a recording as a station does: again with the same Idempotency-Key while no answer
    comes or the answer is a 5xx, each time to the next of `clients` (replicas behind a gateway).
    Returns the first other answer (accepted or refused), None if none came in `tries`."""
    for attempt in range(tries):
        try:
            r = await clients[attempt % len(clients)].post(
                "/v1/enrollments", json=rec, headers={"Idempotency-Key": rec["station_recording_id"]})
        except httpx.HTTPError:
            r = None
        if r is not None and r.status_code < 500:
            return r
        await asyncio.sleep(pause)
    return None


async def eventually(check: Callable[[], Awaitable[Any] | Any], *, timeout: float = 30, interval: float = 0.2,
                     what: str = "condition") -> Any:
    """Polls `check` (a coroutine function or a plain one) until it returns something truthy;
    fails with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout}s; last: {last!r}")


async def wait_status(client: httpx.AsyncClient, receipt: str, status: str, timeout: float = 30) -> dict:
    async def check() -> dict | None:
        body = (await client.get(f"/v1/status/{receipt}")).json()
        return body if body.get("status") == status else None

    return await eventually(check, timeout=timeout, what=f"status {status} of {receipt}")
