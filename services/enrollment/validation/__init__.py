"""Counter-grade validation of a recording (perekaman), after ``RecordingIn`` parsed it.

    problems = check_recording(rec, today=date.today())
    if has_errors(problems): refuse, answering every problem at once (warnings alongside)

Structural errors from pydantic go through ``from_pydantic_errors`` to the same ``Problem``
shape. Region lookups are in ``regions``, NIK parsing/building in ``nik``, card-space limits in
``card``, template formats in ``templates``, messages in ``messages``.
"""

from .normalise import normalise_recording
from .problems import Problem, Severity, has_errors
from .pydantic_errors import dotted_path, from_pydantic_errors
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
