"""A small in-process rate limit for public routes: a token bucket per client IP.

    VerifyLimit = Depends(rate_limit("verify", lambda s: (s.verify_rate_per_second, s.verify_rate_burst)))

    @router.get("/verify/{token}", dependencies=[VerifyLimit])

A caller over its rate gets 429 with the usual error body (``{"error": "rate_limited", ...}``) and a
``Retry-After`` header. Buckets live in the process (one set per app and limit name): behind N
replicas a client may make N times the rate. The client is ``request.client.host``: the caller's
address as the proxy in front says (X-Forwarded-For) when that proxy is one of
``EKTP_FORWARDED_ALLOW_IPS`` (``ektp serve`` and ``ektp up`` give it to uvicorn), else the address
that connected, the gateway's for every resident behind it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.exceptions import HTTPException

from shared.settings import Settings

MAX_CLIENTS = 50_000  # buckets kept; the least recently seen client is forgotten first (it restarts full)


class TokenBucket:
    """`rate` tokens per second up to `burst`, one bucket per key. Thread-safe; O(1) per call."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_CLIENTS) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.clock, self.max_keys = rate, float(burst), clock, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 if allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit(name: str, limits: Callable[[Settings], tuple[float, int]],
               key: Callable[[Request], str] = client_ip) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency: `limits(settings)` gives (requests per second, burst) per client."""

    async def check(request: Request) -> None:
        state = request.app.state
        buckets: dict[str, TokenBucket] | None = getattr(state, "rate_limits", None)
        if buckets is None:
            buckets = state.rate_limits = {}
        bucket = buckets.get(name)
        if bucket is None:
            rate, burst = limits(request.app.state.platform.settings)
            bucket = buckets.setdefault(name, TokenBucket(rate, burst))
        wait = bucket.take(key(request))
        if wait > 0:
            raise HTTPException(429, f"terlalu banyak permintaan, coba lagi dalam {math.ceil(wait)} detik / "
                                     f"too many requests, retry in {math.ceil(wait)} s",
                                headers={"Retry-After": str(math.ceil(wait))})

    return check
