"""Counter-grade validation of a recording (perekaman), after ``RecordingIn`` parsed it.

    problems = check_recording(rec, today=date.today())
    if has_errors(problems): refuse, answering every problem at once (warnings alongside)

Structural errors from pydantic go through ``shared.errors.problems_from_pydantic`` (the one
translator every service's 422 uses) to the same field/code/message shape; beside them,
``every_problem`` adds what the rules find in the fields that parsed (``partial``), so a
refusal lists every problem at once. Region lookups are in
``shared.regions``, NIK parsing/building in ``nik``, card-space limits in ``card``, template formats in
``templates``, messages in ``messages``.
"""

from .normalise import normalise_recording
from .partial import every_problem, parsed_fields
from .problems import Problem, Severity, has_errors
from .rules import check_recording, check_served, check_what_parsed

__all__ = [
    "Problem",
    "Severity",
    "check_recording",
    "check_served",
    "check_what_parsed",
    "every_problem",
    "has_errors",
    "normalise_recording",
    "parsed_fields",
]
