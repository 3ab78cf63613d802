"""`ektp demo`, as the README's run command calls it against `ektp up`: synthetic residents end
printed, a resident recorded again under a second NIK ends DUPLICATE, and another person recorded
with a resident's NIK waits for an adjudicator, so the console's adjudication page has a case."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.support.api import auth
from tests.support.processes import ektp


@pytest.mark.slow
def test_the_demo_ends_each_resident_as_expected_and_opens_a_case(allinone, token):
    url, proc = allinone
    done = subprocess.run(ektp("demo", "--url", url, "--token", token, "--enrollments", "6", "--duplicates", "1",
                               "--cases", "1", "--seed", "7", "--timeout", "240"),
                          capture_output=True, text=True, timeout=300, env={**proc.env, "COLUMNS": "120"})
    assert done.returncode == 0, done.stdout + done.stderr + proc.log()[-3000:]
    cells = [[c.strip() for c in line.strip().strip("│").split("│")] for line in done.stdout.splitlines()
             if line.startswith("│")]
    rows = {c[0]: c[1:] for c in cells if c[0].isupper()}  # status: count, expected
    assert rows == {"ADJUDICATION": ["1", "1"], "DUPLICATE": ["1", "1"], "PRINTED": ["6", "6"]}, done.stdout
    with httpx.Client(base_url=url, headers=auth(token), timeout=30) as api:
        cases = api.get("/v1/dedup/cases").json()["items"]
    assert [c["reason"] for c in cases] == ["same_nik_different_biometrics"]


def test_more_duplicates_and_cases_than_residents_is_refused():
    done = subprocess.run(ektp("demo", "--enrollments", "2", "--duplicates", "2", "--cases", "1", "--token", "t"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--duplicates and --cases: 3 of 2 residents" in done.stderr, done.stderr
