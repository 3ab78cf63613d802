"""Request hygiene before any route runs: a bound on body size (413) and no NUL characters in
the path, the query or a JSON body (422) — PostgreSQL text cannot hold them, and no field of
this system needs one. Other bodies (the console's upload of a certificate's photo or PDF, a
compressed body that the route refuses with 415) are binary: NUL bytes are their content.

Routes that stream and bound their own bodies (the enrollment batch, up to 48 MiB, gzip) are
exempt by path suffix; they check their items themselves.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt_suffixes: tuple[str, ...] = ("/batch",)) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_suffixes = exempt_suffixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await _refuse(send, 422, "invalid_input", "NUL character in the address / karakter NUL tidak diizinkan")
            return
        if scope["path"].endswith(self.exempt_suffixes):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _refuse(send, 413, "too_large", f"request body over {self.max_bytes} bytes / badan permintaan terlalu besar")
            return
        # Read the (bounded) body, check it, then hand it on unchanged.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await _refuse(send, 413, "too_large", f"request body over {self.max_bytes} bytes / badan permintaan terlalu besar")
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _json_text(scope) and (b"\x00" in body or _JSON_NUL.search(body)):
            await _refuse(send, 422, "invalid_input", "NUL character in the body / karakter NUL tidak diizinkan")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def media_type(content_type: str | None) -> str:
    """``Application/JSON; charset=utf-8`` → ``application/json``; "" when none is given."""
    return (content_type or "").split(";")[0].strip().lower()


def content_coding(content_encoding: str | None) -> str:
    """The body's Content-Encoding, ``identity`` when none is given."""
    return (content_encoding or "identity").strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _json_text(scope: Scope) -> bool:
    """Whether the body is JSON as sent: a JSON media type (or none given), not compressed."""
    headers = dict(scope.get("headers") or [])
    media = media_type(headers.get(b"content-type", b"").decode("latin-1"))
    encoding = content_coding(headers.get(b"content-encoding", b"").decode("latin-1"))
    return (not media or is_json(media)) and encoding == "identity"


async def _refuse(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"error": code, "detail": detail, "fields": []}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
