"""The MOSIP ABIS interface (v0.9/1.1) as messages: request builders, response reading, failure codes.

Requests go to one durable queue (``abis.request``); each carries ``reply_to``
(``abis.response.<instance>``) and ``correlation_id`` = ``requestId``. Bodies are JSON:

    {"id": "mosip.abis.identify", "version": "1.1", "requestId": "...", "requesttime": "...",
     "referenceId": "...", "referenceURL": "...", "gallery": {"referenceIds": [...]} | null,
     "flags": {"maxResults": "10", "targetFPIR": "40"}}

Responses: ``{"id", "requestId", "responsetime", "returnValue": "1"|"2", "failureReason": "..."}``
and, for identify, ``candidateList: {"count", "candidates": [{"referenceId", "analytics": {...},
"modalities": [{"biometricType": "FIR"|"IIR"|"FACE", "analytics": {...}}]}]}``. MOSIP sends
numbers as strings; we accept both.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import IntEnum
from typing import Any

INSERT, IDENTIFY, DELETE = "mosip.abis.insert", "mosip.abis.identify", "mosip.abis.delete"
PING, PENDING_JOBS, REFERENCE_COUNT = "mosip.abis.ping", "mosip.abis.pendingJobs", "mosip.abis.referenceCount"
OPERATIONS = (INSERT, IDENTIFY, DELETE, PING, PENDING_JOBS, REFERENCE_COUNT)
VERSION = "1.1"
SUCCESS, FAILED = 1, 2


class FailureReason(IntEnum):
    """MOSIP ABIS failure reasons (the ones an adapter must tell apart)."""

    INTERNAL_ERROR = 1
    ABORTED = 2
    UNEXPECTED_ERROR = 3
    INVALID_REQUEST = 4
    UNABLE_TO_FETCH_BIOMETRICS = 5
    MISSING_REFERENCE_ID = 6
    MISSING_REQUEST_ID = 7
    UNABLE_TO_FETCH_REFERENCE_URL = 8
    MISSING_REFERENCE_URL = 9
    MISSING_REQUEST_TIME = 10
    REFERENCE_ID_EXISTS = 11
    NO_BIOMETRIC_DATA = 12
    REFERENCE_ID_NOT_FOUND = 13
    INVALID_VERSION = 14
    INVALID_ID = 15
    INVALID_REQUEST_TIME = 16
    INVALID_TEMPLATE_FORMAT = 17
    URL_EXPIRED = 18
    QUALITY_CHECK_FAILED = 19


# What the adapter does with a failure: the recording is unusable (ENROLL_FAILURE), the call is
# retried (with a fresh URL), it already happened (REFERENCE_ID_EXISTS: an idempotent retry), or,
# any other, the ABIS is at fault (AbisError).
UNUSABLE = frozenset({FailureReason.NO_BIOMETRIC_DATA, FailureReason.INVALID_TEMPLATE_FORMAT,
                      FailureReason.QUALITY_CHECK_FAILED})
RETRY_WITH_FRESH_URL = frozenset({FailureReason.UNABLE_TO_FETCH_BIOMETRICS, FailureReason.UNABLE_TO_FETCH_REFERENCE_URL,
                                  FailureReason.URL_EXPIRED})


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def request(operation: str, *, reference_id: str | None = None, reference_url: str | None = None,
            max_results: int | None = None, target_fpir: float | None = None,
            gallery: list[str] | None = None, request_id: str | None = None) -> dict[str, Any]:
    if operation not in OPERATIONS:
        raise ValueError(f"unknown ABIS operation {operation}")
    body: dict[str, Any] = {"id": operation, "version": VERSION, "requestId": request_id or str(uuid.uuid4()),
                            "requesttime": now()}
    if reference_id is not None:
        body["referenceId"] = reference_id
    if reference_url is not None:
        body["referenceURL"] = reference_url
    if operation == IDENTIFY:
        body["gallery"] = {"referenceIds": [{"referenceId": r} for r in gallery]} if gallery else None
        body["flags"] = {"maxResults": str(max_results or 10), "targetFPIR": str(target_fpir or 40)}
    return body


def response(req: dict[str, Any], *, ok: bool = True, failure: FailureReason | None = None,
             **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": req.get("id"), "requestId": req.get("requestId"), "responsetime": now(),
                            "returnValue": str(SUCCESS if ok else FAILED)}
    if not ok:
        body["failureReason"] = str(int(failure or FailureReason.INTERNAL_ERROR))
    body.update(extra)
    return body


def succeeded(body: dict[str, Any]) -> bool:
    return str(body.get("returnValue")) == str(SUCCESS)


def failure_reason(body: dict[str, Any]) -> FailureReason | int | None:
    raw = body.get("failureReason")
    if raw in (None, ""):
        return None
    try:
        code = int(raw)
    except (TypeError, ValueError):
        return FailureReason.UNEXPECTED_ERROR
    try:
        return FailureReason(code)
    except ValueError:
        return code


def failure_name(code: FailureReason | int | None) -> str:
    if isinstance(code, FailureReason):
        return f"abis_{int(code)}_{code.name.lower()}"
    return f"abis_{code}_unknown"
