"""Bahasa Indonesia by default, English as a choice: one small dictionary per language."""

from __future__ import annotations

from fastapi import Request

from console.lang import en, id as indonesian

DEFAULT = "id"
MESSAGES: dict[str, dict[str, str]] = {"id": indonesian.MESSAGES, "en": en.MESSAGES}
COOKIE = "ektp_lang"


def chosen(request: Request) -> tuple[str, bool]:
    """The page's language and whether the request chose it just now (?lang=...)."""
    asked = request.query_params.get("lang")
    if asked in MESSAGES:
        return asked, True
    kept = request.cookies.get(COOKIE)
    return (kept if kept in MESSAGES else DEFAULT), False


def translator(lang: str):  # type: ignore[no-untyped-def]
    messages, fallback = MESSAGES[lang], MESSAGES[DEFAULT]

    def t(key: str, **values: object) -> str:
        text = messages.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t
