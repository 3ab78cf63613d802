"""The route class of every API router: JSON bodies are parsed with orjson.

orjson is several times faster than `json` on a 15 KB recording, and it refuses what is not
valid Unicode (a lone surrogate such as ``"\\udb7d"``), which `json` lets through into the model
and from there into hashes and columns. Its error is a `json.JSONDecodeError`, so FastAPI answers
it as it answers any malformed body: 422 `json_invalid`.

A route with a JSON body refuses a body of another media type or none named, or a compressed
body, with 415 (as the batch endpoint does), instead of a 422 about a body it did not read as
sent.

A route marked with `refine_invalid_body` hands its body's structural errors to a function of
its own, which may add what else it finds in the parts that parsed (the enrollment's counter
rules), instead of straight to the app's 422 handler.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import Headers

from shared.errors import DomainError
from shared.limits import content_coding, is_json, media_type


class OrjsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                not_utf8 = _not_utf8(body)
                if not_utf8 is None:
                    raise
                raise not_utf8 from exc
        return self._json


def _not_utf8(body: bytes) -> json.JSONDecodeError | None:
    """A body that is not UTF-8 (a Latin-1 or UTF-16 export): where and which byte. orjson says
    "str is not valid UTF-8: surrogates not allowed" at character 0, wherever the byte is."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[:exc.start].decode("utf-8")
        return json.JSONDecodeError(f"not UTF-8 text (byte 0x{body[exc.start]:02x}): send the body in UTF-8",
                                    before, len(before))
    return None


def require_json(headers: Headers) -> None:
    """415 unless a body sent is JSON (``application/json`` or ``…+json``), uncompressed."""
    if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return  # no body: the route says whether it needs one
    media = media_type(headers.get("content-type"))
    if not is_json(media):
        raise DomainError(f"Content-Type {media or '(none)'} not accepted: send application/json",
                          code="unsupported_media_type", status_code=415)
    encoding = content_coding(headers.get("content-encoding"))
    if encoding != "identity":
        raise DomainError(f"Content-Encoding {encoding} not accepted here: send the body uncompressed",
                          code="unsupported_media_type", status_code=415)


Refine = Callable[[RequestValidationError], Exception]


def refine_invalid_body(refine: Refine) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Marks a route function (put it below ``@router.post``): a refused request's errors go
    through ``refine``, and the exception it returns is raised instead."""
    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.refine_invalid_body = refine  # type: ignore[attr-defined]
        return endpoint

    return mark


class ApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        json_body = self.body_field is not None
        refine: Refine | None = getattr(self.endpoint, "refine_invalid_body", None)

        async def orjson_handler(request: Request) -> Response:
            if json_body:
                require_json(request.headers)
            try:
                return await handler(OrjsonRequest(request.scope, request.receive))
            except RequestValidationError as exc:
                if refine is None:
                    raise
                raise refine(exc) from None

        return orjson_handler
