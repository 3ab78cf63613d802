"""Seeded synthetic biometrics with ground truth (docs/synthetic-biometrics.md).

A `Person` holds latent identities: one unit vector per finger, one for the face, and one
low-resolution Gaussian "phase field" per eye.  A capture mixes the latent with fresh noise; the
mix weight `rho(q)` (the expected cosine between a capture and its latent) falls as the capture
quality falls, so two captures of one person compare at about `rho(q1) * rho(q2)`.  Templates use
the wire formats of `services.enrollment.schemas`:

* fingerprint `ektp-fp-emb` v1 and face `ektp-face-emb` v1: 128 float32 LE, L2-normalised;
* iris `ektp-iris-code` v1: 2048-bit code + 2048-bit mask, laid out as 256 angular sectors of one
  byte each (4 radial bands x 2 phase bits), so an eye rotation of one sector is a 1-byte roll.

The array functions (`capture_arrays`, `random_capture_arrays`) are vectorised so a benchmark can
build a million-person gallery without base64; `capture` wraps them into the JSON wire shape.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

# The wire order and sizes are the decoder's: one definition for the model and the matcher.
from services.dedup.matcher.templates import EMB_DIM, EYES, FINGER_POSITIONS

IRIS_SECTORS = 256  # angular sectors, one byte (8 bits) each -> 2048 bits
IRIS_LOWRES = 64  # independent angular samples of the latent field (upsampled x4)
IRIS_CHANNELS = 8  # 4 radial bands x 2 phase bits

FP_FORMAT, IRIS_FORMAT, FACE_FORMAT = "ektp-fp-emb", "ektp-iris-code", "ektp-face-emb"

# rho(q) = lo + (hi - lo) * q / 100: expected cosine (field correlation for iris) between a
# capture of quality q and the latent.
RHO = {"finger": (0.05, 0.95), "face": (0.30, 0.95), "iris": (0.55, 0.975)}
QUALITY_JITTER = 8.0  # sd of the hidden gap between reported and true quality
MAX_ROTATION = 2  # an iris capture is rotated by up to +-2 sectors (~2.8 degrees)
POOR_QUALITY = (5, 39)  # poor-mode qualities: uniform in this closed range


@dataclass(frozen=True)
class Person:
    """Latent identity of one synthetic person."""

    person_id: str
    fingers: np.ndarray  # (10, 128) float32, unit rows
    iris: np.ndarray  # (2, 64, 8) float32 Gaussian field
    face: np.ndarray  # (128,) float32, unit
    finger_quality: float  # the person's mean finger quality (worn prints are lower)
    missing_fingers: frozenset[str] = field(default_factory=frozenset)


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


def new_person(rng: np.random.Generator, *, person_id: str | None = None,
               missing_fingers: Iterable[str] = ()) -> Person:  # fmt: skip
    """Draw a new person; `missing_fingers` are positions the person lacks (e.g. amputated)."""
    missing = frozenset(missing_fingers)
    unknown = missing - set(FINGER_POSITIONS)
    if unknown:
        raise ValueError(f"unknown finger positions: {sorted(unknown)}")
    return Person(
        person_id=person_id or f"P{int(rng.integers(1 << 62)):016x}",
        fingers=_unit(rng.standard_normal((10, EMB_DIM), dtype=np.float32)),
        iris=rng.standard_normal((2, IRIS_LOWRES, IRIS_CHANNELS), dtype=np.float32),
        face=_unit(rng.standard_normal(EMB_DIM, dtype=np.float32)),
        finger_quality=float(np.clip(rng.normal(72.0, 8.0), 45.0, 95.0)),
        missing_fingers=missing,
    )


def rho(modality: str, quality: np.ndarray) -> np.ndarray:
    lo, hi = RHO[modality]
    return (lo + (hi - lo) * np.clip(quality, 0.0, 100.0) / 100.0).astype(np.float32)


def draw_qualities(rng: np.random.Generator, n: int, *, finger_base: np.ndarray | None = None,
                   poor: bool = False) -> dict[str, np.ndarray]:  # fmt: skip
    """Reported qualities for n captures: fingers (n, 10), iris (n, 2), face (n,), int."""
    if poor:
        lo, hi = POOR_QUALITY
        return {
            "finger": rng.integers(lo, hi + 1, (n, 10)),
            "iris": rng.integers(lo, hi + 1, (n, 2)),
            "face": rng.integers(lo, hi + 1, n),
        }
    base = finger_base if finger_base is not None else np.clip(rng.normal(72.0, 8.0, n), 45, 95)
    finger = np.asarray(base, dtype=float).reshape(n, 1) + rng.normal(0.0, 10.0, (n, 10))
    return {
        "finger": np.clip(np.rint(finger), 0, 100).astype(int),
        "iris": np.clip(np.rint(rng.normal(80.0, 8.0, (n, 2))), 0, 100).astype(int),
        "face": np.clip(np.rint(rng.normal(82.0, 6.0, n)), 0, 100).astype(int),
    }


def _mix(latent: np.ndarray, r: np.ndarray, rng: np.random.Generator, scale: float = 1.0):
    """rho * latent + sqrt(1 - rho^2) * noise (noise sd `scale` per element); r broadcasts."""
    noise = rng.standard_normal(latent.shape, dtype=np.float32) * np.float32(scale)
    return r * latent + np.sqrt(1.0 - r * r) * noise


def _true(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(q, dtype=float) + rng.normal(0.0, QUALITY_JITTER, np.shape(q))


def _iris_bits(field_lowres: np.ndarray) -> np.ndarray:
    """(..., 64, 8) field -> (..., 256) uint8 code: circular linear upsampling x4, sign bits."""
    nxt = np.roll(field_lowres, -1, axis=-2)
    w = np.arange(4, dtype=np.float32) / 4.0  # weight of the next sample
    hi = field_lowres[..., :, None, :] * (1 - w)[:, None] + nxt[..., :, None, :] * w[:, None]
    hi = hi.reshape(*field_lowres.shape[:-2], IRIS_SECTORS, IRIS_CHANNELS)
    return np.packbits(hi > 0, axis=-1)[..., 0]


def _iris_masks(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(..., ) true qualities -> (..., 256) uint8 masks: eyelids (whole sectors) + reflections."""
    shape = np.shape(q)
    occl = (100.0 - np.clip(q, 0, 100)) / 100.0  # 0 (perfect) .. 1
    top = rng.uniform(0.04, 0.12, shape) + 0.25 * occl  # fraction of sectors hidden
    bottom = rng.uniform(0.0, 0.06, shape) + 0.10 * occl
    sector = np.arange(IRIS_SECTORS)
    dist_top = np.abs((sector - 64 + 128) % 256 - 128)  # sector 64 = 12 o'clock
    dist_bot = np.abs((sector - 192 + 128) % 256 - 128)
    hidden = (dist_top < (top[..., None] * IRIS_SECTORS / 2)) | (
        dist_bot < (bottom[..., None] * IRIS_SECTORS / 2)
    )
    mask = np.where(hidden, 0, 0xFF).astype(np.uint8)
    speck = rng.random((*shape, IRIS_SECTORS)) < 0.02  # specular reflections: some bits lost
    mask[speck] &= rng.integers(0, 256, int(speck.sum()), dtype=np.uint8)
    return mask


def capture_arrays(persons: list[Person], rng: np.random.Generator, *, quality: int | None = None,
                   poor: bool = False) -> dict[str, np.ndarray]:  # fmt: skip
    """Captures of the given persons as arrays (no base64, no exceptions applied).

    Returns fingers (n,10,128) f32, finger_quality (n,10), iris_code/iris_mask (n,2,256) u8,
    iris_quality (n,2), face (n,128) f32, face_quality (n,).
    """
    n = len(persons)
    fingers = np.stack([p.fingers for p in persons])
    field_ = np.stack([p.iris for p in persons])
    face = np.stack([p.face for p in persons])
    base = np.array([p.finger_quality for p in persons])
    qs = draw_qualities(rng, n, finger_base=base, poor=poor)
    if quality is not None:
        qs = {k: np.full_like(v, int(quality)) for k, v in qs.items()}
    return _captures(fingers, field_, face, qs, rng)


def random_capture_arrays(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Captures of n fresh, never-seen persons, in bulk.

    The capture of a person nobody else shares is distributed like a random unit vector (and a
    random sign field for the iris), so the latent is not materialised: one draw per dimension.
    Qualities and masks follow the same model as `capture_arrays`.
    """
    qs = draw_qualities(rng, n)
    fingers = _unit(rng.standard_normal((n, 10, EMB_DIM), dtype=np.float32))
    face = _unit(rng.standard_normal((n, EMB_DIM), dtype=np.float32))
    code = _iris_bits(rng.standard_normal((n, 2, IRIS_LOWRES, IRIS_CHANNELS), dtype=np.float32))
    mask = _iris_masks(_true(qs["iris"], rng), rng)
    return {
        "fingers": fingers, "finger_quality": qs["finger"], "iris_code": code,
        "iris_mask": mask, "iris_quality": qs["iris"], "face": face, "face_quality": qs["face"],
    }  # fmt: skip


def _captures(fingers, field_, face, qs, rng) -> dict[str, np.ndarray]:
    tf, ti, tc = _true(qs["finger"], rng), _true(qs["iris"], rng), _true(qs["face"], rng)
    unit_sd = 1.0 / np.sqrt(EMB_DIM)  # a unit vector's per-element sd
    f = _unit(_mix(fingers, rho("finger", tf)[..., None], rng, unit_sd))
    c = _unit(_mix(face, rho("face", tc)[..., None], rng, unit_sd))
    iris_field = _mix(field_, rho("iris", ti)[..., None, None], rng)
    code = _iris_bits(iris_field)
    shift = rng.integers(-MAX_ROTATION, MAX_ROTATION + 1, ti.shape)
    for idx in np.ndindex(ti.shape):  # at most 2 per person: rotation differs per capture
        code[idx] = np.roll(code[idx], int(shift[idx]))
    return {
        "fingers": f, "finger_quality": qs["finger"], "iris_code": code,
        "iris_mask": _iris_masks(ti, rng), "iris_quality": qs["iris"], "face": c,
        "face_quality": qs["face"],
    }  # fmt: skip


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def capture(person: Person, rng: np.random.Generator, *, quality: int | None = None,
            missing_fingers: Iterable[str] = (), poor: bool = False) -> dict:  # fmt: skip
    """One recording's `biometrics` block (JSON-ready) without `photo_jpeg`/`signature_png`.

    `quality` fixes every reported quality; `poor=True` draws them all below 40 (the recording
    must be an enroll failure).  Fingers missing for the person or listed here are left out and
    declared as AMPUTATED exceptions.
    """
    a = capture_arrays([person], rng, quality=quality, poor=poor)
    missing = set(person.missing_fingers) | set(missing_fingers)
    fingerprints = [
        {
            "position": pos, "format": FP_FORMAT, "version": 1,
            "quality": int(a["finger_quality"][0, i]),
            "template": _b64(a["fingers"][0, i].astype("<f4")),
        }  # fmt: skip
        for i, pos in enumerate(FINGER_POSITIONS)
        if pos not in missing
    ]
    irises = [
        {
            "eye": eye, "format": IRIS_FORMAT, "version": 1,
            "quality": int(a["iris_quality"][0, e]),
            "code": _b64(a["iris_code"][0, e]), "mask": _b64(a["iris_mask"][0, e]),
        }  # fmt: skip
        for e, eye in enumerate(EYES)
    ]
    return {
        "fingerprints": fingerprints,
        "irises": irises,
        "face": {
            "format": FACE_FORMAT, "version": 1, "quality": int(a["face_quality"][0]),
            "template": _b64(a["face"][0].astype("<f4")),
        },  # fmt: skip
        "exceptions": [
            {"position": pos, "reason": "AMPUTATED"} for pos in FINGER_POSITIONS if pos in missing
        ],
    }
