"""The admin commands (`ektp credentials ...`) on the all-in-one's embedded database."""

from __future__ import annotations

import os
import subprocess

from tests.support.processes import ektp


def test_an_admin_command_away_from_the_database_says_where_it_looked_and_creates_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    done = subprocess.run(ektp("credentials", "list"), cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"no database at {tmp_path / 'var' / 'ektp.db'}" in done.stderr and "EKTP_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # it used to leave an empty ./var/ektp.db behind
