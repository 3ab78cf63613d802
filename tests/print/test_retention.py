"""The render driver removes the files of old cards as it prints, so a print server that runs for
months does not fill its disk (a cluster pod's 4 GiB volume held ~5,000 cards) and stop on a
printer fault. Real card files on disk: one card rendered, copied under other serials and dated
back with utime."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.print.agent.drivers import CardJob, Printed, RenderDriver
from services.print.agent.retention import PROTECT_SECONDS, SUFFIXES, Retention, prune
from services.print.card import CardData
from tests.support.api import eventually
from tests.support.processes import Proc, ektp, free_port

DAY = 86400.0
MB = 1024 * 1024


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One card's four files, rendered by the driver (serial 'model')."""
    from tests.print.conftest import make_card_data

    out = tmp_path_factory.mktemp("model")
    driver = RenderDriver(out, signing_key=Ed25519PrivateKey.generate(), key_id="k1",
                          retention=Retention(keep_days=0, keep_mb=0))
    outcome = asyncio.run(driver.print_card(CardJob("job-model", "model", make_card_data())))
    assert isinstance(outcome, Printed)
    return out


def card_size(rendered: Path) -> int:
    return sum((rendered / f"model{s}").stat().st_size for s in SUFFIXES)


def place(rendered: Path, directory: Path, serial: str, age_seconds: float) -> None:
    """A copy of the rendered card under `serial`, its files last written `age_seconds` ago."""
    directory.mkdir(parents=True, exist_ok=True)
    when = time.time() - age_seconds
    for suffix in SUFFIXES:
        target = directory / f"{serial}{suffix}"
        shutil.copyfile(rendered / f"model{suffix}", target)
        os.utime(target, (when, when))


def serials(directory: Path) -> set[str]:
    return {p.name[: -len("-front.png")] for p in directory.glob("*-front.png")}


def print_one(driver: RenderDriver, card: CardData, serial: str) -> Printed:
    outcome = asyncio.run(driver.print_card(CardJob(f"job-{serial}", serial, card)))
    assert isinstance(outcome, Printed)
    return outcome


def test_cards_older_than_the_days_kept_go_whole_as_the_driver_prints(
    rendered: Path, card_data: CardData, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "53.71.04"
    for serial, days in (("0100000001", 45), ("0100000002", 31), ("0100000003", 29), ("0100000004", 1)):
        place(rendered, out, serial, days * DAY)
    (out / "0100000001-front.png.tmp").write_bytes(b"cut short")  # a write a crash cut short
    os.utime(out / "0100000001-front.png.tmp", (time.time() - 40 * DAY,) * 2)
    (out / "notes.txt").write_text("an operator's file")
    (out / ".agent-state").write_text("the agent's own")
    driver = RenderDriver(out, signing_key=Ed25519PrivateKey.generate(), key_id="k1",
                          retention=Retention(keep_days=30, keep_mb=0))

    with caplog.at_level(logging.INFO, logger="services.print.agent.retention"):
        print_one(driver, card_data, "0100000005")

    assert serials(out) == {"0100000003", "0100000004", "0100000005"}
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.startswith(("0100000001", "0100000002"))], left  # every file of a card
    assert {"notes.txt", ".agent-state"} <= set(left)
    [line] = [r.getMessage() for r in caplog.records if "removed" in r.getMessage()]
    assert "removed 3 rendered card(s)" in line and "0100000001" in line and "0100000002" in line, line
    assert "keeping 30 days, no size limit" in line


def test_the_directory_is_kept_under_its_size_oldest_cards_first(
    rendered: Path, card_data: CardData, tmp_path: Path
) -> None:
    size = card_size(rendered)
    out = tmp_path / "53.71"
    for n in range(1, 9):  # 8 cards, the oldest written 9 hours ago
        place(rendered, out, f"020000000{n}", (10 - n) * 3600)
    keep_mb = 3.5 * size / MB  # room for three cards and a half
    driver = RenderDriver(out, signing_key=Ed25519PrivateKey.generate(), key_id="k1",
                          retention=Retention(keep_days=30, keep_mb=keep_mb))

    print_one(driver, card_data, "0200000009")

    assert serials(out) == {"0200000007", "0200000008", "0200000009"}
    assert sum(p.stat().st_size for p in out.iterdir()) <= keep_mb * MB


def test_a_card_written_just_now_or_being_printed_is_never_removed(rendered: Path, tmp_path: Path) -> None:
    """Another agent of the site sharing the directory may be printing the newest cards; this
    driver's own card in hand is never removed, however old its files look."""
    size = card_size(rendered)
    out = tmp_path / "53.71"
    place(rendered, out, "0300000001", 2 * DAY)  # this driver is printing it again (busy)
    place(rendered, out, "0300000002", DAY)
    place(rendered, out, "0300000003", PROTECT_SECONDS - 60)  # another agent's, a few minutes ago
    place(rendered, out, "0300000004", 5)

    pruned = prune(out, Retention(keep_days=0.5, keep_mb=0.5 * size / MB), busy={"0300000001"})

    assert pruned.serials == ["0300000002"]
    assert serials(out) == {"0300000001", "0300000003", "0300000004"}
    assert pruned.kept_bytes == 3 * size > 0.5 * size


def test_an_agent_starting_on_a_directory_of_old_cards_removes_them_before_it_joins_its_pool(
    rendered: Path, tmp_path: Path
) -> None:
    out = tmp_path / "53.71.02"
    for n in range(1, 5):
        place(rendered, out, f"040000000{n}", 40 * DAY - n)
    driver = RenderDriver(out, retention=Retention())  # the defaults: 30 days, 2048 MB

    asyncio.run(driver.check())

    assert serials(out) == set()
    assert Retention() == Retention(keep_days=30, keep_mb=2048)


def test_both_limits_off_keeps_every_card(rendered: Path, tmp_path: Path) -> None:
    out = tmp_path / "53.71.01"
    place(rendered, out, "0500000001", 400 * DAY)
    assert prune(out, Retention(keep_days=0, keep_mb=0)).serials == []
    assert serials(out) == {"0500000001"}


@pytest.mark.parametrize("fields", [{"keep_days": -1}, {"keep_mb": -0.5}, {"keep_mb": float("nan")}])
def test_a_negative_limit_is_refused_naming_it(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=f"^{next(iter(fields))}: must be 0"):
        Retention(**fields)


async def test_ektp_print_agent_takes_its_retention_from_the_environment(rendered: Path, tmp_path: Path) -> None:
    """EKTP_PRINT_KEEP_DAYS / EKTP_PRINT_KEEP_MB, as the compose file and the cluster's Deployment
    pass them: the agent's first pass, before it joins its pool (no print service here)."""
    out = tmp_path / "cards" / "53.71.04"
    place(rendered, out, "0600000001", 3 * DAY)
    place(rendered, out, "0600000002", 0.5 * DAY)
    env = {**os.environ, "EKTP_AGENT_TOKEN": "t", "EKTP_PRINT_KEEP_DAYS": "1", "EKTP_PRINT_KEEP_MB": "0"}
    agent = Proc("agent", ektp("print-agent", "--site", "53.71.04", "--service-url", f"http://127.0.0.1:{free_port()}",
                               "--output-dir", str(tmp_path / "cards")), env, tmp_path / "agent.log").start()
    try:
        await eventually(lambda: "print service" in agent.log() or "failed" in agent.log(), timeout=60,
                         what="the agent trying to register")
    finally:
        assert agent.stop(timeout=30) == 0, agent.log()
    assert serials(out) == {"0600000002"}, agent.log()
    assert "removed 1 rendered card(s)" in agent.log() and "keeping 1 day, no size limit: 0600000001" in agent.log()
