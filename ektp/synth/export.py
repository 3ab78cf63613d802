"""`ektp synth`: a seeded population of valid recordings (NDJSON) and its ground truth (JSON).

Recordings are planned by `ektp.synth.population.make_population` (kinds, who matches whom) and
dressed as a station posts them by `ektp.synth.recordings.make_recording` (demographics, photo,
signature); the biometrics are the population's. Kinds and what the system must do with them:

  unique, missing_fingers  a new person (a new NIK)                            -> PRINT_READY
  duplicate                an enrolled person again, under a second NIK        -> DUPLICATE of `matches`
  recapture                an enrolled person again, same NIK and demographics -> PRINT_READY, a
                                                                                  replacement of `matches`
  poor                     a new person, every capture quality below 40        -> ENROLL_FAILURE
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ektp.synth.population import make_population
from ektp.synth.recordings import make_recording

EXPECTED_STATUS = {"unique": "PRINT_READY", "missing_fingers": "PRINT_READY", "duplicate": "DUPLICATE",
                   "recapture": "PRINT_READY", "poor": "ENROLL_FAILURE"}
_NOT_RESIDENT = ("station_recording_id", "recording", "biometrics")


def synth_recordings(count: int, *, seed: int, today: dt.date | None = None, recording_site: str | None = None,
                     **rates: float) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yields (recording, truth) pairs in recording order."""
    population = make_population(count, seed=seed, **rates)
    rng = random.Random(seed)
    nprng = np.random.default_rng([seed, 3])
    today = today or dt.date.today()
    taken: set[str] = set()
    residents: dict[str, dict[str, Any]] = {}
    niks: dict[str, str] = {}
    for index, record in enumerate(population):
        truth = population.truth[record.record_key]
        same_resident = residents.get(truth.matches) if record.kind == "recapture" and truth.matches else None
        rec, _ = make_recording(rng, nprng, today=today, resident=same_resident, taken_niks=taken,
                                recording_site=recording_site, station=f"ST{index % 7 + 1:02d}")
        rec["biometrics"] = {**record.biometrics, "photo_jpeg": rec["biometrics"]["photo_jpeg"],
                             "signature_png": rec["biometrics"]["signature_png"]}
        taken.add(rec["nik"])
        residents[record.record_key] = {k: v for k, v in rec.items() if k not in _NOT_RESIDENT}
        niks[record.record_key] = rec["nik"]
        yield rec, {
            "line": index + 1, "record_key": record.record_key, "station_recording_id": rec["station_recording_id"],
            "nik": rec["nik"], "person_id": truth.person_id, "kind": truth.kind,
            "matcher_outcome": truth.expected_outcome, "expected_status": EXPECTED_STATUS[truth.kind],
            "matches": truth.matches, "matches_nik": niks.get(truth.matches) if truth.matches else None,
        }


def write_synth(out: TextIO, count: int, *, seed: int, **options: Any) -> dict[str, Any]:
    """Writes NDJSON recordings to `out`; returns the ground truth document."""
    records = []
    for rec, truth in synth_recordings(count, seed=seed, **options):
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        records.append(truth)
    kinds: dict[str, int] = {}
    for t in records:
        kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
    return {"seed": seed, "count": count, "options": {k: v for k, v in options.items() if k != "today"},
            "kinds": kinds, "records": records}


def save(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=1) + "\n")
