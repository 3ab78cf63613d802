"""The fields of a recording that parse, when the recording as a whole does not.

Pydantic stops at the structure: a wrong type, an enumeration value it does not know or a
missing field refuses the recording before the counter's rules (`rules.py`), which need parsed
fields, have run. An operator who fixed the one field named would then learn of the next
problem only on the next try. So, for a refused recording, each field is parsed on its own here
(a nested object field by field too), and `rules.check_what_parsed` runs every rule whose fields
did: the answer lists every problem at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from services.enrollment.schemas import RecordingIn
from shared.errors import ProblemLike, problems_from_pydantic

from .rules import check_what_parsed


def every_problem(errors: list[Any], raw: Any, today: dt.date, *, strip: tuple[str, ...] = ()) -> list[ProblemLike]:
    """The problems of a recording whose structure failed: pydantic's `errors` (located under
    `strip`), then what the rules find in the fields of `raw` that parsed."""
    problems: list[ProblemLike] = list(problems_from_pydantic(errors, strip=strip))
    partial = parsed_fields(RecordingIn, raw)
    if partial is not None:
        problems += check_what_parsed(partial, today=today)
    return problems


def parsed_fields(model: type[BaseModel], raw: Any) -> BaseModel | None:
    """`model` built, without validation, from the fields of `raw` that parse on their own (an
    object field that does not: from its own fields that do); a field that does not parse is left
    out (reading it raises AttributeError). None when `raw` is not an object."""
    if not isinstance(raw, dict):
        return None
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in raw:
            continue
        try:
            values[name] = _adapter(model, name).validate_python(raw[key])
        except ValidationError:
            nested = _object_type(field.annotation)
            part = parsed_fields(nested, raw[key]) if nested is not None else None
            if part is not None:
                values[name] = part
    return model.model_construct(**values)


@functools.cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """The validator of one field, its constraints (length, bounds, stripping) included."""
    field = model.model_fields[name]
    annotation = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return TypeAdapter(annotation)


def _object_type(annotation: Any) -> type[BaseModel] | None:
    """The model of an object field (``Address``, ``Address | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None
