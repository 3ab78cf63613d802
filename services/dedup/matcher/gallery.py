"""In-memory 1:N gallery: compact arrays, a pruning first pass and an exact second pass.

Storage per enrolled person (BYTES_PER_PERSON = 2,509 bytes of arrays, plus the ref id string
and its dict entry, ~150 bytes in CPython):

  fingers   10 x 128 int8   1,280   L2-normalised embeddings quantised at QUANT_SCALE
  face      128 int8          128
  iris      2 x 256 uint8     512   codes, one byte per angular sector
  mask      2 x 256 uint8     512   zero for an unusable eye
  sketch    8 uint64           64   first-pass SimHash bits (sketch.py)
  flags     finger_ok 10, face_ok 1, alive 1, weak 1

`identify` runs a first pass over all sketches (masked Hamming distance, vectorised over the
gallery, split over `workers` threads; NumPy releases the GIL), keeps the `shortlist` nearest
plus the few "weak" entries whose sketch says little (no usable face and < 4 usable fingers),
then scores those exactly (fingers, face, iris with rotation search) and fuses the scores.
A probe whose own sketch is weak is searched exhaustively.

Storage grows by doubling; `remove` leaves a tombstone and the arrays are compacted when more
than a quarter of the used slots are dead.  One owner: not thread-safe.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import fusion, sketch
from .templates import EMB_DIM, IRIS_BYTES, MIN_USABLE_FINGERS, Templates, TemplateBatch

QUANT_SCALE = 300.0  # unit-vector components beyond +-127/300 (~4.8 sd) are clipped
IRIS_SHIFTS = tuple(range(-4, 5))  # rotation search: +-4 bytes = +-4 sectors (~5.6 degrees)
MIN_IRIS_BITS = 256  # fewer bits compared in both masks: the eye is not comparable
BYTES_PER_PERSON = 10 * EMB_DIM + EMB_DIM + 4 * IRIS_BYTES + 8 * sketch.WORDS + 10 + 3
_PARALLEL_MIN = 131_072  # galleries smaller than this are scanned on one thread


@dataclass(frozen=True)
class Candidate:
    ref_id: str
    finger: float | None  # evidence, -log10 impostor p (fusion.py); None = not comparable
    iris: float | None
    face: float | None
    fused: float


@dataclass(frozen=True)
class Scores:
    """Exact scores of one probe against some gallery slots (all arrays of length K)."""

    slots: np.ndarray
    finger: np.ndarray  # NaN = not comparable
    iris: np.ndarray
    face: np.ndarray
    fused: np.ndarray


@dataclass(frozen=True)
class RawScores:
    finger_cos: np.ndarray  # (K, 10)
    finger_ok: np.ndarray  # (K, 10)
    face_cos: np.ndarray  # (K,)
    face_ok: np.ndarray  # (K,)
    iris_z: np.ndarray  # (K, 2, S): Daugman-normalised z per eye and shift
    iris_ok: np.ndarray  # (K, 2, S)


def _quantise(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * QUANT_SCALE), -127, 127).astype(np.int8)


def _is_weak(batch: TemplateBatch) -> np.ndarray:
    return ~batch.face_ok & (batch.finger_ok.sum(-1) < MIN_USABLE_FINGERS)


class Gallery:
    def __init__(self, *, shortlist: int = 200, workers: int | None = None, capacity: int = 1024):
        self.shortlist = shortlist
        self.workers = max(1, min(workers or (os.cpu_count() or 1), 8))
        self._pool: ThreadPoolExecutor | None = None
        self._ids: list[str | None] = []
        self._slot: dict[str, int] = {}
        self._n = 0  # used slots (alive or dead)
        self._dead = 0
        self._alloc(max(capacity, 16))

    # ---- storage -------------------------------------------------------------------------
    def _alloc(self, cap: int) -> None:
        new = {
            "fingers": np.zeros((cap, 10, EMB_DIM), np.int8),
            "finger_ok": np.zeros((cap, 10), bool),
            "face": np.zeros((cap, EMB_DIM), np.int8),
            "face_ok": np.zeros(cap, bool),
            "iris_code": np.zeros((cap, 2, IRIS_BYTES), np.uint8),
            "iris_mask": np.zeros((cap, 2, IRIS_BYTES), np.uint8),
            "alive": np.zeros(cap, bool),
            "weak": np.zeros(cap, bool),
        }
        sk = np.zeros((sketch.WORDS, cap), np.uint64)
        n = self._n
        if n:
            for k, a in new.items():
                a[:n] = getattr(self, "_" + k)[:n]
            sk[:, :n] = self._sketch[:, :n]
        for k, a in new.items():
            setattr(self, "_" + k, a)
        self._sketch = sk
        self._cap = cap
        self._acc = np.empty(cap, np.uint16)

    def reserve(self, capacity: int) -> None:
        """Make room for `capacity` used slots without further reallocation."""
        if capacity > self._cap:
            self._alloc(capacity)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (at current capacity), not counting the ref id strings."""
        arrays = [getattr(self, "_" + k) for k in ("fingers", "finger_ok", "face", "face_ok",
                  "iris_code", "iris_mask", "alive", "weak", "sketch", "acc")]  # fmt: skip
        return sum(a.nbytes for a in arrays)

    def __len__(self) -> int:
        return self._n - self._dead

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._slot

    def add(self, ref_id: str, templates: Templates | TemplateBatch) -> None:
        """Enrol one person; an existing `ref_id` is replaced (so a redelivered add is harmless)."""
        batch = templates.batch if isinstance(templates, Templates) else templates
        self.add_batch([ref_id], batch)

    def add_batch(self, ref_ids: Sequence[str], batch: TemplateBatch) -> None:
        if len(ref_ids) != len(batch):
            raise ValueError("ref_ids and batch differ in length")
        for r in ref_ids:
            if r in self._slot:
                self.remove(r)
        if len(set(ref_ids)) != len(ref_ids):
            raise ValueError("duplicate ref ids in one batch")
        m = len(batch)
        if self._n + m > self._cap:
            cap = self._cap
            while cap < self._n + m:
                cap *= 2
            self._alloc(cap)
        s, e = self._n, self._n + m
        self._fingers[s:e] = _quantise(batch.fingers)
        self._finger_ok[s:e] = batch.finger_ok
        self._face[s:e] = _quantise(batch.face)
        self._face_ok[s:e] = batch.face_ok
        self._iris_code[s:e] = batch.iris_code
        self._iris_mask[s:e] = np.where(batch.iris_ok[..., None], batch.iris_mask, 0)
        self._alive[s:e] = True
        self._weak[s:e] = _is_weak(batch)
        self._sketch[:, s:e] = sketch.sketches(batch).T
        self._ids.extend(ref_ids)
        self._slot.update((r, s + i) for i, r in enumerate(ref_ids))
        self._n = e

    def remove(self, ref_id: str) -> bool:
        """Tombstone `ref_id`; returns False if it was not enrolled."""
        slot = self._slot.pop(ref_id, None)
        if slot is None:
            return False
        self._alive[slot] = False
        self._weak[slot] = False
        self._ids[slot] = None
        self._dead += 1
        if self._dead > 64 and self._dead * 4 > self._n:
            self.compact()
        return True

    def compact(self) -> None:
        """Drop tombstones, keeping the order of the live entries."""
        keep = np.flatnonzero(self._alive[: self._n])
        m = len(keep)
        for k in ("fingers", "finger_ok", "face", "face_ok", "iris_code", "iris_mask", "alive", "weak"):
            a = getattr(self, "_" + k)
            a[:m] = a[keep]
            a[m : self._n] = 0
        self._sketch[:, :m] = self._sketch[:, keep]
        self._ids = [self._ids[i] for i in keep]
        self._slot = {r: i for i, r in enumerate(self._ids)}
        self._n, self._dead = m, 0

    # ---- search ----------------------------------------------------------------------------
    def identify(self, templates: Templates | TemplateBatch, max_results: int = 10) -> list[Candidate]:
        """Best `max_results` enrolled persons for the probe, highest fused score first."""
        probe = templates.batch if isinstance(templates, Templates) else templates
        if self._n == 0:
            return []
        if _is_weak(probe)[0] or self._n <= 4 * self.shortlist:
            return self._top(self.score(probe, np.flatnonzero(self._alive[: self._n])), max_results)
        slots = self._first_pass(probe)
        return self._top(self.score(probe, slots), max_results)

    def identify_exhaustive(self, templates: Templates | TemplateBatch, max_results: int = 10,
                            chunk: int = 8192) -> list[Candidate]:  # fmt: skip
        """The same exact comparisons over the whole gallery, no pruning (reference, slow)."""
        probe = templates.batch if isinstance(templates, Templates) else templates
        best: list[Scores] = []
        for s in range(0, self._n, chunk):
            slots = np.flatnonzero(self._alive[s : min(self._n, s + chunk)]) + s
            sc = self.score(probe, slots)
            keep = np.argsort(-sc.fused, kind="stable")[:max_results]
            best.append(Scores(*(getattr(sc, f)[keep] for f in Scores.__dataclass_fields__)))
        if not best:
            return []
        merged = Scores(*(np.concatenate([getattr(b, f) for b in best]) for f in Scores.__dataclass_fields__))
        return self._top(merged, max_results)

    def _first_pass(self, probe: TemplateBatch) -> np.ndarray:
        n, acc = self._n, self._acc
        p = sketch.sketches(probe)[0]
        m = sketch.probe_mask(probe)
        if self.workers > 1 and n >= _PARALLEL_MIN:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gallery")
            bounds = np.linspace(0, n, self.workers + 1).astype(int)
            futures = [self._pool.submit(sketch.scan, self._sketch, p, m, acc, int(a), int(b))
                       for a, b in zip(bounds[:-1], bounds[1:])]  # fmt: skip
            for f in futures:
                f.result()
        else:
            sketch.scan(self._sketch, p, m, acc, 0, n)
        d = acc[:n]
        k = self.shortlist
        step = max(1, n // 65536)
        sample = d[::step]
        kth = max(1, min(len(sample) - 1, int(len(sample) * k / n)))
        thr = np.partition(sample, kth)[kth]
        idx = np.flatnonzero(d <= thr)
        if len(idx) < k // 2:
            idx = np.argpartition(d, k)[:k]
        elif len(idx) > k:
            idx = idx[np.argpartition(d[idx], k)[:k]]
        weak = np.flatnonzero(self._weak[:n]) if self._weak[:n].any() else idx[:0]
        idx = np.union1d(idx, weak)
        return idx[self._alive[idx]]

    def score(self, probe: TemplateBatch, slots: np.ndarray) -> Scores:
        """Exact, fused scores of the probe (batch of one) against the given slots."""
        slots = np.asarray(slots, np.intp)
        r = self.raw(probe, slots)
        z_best = np.where(r.iris_ok, r.iris_z, -np.inf).max(-1)
        ivalid = r.iris_ok.any(-1)
        finger = fusion.finger_evidence(r.finger_cos, r.finger_ok)
        iris = fusion.iris_evidence(np.where(ivalid, z_best, 0.0), ivalid)
        face = fusion.face_evidence(r.face_cos, r.face_ok)
        return Scores(slots, finger, iris, face, fusion.fuse(finger, iris, face))

    def raw(self, probe: TemplateBatch, slots: np.ndarray) -> RawScores:
        """Unfused comparison values (used by `score` and by calibration)."""
        gf = self._fingers[slots].astype(np.float32)
        norm = np.linalg.norm(gf, axis=-1)
        fcos = np.einsum("kfd,fd->kf", gf, probe.fingers[0]) / np.where(norm > 0, norm, 1)
        gc = self._face[slots].astype(np.float32)
        norm = np.linalg.norm(gc, axis=-1)
        ccos = (gc @ probe.face[0]) / np.where(norm > 0, norm, 1)
        # iris: probe rolled by each shift, (2, S, 32) uint64 words against (K, 2, 1, 32)
        pc = np.stack([np.roll(probe.iris_code[0], s, axis=-1) for s in IRIS_SHIFTS], axis=1)
        pm = np.stack([np.roll(probe.iris_mask[0], s, axis=-1) for s in IRIS_SHIFTS], axis=1)
        pc, pm = pc.view(np.uint64), pm.view(np.uint64)
        gcode = self._iris_code[slots].view(np.uint64)[:, :, None, :]
        both = self._iris_mask[slots].view(np.uint64)[:, :, None, :] & pm
        bits = np.bitwise_count(both).sum(-1, dtype=np.int32)  # (K, 2, S)
        dis = np.bitwise_count((gcode ^ pc) & both).sum(-1, dtype=np.int32)
        return RawScores(
            finger_cos=fcos, finger_ok=self._finger_ok[slots] & probe.finger_ok[0],
            face_cos=ccos, face_ok=self._face_ok[slots] & probe.face_ok[0],
            iris_z=fusion.iris_z(dis / np.maximum(bits, 1), bits), iris_ok=bits >= MIN_IRIS_BITS,
        )  # fmt: skip

    def _top(self, sc: Scores, max_results: int) -> list[Candidate]:
        order = np.argsort(-sc.fused, kind="stable")[:max_results]

        def opt(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        return [
            Candidate(
                ref_id=self._ids[sc.slots[i]],  # type: ignore[arg-type]
                finger=opt(sc.finger[i]), iris=opt(sc.iris[i]), face=opt(sc.face[i]),
                fused=float(sc.fused[i]),
            )  # fmt: skip
            for i in order
        ]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
