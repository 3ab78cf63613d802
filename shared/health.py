"""Liveness, readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and broker reachable")
async def readyz(request: Request) -> JSONResponse:
    platform = request.app.state.platform
    checks = {
        "database": await platform.database_ready(),
        "broker": await platform.transport.ready(),
    }
    ok = all(checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
