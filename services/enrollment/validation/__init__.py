"""Counter-grade validation of a recording (perekaman), after ``RecordingIn`` parsed it.

    problems = check_recording(rec, today=date.today())
    if has_errors(problems): refuse, answering every problem at once (warnings alongside)

Structural errors from pydantic go through ``from_pydantic_errors`` (``shared.errors``, the
one translator every service's 422 uses) to the same field/code/message shape. Region lookups are in ``regions``, NIK parsing/building in ``nik``, card-space limits in
``card``, template formats in ``templates``, messages in ``messages``.
"""

from shared.errors import field_path as dotted_path
from shared.errors import problems_from_pydantic as from_pydantic_errors

from .normalise import normalise_recording
from .problems import Problem, Severity, has_errors
from .rules import check_recording

__all__ = [
    "Problem",
    "Severity",
    "check_recording",
    "dotted_path",
    "from_pydantic_errors",
    "has_errors",
    "normalise_recording",
]
