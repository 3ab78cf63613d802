"""What each role may do, for the console's navigation and buttons.

The API enforces every permission; this table only decides what the pages offer, so that an
operator is not shown buttons the API would refuse. Keep it in step with the services' routes.
"""

from __future__ import annotations

ADMIN = "admin"
DINAS = "dinas_operator"
KECAMATAN = "kecamatan_operator"
ADJUDICATOR = "adjudicator"
PRINT_OPERATOR = "print_operator"

# action → roles that may do it (admin may do everything)
ACTIONS: dict[str, frozenset[str]] = {
    "enrollments.read": frozenset({DINAS, KECAMATAN, ADJUDICATOR, PRINT_OPERATOR}),
    "dedup.view": frozenset({DINAS, KECAMATAN, ADJUDICATOR}),
    "dedup.control": frozenset({ADJUDICATOR}),
    "cases.decide": frozenset({ADJUDICATOR}),
    "cases.correct": frozenset({ADJUDICATOR}),  # a 'same person' decision corrected to 'different persons'
    "print.view": frozenset({DINAS, KECAMATAN, PRINT_OPERATOR}),
    "print.drain": frozenset({PRINT_OPERATOR}),
    "print.redirect": frozenset({DINAS}),
    "print.hand_over": frozenset({DINAS, KECAMATAN, PRINT_OPERATOR}),
    "print.reprint": frozenset({PRINT_OPERATOR}),
    "certificates.manage": frozenset({DINAS, KECAMATAN}),
}

# console page → the action that opens it
PAGE_ACTIONS: dict[str, str] = {
    "dashboard": "enrollments.read",
    "print": "print.view",
    "enrollments": "enrollments.read",
    "adjudication": "cases.decide",
    "certificates": "certificates.manage",
}


def allowed(role: str, action: str) -> bool:
    return role == ADMIN or role in ACTIONS.get(action, frozenset())


def capabilities() -> dict[str, list[str]]:
    """The table as JSON for the pages' script: action → roles."""
    return {action: sorted(roles | {ADMIN}) for action, roles in ACTIONS.items()}
