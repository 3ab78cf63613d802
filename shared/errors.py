"""One error shape everywhere: ``{"error": code, "detail": ..., "fields": [...]}``.

Domain errors carry their HTTP status; one handler renders them. A field problem names the
field (dotted path, ``[i]`` for list items), a machine code and a message in Indonesian and
English an operator can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

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


# Structural errors (pydantic's `ValidationError.errors()`), one code per kind, in Indonesian and
# English; services add their own codes to their catalogues on top of these.
FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "field.missing": ("Wajib diisi.", "This field is required."),
    "field.unknown": ("Kolom ini tidak dikenal.", "This field is not known."),
    "field.enum": ("Nilai harus salah satu dari: {expected}.", "The value must be one of: {expected}."),
    "field.too_long": ("Terlalu panjang: maksimal {max}.", "Too long: at most {max}."),
    "field.too_short": ("Terlalu pendek: minimal {min}.", "Too short: at least {min}."),
    "field.blank": ("Tidak boleh kosong.", "Must not be blank."),
    "field.out_of_range": ("Nilai di luar batas ({limit}).", "The value is out of range ({limit})."),
    "field.type": ("Jenis data salah: seharusnya {expected}.", "Wrong type: expected {expected}."),
    "field.date_format": (
        "Tanggal/waktu tidak sah: gunakan format ISO (YYYY-MM-DD atau YYYY-MM-DDTHH:MM:SS+08:00).",
        "Invalid date/time: use ISO format (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+08:00).",
    ),
    "field.pattern": ("Format tidak sesuai: harus cocok dengan pola {pattern}.",
                      "Wrong format: must match the pattern {pattern}."),
    "field.invalid": ("Nilai tidak sah ({detail}).", "Invalid value ({detail})."),
}

# A name in each language: ``{expected}`` of field.type is Indonesian in message_id, English in message_en.
_TYPE_NAMES = {
    "string_type": ("teks", "text"),
    "int_type": ("bilangan bulat", "integer"),
    "int_parsing": ("bilangan bulat", "integer"),
    "int_from_float": ("bilangan bulat", "integer"),
    "float_type": ("angka", "number"),
    "float_parsing": ("angka", "number"),
    "bool_type": ("true/false", "true/false"),
    "bool_parsing": ("true/false", "true/false"),
    "list_type": ("daftar", "list"),
    "dict_type": ("objek", "object"),
    "model_type": ("objek", "object"),
    "model_attributes_type": ("objek", "object"),
    "uuid_type": ("UUID", "UUID"),
    "uuid_parsing": ("UUID", "UUID"),
    "none_required": ("null", "null"),
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def field_path(loc: Sequence[Any], strip: Sequence[str] = ("body",)) -> str:
    """``('body', 'biometrics', 'fingerprints', 3, 'quality')`` → ``biometrics.fingerprints[3].quality``.

    Drops a leading location such as FastAPI's ``body``/``query`` and pydantic's union-member tags
    (``str-enum[Eye]``, ``function-after[...]``), which are not fields."""
    parts = list(loc)
    if parts and parts[0] in strip:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def field_problem(field: str, code: str, **params: Any) -> FieldProblem:
    """A structural problem; a parameter given as an (Indonesian, English) pair goes into each
    message in its own language."""
    message_id, message_en = (
        template.format(**{k: v[lang] if isinstance(v, tuple) else v for k, v in params.items()})
        for lang, template in enumerate(FIELD_MESSAGES[code]))
    return FieldProblem(field=field, code=code, message_id=message_id, message_en=message_en)


def _one(path: str, err: Mapping[str, Any]) -> FieldProblem:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return field_problem(path, "field.missing")
    if kind == "extra_forbidden":
        return field_problem(path, "field.unknown")
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace("'", "")  # pydantic's "'A', 'B' or 'C'"
        return field_problem(path, "field.enum", expected=(expected.replace(" or ", " atau "), expected))
    if kind in ("string_too_long", "too_long"):
        return field_problem(path, "field.too_long", max=ctx.get("max_length", "?"))
    if kind == "string_too_short" and (ctx.get("min_length") == 1 or not str(err.get("input", "x")).strip()):
        return field_problem(path, "field.blank")
    if kind in ("string_too_short", "too_short"):
        return field_problem(path, "field.too_short", min=ctx.get("min_length", "?"))
    if kind in _BOUNDS:
        value = next((v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")), "?")
        return field_problem(path, "field.out_of_range", limit=f"{_BOUNDS[kind]} {value}")
    if kind.startswith(("date", "datetime", "time")):
        return field_problem(path, "field.date_format")
    if kind in _TYPE_NAMES:
        return field_problem(path, "field.type", expected=_TYPE_NAMES[kind])
    if kind == "string_pattern_mismatch":
        return field_problem(path, "field.pattern", pattern=ctx.get("pattern", "?"))
    if kind == "json_invalid":  # what and where: the location of this error is a character offset
        offset = next((part for part in err.get("loc", ()) if isinstance(part, int)), None)
        where_id, where_en = (f" pada karakter {offset}", f" at character {offset}") if offset is not None else ("", "")
        error = ctx.get("error", "")
        return field_problem(path, "field.invalid", detail=(f"JSON tidak sah{where_id}: {error}",
                                                            f"{err.get('msg', kind)}{where_en}: {error}"))
    return field_problem(path, "field.invalid", detail=str(err.get("msg", kind)))


def problems_from_pydantic(errors: Iterable[Mapping[str, Any]], strip: Sequence[str] = ("body",)) -> list[FieldProblem]:
    """One problem per field and kind; a union's per-member enum errors are merged into one."""
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for err in errors:
        # A body that is not JSON: its location is a character offset, not a field.
        loc = () if err.get("type") == "json_invalid" else err.get("loc", ())
        path = field_path(loc, strip) or "body"
        key = (path, str(err.get("type", "")))
        if key in merged and key[1] == "enum":
            a = (merged[key].get("ctx") or {}).get("expected", "")
            b = (err.get("ctx") or {}).get("expected", "")
            err = {**err, "ctx": {"expected": f"{a}, {b}"}}
        merged[key] = err
    return [_one(path, err) for (path, _), err in merged.items()]


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

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> Response:
        # A weak link dropped mid-upload: nothing was written, no one is there to answer, and the
        # client's retry is answered in full (an error with a traceback each time said otherwise).
        log.info("client went away during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)


__all__ = [
    "FieldProblem", "DomainError", "InvalidInput", "NotFound", "Conflict", "Unauthorized", "Forbidden",
    "ServiceUnavailable", "error_body", "problem_dict", "problems_from_pydantic", "field_path", "field_problem",
    "FIELD_MESSAGES", "install_error_handlers",
]
