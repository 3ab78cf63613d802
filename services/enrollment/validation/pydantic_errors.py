"""Structural errors (pydantic ``ValidationError.errors()``) as :class:`Problem` s.

So that a malformed request and a well-formed but wrong one answer in the same shape, with
Indonesian and English messages and dotted paths (``biometrics.fingerprints[3].quality``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .messages import problem
from .problems import Problem

_TYPE_NAMES = {
    "string_type": "teks / text",
    "int_type": "bilangan bulat / integer",
    "int_parsing": "bilangan bulat / integer",
    "int_from_float": "bilangan bulat / integer",
    "bool_type": "true/false",
    "bool_parsing": "true/false",
    "list_type": "daftar / list",
    "dict_type": "objek / object",
    "model_type": "objek / object",
    "model_attributes_type": "objek / object",
    "uuid_type": "UUID",
    "uuid_parsing": "UUID",
    "none_required": "null",
}


def dotted_path(loc: Sequence[Any], strip: Sequence[str] = ("body",)) -> str:
    """``('biometrics', 'fingerprints', 3, 'quality')`` → ``biometrics.fingerprints[3].quality``.

    Drops a leading location such as FastAPI's ``body`` and pydantic's union-member tags
    (``str-enum[Eye]``, ``function-after[...]``), which are not fields.
    """
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


def _one(path: str, err: Mapping[str, Any]) -> Problem:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return problem(path, "field.missing")
    if kind == "extra_forbidden":
        return problem(path, "field.unknown")
    if kind in ("enum", "literal_error"):
        return problem(path, "field.enum", expected=str(ctx.get("expected", "")).replace("'", ""))
    if kind in ("string_too_long", "too_long"):
        return problem(path, "field.too_long", max=ctx.get("max_length", "?"))
    if kind in ("string_too_short", "too_short"):
        return problem(path, "field.too_short", min=ctx.get("min_length", "?"))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        value = next((v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")), "?")
        return problem(path, "field.out_of_range", limit=f"{op} {value}")
    if kind.startswith(("date", "datetime", "time")):
        return problem(path, "field.date_format")
    if kind in _TYPE_NAMES:
        return problem(path, "field.type", expected=_TYPE_NAMES[kind])
    return problem(path, "field.invalid", detail=str(err.get("msg", kind)))


def from_pydantic_errors(errors: Iterable[Mapping[str, Any]], strip: Sequence[str] = ("body",)) -> list[Problem]:
    """One problem per field and kind; a union's per-member enum errors are merged into one."""
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for err in errors:
        path = dotted_path(err.get("loc", ()), strip)
        key = (path, err.get("type", ""))
        if key in merged and key[1] == "enum":
            a = merged[key].get("ctx", {}).get("expected", "")
            b = (err.get("ctx") or {}).get("expected", "")
            err = {**err, "ctx": {"expected": f"{a}, {b}"}}
        merged[key] = err
    return [_one(path, err) for (path, _), err in merged.items()]
