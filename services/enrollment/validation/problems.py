"""One problem found in a recording, in the shape every validation error of the platform uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """A reason an operator can act on, in Indonesian and English.

    ``field`` is a dotted path into the recording, with ``[i]`` for list items
    (``address.rt``, ``biometrics.fingerprints[3].template``); ``""`` means the recording as a
    whole. ``code`` is stable and machine-readable (``nik.birth_date_mismatch``); ``params``
    holds the values the messages were built from (for example the fingers to re-capture).
    An ``error`` blocks the recording; a ``warning`` is shown and recorded but does not.
    """

    field: str
    code: str
    severity: Severity
    message_id: str
    message_en: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def has_errors(problems: list[Problem]) -> bool:
    return any(p.is_error for p in problems)
