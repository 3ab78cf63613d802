"""Decode a recording's `biometrics` block into arrays and judge whether it can be matched.

Wire formats (services/enrollment/schemas.py): `ektp-fp-emb` v1 and `ektp-face-emb` v1 are 128
float32 little-endian values (512 bytes, base64); `ektp-iris-code` v1 is a 2048-bit code and a
2048-bit mask (256 bytes each, base64; mask bit 1 = usable), one byte per angular sector.

A template with quality < MIN_QUALITY is kept out of matching.  The recording is unusable (an
ENROLL_FAILURE) when any reason is returned:

* `unknown_format`: a template's format/version is not one of the above;
* `bad_template_size` / `bad_template_values`: wrong byte count, bad base64, NaN/inf/zero vector;
* `too_few_usable_fingers`: fewer than min(MIN_USABLE_FINGERS, fingers not excepted) usable;
* `no_usable_iris`: an eye is expected (not excepted) but no iris is usable.

The face is matched when usable but its absence is not a failure reason (the photo is checked at
the counter).  Arrays use a fixed position order: FINGER_POSITIONS and EYES.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pybase64

FINGER_POSITIONS: tuple[str, ...] = (
    "RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE",
    "LEFT_THUMB", "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE",
)  # fmt: skip
EYES: tuple[str, ...] = ("RIGHT", "LEFT")
EMB_DIM = 128
IRIS_BYTES = 256
MIN_QUALITY = 40
MIN_USABLE_FINGERS = 4
MIN_IRIS_MASK_BITS = 512  # an iris with fewer usable bits than this is not usable

FORMATS = {"fingerprint": ("ektp-fp-emb", 1), "iris": ("ektp-iris-code", 1), "face": ("ektp-face-emb", 1)}


@dataclass(frozen=True)
class TemplateBatch:
    """n recordings as arrays; rows of unusable templates are zero and flagged False."""

    fingers: np.ndarray  # (n, 10, 128) float32, L2-normalised
    finger_ok: np.ndarray  # (n, 10) bool
    iris_code: np.ndarray  # (n, 2, 256) uint8
    iris_mask: np.ndarray  # (n, 2, 256) uint8, zero where the eye is not usable
    iris_ok: np.ndarray  # (n, 2) bool
    face: np.ndarray  # (n, 128) float32, L2-normalised
    face_ok: np.ndarray  # (n,) bool

    def __len__(self) -> int:
        return len(self.face_ok)

    @classmethod
    def from_arrays(cls, fingers, finger_quality, iris_code, iris_mask, iris_quality, face,
                    face_quality, **_ignored) -> TemplateBatch:  # fmt: skip
        """Build from raw capture arrays (e.g. ektp.synth.biometrics.capture_arrays)."""
        finger_ok = np.asarray(finger_quality) >= MIN_QUALITY
        iris_ok = np.asarray(iris_quality) >= MIN_QUALITY
        iris_ok &= np.bitwise_count(iris_mask).sum(-1) >= MIN_IRIS_MASK_BITS
        face_ok = np.asarray(face_quality) >= MIN_QUALITY
        return cls(
            fingers=np.where(finger_ok[..., None], _unit(fingers), 0).astype(np.float32),
            finger_ok=finger_ok,
            iris_code=np.asarray(iris_code, np.uint8),
            iris_mask=np.where(iris_ok[..., None], iris_mask, 0).astype(np.uint8),
            iris_ok=iris_ok,
            face=np.where(face_ok[..., None], _unit(face), 0).astype(np.float32),
            face_ok=face_ok,
        )


@dataclass(frozen=True)
class Templates:
    """One decoded recording: a batch of one, plus the reasons it cannot be matched."""

    batch: TemplateBatch
    reasons: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return not self.reasons

    @property
    def usable_fingers(self) -> int:
        return int(self.batch.finger_ok.sum())


def _unit(x) -> np.ndarray:
    x = np.asarray(x, np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n > 0, n, 1)


def _bytes(b64: object, size: int) -> bytes | None:
    try:
        raw = pybase64.b64decode(str(b64), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def _vector(b64: object) -> tuple[np.ndarray | None, str | None]:
    raw = _bytes(b64, EMB_DIM * 4)
    if raw is None:
        return None, "bad_template_size"
    v = np.frombuffer(raw, "<f4").astype(np.float32)
    norm = float(np.linalg.norm(v)) if np.all(np.isfinite(v)) else 0.0
    if not norm > 0:
        return None, "bad_template_values"
    return v / norm, None


def _format_ok(t: Mapping, kind: str) -> bool:
    return (t.get("format"), t.get("version")) == FORMATS[kind]


def decode(biometrics: Mapping) -> Templates:
    """Decode a `biometrics` dict (RecordingIn.biometrics as JSON) into `Templates`."""
    reasons: set[str] = set()
    fingers = np.zeros((1, 10, EMB_DIM), np.float32)
    finger_ok = np.zeros((1, 10), bool)
    code = np.zeros((1, 2, IRIS_BYTES), np.uint8)
    mask = np.zeros((1, 2, IRIS_BYTES), np.uint8)
    iris_ok = np.zeros((1, 2), bool)
    face = np.zeros((1, EMB_DIM), np.float32)
    face_ok = np.zeros(1, bool)
    excepted = {str(e.get("position")) for e in biometrics.get("exceptions") or ()}

    for t in biometrics.get("fingerprints") or ():
        pos = str(t.get("position"))
        if pos not in FINGER_POSITIONS or not _format_ok(t, "fingerprint"):
            reasons.add("unknown_format")
            continue
        v, why = _vector(t.get("template"))
        if why:
            reasons.add(why)
        elif int(t.get("quality", 0)) >= MIN_QUALITY:
            i = FINGER_POSITIONS.index(pos)
            fingers[0, i], finger_ok[0, i] = v, True

    for t in biometrics.get("irises") or ():
        eye = str(t.get("eye"))
        if eye not in EYES or not _format_ok(t, "iris"):
            reasons.add("unknown_format")
            continue
        c, m = _bytes(t.get("code"), IRIS_BYTES), _bytes(t.get("mask"), IRIS_BYTES)
        if c is None or m is None:
            reasons.add("bad_template_size")
            continue
        e = EYES.index(eye)
        m_arr = np.frombuffer(m, np.uint8)
        if int(t.get("quality", 0)) >= MIN_QUALITY and np.bitwise_count(m_arr).sum() >= MIN_IRIS_MASK_BITS:
            code[0, e], mask[0, e], iris_ok[0, e] = np.frombuffer(c, np.uint8), m_arr, True

    f = biometrics.get("face")
    if f:
        if not _format_ok(f, "face"):
            reasons.add("unknown_format")
        else:
            v, why = _vector(f.get("template"))
            if why:
                reasons.add(why)
            elif int(f.get("quality", 0)) >= MIN_QUALITY:
                face[0], face_ok[0] = v, True

    expected_fingers = sum(p not in excepted for p in FINGER_POSITIONS)
    if finger_ok.sum() < min(MIN_USABLE_FINGERS, expected_fingers):
        reasons.add("too_few_usable_fingers")
    if any(e not in excepted for e in EYES) and not iris_ok.any():
        reasons.add("no_usable_iris")

    batch = TemplateBatch(fingers, finger_ok, code, mask, iris_ok, face, face_ok)
    return Templates(batch=batch, reasons=tuple(sorted(reasons)))
