"""A seeded synthetic population of recordings with ground truth.

`make_population` plans n recordings up front (cheap) and generates each recording's biometrics
lazily and reproducibly when iterated: the person for person index j is drawn from
`default_rng([seed, 1, j])` and recording i's capture from `default_rng([seed, 2, i])`.

Kinds and what a correct de-duplication engine does with them:

  unique           a new person, normal capture                     -> unique
  missing_fingers  a new person lacking 1-4 fingers (exceptions)     -> unique
  duplicate        an enrolled person recorded again; the caller
                   gives it a second NIK                             -> duplicate of `matches`
  recapture        an enrolled person recorded again, same NIK       -> duplicate of `matches`
                                                                        (the caller sees the NIK)
  poor             a new person, every quality below 40              -> enroll_failure
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .biometrics import FINGER_POSITIONS, Person, capture, new_person

EXPECTED = {
    "unique": "unique", "missing_fingers": "unique", "duplicate": "duplicate",
    "recapture": "duplicate", "poor": "enroll_failure",
}  # fmt: skip


class Record(NamedTuple):
    record_key: str
    person_id: str
    kind: str
    biometrics: dict


@dataclass(frozen=True)
class Truth:
    person_id: str
    kind: str
    expected_outcome: str
    matches: str | None  # record_key of the enrolled record of the same person, if any


@dataclass(frozen=True)
class _Plan:
    record_key: str
    person_index: int
    kind: str
    missing: tuple[str, ...]


class Population:
    """Iterate for `Record`s (lazily generated); `truth[record_key]` is the ground truth."""

    def __init__(self, seed: int, plans: list[_Plan], truth: dict[str, Truth]):
        self.seed, self._plans, self.truth = seed, plans, truth

    def __len__(self) -> int:
        return len(self._plans)

    def person(self, person_index: int, missing: tuple[str, ...] = ()) -> Person:
        rng = np.random.default_rng([self.seed, 1, person_index])
        return new_person(rng, person_id=f"person-{person_index:07d}", missing_fingers=missing)

    def __iter__(self) -> Iterator[Record]:
        for i, plan in enumerate(self._plans):
            person = self.person(plan.person_index, plan.missing)
            rng = np.random.default_rng([self.seed, 2, i])
            bio = capture(person, rng, poor=plan.kind == "poor")
            yield Record(plan.record_key, person.person_id, plan.kind, bio)


def make_population(n: int, *, seed: int, duplicate_rate: float = 0.05, recapture_rate: float = 0.02,
                    poor_rate: float = 0.02, missing_finger_rate: float = 0.02) -> Population:  # fmt: skip
    """Plan n recordings; the first recording is always a unique person."""
    rates = [duplicate_rate, recapture_rate, poor_rate, missing_finger_rate]
    if min(rates) < 0 or sum(rates) > 1:
        raise ValueError("rates must be >= 0 and sum to at most 1")
    rng = np.random.default_rng([seed, 0])
    kinds = ["duplicate", "recapture", "poor", "missing_fingers", "unique"]
    probs = [*rates, 1 - sum(rates)]
    enrolled: list[tuple[int, str, tuple[str, ...]]] = []  # (person_index, record_key, missing)
    plans: list[_Plan] = []
    truth: dict[str, Truth] = {}
    for i in range(n):
        key = f"R{i:07d}"
        kind = str(rng.choice(kinds, p=probs))
        if kind in ("duplicate", "recapture") and not enrolled:
            kind = "unique"
        missing: tuple[str, ...] = ()
        matches = None
        if kind in ("duplicate", "recapture"):
            person_index, matches, missing = enrolled[int(rng.integers(len(enrolled)))]
        else:
            person_index = i
            if kind == "missing_fingers":
                k = int(rng.integers(1, 5))
                missing = tuple(sorted(rng.choice(FINGER_POSITIONS, size=k, replace=False).tolist()))
            if kind in ("unique", "missing_fingers"):
                enrolled.append((person_index, key, missing))
        plans.append(_Plan(key, person_index, kind, missing))
        truth[key] = Truth(f"person-{person_index:07d}", kind, EXPECTED[kind], matches)
    return Population(seed, plans, truth)
