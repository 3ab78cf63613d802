"""Settings the service refuses to start with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from tests.support.processes import ektp

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("city", ["Kupang", "Kota Kupang", "Tanjung Balai Karimun", "Kotamobagu"])
def test_a_city_that_fits_under_the_photo_is_taken(city: str) -> None:
    assert Settings(dinas_city=city).dinas_city == city


@pytest.mark.parametrize(("city", "reason"), [
    ("Kabupaten Kepulauan Siau Tagulandang", "at most 24 fit"),  # 36 characters
    ("W" * 24, "too wide"),  # 24 characters, but of the widest letter
])
def test_a_city_that_would_hold_every_card_at_print_is_refused(city: str, reason: str) -> None:
    with pytest.raises(ValidationError) as e:
        Settings(dinas_city=city)
    (error,) = e.value.errors()
    assert error["loc"] == ("dinas_city",)
    assert "printed under the photo on every card" in error["msg"] and reason in error["msg"]


def _clean_env(**env: str) -> dict[str, str]:
    """The environment an operator starts with: only the settings given here, none of the tests'."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}, **env}


def test_ektp_up_refuses_a_city_in_one_line_naming_the_setting(tmp_path):
    done = subprocess.run(ektp("up", "--port", "8795", "--data-dir", str(tmp_path / "var")), cwd=tmp_path,
                          env=_clean_env(EKTP_DINAS_CITY="Kabupaten Timor Tengah Selatan"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    # it printed pydantic's report: "1 validation error for Settings", the field's name in lower
    # case on a line of its own, the input again and a link to pydantic's site, over four lines
    assert done.stderr.splitlines() == [
        "error in settings: EKTP_DINAS_CITY: the city is printed under the photo on every card: "
        "issue_place: 30 characters, at most 24 fit on the card"]
    assert not (tmp_path / "var").exists()  # it wrote var/bootstrap-token before checking the settings


def test_run_sh_stops_when_ektp_up_refuses_to_start(tmp_path):
    # scripts/run.sh as it is, in a copy of the repository whose venv is two stubs: a python that
    # installs nothing and finds no server ready, and an `ektp up` that refuses its settings at once.
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text('#!/bin/sh\n[ "$2" = pip ] && exit 0\nexit 1\n')
    (bin_dir / "ektp").write_text(
        '#!/bin/sh\nif [ "$1" = up ]; then echo "error in settings: EKTP_DINAS_CITY: ..." >&2; exit 2; fi\n'
        'echo "ektp $1 ran"\n')
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    try:
        done = subprocess.run(["bash", str(tmp_path / "scripts" / "run.sh"), "--port", "8795"], cwd=tmp_path,
                              env=_clean_env(), capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as e:
        # it waited a minute for the server, then ran the demo (against nothing: minutes more) and
        # said "The system keeps running"
        pytest.fail(f"run.sh went on after ektp up exited: {e.stdout!r} {e.stderr!r}")
    assert done.returncode == 2, done.stderr
    assert "ektp demo ran" not in done.stdout and "keeps running" not in done.stdout
    assert done.stderr.splitlines() == ["error in settings: EKTP_DINAS_CITY: ...",
                                        "ektp up stopped (exit 2): nothing is running, no demo posted."]
