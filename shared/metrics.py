"""Prometheus metrics common to every service (one registry per process)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter("ektp_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("ektp_http_request_seconds", "HTTP request latency", ["method", "route"])
EVENTS_PUBLISHED = Counter("ektp_events_published_total", "Events relayed from an outbox to the broker", ["service"])
EVENTS_CONSUMED = Counter("ektp_events_consumed_total", "Events delivered to a consumer", ["queue", "outcome"])

# Any token is a valid HTTP method, so a label per method a client sends would let it create series
# without end: the standard methods keep their name, every other one is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def labels(scope: Scope) -> tuple[str, str]:
    """(method, route) of a request: the method if standard, else "other"; the route's template
    (`/v1/enrollments/{enrollment_id}`), never the path asked for, else "unmatched"."""
    method = scope["method"] if scope["method"] in METHODS else "other"
    return method, getattr(scope.get("route"), "path", "unmatched")


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            method, route = labels(scope)
            HTTP_REQUESTS.labels(method, route, str(status["code"])).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - start)


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
