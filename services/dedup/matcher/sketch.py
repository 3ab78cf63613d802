"""First-pass binary sketches: 512 bits per person, compared by masked Hamming distance.

Bits are signs of fixed random projections (SimHash): 192 from the face embedding and 32 per
finger (10 x 32 = 320), so two embeddings at angle theta disagree on about theta/pi of their
bits.  Laid out as bytes [face 24 | finger 0 4 | ... | finger 9 4] and viewed as 8 uint64
words.  A probe mask zeroes the bits of probe templates that are not usable.  The projections
come from a fixed seed: they are part of the stored gallery format.
"""

from __future__ import annotations

import numpy as np

from .templates import EMB_DIM, TemplateBatch

FACE_BITS, FINGER_BITS, WORDS = 192, 32, 8
_R = np.random.default_rng(0x6B7470)
FACE_PLANES = _R.standard_normal((EMB_DIM, FACE_BITS)).astype(np.float32)
FINGER_PLANES = _R.standard_normal((EMB_DIM, FINGER_BITS)).astype(np.float32)


def sketches(batch: TemplateBatch) -> np.ndarray:
    """(n, 8) uint64 sketches; unusable templates (zero vectors) give zero bits."""
    n = len(batch)
    face = (batch.face @ FACE_PLANES) > 0
    fingers = (batch.fingers @ FINGER_PLANES) > 0
    bits = np.concatenate([face, fingers.reshape(n, 10 * FINGER_BITS)], axis=1)
    return np.ascontiguousarray(np.packbits(bits, axis=1)).view(np.uint64)


def probe_mask(batch: TemplateBatch) -> np.ndarray:
    """(8,) uint64 mask of the probe's usable bits (batch of one)."""
    m = np.zeros(WORDS * 8, np.uint8)
    m[: FACE_BITS // 8] = 0xFF if batch.face_ok[0] else 0
    fb = FINGER_BITS // 8
    for i, ok in enumerate(batch.finger_ok[0]):
        start = FACE_BITS // 8 + i * fb
        m[start : start + fb] = 0xFF if ok else 0
    return m.view(np.uint64)


def scan(table: np.ndarray, probe: np.ndarray, mask: np.ndarray, out: np.ndarray,
         start: int, stop: int, chunk: int = 32768) -> None:  # fmt: skip
    """out[start:stop] = popcount((table[:, i] ^ probe) & mask), in cache-sized chunks.

    `table` is (8, capacity) uint64, one row per word, so every step is a contiguous ufunc.
    """
    words = [w for w in range(WORDS) if mask[w]]
    full = {w for w in words if mask[w] == np.uint64(0xFFFFFFFFFFFFFFFF)}
    tmp = np.empty(chunk, np.uint64)
    cnt = np.empty(chunk, np.uint8)
    for s in range(start, stop, chunk):
        e = min(stop, s + chunk)
        acc, t, c = out[s:e], tmp[: e - s], cnt[: e - s]
        acc[:] = 0
        for w in words:
            np.bitwise_xor(table[w, s:e], probe[w], out=t)
            if w not in full:
                np.bitwise_and(t, mask[w], out=t)
            np.bitwise_count(t, out=c)
            np.add(acc, c, out=acc)
