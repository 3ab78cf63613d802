"""The registry of known biometric template formats, and the checks of one template's bytes.

A real extractor or a vendor format is added with :func:`register` (or one more row in
``TEMPLATE_FORMATS``): the validator then accepts its ``format``/``version`` and checks the size.
"""

from __future__ import annotations

import binascii
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pybase64

Kind = Literal["fingerprint", "face", "iris"]
QUALITY_MIN = 40  # a template with quality below this is unusable for de-duplication
IRIS_MASK_MIN_FRACTION = 0.5  # at least half the iris bits must be usable


@functools.lru_cache(maxsize=8)
def _word_masks(count: int) -> tuple[int, int, int, int]:
    """For `count` little-endian 32-bit words read as one integer, in each word: the exponent bits,
    the lowest of them, the sign bit, every bit but the sign."""
    def each(word: int) -> int:
        return int.from_bytes(word.to_bytes(4, "little") * count, "little")
    return each(0x7F800000), each(0x00800000), each(0x80000000), each(0x7FFFFFFF)


def _float32_vector(data: bytes) -> str | None:
    """Problem code for a little-endian float32 vector that cannot be compared by cosine.

    Read as bits, the whole vector as one integer: a float32 is not finite exactly when its eight
    exponent bits are all 1 (an infinity or a NaN), which adding 1 to each word's exponent carries
    into that word's sign bit (cleared first, so no carry reaches the next word); the vector is zero
    when every bit but the signs is 0 (-0.0 is zero too). Half the time of unpacking 128 Python
    floats, which was itself half of numpy's, and a recording has 11 of them."""
    exponents, lowest, signs, magnitude = _word_masks(len(data) // 4)
    bits = int.from_bytes(data, "little")
    if ((bits & exponents) + lowest) & signs:
        return "template.not_finite"
    if not bits & magnitude:
        return "template.zero_vector"
    return None


@dataclass(frozen=True, slots=True)
class TemplateFormat:
    kind: Kind
    format: str
    version: int
    size: int  # bytes; for an iris, of the code (the mask has the same size)
    check: Callable[[bytes], str | None] | None = None  # returns a problem code or None

    @property
    def label(self) -> str:
        return f"{self.format} v{self.version}"


TEMPLATE_FORMATS: dict[tuple[str, int], TemplateFormat] = {}


def register(fmt: TemplateFormat) -> None:
    TEMPLATE_FORMATS[(fmt.format, fmt.version)] = fmt


# Built-in formats (DESIGN §3): 128 float32 LE embeddings; a 2048-bit iris code + mask.
register(TemplateFormat("fingerprint", "ektp-fp-emb", 1, 128 * 4, _float32_vector))
register(TemplateFormat("face", "ektp-face-emb", 1, 128 * 4, _float32_vector))
register(TemplateFormat("iris", "ektp-iris-code", 1, 2048 // 8))


def lookup(kind: Kind, format: str, version: int) -> TemplateFormat | None:
    fmt = TEMPLATE_FORMATS.get((format, version))
    return fmt if fmt is not None and fmt.kind == kind else None


def known_labels(kind: Kind) -> str:
    return ", ".join(sorted(f.label for f in TEMPLATE_FORMATS.values() if f.kind == kind))


def decode_base64(text: str) -> bytes | None:
    """Strict base64 (standard alphabet, padding required); None if it is not."""
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def usable_fraction(mask: bytes) -> float:
    """Share of 1 bits in an iris mask (1 = usable bit)."""
    if not mask:
        return 0.0
    return int.from_bytes(mask, "big").bit_count() / (len(mask) * 8)
