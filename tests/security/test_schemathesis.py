"""Property-based fuzzing of every route from the OpenAPI description (schemathesis, run as its
own command), against a real `ektp up`: no answer is a server error, every documented answer
matches its schema, and the server logs no error while it is fuzzed."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS
from tests.support.processes import Proc, ektp, free_port, wait_http


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fuzzing_every_route_finds_no_server_error(tmp_path: Path):
    token = secrets.token_urlsafe(32)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    env.update({"EKTP_BOOTSTRAP_TOKEN": token, "EKTP_STATUS_RATE_PER_SECOND": "1000", "EKTP_STATUS_RATE_BURST": "1000",
                "EKTP_VERIFY_RATE_PER_SECOND": "1000", "EKTP_VERIFY_RATE_BURST": "1000"})
    proc = Proc("ektp-up", ektp("up", "--port", str(port), "--data-dir", str(tmp_path / "var"), "--print-agents", "0",
                                "--seed-stock", "0"), env, tmp_path / "up.log").start()
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", proc=proc, timeout=90)
        report = ARTIFACTS / "schemathesis"
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"http://127.0.0.1:{port}/openapi.json",
             "--checks", "not_a_server_error,response_schema_conformance", "--max-examples", "15",
             "--phases", "examples,coverage,fuzzing", "--generation-deterministic", "--workers", "1",
             "--request-timeout", "40", "-H", f"Authorization: Bearer {token}",
             "--report", "junit", "--report-dir", str(report)],
            capture_output=True, text=True, timeout=800)
    finally:
        proc.stop(timeout=30)
    output = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, output
    errors = [line for line in proc.log().splitlines() if "Traceback" in line or " ERROR " in line]
    assert not errors, "the fuzzed server logged errors:\n" + "\n".join(errors[:20])
