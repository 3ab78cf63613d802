"""One error shape everywhere: ``{"error": code, "detail": ..., "fields": [...]}``.

Domain errors carry their HTTP status; one handler renders them. A field problem names the
field (dotted path, ``[i]`` for list items), a machine code and a message in Indonesian and
English an operator can act on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str
    message_id: str
    message_en: str
    severity: str = "error"


class ProblemLike(Protocol):
    field: str
    code: str
    message_id: str
    message_en: str
    severity: str


def problem_dict(p: ProblemLike) -> dict[str, str]:
    return {
        "field": p.field,
        "code": p.code,
        "severity": p.severity,
        "message_id": p.message_id,
        "message_en": p.message_en,
    }


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, fields: Sequence[ProblemLike] = (), code: str | None = None,
                 status_code: int | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = list(fields)
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.extra = extra or {}


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"


class FieldProblemBody(BaseModel):
    field: str
    code: str
    severity: str
    message_id: str
    message_en: str


class ErrorBody(BaseModel):
    """The one error shape of every service."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: Any
    fields: list[FieldProblemBody]


# Every route documents this shape for its 4xx and 5xx answers (instead of FastAPI's own 422).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: the error names the fields and the reason"},
    "5XX": {"model": ErrorBody, "description": "Server error"},
}


def error_body(code: str, detail: Any, fields: Iterable[ProblemLike] = (), **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, "fields": [problem_dict(f) for f in fields], **extra}


# Indonesian wording for pydantic's error types; English comes from pydantic itself.
_PYDANTIC_ID = {
    "missing": "wajib diisi",
    "extra_forbidden": "kolom tidak dikenal",
    "string_type": "harus berupa teks",
    "int_type": "harus berupa bilangan bulat",
    "int_parsing": "harus berupa bilangan bulat",
    "date_from_datetime_parsing": "harus berupa tanggal (YYYY-MM-DD)",
    "date_parsing": "harus berupa tanggal (YYYY-MM-DD)",
    "datetime_parsing": "harus berupa waktu ISO 8601 dengan zona waktu",
    "datetime_from_date_parsing": "harus berupa waktu ISO 8601 dengan zona waktu",
    "enum": "nilai tidak termasuk pilihan yang diizinkan",
    "literal_error": "nilai tidak termasuk pilihan yang diizinkan",
    "too_long": "terlalu panjang",
    "too_short": "terlalu pendek",
    "string_too_long": "terlalu panjang",
    "string_too_short": "terlalu pendek",
    "greater_than_equal": "terlalu kecil",
    "less_than_equal": "terlalu besar",
    "json_invalid": "JSON tidak sah",
    "model_type": "harus berupa objek JSON",
    "list_type": "harus berupa daftar (array)",
    "uuid_parsing": "harus berupa UUID",
    "uuid_type": "harus berupa UUID",
}


def field_path(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "body"


def problems_from_pydantic(errors: Sequence[dict[str, Any]], *, strip: tuple[str, ...] = ("body",)) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    for err in errors:
        loc = list(err.get("loc", ()))
        while loc and loc[0] in strip:
            loc = loc[1:]
        kind = str(err.get("type", "value_error"))
        message_en = str(err.get("msg", "invalid value"))
        out.append(
            FieldProblem(
                field=field_path(loc),
                code=f"invalid.{kind}",
                message_id=_PYDANTIC_ID.get(kind, "nilai tidak sah") + f" ({message_en})",
                message_en=message_en,
            )
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.detail, exc.fields, **exc.extra), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = problems_from_pydantic(exc.errors())
        return JSONResponse(
            error_body("invalid_input", "Data tidak sah / invalid input", problems), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
                429: "rate_limited"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)


__all__ = [
    "FieldProblem", "DomainError", "InvalidInput", "NotFound", "Conflict", "Unauthorized", "Forbidden",
    "ServiceUnavailable", "error_body", "problem_dict", "problems_from_pydantic", "install_error_handlers",
]
