"""The promise, under faults: no accepted recording is lost, no card is printed twice, no
certificate stays valid after its card is handed over. A shortened reliability run (the full one
is `make reliability`); it prints its audit and keeps it under artifacts/reliability/."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ARTIFACTS
from tests.reliability.scenario import Scenario, save
from tests.support.processes import ektp

FULL = os.environ.get("EKTP_RELIABILITY_FULL") == "1"
# Restarting RabbitMQ and PostgreSQL touches the machine's own servers: CI and `make reliability`
# turn it on (EKTP_RELIABILITY_RESTARTS=1); a developer's plain test run leaves them alone.
RESTARTS = os.environ.get("EKTP_RELIABILITY_RESTARTS") == "1"


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_every_accepted_recording_is_accounted_for_under_faults(cluster, pg_url, amqp_url):
    scenario = Scenario(cluster, pg_url, amqp_url, recordings=400 if FULL else 80,
                        restart_broker=RESTARTS, restart_database=RESTARTS, pause_whole_run=FULL)
    try:
        report = await scenario.run()
    except BaseException:
        print(cluster.logs())
        raise
    save(report, ARTIFACTS / "reliability" / "audit.txt")
    print("\n".join(report.lines()))
    assert report.accepted > 0
    assert report.lost == 0
    assert report.doubled_enrollments == 0 and report.doubled_cards == 0
    assert report.serials_reused == 0
    assert report.not_final == 0, report.statuses
    assert report.jobs_printed == report.blanks_used
    assert report.cards_handed_over > 0 and report.certificates_valid_after_issue == 0
    # No secret and no personal data in any process's log.
    logs = "\n".join(p.log() for p in [*cluster.procs.values(), *cluster.agents])
    assert cluster.token not in logs
    leaked = sorted(value for value in scenario.personal if value in logs)
    assert leaked == [], f"personal data in logs: {leaked[:5]}"
    # The poison message went to the dead letters of every queue bound to its type.
    assert all(report.dead_letters[q] >= 1 for q in ("dedup.intake", "print.records", "certificate.records"))
    # ... where an operator lists it with the command line.
    listed = subprocess.run(ektp("dead-letters", "list", "dedup.intake"), env=cluster.env, capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "MALFORMED" in listed.stdout and "poison-1" in listed.stdout
