"""`ektp up`: its print servers follow the dinas it runs for. Stopped with Ctrl-C while its print
agents print, the agents stop first (each finishes and reports the card it holds, then leaves its
pool), then the services; exit 0, no traceback.

uvicorn used to take the SIGINT itself and stop serving at once, while the agents still claimed and
reported through it: tracebacks, retries against a closed port, and with a card in flight a process
that never exited."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.api import auth, eventually, recording


def cards_rendered(data_dir: Path) -> int:
    return len(list((data_dir / "cards").rglob("*-front.png")))


@pytest.mark.slow
async def test_ctrl_c_stops_the_print_agents_before_the_services(allinone, token, tmp_path):
    url, proc = allinone
    data_dir = tmp_path / "var"
    residents = [recording(7000 + i) for i in range(20)]  # of every kecamatan: every agent has work
    async with httpx.AsyncClient(base_url=url, headers=auth(token), timeout=60) as client:
        answer = await client.post("/v1/enrollments/batch", json=residents)
        assert answer.status_code == 200 and answer.json()["created"] == 20, answer.text
    await eventually(lambda: cards_rendered(data_dir) >= 3, timeout=120, what="the first cards printed")

    proc.popen.send_signal(signal.SIGINT)  # Ctrl-C, while the others are still being printed
    try:
        code = proc.popen.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ektp up did not stop within 60 s of Ctrl-C:\n{proc.log()[-6000:]}")
    log = proc.log()
    after = log[log.index("Press Ctrl-C to stop."):]

    assert code == 0, after[-6000:]
    assert "Traceback" not in after and " ERROR " not in after, after[-6000:]
    assert " WARNING " not in after, after[-6000:]  # no call of an agent failed
    lines = after.splitlines()
    stopping = lines.index("stopping: the print agents finish the cards they hold (Ctrl-C again to stop at once) ...")
    shutting = next(i for i, line in enumerate(lines) if "uvicorn.error: Shutting down" in line)
    left = [i for i, line in enumerate(lines) if "agent.runner: node " in line and line.endswith(" deregistered")]
    assert len(left) == 5 and stopping < min(left) and max(left) < shutting, after[-6000:]
    assert lines[-1] == "stopped."

    # Nothing held: every card rendered was reported printed, no claim or blank left open, the pool empty.
    with sqlite3.connect(data_dir / "ektp.db") as db:
        jobs = dict(db.execute("SELECT status, count(*) FROM print_jobs GROUP BY status").fetchall())
        nodes = dict(db.execute("SELECT status, count(*) FROM print_nodes GROUP BY status").fetchall())
        blanks = dict(db.execute("SELECT status, count(*) FROM print_blank_cards GROUP BY status").fetchall())
    assert "CLAIMED" not in jobs and jobs["PRINTED"] == cards_rendered(data_dir) >= 3, jobs
    assert nodes == {"GONE": 5}
    assert "RESERVED" not in blanks and "SPOILED" not in blanks and blanks["USED"] == jobs["PRINTED"], blanks


def test_the_print_servers_follow_the_dinas_it_runs_for():
    """Kota Kupang's five print servers as the city placed them; another dinas (EKTP_DINAS_CODE)
    gets the same shape from its own kecamatan, so its start-up stock and redirects name its sites."""
    from ektp.allinone import agent_plan, printed_at_dinas

    assert agent_plan(5, "53.71") == [("53.71.01", "primary"), ("53.71.02", "primary"), ("53.71.04", "primary"),
                                      ("53.71", "backup"), ("53.71", "backup")]
    assert printed_at_dinas("53.71") == ("53.71.03", "53.71.05", "53.71.06")
    assert agent_plan(6, "53.71")[-1] == ("53.71", "primary")
    bandung = agent_plan(5, "32.73")  # Kota Bandung
    assert bandung == [("32.73.01", "primary"), ("32.73.02", "primary"), ("32.73.03", "primary"),
                       ("32.73", "backup"), ("32.73", "backup")]
    assert printed_at_dinas("32.73")[0] == "32.73.04" and all(s.startswith("32.73.") for s in printed_at_dinas("32.73"))
