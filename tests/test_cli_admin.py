"""The admin commands (`ektp credentials ...`, `ektp dead-letters ...`) on the all-in-one's embedded
database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert

from tests.conftest import DATA_KEY, in_thread
from tests.support.processes import ektp


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """An admin command as an operator types it: only the settings given here, none of the tests'."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    return subprocess.run(ektp(*args), cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [("credentials", "list"), ("dead-letters", "list", "dedup.intake")])
def test_an_admin_command_away_from_the_database_says_where_it_looked_and_creates_nothing(tmp_path, command):
    done = _run(*command, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"no database at {tmp_path / 'var' / 'ektp.db'}" in done.stderr and "EKTP_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr
    # it used to leave an empty ./var/ektp.db behind; `dead-letters list` also a new data key, and
    # answered "0 dead letter(s)" from the empty database it had made
    assert list(tmp_path.iterdir()) == []


async def _dead_letter(url: str) -> str:
    """One event dead-lettered on dedup.intake of the embedded queue, encrypted with the data key."""
    from shared.db import create_engine
    from shared.messaging.embedded import EmbeddedTransport, dead_letters_table
    from shared.messaging.envelope import new_event

    engine = create_engine(url, application_name="test", pool_size=1)
    try:
        await EmbeddedTransport(engine, max_attempts=5, visibility_seconds=30).start()
        event = new_event("dedup.unique", {"enrollment_id": "e-1"}, key="e-1")
        async with engine.begin() as conn:
            await conn.execute(insert(dead_letters_table).values(
                queue="dedup.intake", event_id=str(event.event_id), key="e-1", body=event.to_json().decode(),
                attempts=5, reason="test", dead_at=0.0))
        return str(event.event_id)
    finally:
        await engine.dispose()


def test_dead_letters_of_an_all_in_one_with_its_own_data_dir_are_read_with_its_data_key(tmp_path):
    """`ektp up --data-dir DIR` keeps its database and its data key in DIR; the operator points the
    command at the database (README) from anywhere."""
    data, here = tmp_path / "data", tmp_path / "here"
    data.mkdir(), here.mkdir()
    (data / "data.key").write_text(DATA_KEY + "\n")  # the key this test process encrypts with
    url = f"sqlite+aiosqlite:///{data / 'ektp.db'}"
    event_id = in_thread(asyncio.run, _dead_letter(url))

    done = _run("dead-letters", "list", "dedup.intake", cwd=here, EKTP_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert f"{event_id}  dedup.unique v1" in done.stdout and "1 dead letter(s) on dedup.intake" in done.stdout
    assert list(here.iterdir()) == []  # a new data key was made in ./var, which could not read the letter


def test_revoking_an_id_that_is_not_an_active_credential_says_so_without_a_traceback(tmp_path):
    from shared.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'ektp.db'}"
    in_thread(upgrade, url)
    created = _run("credentials", "create", "--name", "walk", "--role", "station", "--site", "53.71.04",
                   cwd=tmp_path, EKTP_DATABASE_URL=url)
    assert created.returncode == 0, created.stderr
    credential_id = created.stdout.split('"id": "')[1].split('"')[0]
    assert _run("credentials", "revoke", credential_id, cwd=tmp_path, EKTP_DATABASE_URL=url).returncode == 0

    for given, code, said in [
        (credential_id, 1, f"no active credential {credential_id}: unknown, or revoked already"),
        (str(uuid.uuid4()), 1, "unknown, or revoked already"),
        ("oebobo-1", 2, "'oebobo-1' is not a credential id"),
    ]:
        done = _run("credentials", "revoke", given, cwd=tmp_path, EKTP_DATABASE_URL=url)
        assert (done.returncode, "Traceback" in done.stderr) == (code, False), done.stderr
        assert said in done.stderr
