"""Printer drivers: the render driver's files, the simulator's failure rate, the factory."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from services.print.agent.drivers import (
    SPOIL_REASONS,
    CardJob,
    ChipFields,
    PrinterDriver,
    Printed,
    RenderDriver,
    SimDriver,
    Spoiled,
    make_driver,
)
from services.print.agent.retention import Retention
from services.print.card import CardData, verify_chip_record
from tests.support.processes import ektp, free_port

TEMPLATE = base64.b64encode(b"\x01" * 32).decode()


def _job(card: CardData, n: int = 1, **kw: Any) -> CardJob:
    return CardJob(job_id=f"job-{n}", serial=f"5371-2024-{n:07d}", card=card, **kw)


def test_render_driver_writes_the_card_and_a_verifiable_chip(
    card_data: CardData, issuer_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    driver = RenderDriver(tmp_path / "out", signing_key=issuer_key, key_id="k1")
    job = _job(card_data, chip=ChipFields(right_index=TEMPLATE, left_index=None))

    outcome = asyncio.run(driver.print_card(job))

    assert isinstance(outcome, Printed)
    assert {p.name for p in outcome.artefacts.values()} == {
        "5371-2024-0000001-front.png", "5371-2024-0000001-back.png",
        "5371-2024-0000001.pdf", "5371-2024-0000001.chip",
    }  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in outcome.artefacts.values()
    )
    for kind, path in outcome.artefacts.items():
        assert path.stat().st_size == outcome.sizes[kind] > 0
    assert Image.open(outcome.artefacts["front"]).size == (1012, 638)
    payload = verify_chip_record(outcome.artefacts["chip"].read_bytes(), {"k1": issuer_key.public_key()})
    assert payload["serial"] == job.serial  # the job's serial wins over the card data's
    assert payload["fingerprints"] == {"right_index": TEMPLATE, "left_index": None}


def test_render_driver_uses_a_record_signed_upstream(card_data: CardData, tmp_path: Path) -> None:
    driver = make_driver("render", output_dir=tmp_path)
    outcome = asyncio.run(driver.print_card(_job(card_data, chip_record=b"signed-upstream")))
    assert isinstance(outcome, Printed)
    assert outcome.artefacts["chip"].read_bytes() == b"signed-upstream"


def test_render_driver_without_a_record_or_key_spoils_on_the_chip(card_data: CardData, tmp_path: Path) -> None:
    outcome = asyncio.run(RenderDriver(tmp_path).print_card(_job(card_data)))
    assert isinstance(outcome, Spoiled) and outcome.reason == "chip_failure"
    assert list(tmp_path.iterdir()) == []


def test_render_driver_refuses_unprintable_data_before_using_a_blank(
    make_card: Any, issuer_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    driver = RenderDriver(tmp_path, signing_key=issuer_key, key_id="k1")
    with pytest.raises(ValueError, match="Nama"):
        asyncio.run(driver.print_card(_job(make_card(name="A" * 61))))
    assert list(tmp_path.iterdir()) == []


def test_render_driver_serial_cannot_escape_the_directory(
    card_data: CardData, issuer_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    driver = RenderDriver(tmp_path / "out", signing_key=issuer_key, key_id="k1")
    job = CardJob(job_id="j", serial="../../etc/x", card=card_data)
    outcome = asyncio.run(driver.print_card(job))
    assert isinstance(outcome, Printed)
    assert all(p.parent == tmp_path / "out" for p in outcome.artefacts.values())


def test_sim_driver_failure_rate_is_near_the_configured_rate(card_data: CardData) -> None:
    n, rate = 4000, 0.05
    driver = SimDriver(seconds_per_card=0.0, failure_rate=rate, rng_seed=1234)

    async def run() -> list[Any]:
        return [await driver.print_card(_job(card_data, i)) for i in range(n)]

    outcomes = asyncio.run(run())
    spoiled = [o for o in outcomes if isinstance(o, Spoiled)]
    sigma = (n * rate * (1 - rate)) ** 0.5
    assert abs(len(spoiled) - n * rate) < 4 * sigma
    assert {o.reason for o in spoiled} == set(SPOIL_REASONS)
    # the same seed gives the same run
    again = SimDriver(failure_rate=rate, rng_seed=1234)

    async def replay_concurrently() -> list[Any]:
        return await asyncio.gather(*[again.print_card(_job(card_data, i)) for i in range(n)])

    replay = asyncio.run(replay_concurrently())
    assert [o.status for o in replay] == [o.status for o in outcomes]


def test_sim_driver_takes_its_time_one_card_at_a_time(card_data: CardData) -> None:
    driver = make_driver("sim", seconds_per_card=0.05, failure_rate=0.0)

    async def run() -> list[Any]:
        return await asyncio.gather(*[driver.print_card(_job(card_data, i)) for i in range(4)])

    start = time.monotonic()
    outcomes = asyncio.run(run())
    assert time.monotonic() - start >= 0.19
    assert all(isinstance(o, Printed) for o in outcomes)


def test_factory_and_protocol(tmp_path: Path) -> None:
    assert isinstance(make_driver("sim"), PrinterDriver)
    assert isinstance(make_driver("render", output_dir=tmp_path), RenderDriver)
    with pytest.raises(ValueError, match="unknown printer driver"):
        make_driver("laser")
    with pytest.raises(ValueError):
        make_driver("sim", failure_rate=1.5)
    with pytest.raises(ValueError, match="needs output_dir"):
        make_driver("render")


def test_factory_takes_every_agent_option_and_each_driver_uses_its_own(tmp_path: Path) -> None:
    """`ektp up` and `ektp print-agent` pass all their options whichever driver they run."""
    options: dict[str, Any] = {"output_dir": tmp_path, "retention": Retention(2, 10), "seconds_per_card": 0.5,
                               "failure_rate": 0.25}
    sim = make_driver("sim", **options)
    assert isinstance(sim, SimDriver) and (sim.seconds_per_card, sim.failure_rate) == (0.5, 0.25)
    render = make_driver("render", **options)
    assert isinstance(render, RenderDriver)
    assert (render.output_dir, render.retention) == (tmp_path, Retention(2, 10))


def test_print_agent_refuses_an_unknown_driver(tmp_path: Path) -> None:
    """Before, `ektp print-agent --driver laser` ran the simulator."""
    done = subprocess.run(ektp("print-agent", "--site", "53.71.04", "--token", "t", "--driver", "laser",
                               "--service-url", f"http://127.0.0.1:{free_port()}", "--output-dir", str(tmp_path)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "unknown printer driver 'laser'; known: render, sim"


def test_render_drivers_in_one_process_render_concurrently(
    make_card: Any, issuer_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """Several agents in one process (all-in-one mode) share the non-thread-safe rasteriser."""
    drivers = [RenderDriver(tmp_path / f"agent{i}", signing_key=issuer_key, key_id="k1") for i in range(3)]

    async def run() -> list[Any]:
        jobs = [d.print_card(_job(make_card(), n)) for n, d in enumerate(drivers * 2)]
        return await asyncio.gather(*jobs)

    outcomes = asyncio.run(run())
    assert all(isinstance(o, Printed) for o in outcomes)
    assert sum(len(list((tmp_path / f"agent{i}").iterdir())) for i in range(3)) == 6 * 4
