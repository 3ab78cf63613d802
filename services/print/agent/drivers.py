"""Printer drivers of a print agent: what "print this card" means on this print server.

A driver prints one card at a time (a card printer is a serial device): concurrent calls to
`print_card` on one driver queue behind each other.

- `RenderDriver` renders the card and writes it to a directory (the default, and what a real
  printer integration would send to the device); it removes old cards' files as it goes
  (`retention.py`).
- `SimDriver` only takes time and fails at a configured rate; for load tests.

Outcomes: `Printed`, or `Spoiled` with a reason (the blank is used up and must be accounted for).
Data that cannot be printed at all (a value too long for the card) raises ValueError before any
blank is used; the caller fails the job instead of spoiling a card. Any other exception is a fault
of the printer (a device error, a full or unwritable disk): the agent spoils that blank and stops.
`check` raises if the printer cannot print at all; the agent calls it before joining its pool.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.print.agent.retention import PRUNE_EVERY_SECONDS, Retention, prune
from services.print.card import CardData, build_chip_record, render_card

log = logging.getLogger(__name__)

SpoilReason = Literal["misprint", "chip_failure", "jam"]
SPOIL_REASONS: tuple[SpoilReason, ...] = ("misprint", "chip_failure", "jam")


@dataclass(frozen=True)
class ChipFields:
    """What goes on the chip besides the card data: the two index-finger templates (base64)."""

    right_index: str | None = None
    left_index: str | None = None


@dataclass(frozen=True)
class CardJob:
    job_id: str
    serial: str  # the blank's serial from stock; wins over card.serial
    card: CardData
    chip: ChipFields = field(default_factory=ChipFields)
    chip_record: bytes | None = None  # a record already signed upstream; else the driver signs


@dataclass(frozen=True)
class Printed:
    job_id: str
    serial: str
    artefacts: dict[str, Path] = field(default_factory=dict)  # front, back, pdf, chip
    sizes: dict[str, int] = field(default_factory=dict)  # bytes per artefact
    status: Literal["printed"] = "printed"


@dataclass(frozen=True)
class Spoiled:
    job_id: str
    serial: str
    reason: SpoilReason
    detail: str = ""
    status: Literal["spoiled"] = "spoiled"


PrintOutcome = Printed | Spoiled


@runtime_checkable
class PrinterDriver(Protocol):
    async def check(self) -> None: ...

    async def print_card(self, job: CardJob) -> PrintOutcome: ...


class RenderDriver:
    """Renders each card into `output_dir`: `<serial>-front.png`, `-back.png`, `.pdf`, `.chip`.

    The chip record is `job.chip_record` when the job carries one, else it is signed here with
    `signing_key` (`key_id`); with neither the card is spoiled as a chip failure. Old cards' files
    are removed when it starts and after each card, as `retention` says (`retention.py`).
    """

    def __init__(
        self,
        output_dir: str | os.PathLike[str],
        *,
        signing_key: Ed25519PrivateKey | None = None,
        key_id: str | None = None,
        dpi: int = 300,
        retention: Retention | None = None,
    ) -> None:
        if signing_key is not None and not key_id:
            raise ValueError("key_id is required with signing_key")
        self.output_dir = Path(output_dir)
        self.signing_key = signing_key
        self.key_id = key_id
        self.dpi = dpi
        self.retention = retention or Retention()
        self._lock = asyncio.Lock()
        self._printing: set[str] = set()  # file names of the cards given to print_card, not yet done
        self._pruned_at: float | None = None

    async def check(self) -> None:
        """OSError if the cards cannot be written (a missing volume, a read-only or full disk).
        Old cards are removed first: a disk the agent filled before it had a retention is freed."""
        await asyncio.to_thread(self._check)

    def _check(self) -> None:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        prune(self.output_dir, self.retention, busy=set(self._printing))
        self._pruned_at = time.monotonic()
        with tempfile.NamedTemporaryFile(dir=self.output_dir, prefix=".write-check-") as probe:  # agents may share it
            probe.write(b"ok")
            probe.flush()

    async def print_card(self, job: CardJob) -> PrintOutcome:
        name = _safe_name(job.serial)
        self._printing.add(name)
        try:
            async with self._lock:
                return await asyncio.to_thread(self._print, job)
        finally:
            self._printing.discard(name)

    def _print(self, job: CardJob) -> PrintOutcome:
        card = dataclasses.replace(job.card, serial=job.serial)
        record = job.chip_record
        if record is None and self.signing_key is not None:
            assert self.key_id is not None
            record = build_chip_record(
                card, job.chip.right_index, job.chip.left_index, self.signing_key, self.key_id
            )
        rendered = render_card(card, dpi=self.dpi, chip_record=record)  # ValueError: no blank used
        if record is None:
            return Spoiled(job.job_id, job.serial, "chip_failure", "no chip record and no issuer key")
        self.output_dir.mkdir(parents=True, exist_ok=True)
        name = _safe_name(job.serial)
        contents = {
            "front": (f"{name}-front.png", rendered.front_png),
            "back": (f"{name}-back.png", rendered.back_png),
            "pdf": (f"{name}.pdf", rendered.pdf),
            "chip": (f"{name}.chip", record),
        }
        paths = {kind: _write(self.output_dir / fname, data) for kind, (fname, data) in contents.items()}
        sizes = {kind: len(data) for kind, (_, data) in contents.items()}
        self._prune()
        return Printed(job.job_id, job.serial, paths, sizes)

    def _prune(self) -> None:
        """After a card, at most once every PRUNE_EVERY_SECONDS (a pass reads the whole directory: ~80 ms
        at 2 GB of cards). A failure to remove old cards is logged, never the card's fault (it is printed)."""
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        try:
            prune(self.output_dir, self.retention, busy=set(self._printing))
        except OSError as exc:
            log.warning("could not remove old cards from %s: %r", self.output_dir, exc)


class SimDriver:
    """Takes `seconds_per_card` per card and spoils a card with probability `failure_rate`."""

    def __init__(
        self, seconds_per_card: float = 0.0, failure_rate: float = 0.0, rng_seed: int | None = None
    ) -> None:
        if seconds_per_card < 0:
            raise ValueError("seconds_per_card must be >= 0")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self.seconds_per_card = seconds_per_card
        self.failure_rate = failure_rate
        self._rng = random.Random(rng_seed)
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        return None

    async def print_card(self, job: CardJob) -> PrintOutcome:
        async with self._lock:
            await asyncio.sleep(self.seconds_per_card)
            if self._rng.random() < self.failure_rate:
                reason = self._rng.choice(SPOIL_REASONS)
                return Spoiled(job.job_id, job.serial, reason, "simulated")
            return Printed(job.job_id, job.serial)


DRIVERS = ("render", "sim")


def make_driver(name: str, *, output_dir: str | os.PathLike[str] | None = None, retention: Retention | None = None,
                seconds_per_card: float = 0.0, failure_rate: float = 0.0) -> PrinterDriver:
    """The driver `name` from a print agent's options (`ektp up`, `ektp print-agent`); each driver
    takes the ones it uses: `render` writes the cards to `output_dir` and keeps them as `retention`
    says, `sim` takes `seconds_per_card` a card and spoils one at `failure_rate`."""
    if name == "render":
        if output_dir is None:
            raise ValueError("the render driver needs output_dir")
        return RenderDriver(output_dir, retention=retention)
    if name == "sim":
        return SimDriver(seconds_per_card, failure_rate)
    raise ValueError(f"unknown printer driver {name!r}; known: {', '.join(DRIVERS)}")


def _safe_name(serial: str) -> str:
    """The serial as a file name: no path separators or other surprises."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in serial).lstrip(".")
    if not safe:
        raise ValueError("serial: empty")
    return safe


def _write(path: Path, data: bytes) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
