"""How long a print server keeps the files of the cards it rendered, and their removal.

The `render` driver writes four files a card (`<serial>-front.png`, `-back.png`, `.pdf`, `.chip`;
about 0.8 MB) into its site's directory. Kept for ever they fill the disk (a cluster pod's 4 GiB
volume after ~5,000 cards) and the agent stops on a printer fault. When it starts, and after a
card at most once a minute, the driver removes whole cards, oldest first: those older than `keep_days`, then as many
as it takes to bring the directory under `keep_mb`. A card written in the last `PROTECT_SECONDS`
(another agent of the site sharing the directory may still be printing it) or one the driver is
printing (`busy`) is never removed. Leftover `.tmp` files of a write cut short are removed with
the old cards. Other files (the agent's own dotfiles, anything an operator put there) are left.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIXES = ("-front.png", "-back.png", ".pdf", ".chip")
TMP = ".tmp"
PROTECT_SECONDS = 600.0  # far above a card's print and report (~60 s at most)
PRUNE_EVERY_SECONDS = 60.0  # after a card, a pass at most this often (a printer does a few cards a minute)
DEFAULT_KEEP_DAYS = 30.0
DEFAULT_KEEP_MB = 2048.0


@dataclass(frozen=True)
class Retention:
    """`keep_days`: cards older than this are removed; `keep_mb`: the directory's cards are kept
    under this many MB (MiB), oldest removed first. 0 turns a limit off (both 0: nothing removed)."""

    keep_days: float = DEFAULT_KEEP_DAYS
    keep_mb: float = DEFAULT_KEEP_MB

    def __post_init__(self) -> None:
        for name, value in (("keep_days", self.keep_days), ("keep_mb", self.keep_mb)):
            if not value >= 0:  # also NaN
                raise ValueError(f"{name}: must be 0 (no limit) or more, not {value}")

    @property
    def off(self) -> bool:
        return self.keep_days == 0 and self.keep_mb == 0

    def describe(self) -> str:
        unit = "day" if self.keep_days == 1 else "days"
        days = f"{self.keep_days:g} {unit}" if self.keep_days else "no age limit"
        size = f"{self.keep_mb:g} MB" if self.keep_mb else "no size limit"
        return f"{days}, {size}"


@dataclass
class _Card:
    key: str
    files: list[Path] = field(default_factory=list)
    size: int = 0
    newest: float = 0.0


@dataclass(frozen=True)
class Pruned:
    serials: list[str]  # the cards removed, oldest first (a leftover .tmp file by its own name)
    removed_bytes: int
    kept_bytes: int


def prune(directory: Path, retention: Retention, *, busy: Collection[str] = (),
          now: float | None = None) -> Pruned:
    """Removes the cards of `directory` that `retention` does not keep (see the module). `busy`:
    the file names (serials) of cards being printed, never removed. Logs what it removed."""
    if retention.off:
        return Pruned([], 0, 0)
    now = time.time() if now is None else now
    cards = _cards(directory)
    total = sum(c.size for c in cards)
    oldest_first = sorted(cards, key=lambda c: c.newest)
    age_limit = now - retention.keep_days * 86400 if retention.keep_days else None
    size_limit = int(retention.keep_mb * 1024 * 1024) if retention.keep_mb else None
    removed: list[_Card] = []
    for card in oldest_first:
        too_old = age_limit is not None and card.newest < age_limit
        too_big = size_limit is not None and total > size_limit
        if not (too_old or too_big):
            break  # the rest are newer, and the directory is under its size
        if card.newest > now - PROTECT_SECONDS:
            break  # written just now (maybe still being printed): this one and every newer card stay
        if card.key in busy:
            continue
        for path in card.files:
            try:
                path.unlink()
            except FileNotFoundError:
                pass  # another agent of the site sharing the directory removed it first
        total -= card.size
        removed.append(card)
    freed = sum(c.size for c in removed)
    if removed:
        serials = [c.key for c in removed]
        shown = ", ".join(serials[:5]) + (f" and {len(serials) - 5} more" if len(serials) > 5 else "")
        log.info("removed %d rendered card(s) (%.1f MB) from %s, keeping %s: %s", len(removed),
                 freed / 1048576, directory, retention.describe(), shown)
    if size_limit is not None and total > size_limit:
        log.warning("the cards in %s take %.1f MB, over the %g MB kept: the rest were written in the last %d s",
                    directory, total / 1048576, retention.keep_mb, int(PROTECT_SECONDS))
    return Pruned([c.key for c in removed], freed, total)


def _cards(directory: Path) -> list[_Card]:
    """The cards in `directory`, each with its files, their size and the newest file's time."""
    cards: dict[str, _Card] = {}
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        key = _card_key(name)
        if key is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        card = cards.setdefault(key, _Card(key))
        card.files.append(Path(entry.path))
        card.size += stat.st_size
        card.newest = max(card.newest, stat.st_mtime)
    return list(cards.values())


def _card_key(name: str) -> str | None:
    """The serial a card file belongs to; a leftover `.tmp` is a card of its own name; None: not a card's."""
    if name.endswith(TMP):
        return name if _card_key(name[: -len(TMP)]) is not None else None
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None
