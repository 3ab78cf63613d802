"""Whether a value fits its place on the card: at most its field's characters, printable, and
wrapped on words into the field's lines in its font, condensed down to `MIN_HSCALE` if need be.

The print service's renderer lays every value out with `fit`; the counter (enrollment
validation) asks the same of what a resident's card will carry, so it refuses at the counter
what could not be printed weeks later.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from .layout import MIN_HSCALE, TextField


class DoesNotFit(ValueError):
    """A value that cannot be printed in its field: `reason` is "too_long", "not_printable" or
    "too_wide"; the message names the field."""

    def __init__(self, field: TextField, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


def fit(f: TextField, value: str) -> tuple[list[str], float]:
    """The lines `value` is printed on in `f` and their horizontal scale; DoesNotFit if it cannot be."""
    if len(value) > f.max_chars:
        raise DoesNotFit(f, "too_long", f"{_name(f)}: {len(value)} characters, at most {f.max_chars} fit on the card")
    try:
        value.encode("cp1252")
    except UnicodeEncodeError as e:
        raise DoesNotFit(f, "not_printable", f"{_name(f)}: character {value[e.start]!r} cannot be printed") from None
    # Each word is measured once (the card's fonts have no kerning: a line is as wide as its words
    # and spaces), then laid out at each scale.
    words = value.split(" ")
    sizes = [stringWidth(word, f.font, f.size) for word in words]
    space = stringWidth(" ", f.font, f.size)
    width_pt = f.width * mm
    if sum(sizes) + space * (len(words) - 1) <= width_pt:
        return [value], 1.0  # on one line as it is, as most values are
    scale = 1.0
    while scale >= MIN_HSCALE - 1e-9:
        lines = _wrap(words, sizes, space, width_pt / scale)
        if lines is not None and len(lines) <= f.lines:
            return lines, scale
        scale = round(scale - 0.02, 4)
    raise DoesNotFit(f, "too_wide", f"{_name(f)}: {value!r} is too wide for its place on the card")


def _name(f: TextField) -> str:
    return f"{f.label} ({f.key})" if f.label else f.key


def _wrap(words: list[str], sizes: list[float], space: float, width: float) -> list[str] | None:
    """Words filled into lines of `width` points (None: a word is wider than a line)."""
    lines: list[str] = []
    filled: list[float] = []
    for word, size in zip(words, sizes):
        if size > width:
            return None
        if lines and filled[-1] + space + size <= width:
            lines[-1] = f"{lines[-1]} {word}"
            filled[-1] += space + size
        else:
            lines.append(word)
            filled.append(size)
    return lines or [""]
